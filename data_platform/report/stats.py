"""Funnel statistics from a run's written outputs: counts and characters per drop reason, source, language."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from data_platform import schema as S

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def aggregate(spark: SparkSession, out: str) -> list[dict[str, Any]]:
    """(status, reason, source, lang) -> documents, characters; read back from kept/ and dropped/."""
    from pyspark.sql import functions as F

    base = out.rstrip("/")
    kept = spark.read.parquet(f"{base}/kept").select(F.lit(None).cast("string").alias(S.DROP_REASON), S.SOURCE,
                                                      S.LANG, S.N_CHARS)
    dropped = spark.read.parquet(f"{base}/dropped").select(S.DROP_REASON, S.SOURCE, S.LANG, S.N_CHARS)
    grouped = (kept.unionByName(dropped)
               .groupBy(S.DROP_REASON, S.SOURCE, S.LANG)
               .agg(F.count(F.lit(1)).alias("documents"), F.sum(S.N_CHARS).alias("characters")))
    return [r.asDict() for r in grouped.collect()]


def build_stats(groups: list[dict[str, Any]], order: list[str], input_documents: int) -> dict[str, Any]:
    """The stats.json document: totals, the funnel in priority order, per source and per language."""
    total_docs = sum(g["documents"] for g in groups)
    total_chars = sum(g["characters"] or 0 for g in groups)
    by_reason: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for g in groups:
        by_reason[g[S.DROP_REASON]][0] += g["documents"]
        by_reason[g[S.DROP_REASON]][1] += g["characters"] or 0
    reasons = order + sorted(r for r in by_reason if r is not None and r not in order)
    funnel, docs_left, chars_left = [], total_docs, total_chars
    for reason in reasons:
        d, c = by_reason.get(reason, [0, 0])
        docs_left, chars_left = docs_left - d, chars_left - c
        funnel.append({"reason": reason, "documents_dropped": d, "characters_dropped": c,
                       "documents_left": docs_left, "characters_left": chars_left})
    kept_docs, kept_chars = by_reason.get(None, [0, 0])
    return {
        "input_documents": input_documents,
        "output_documents": total_docs,
        "kept": {"documents": kept_docs, "characters": kept_chars},
        "dropped": {"documents": total_docs - kept_docs, "characters": total_chars - kept_chars},
        "accounting": {"input": input_documents, "kept_plus_dropped": total_docs,
                       "ok": input_documents == total_docs},
        "funnel": funnel,
        "by_source": _breakdown(groups, S.SOURCE),
        "by_lang": _breakdown(groups, S.LANG),
    }


def _breakdown(groups: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for g in groups:
        entry = out.setdefault(g[key] or "unknown", {"documents": 0, "characters": 0, "kept_documents": 0,
                                                      "kept_characters": 0, "dropped": {}})
        entry["documents"] += g["documents"]
        entry["characters"] += g["characters"] or 0
        if g[S.DROP_REASON] is None:
            entry["kept_documents"] += g["documents"]
            entry["kept_characters"] += g["characters"] or 0
        else:
            entry["dropped"][g[S.DROP_REASON]] = entry["dropped"].get(g[S.DROP_REASON], 0) + g["documents"]
    return dict(sorted(out.items()))


def funnel_table(stats: dict[str, Any], title: str = "Filter funnel"):
    """The funnel as a rich Table: one row per drop reason that removed something, in priority order."""
    from rich.table import Table

    table = Table(title=f"{title} — {stats['input_documents']} documents in")
    for col in ("stage", "dropped docs", "dropped chars", "docs left", "% docs left", "chars left"):
        table.add_column(col, justify="left" if col == "stage" else "right", no_wrap=True)
    n = max(1, stats["output_documents"])
    table.add_row("input", "", "", str(stats["output_documents"]), "100.0%",
                  str(stats["kept"]["characters"] + stats["dropped"]["characters"]))
    for step in stats["funnel"]:
        if step["documents_dropped"]:
            table.add_row(step["reason"], str(step["documents_dropped"]), str(step["characters_dropped"]),
                          str(step["documents_left"]), f"{100 * step['documents_left'] / n:.1f}%",
                          str(step["characters_left"]))
    ok = stats["accounting"]
    table.caption = (f"kept {stats['kept']['documents']} + dropped {stats['dropped']['documents']} = "
                     f"{ok['kept_plus_dropped']} of {ok['input']} input: {'OK' if ok['ok'] else 'MISMATCH'}")
    return table


def cleaning_stats(spark: SparkSession, out: str, examples: int = 10) -> dict[str, Any]:
    """What the in-document cleaning changed, from the documents' meta: lines and characters removed per line
    rule, PII placeholders per kind, which evaluation items were found in which documents, and the documents
    rescued per rule (``rescue:``)."""
    from pyspark.sql import functions as F

    base = out.rstrip("/")
    docs = spark.read.parquet(f"{base}/kept").select(S.ID, S.META).unionByName(
        spark.read.parquet(f"{base}/dropped").select(S.ID, S.META))
    lines = (docs.select(F.explode(F.from_json(F.col(S.META)["lines_removed"], "map<string,array<bigint>>")))
             .groupBy("key").agg(F.count(F.lit(1)).alias("documents"), F.sum(F.col("value")[0]).alias("lines"),
                                 F.sum(F.col("value")[1]).alias("characters")))
    pii = (docs.select(F.explode(F.from_json(F.col(S.META)["pii_redacted"], "map<string,bigint>")))
           .groupBy("key").agg(F.count(F.lit(1)).alias("documents"), F.sum("value").alias("replaced")))
    items = (docs.select(S.ID, F.explode(F.split(F.col(S.META)["contamination"], ",")).alias("item"))
             .groupBy("item").agg(F.count(F.lit(1)).alias("documents"),
                                  F.slice(F.array_sort(F.collect_list(S.ID)), 1, examples).alias("examples")))
    rescued = (spark.read.parquet(f"{base}/kept").select(S.ID, F.col(S.META)["rescued_from"].alias("rules"))
               .where(F.col("rules").isNotNull())
               .select(S.ID, F.explode(F.split("rules", ",")).alias("rule")).groupBy("rule")
               .agg(F.count(F.lit(1)).alias("documents"),
                    F.slice(F.array_sort(F.collect_list(S.ID)), 1, examples).alias("examples")))
    return {
        "rescued": {r["rule"]: {"documents": r["documents"], "examples": r["examples"]}
                    for r in sorted(rescued.collect(), key=lambda r: r["rule"])},
        "lines_removed": {r["key"]: {"documents": r["documents"], "lines": r["lines"], "characters": r["characters"]}
                          for r in lines.collect()},
        "pii_redacted": {r["key"]: {"documents": r["documents"], "replaced": r["replaced"]} for r in pii.collect()},
        "contamination": {r["item"]: {"documents": r["documents"], "examples": r["examples"]}
                          for r in sorted(items.collect(), key=lambda r: r["item"])},
    }
