"""spark-submit jobs/filter.py [--input PATH ...] [--output DIR] [--rules FILE] [--master URL]

With no arguments it cleans the bundled sample corpus (data/sample) with rules/default.yaml into out/filter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    from data_platform.cli import job_parser

    p = job_parser("jobs/filter.py", __doc__, str(REPO / "data" / "sample"), str(REPO / "out" / "filter"))
    p.add_argument("--rules", default=str(REPO / "rules" / "default.yaml"), help="rule file (YAML)")
    p.add_argument("--partitions", type=int, default=0, help="repartition the input to N partitions (0 = keep)")
    p.add_argument("--no-overwrite", action="store_true", help="refuse to replace a completed output")
    for name in ("id", "text", "html", "url", "lang"):
        p.add_argument(f"--{name}-field", default=name, help=f"input field holding the document's {name}")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from data_platform.config import load_rules
    from data_platform.io.records import FieldMap
    from data_platform.io.spark_io import InputError
    from data_platform.io.writers import OutputExistsError
    from data_platform.cli import error
    from data_platform.yaml_lines import ConfigError

    try:
        ruleset = load_rules(args.rules)  # validated before Spark starts
    except ConfigError as err:
        return error(err)
    from rich.console import Console

    from data_platform.filter_run import FilterRun, run_filter
    from data_platform.report.stats import funnel_table
    from data_platform.spark import build_session

    fields = FieldMap(id=args.id_field, text=args.text_field, html=args.html_field, url=args.url_field,
                      lang=args.lang_field)
    job = FilterRun(args.input, args.output, ruleset, args.format, fields, args.source, args.partitions,
                    overwrite=not args.no_overwrite)
    spark = build_session("filter", args.master)
    try:
        stats = run_filter(spark, job)
    except (InputError, OutputExistsError) as err:
        return error(err)
    finally:
        spark.stop()
    console = Console(width=max(100, Console().width))
    console.print(funnel_table(stats))
    console.print(f"kept/ and dropped/ parquet, stats.json: {args.output}")
    return 0 if stats["accounting"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
