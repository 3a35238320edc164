"""Large inputs: records too large for an executor are cut in the JVM and dropped as too_long; everything else
goes through unchanged. The fast test runs on the shared local[2] session; the 100 MB one needs ``DP_SLOW=1``."""

from __future__ import annotations

import json
import os
import random
from dataclasses import replace

import pyarrow.parquet as pq
import pytest

from tests.cluster.conftest import RULES, Submission
from tests.cluster.corpus import WORDS, write_corpus
from tests.cluster.standalone import REPO


def _with_record_limit(ruleset, limit: int):
    limits = ruleset.config.limits.model_copy(update={"max_record_bytes": limit})
    return replace(ruleset, config=ruleset.config.model_copy(update={"limits": limits}))


@pytest.mark.e2e
def test_oversized_records_are_dropped_before_python(spark, ruleset, tmp_path):
    from data_platform.filter_run import FilterRun, run_filter

    folder = write_corpus(tmp_path / "in", 60, seed=3, files=1)
    big = " ".join(random.Random(1).choices(WORDS, k=30_000))  # ~180 kB
    with open(folder / "big.jsonl", "w") as f:
        f.write(json.dumps({"id": "big-with-id", "text": big}) + "\n")
        f.write(json.dumps({"text": big + " x", "id": None}) + "\n")  # no usable id: the record's content id
    stats = run_filter(spark, FilterRun([str(folder)], str(tmp_path / "out"), _with_record_limit(ruleset, 100_000)))
    assert stats["accounting"]["ok"] and stats["accounting"]["input"] == 62
    dropped = pq.read_table(tmp_path / "out" / "dropped").to_pylist()
    too_long = {r["id"]: r for r in dropped if r["drop_reason"] == "too_long"}
    assert len(too_long) == 2 and "big-with-id" in too_long
    other = next(k for k in too_long if k != "big-with-id")
    assert other.startswith("big.jsonl/") and len(other) == len("big.jsonl/") + 16
    for r in too_long.values():
        assert "limits.max_record_bytes=100000" in r["drop_detail"] and len(r["text"].encode()) <= 65536
    assert len(pq.read_table(tmp_path / "out" / "kept").to_pylist()) + len(dropped) == 62


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("DP_SLOW") != "1", reason="several GB of input; run with DP_SLOW=1")
def test_corpus_larger_than_executor_memory_with_100mb_documents(cluster, package, tmp_path):
    folder = write_corpus(tmp_path / "in", 20_000, seed=5, files=4)
    chunk = " ".join(random.Random(0).choices(WORDS, k=200_000)) + "\n"
    with open(folder / "huge.jsonl", "w") as f:
        for i in range(int(os.environ.get("DP_HUGE_DOCS", "30"))):  # 30 x 100 MB = 3 GB, 3x the executor memory
            f.write(json.dumps({"id": f"huge-{i}", "text": chunk * (100_000_000 // len(chunk))}) + "\n")
    out = tmp_path / "out"
    run = Submission(cluster, package, REPO / "jobs" / "filter.py", "--input", str(folder), "--output", str(out),
                     "--rules", str(RULES), cwd=tmp_path, conf={"spark.executor.memory": "1g"})
    assert run.wait(timeout=3600) == 0, run.output()[-3000:]
    stats = json.loads((out / "stats.json").read_text())
    reasons = {s["reason"]: s["documents_dropped"] for s in stats["funnel"]}
    assert stats["accounting"]["ok"] and reasons["too_long"] == int(os.environ.get("DP_HUGE_DOCS", "30"))
