"""Exact percentiles and token-weighted buckets on Spark against the same quantities worked out in plain Python
(sort, cumulative sums), whatever the partitioning and the number of key ranges."""

from __future__ import annotations

import random

import pytest

ROWS = [(f"d{i}", s, t) for i, (s, t) in enumerate(
    [(0.5, 120), (3.25, 40), (1.0, 300), (4.75, 10), (3.25, 75), (2.0, 0), (None, 500), (1.0, 60), (4.0, 250),
     (2.5, 90), (3.25, 5), (0.25, 33), (4.75, 400), (None, 7), (1.5, 150), (3.0, 64), (2.0, 220), (4.5, 18)])]
SCHEMA = "id string, score double, tokens long"


def _below_at(values: list[tuple[float | None, int]]) -> dict[float, tuple[int, int]]:
    """score -> (weight of smaller scores, weight at the score), by sorting and a running sum."""
    pairs = sorted((s, w) for s, w in values if s is not None)
    out: dict[float, tuple[int, int]] = {}
    running = 0
    for s, w in pairs:
        below, at = out.get(s, (running, 0))
        out[s] = (below, at + w)
        running += w
    return out

Buckets = tuple[dict[str, int | None], list[float | None]]


def _hand_buckets(rows: list[tuple[str, float | None, int]], n: int) -> Buckets:
    table = _below_at([(s, t) for _, s, t in rows])
    total = sum(t for _, s, t in rows if s is not None)
    bucket = {s: min(n - 1, n * below // total) for s, (below, _) in table.items()}
    docs = {i: None if s is None else bucket[s] for i, s, _ in rows}
    bounds = [min((s for s, b in bucket.items() if b >= k), default=None) for k in range(1, n)]
    return docs, bounds


def _buckets(df, n: int) -> Buckets:
    from data_platform.tagging.buckets import token_buckets

    out, bounds = token_buckets(df, "score", "tokens", n)
    return {r["id"]: r["quality_bucket"] for r in out.collect()}, bounds


def test_equal_weights_split_into_equal_buckets(spark):
    df = spark.createDataFrame([(f"d{i}", float(i), 1) for i in range(1, 9)], SCHEMA)
    docs, bounds = _buckets(df, 4)
    assert [docs[f"d{i}"] for i in range(1, 9)] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert bounds == [3.0, 5.0, 7.0]


def test_buckets_and_boundaries_are_token_weighted_percentiles(spark):
    for n, partitions in ((5, 1), (5, 4)):
        docs, bounds = _hand_buckets(ROWS, n)
        got, got_bounds = _buckets(spark.createDataFrame(ROWS, SCHEMA).repartition(partitions), n)
        assert got == docs and got_bounds == bounds, (n, partitions)
        assert docs["d6"] is None and docs["d13"] is None  # null scores
        assert docs["d1"] == docs["d4"] == docs["d10"]  # tied scores


def test_a_bucket_no_score_reaches_has_no_boundary(spark):
    df = spark.createDataFrame([("a", 1.0, 500), ("b", 2.0, 10), ("c", 3.0, 1000)], SCHEMA)
    docs, bounds = _buckets(df, 4)
    assert docs == {"a": 0, "b": 1, "c": 1}
    assert bounds[0] == 2.0 and bounds[1] is None and bounds[2] is None


def test_zero_total_weight_puts_every_document_in_bucket_0(spark):
    df = spark.createDataFrame([("a", 1.0, 0), ("b", 2.0, 0)], SCHEMA)
    docs, bounds = _buckets(df, 3)
    assert docs == {"a": 0, "b": 0} and bounds == [None, None]


def test_cumulative_is_exact_for_any_number_of_ranges_with_ties_on_range_bounds(spark):
    from data_platform.tagging.buckets import cumulative

    rng = random.Random(7)
    # 5 distinct keys, each repeated in every input partition: approxQuantile returns data values, so every
    # range bound is a tied key.
    rows = [(f"r{i}", float(rng.choice([1, 2, 3, 4, 5])), rng.randint(0, 50)) for i in range(200)]
    rows += [("nul", None, 99)]
    df = spark.createDataFrame(rows, SCHEMA).repartition(4)
    assert {k for k, in df.select("score").distinct().collect()} == {1.0, 2.0, 3.0, 4.0, 5.0, None}
    assert set(df.approxQuantile("score", [1 / 3, 2 / 3], 0.0)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    want = _below_at([(s, t) for _, s, t in rows])
    for parts in (1, 3):
        table, total = cumulative(df, "score", "tokens", parts)
        assert {r["score"]: (r["below"], r["at"]) for r in table.collect()} == want, parts
        assert total == sum(t for _, s, t in rows if s is not None)


def test_cumulative_without_weight_counts_rows(spark):
    from data_platform.tagging.buckets import cumulative

    df = spark.createDataFrame([("a", 2.0, 9), ("b", 1.0, 9), ("c", 2.0, 9), ("d", None, 9), ("e", 3.0, 9)], SCHEMA)
    table, total = cumulative(df, "score", parts=7)  # more ranges than keys
    assert {r["score"]: (r["below"], r["at"]) for r in table.collect()} == {1.0: (0, 1), 2.0: (1, 2), 3.0: (3, 1)}
    assert total == 4.0


def _mid_ranks(values: list[float | None]) -> list[float | None]:
    present = [v for v in values if v is not None]
    return [None if v is None else (sum(x < v for x in present) + sum(x == v for x in present) / 2) / len(present)
            for v in values]


def test_percentile_ranks_are_mid_ranks_with_ties_and_nulls(spark):
    from data_platform.tagging.buckets import percentile_ranks

    rows = [(f"d{i}", s, None if i % 6 == 0 else i % 4) for i, (_, s, _) in enumerate(ROWS)]
    df = spark.createDataFrame(rows, SCHEMA).repartition(3)
    out = percentile_ranks(df, ["score", "tokens"])
    assert out.columns == ["id", "score", "tokens", "score_pct", "tokens_pct"]
    got = {r["id"]: r for r in out.collect()}
    for col, pos in (("score", 1), ("tokens", 2)):
        want = _mid_ranks([r[pos] for r in rows])
        assert [got[r[0]][col + "_pct"] for r in rows] == pytest.approx(want), col
