"""spark-submit jobs/tag.py [--input PATH ...] [--output DIR] [--config RULES.yaml] [--embeddings DIR]

Quality scores (the rule file's ``quality.scorers``: Hugging Face classifiers, fastText models, the MLP head; one
column quality_<name> each), their ensemble and token-weighted buckets (quality_ensemble, quality_bucket), the
primary score (quality_score, quality_int) and the domain (``domains:`` prototypes, domain and domain_confidence)
for every document, as columns and in meta; stats.json counts domains, scores and buckets. The default input is the
semantic dedup job's kept output (out/semdedup/kept); pass --embeddings out/semdedup/embeddings to reuse its embeddings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_platform.cli import accounting_exit, console, job_parser, run_job

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from data_platform.tagging.run import TagSettings

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = job_parser("jobs/tag.py", __doc__, str(REPO / "out" / "semdedup" / "kept"), str(REPO / "out" / "tag"))
    p.add_argument("--config", default=str(REPO / "rules" / "default.yaml"),
                   help="rule file with embed:, quality: and domains: sections")
    p.add_argument("--embeddings", default=None, help="reuse embeddings (id + embedding parquet) of an earlier run")
    p.add_argument("--no-overwrite", action="store_true", help="refuse to replace a completed output")
    return p.parse_args(argv)


def load(args: argparse.Namespace) -> TagSettings:
    from data_platform.config import load_rules
    from data_platform.tagging.run import tag_settings

    return tag_settings(load_rules(args.config))


def run(spark: SparkSession, args: argparse.Namespace, settings: TagSettings) -> dict[str, Any]:
    from data_platform.tagging.run import run_tagging

    return run_tagging(spark, args.input, args.output, settings, args.format, args.source, not args.no_overwrite,
                       args.embeddings)


def show(args: argparse.Namespace, stats: dict[str, Any]) -> int:
    out = console()
    tags = stats["tags"]
    out.print(f"{stats['kept']['documents']} documents tagged; mean scores {tags['means']}; "
              f"rounded primary score: {tags['quality_int']}")
    if "buckets" in tags:
        out.print(f"documents per quality_bucket: {tags['buckets']['documents']}")
    for name, d in tags["domains"].items():
        out.print(f"  {name:<12} {d['documents']:>8}  mean confidence {d['mean_confidence']:.2f}")
    out.print(f"kept/, dropped/, stats.json: {args.output}")
    return accounting_exit(stats)


def main(argv: list[str] | None = None) -> int:
    return run_job("tag", parse_args(sys.argv[1:] if argv is None else argv), load, run, show)

if __name__ == "__main__":
    sys.exit(main())
