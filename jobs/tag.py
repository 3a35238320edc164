"""spark-submit jobs/tag.py [--input PATH ...] [--output DIR] [--config RULES.yaml] [--embeddings DIR]

Quality score (0-5, the rule file's ``quality:`` head) and domain (``domains:`` prototypes) for every document,
written as columns quality_score, quality_int, domain, domain_confidence and into meta; stats.json counts
domains and scores. The default input is the semantic dedup job's kept output (out/semdedup/kept); pass
--embeddings out/semdedup/embeddings to reuse its embeddings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    from data_platform.cli import job_parser

    p = job_parser("jobs/tag.py", __doc__, str(REPO / "out" / "semdedup" / "kept"), str(REPO / "out" / "tag"))
    p.add_argument("--config", default=str(REPO / "rules" / "default.yaml"),
                   help="rule file with embed:, quality: and domains: sections")
    p.add_argument("--embeddings", default=None, help="reuse embeddings (id + embedding parquet) of an earlier run")
    p.add_argument("--no-overwrite", action="store_true", help="refuse to replace a completed output")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from data_platform.cli import error
    from data_platform.config import load_rules
    from data_platform.tagging.run import tag_settings
    from data_platform.yaml_lines import ConfigError

    try:
        settings = tag_settings(load_rules(args.config))
    except (ConfigError, FileNotFoundError) as err:
        return error(err)
    from rich.console import Console

    from data_platform.io.spark_io import InputError
    from data_platform.io.writers import OutputExistsError
    from data_platform.spark import build_session
    from data_platform.tagging.run import run_tagging

    spark = build_session("tag", args.master)
    try:
        stats = run_tagging(spark, args.input, args.output, settings, args.format, args.source,
                            not args.no_overwrite, args.embeddings)
    except (InputError, OutputExistsError, FileNotFoundError) as err:
        return error(err)
    finally:
        spark.stop()
    console = Console(width=max(100, Console().width))
    tags = stats["tags"]
    console.print(f"{stats['kept']['documents']} documents tagged; mean quality {tags['quality_mean']}; "
                  f"rounded scores: {tags['quality_int']}")
    for name, d in tags["domains"].items():
        console.print(f"  {name:<12} {d['documents']:>8}  mean confidence {d['mean_confidence']:.2f}")
    console.print(f"kept/, dropped/, stats.json: {args.output}")
    return 0 if stats["accounting"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
