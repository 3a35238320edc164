"""spark-submit jobs/dedup.py [--input PATH ...] [--output DIR] [--config RULES.yaml] [--master URL]

Exact, MinHash near-duplicate and paragraph dedup with the parameters of the rule file's ``dedup:`` section.
The default input is the filter job's kept output (out/filter/kept).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    from data_platform.cli import job_parser

    p = job_parser("jobs/dedup.py", __doc__, str(REPO / "out" / "filter" / "kept"), str(REPO / "out" / "dedup"))
    p.add_argument("--config", default=str(REPO / "rules" / "default.yaml"), help="rule file with a dedup: section")
    p.add_argument("--no-overwrite", action="store_true", help="refuse to replace a completed output")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from data_platform.config import load_rules
    from data_platform.cli import error
    from data_platform.yaml_lines import ConfigError

    try:
        cfg = load_rules(args.config).config.dedup
    except ConfigError as err:
        return error(err)
    from rich.console import Console

    from data_platform.dedup.run import run_dedup
    from data_platform.io.spark_io import InputError
    from data_platform.io.writers import OutputExistsError
    from data_platform.report.stats import funnel_table
    from data_platform.spark import build_session

    spark = build_session("dedup", args.master)
    try:
        stats = run_dedup(spark, args.input, args.output, cfg, args.format, args.source, not args.no_overwrite)
    except (InputError, OutputExistsError) as err:
        return error(err)
    finally:
        spark.stop()
    console = Console(width=max(100, Console().width))
    console.print(funnel_table(stats, "Dedup"))
    d = stats["dedup"]
    console.print(f"near-duplicate clusters by size: {d['cluster_size_histogram'] or 'none'}; "
                  f"characters removed by paragraph dedup: {d['paragraph_characters_removed']:,}")
    console.print(f"kept/, dropped/, clusters/, stats.json: {args.output}")
    return 0 if stats["accounting"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
