"""spark-submit jobs/rules_diff.py --old rules/a.yaml --new rules/b.yaml [--input PATH ...] [--output DIR]

What changes if the new rule file replaces the old one: documents newly dropped and newly kept, grouped by the
rule that changed their fate, with counts and characters per language and source and examples. Prints the diff
and writes diff.html, diff.json and the per-document diff (parquet) to the output folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
def parse_args(argv: list[str]) -> argparse.Namespace:
    from data_platform.cli import job_parser

    p = job_parser("jobs/rules_diff.py", __doc__, str(REPO / "data" / "sample"), str(REPO / "out" / "rules_diff"))
    p.add_argument("--old", required=True, help="the current rule file")
    p.add_argument("--new", required=True, help="the edited rule file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from data_platform.config import load_rules
    from data_platform.io.spark_io import InputError
    from data_platform.cli import error
    from data_platform.yaml_lines import ConfigError

    try:
        old, new = load_rules(args.old), load_rules(args.new)
    except ConfigError as err:
        return error(err)
    from data_platform.rulediff import render_text, run_diff
    from data_platform.spark import build_session

    spark = build_session("rules_diff", args.master)
    try:
        summary = run_diff(spark, old, new, args.input, args.output, args.format, args.source)
    except InputError as err:
        return error(err)
    finally:
        spark.stop()
    print(render_text(summary, args.old, args.new))
    print(f"diff.html, diff.json and the per-document diff: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
