"""The numbers the funnel report shows: the run's rows read back and sampled, every rule's values as a long
table, the shares nearby thresholds would drop, distances to a bound and the funnel's steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence, cast

import numpy as np
import pandas as pd

from data_platform import schema as S

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession

SNIPPET = "snippet"
SNIPPET_CHARS = 400
FACTORS = (0.8, 0.9, 1.0, 1.1, 1.25)
UNKNOWN_LANG = "unknown"


def report_rows(spark: SparkSession, out: str, max_rows: int = 20000, seed: int = 0) -> pd.DataFrame:
    """kept/ and dropped/ read back with Spark, sampled deterministically to at most ``max_rows`` rows.

    Columns: id, source, lang, drop_reason, drop_detail, n_chars, rules (plain lists of dicts), snippet (the
    first ``SNIPPET_CHARS`` characters of the text).
    """
    from pyspark.sql import functions as F

    cols: list[Column | str] = [S.ID, S.SOURCE, S.LANG, S.DROP_REASON, S.DROP_DETAIL, S.N_CHARS, S.RULES,
            F.substring(S.TEXT, 1, SNIPPET_CHARS).alias(SNIPPET)]
    base = out.rstrip("/")
    df = spark.read.parquet(f"{base}/kept").select(*cols).unionByName(
        spark.read.parquet(f"{base}/dropped").select(*cols))
    total = df.count()
    if total > max_rows:
        df = df.sample(fraction=max_rows / total, seed=seed).limit(max_rows)
    rows = cast(pd.DataFrame, df.toPandas())  # pyspark types it as a protocol
    rows[S.RULES] = rows[S.RULES].map(_plain_rules)
    return rows


def _plain_rules(rules: Iterable[Any] | None) -> list[dict[str, Any]]:
    """A ``rules`` cell as Spark/pandas hand it over (array of Rows or dicts, or None) as a list of dicts."""
    if rules is None:
        return []
    return [r.asDict() if hasattr(r, "asDict") else dict(r) for r in rules]


def rule_values(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows' ``rules`` as a long table: one row per (document, rule).

    ``doc`` is the document's position in ``rows``; ``reached`` is false when an earlier enforced rule in the
    document's funnel already failed (the document never got to this rule in the funnel).
    """
    records = []
    for doc, (lang, source, reason, rules) in enumerate(
            zip(rows[S.LANG], rows[S.SOURCE], rows[S.DROP_REASON], rows[S.RULES], strict=True)):
        reached = True
        for r in rules:
            records.append((doc, lang or UNKNOWN_LANG, source, reason, r["name"], r["value"], r["min"], r["max"],
                            bool(r["passed"]), bool(r["enforced"]), reached))
            reached = reached and (r["passed"] or not r["enforced"])
    long = pd.DataFrame.from_records(records, columns=["doc", S.LANG, S.SOURCE, S.DROP_REASON, "rule", "value",
                                                      "min", "max", "passed", "enforced", "reached"])
    return long.astype({"value": float, "min": float, "max": float})


def threshold_shares(values: pd.DataFrame, rule: str, factors: Sequence[float] = FACTORS) -> pd.DataFrame:
    """Per language and bound: the share of documents reaching ``rule`` that a bound scaled by each factor drops.

    Each document's own bound is scaled (bounds vary by language and source), and failures that are not about
    the bounds (a language outside an allowed list) count at every factor, so at ×1 the share is what the rule
    drops now. One column per factor, named like ``×0.9``; ``current`` is the tuple of distinct bounds in use.
    """
    reached = values[(values["rule"] == rule) & values["reached"]]
    out = []
    for lang, g in reached.groupby(S.LANG, sort=True):
        other_failure = ~g["passed"] & ~((g["value"] < g["min"]) | (g["value"] > g["max"]))
        for bound in ("min", "max"):
            limit = g[bound]
            if limit.isna().all():
                continue
            row = {S.LANG: lang, "bound": bound, "current": tuple(sorted(limit.dropna().unique())),
                   "documents": len(g)}
            for f in factors:
                beyond = g["value"] < limit * f if bound == "min" else g["value"] > limit * f
                row[f"×{f:g}"] = (beyond | other_failure).sum() / len(g)
            out.append(row)
    return pd.DataFrame(out)


def margin(df: pd.DataFrame) -> pd.Series:
    """Multiplicative distance of each value to its nearest bound, |log(value / bound)| (0 = on the threshold);
    values and bounds are never negative."""
    def distance(bound: pd.Series) -> pd.Series:
        return (np.log(df["value"] + 1e-9) - np.log(bound + 1e-9)).abs()

    return pd.concat([distance(df["max"]), distance(df["min"])], axis=1).min(axis=1)


def funnel_steps(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """The funnel with its starting point: every stage with documents/characters dropped and left."""
    start = {"reason": "input", "documents_dropped": 0, "characters_dropped": 0,
             "documents_left": stats["output_documents"],
             "characters_left": stats["kept"]["characters"] + stats["dropped"]["characters"]}
    return [start, *stats["funnel"]]
