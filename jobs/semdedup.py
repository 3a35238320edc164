"""spark-submit jobs/semdedup.py [--input PATH ...] [--output DIR] [--config RULES.yaml] [--sweep] [--embeddings DIR]

Semantic dedup (SemDeDup) with the rule file's ``embed:`` and ``semdedup:`` sections: documents are embedded,
clustered by spherical k-means, and within each cluster a document closer than 1 - eps to a kept one is dropped
as duplicate_semantic. --sweep only reports, for several eps, the share of documents that would be removed.
The default input is the dedup job's kept output (out/dedup/kept).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_platform.cli import accounting_exit, console, job_parser, run_job

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from data_platform.semantic.config import EmbedConfig, SemDedupConfig

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = job_parser("jobs/semdedup.py", __doc__, str(REPO / "out" / "dedup" / "kept"), str(REPO / "out" / "semdedup"))
    p.add_argument("--config", default=str(REPO / "rules" / "default.yaml"), help="rule file with a semdedup: section")
    p.add_argument("--sweep", action="store_true", help="only report the share removed per eps (sweep.json)")
    p.add_argument("--embeddings", default=None, help="reuse embeddings (id + embedding parquet) of an earlier run")
    p.add_argument("--no-overwrite", action="store_true", help="refuse to replace a completed output")
    return p.parse_args(argv)


def load(args: argparse.Namespace) -> tuple[SemDedupConfig, EmbedConfig]:
    from data_platform.config import load_rules
    from data_platform.semantic.embed_batches import resolved_embed

    rules = load_rules(args.config)
    return rules.config.semdedup, resolved_embed(rules)


def run(spark: SparkSession, args: argparse.Namespace, cfg: tuple[SemDedupConfig, EmbedConfig]) -> dict[str, Any]:
    from data_platform.semantic.run import run_semdedup

    semdedup, embed = cfg
    return run_semdedup(spark, args.input, args.output, semdedup, embed, args.format, args.source,
                        not args.no_overwrite, args.sweep, args.embeddings)


def show(args: argparse.Namespace, stats: dict[str, Any]) -> int:
    from data_platform.report.stats import funnel_table

    out = console()
    if args.sweep:
        for row in stats["sweep"]:
            out.print(f"eps {row['eps']:<6} (cosine > {row['threshold']:.3f}): {row['removed']} documents "
                      f"({100 * row['share_removed']:.1f}%) would be removed")
        out.print(f"sweep.json: {args.output}")
        return 0
    out.print(funnel_table(stats, "Semantic dedup"))
    s = stats["semdedup"]
    out.print(f"{s['documents']} documents in {s['clusters']} clusters ({s['backend']} k-means, "
              f"{s['clusters_split']} oversized clusters split); cluster sizes: {s['cluster_size_histogram']}")
    out.print(f"kept/, dropped/, embeddings/, clusters/, stats.json: {args.output}")
    return accounting_exit(stats)


def main(argv: list[str] | None = None) -> int:
    from data_platform.semantic.run import SemanticInputError

    return run_job("semdedup", parse_args(sys.argv[1:] if argv is None else argv), load, run, show,
                   errors=(SemanticInputError,))

if __name__ == "__main__":
    sys.exit(main())
