"""Exact percentiles and token-weighted quality buckets over a whole DataFrame, computed on Spark: only O(parts)
numbers and n bucket minima reach the driver, never the scores (Nemotron-CC style buckets: each bucket holds about
1/n of the tokens, ranked by score).

Each function reads ``df`` several times (quantile bounds, part totals, the window, the join back): hand it a
checkpointed or cached DataFrame when computing it is expensive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

BELOW, AT, PART = "below", "at", "_part"


def cumulative(df: DataFrame, key: str, weight: str | None = None,
               parts: int | None = None) -> tuple[DataFrame, float]:
    """``(key, below, at)`` over the distinct non-null values of ``key`` (``at``: total weight of the rows with
    that value, ``below``: of the rows with a smaller one), and the total weight. ``weight=None`` counts rows;
    null weights count 0. ``parts`` (default: ``df``'s partition count) is how many ranges the window runs in."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    # Spark has no distributed weighted cumulative sum: a window ordered over the whole frame (sum, cume_dist,
    # percent_rank without partitionBy) moves every row to one partition, approxQuantile/percentile_approx are
    # approximate and unweighted, and percentile(col, p, frequency) returns values, not ranks, from one buffer
    # holding every distinct value. So: ranges of the key, a window within each range, and the totals of the
    # ranges before it as an offset. A range is a function of the key value only, so any bounds are exact.
    w = F.lit(1) if weight is None else F.coalesce(F.col(weight), F.lit(0))
    rows = df.where(F.col(key).isNotNull())
    parts = parts or max(1, df.rdd.getNumPartitions())
    part = _part(rows, key, parts)
    totals: dict[int, float] = {r: t for r, t in rows.groupBy(part.alias(PART)).agg(F.sum(w)).collect()}
    offsets: list[float] = []
    total: float = 0
    for p in range(parts):
        offsets.append(total)
        total += totals.get(p, 0)
    grouped = rows.groupBy(key).agg(F.sum(w).alias(AT)).withColumn(PART, part)
    earlier = Window.partitionBy(PART).orderBy(key).rowsBetween(Window.unboundedPreceding, -1)
    below = F.array(*[F.lit(o) for o in offsets])[F.col(PART)] + F.coalesce(F.sum(AT).over(earlier), F.lit(0))
    return grouped.select(key, below.alias(BELOW), AT), float(total)


def _part(rows: DataFrame, key: str, parts: int) -> Column:
    """The range of a key value: how many of ``parts - 1`` approximate quantile bounds of the key it reaches (so
    ranges follow the key's order and hold about equally many rows)."""
    from pyspark.sql import functions as F

    probs = [i / parts for i in range(1, parts)]
    bounds = sorted(set(rows.approxQuantile(key, probs, 0.25 / parts))) if probs else []
    return sum(((F.col(key) >= b).cast("int") for b in bounds), F.lit(0))


def percentile_ranks(df: DataFrame, cols: list[str], suffix: str = "_pct") -> DataFrame:
    """``df`` with ``<col><suffix>`` for each column: its mid-rank percentile in [0, 1], (rows below + rows at /
    2) / non-null rows; ties share a value, nulls stay null."""
    from pyspark.sql import functions as F

    out = df
    for col in cols:
        table, total = cumulative(df, col)
        pct = ((F.col(BELOW) + F.col(AT) / 2) / F.lit(total)).alias(col + suffix)
        out = out.join(table.select(col, pct), col, "left").select(*out.columns, col + suffix)
    return out


def token_buckets(df: DataFrame, score: str, weight: str, n: int,
                  out: str = "quality_bucket") -> tuple[DataFrame, list[float | None]]:
    """``df`` with ``out``, bucket 0..n-1 by token-weighted percentile of ``score`` (n-1: highest scores):
    min(n-1, floor(n * below / total)), ``below`` the weight of the rows with a smaller score; ties share a bucket,
    a null score gets a null bucket. Also the boundaries: for k = 1..n-1 the smallest score in bucket k or above
    (None where no score reaches k); zero total weight puts every row in bucket 0."""
    from pyspark.sql import functions as F

    table, total = cumulative(df, score, weight)
    bucket = F.least(F.lit(n - 1), F.floor(F.lit(n) * F.col(BELOW) / F.lit(total or 1.0))).cast("int")
    table = table.select(score, bucket.alias(out))
    lowest: dict[int, float] = {b: s for b, s in table.groupBy(out).agg(F.min(score)).collect()}
    boundaries: list[float | None] = []
    smallest: float | None = None
    for k in range(n - 1, 0, -1):
        if k in lowest:
            smallest = lowest[k]
        boundaries.append(smallest)
    return df.join(table, score, "left").select(*df.columns, out), boundaries[::-1]
