"""spark-submit jobs/pipeline.py --config pipelines/<name>.yaml [--output DIR] [--master URL]

Runs a recipe's stages in order (filter -> dedup -> ... -> shards), resuming at the first stage that is not
complete with the current configuration. Default recipe: pipelines/sample.yaml.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_platform.cli import accounting_exit, console, run_job

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from data_platform.pipeline.recipe import Recipe

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="jobs/pipeline.py", description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(REPO / "pipelines" / "sample.yaml"), help="recipe (YAML)")
    p.add_argument("--output", default=None, help="output folder (default: the recipe's output, else "
                                                  "out/pipeline/<recipe name>)")
    p.add_argument("--master", default=None, help="Spark master, e.g. local[4] or spark://host:7077")
    return p.parse_args(argv)


def load(args: argparse.Namespace) -> Recipe:
    from data_platform.pipeline.recipe import load_recipe

    return load_recipe(args.config)  # validated (rule files included) before Spark starts


def output_of(args: argparse.Namespace, recipe: Recipe) -> str:
    return args.output or recipe.output or str(Path("out") / "pipeline" / recipe.name)


def run(spark: SparkSession, args: argparse.Namespace, recipe: Recipe) -> tuple[Recipe, dict[str, Any]]:
    from data_platform.pipeline.runner import run_pipeline

    return recipe, run_pipeline(spark, recipe, output_of(args, recipe), log=console().print)


def show(args: argparse.Namespace, result: tuple[Recipe, dict[str, Any]]) -> int:
    from data_platform.report.stats import funnel_table

    recipe, stats = result
    out = console()
    out.print(funnel_table(stats, f"Pipeline {recipe.name}"))
    out.print(f"stages run: {', '.join(stats['run']['stages_run']) or 'none'}; skipped (complete): "
              f"{', '.join(stats['run']['stages_skipped']) or 'none'}")
    out.print(f"data version {stats['version']['id']}; stats.json, report.html"
              f"{', manifest.json, README.md' if stats['stages'][-1]['kind'] == 'shards' else ''}: "
              f"{output_of(args, recipe)}")
    return accounting_exit(stats)


def main(argv: list[str] | None = None) -> int:
    from data_platform.pipeline.runner import PipelineError

    args = parse_args(sys.argv[1:] if argv is None else argv)
    return run_job(lambda recipe: f"pipeline-{recipe.name}", args, load, run, show, errors=(PipelineError,))

if __name__ == "__main__":
    sys.exit(main())
