"""spark-submit jobs/dedup.py [--input PATH ...] [--output DIR] [--config RULES.yaml] [--master URL]

Exact, MinHash near-duplicate and paragraph dedup with the parameters of the rule file's ``dedup:`` section.
The default input is the filter job's kept output (out/filter/kept).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_platform.cli import accounting_exit, add_alarm_option, console, job_parser, run_job

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from data_platform.dedup.config import DedupConfig

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = job_parser("jobs/dedup.py", __doc__, str(REPO / "out" / "filter" / "kept"), str(REPO / "out" / "dedup"))
    p.add_argument("--config", default=str(REPO / "rules" / "default.yaml"), help="rule file with a dedup: section")
    p.add_argument("--no-overwrite", action="store_true", help="refuse to replace a completed output")
    add_alarm_option(p)
    return p.parse_args(argv)


def load(args: argparse.Namespace) -> DedupConfig:
    from data_platform.config import load_rules

    cfg = load_rules(args.config).config.dedup
    return cfg.model_copy(update={"alarms": cfg.alarms.acting(args.on_alarm)})


def run(spark: SparkSession, args: argparse.Namespace, cfg: DedupConfig) -> dict[str, Any]:
    from data_platform.dedup.run import run_dedup

    return run_dedup(spark, args.input, args.output, cfg, args.format, args.source, not args.no_overwrite)


def show(args: argparse.Namespace, stats: dict[str, Any]) -> int:
    from data_platform.report.stats import funnel_table

    out = console()
    out.print(funnel_table(stats, "Dedup"))
    d = stats["dedup"]
    out.print(f"near-duplicate clusters by size: {d['cluster_size_histogram'] or 'none'}; "
              f"characters removed by paragraph dedup: {d['paragraph_characters_removed']:,}")
    out.print(f"kept/, dropped/, clusters/, stats.json: {args.output}")
    return accounting_exit(stats)


def main(argv: list[str] | None = None) -> int:
    return run_job("dedup", parse_args(sys.argv[1:] if argv is None else argv), load, run, show)

if __name__ == "__main__":
    sys.exit(main())
