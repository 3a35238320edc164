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

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    from data_platform.cli import job_parser

    p = job_parser("jobs/semdedup.py", __doc__, str(REPO / "out" / "dedup" / "kept"), str(REPO / "out" / "semdedup"))
    p.add_argument("--config", default=str(REPO / "rules" / "default.yaml"), help="rule file with a semdedup: section")
    p.add_argument("--sweep", action="store_true", help="only report the share removed per eps (sweep.json)")
    p.add_argument("--embeddings", default=None, help="reuse embeddings (id + embedding parquet) of an earlier run")
    p.add_argument("--no-overwrite", action="store_true", help="refuse to replace a completed output")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from data_platform.cli import error
    from data_platform.config import load_rules
    from data_platform.yaml_lines import ConfigError

    try:
        rules = load_rules(args.config)
    except ConfigError as err:
        return error(err)
    from rich.console import Console

    from data_platform.io.spark_io import InputError
    from data_platform.io.writers import OutputExistsError
    from data_platform.report.stats import funnel_table
    from data_platform.semantic.run import SemanticInputError, run_semdedup
    from data_platform.semantic.stage import resolved_embed
    from data_platform.spark import build_session

    spark = build_session("semdedup", args.master)
    try:
        embed = resolved_embed(rules)
        stats = run_semdedup(spark, args.input, args.output, rules.config.semdedup, embed, args.format, args.source,
                             not args.no_overwrite, args.sweep, args.embeddings)
    except (InputError, OutputExistsError, SemanticInputError, FileNotFoundError) as err:
        return error(err)
    finally:
        spark.stop()
    console = Console(width=max(100, Console().width))
    if args.sweep:
        for row in stats["sweep"]:
            console.print(f"eps {row['eps']:<6} (cosine > {row['threshold']:.3f}): {row['removed']} documents "
                          f"({100 * row['share_removed']:.1f}%) would be removed")
        console.print(f"sweep.json: {args.output}")
        return 0
    console.print(funnel_table(stats, "Semantic dedup"))
    s = stats["semdedup"]
    console.print(f"{s['documents']} documents in {s['clusters']} clusters ({s['backend']} k-means, "
                  f"{s['clusters_split']} oversized clusters split); cluster sizes: {s['cluster_size_histogram']}")
    console.print(f"kept/, dropped/, embeddings/, clusters/, stats.json: {args.output}")
    return 0 if stats["accounting"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
