"""spark-submit jobs/rules_diff.py --old rules/a.yaml --new rules/b.yaml [--input PATH ...] [--output DIR]

What changes if the new rule file replaces the old one: documents newly dropped and newly kept, grouped by the
rule that changed their fate, with counts and characters per language and source and examples. Prints the diff
and writes diff.html, diff.json and the per-document diff (parquet) to the output folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_platform.cli import job_parser, run_job

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from data_platform.config import RuleSet

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = job_parser("jobs/rules_diff.py", __doc__, str(REPO / "data" / "sample"), str(REPO / "out" / "rules_diff"))
    p.add_argument("--old", required=True, help="the current rule file")
    p.add_argument("--new", required=True, help="the edited rule file")
    return p.parse_args(argv)


def load(args: argparse.Namespace) -> tuple[RuleSet, RuleSet]:
    from data_platform.config import load_rules

    return load_rules(args.old), load_rules(args.new)


def run(spark: SparkSession, args: argparse.Namespace, rules: tuple[RuleSet, RuleSet]) -> dict[str, Any]:
    from data_platform.rulediff import run_diff

    old, new = rules
    return run_diff(spark, old, new, args.input, args.output, args.format, args.source)


def show(args: argparse.Namespace, summary: dict[str, Any]) -> int:
    from data_platform.rulediff import render_text

    print(render_text(summary, args.old, args.new))
    print(f"diff.html, diff.json and the per-document diff: {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_job("rules_diff", parse_args(sys.argv[1:] if argv is None else argv), load, run, show)

if __name__ == "__main__":
    sys.exit(main())
