"""spark-submit jobs/filter.py [--input PATH ...] [--output DIR] [--rules FILE] [--master URL]

With no arguments it cleans the bundled sample corpus (data/sample) with rules/default.yaml into out/filter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_platform.cli import accounting_exit, add_alarm_option, console, job_parser, run_job

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from data_platform.config import RuleSet

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = job_parser("jobs/filter.py", __doc__, str(REPO / "data" / "sample"), str(REPO / "out" / "filter"))
    p.add_argument("--rules", default=str(REPO / "rules" / "default.yaml"), help="rule file (YAML)")
    p.add_argument("--partitions", type=int, default=0, help="repartition the input to N partitions (0 = keep)")
    p.add_argument("--no-overwrite", action="store_true", help="refuse to replace a completed output")
    add_alarm_option(p)
    for name in ("id", "text", "html", "url", "lang"):
        p.add_argument(f"--{name}-field", default=name, help=f"input field holding the document's {name}")
    return p.parse_args(argv)


def load(args: argparse.Namespace) -> RuleSet:
    from data_platform.config import load_rules

    ruleset = load_rules(args.rules)
    ruleset.config = ruleset.config.model_copy(update={"alarms": ruleset.config.alarms.acting(args.on_alarm)})
    return ruleset


def run(spark: SparkSession, args: argparse.Namespace, ruleset: RuleSet) -> dict[str, Any]:
    from data_platform.filter_run import FilterRun, run_filter
    from data_platform.io.records import FieldMap

    fields = FieldMap(id=args.id_field, text=args.text_field, html=args.html_field, url=args.url_field,
                      lang=args.lang_field)
    return run_filter(spark, FilterRun(args.input, args.output, ruleset, args.format, fields, args.source,
                                       args.partitions, overwrite=not args.no_overwrite))


def show(args: argparse.Namespace, stats: dict[str, Any]) -> int:
    from data_platform.report.stats import funnel_table

    out = console()
    out.print(funnel_table(stats))
    if rescued := stats.get("cleaning", {}).get("rescued"):
        out.print("rescued by quality score (kept): " + ", ".join(f"{k} {v['documents']}" for k, v in rescued.items()))
    out.print(f"kept/ and dropped/ parquet, stats.json: {args.output}")
    return accounting_exit(stats)


def main(argv: list[str] | None = None) -> int:
    return run_job("filter", parse_args(sys.argv[1:] if argv is None else argv), load, run, show)

if __name__ == "__main__":
    sys.exit(main())
