"""spark-submit jobs/pipeline.py --config pipelines/<name>.yaml [--output DIR] [--master URL]

Runs a recipe's stages in order (filter -> dedup -> ... -> shards), resuming at the first stage that is not
complete with the current configuration. Default recipe: pipelines/sample.yaml.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="jobs/pipeline.py", description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(REPO / "pipelines" / "sample.yaml"), help="recipe (YAML)")
    p.add_argument("--output", default=None, help="output folder (default: the recipe's output, else "
                                                  "out/pipeline/<recipe name>)")
    p.add_argument("--master", default=None, help="Spark master, e.g. local[4] or spark://host:7077")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from data_platform.cli import error
    from data_platform.pipeline.recipe import load_recipe
    from data_platform.yaml_lines import ConfigError

    try:
        recipe = load_recipe(args.config)  # validated (rule files included) before Spark starts
    except ConfigError as err:
        return error(err)
    from rich.console import Console

    from data_platform.io.spark_io import InputError
    from data_platform.pipeline.runner import PipelineError, run_pipeline
    from data_platform.report.stats import funnel_table
    from data_platform.spark import build_session

    output = args.output or recipe.output or str(Path("out") / "pipeline" / recipe.name)
    console = Console(width=max(100, Console().width))
    spark = build_session(f"pipeline-{recipe.name}", args.master)
    try:
        stats = run_pipeline(spark, recipe, output, log=console.print)
    except (InputError, PipelineError) as err:
        return error(err)
    finally:
        spark.stop()
    console.print(funnel_table(stats, f"Pipeline {recipe.name}"))
    console.print(f"stages run: {', '.join(stats['run']['stages_run']) or 'none'}; skipped (complete): "
                  f"{', '.join(stats['run']['stages_skipped']) or 'none'}")
    console.print(f"data version {stats['version']['id']}; stats.json, report.html"
                  f"{', manifest.json, README.md' if stats['stages'][-1]['kind'] == 'shards' else ''}: {output}")
    return 0 if stats["accounting"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
