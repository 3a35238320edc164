"""The filter and dedup jobs on a real Spark standalone cluster (master + 2 workers on 127.0.0.1), submitted
with spark-submit and the packaged library: same results as local[2], through lost executors and killed drivers."""

from __future__ import annotations

import json
import os

import pytest

from tests.cluster.conftest import RULES, Submission, outcome, wait_until
from tests.cluster.standalone import REPO

pytestmark = pytest.mark.cluster

FILTER, DEDUP, PROBE = REPO / "jobs" / "filter.py", REPO / "jobs" / "dedup.py", REPO / "tests" / "cluster" / "probe.py"


def filter_args(inputs, out) -> list[str]:
    return ["--input", *inputs, "--output", str(out), "--rules", str(RULES), "--partitions", "6"]


def test_executors_use_the_shipped_package_and_model_copies(cluster, package, tmp_path):
    run = Submission(cluster, package, PROBE, str(RULES), cwd=tmp_path)
    assert run.wait() == 0, run.output()[-3000:]
    probe = json.loads(next(line for line in run.output().splitlines() if line.startswith("PROBE "))[6:])
    assert probe["driver_module"] == f"{package}/data_platform/__init__.py"
    workers = {os.path.realpath(cluster.root / f"worker{i}") for i in range(2)}
    for ex in probe["executors"]:
        assert ex["module"].endswith("data_platform.zip/data_platform/__init__.py"), ex
        for name in ("langid", "kenlm_en"):  # the executor's own copy, in its worker's folder
            assert ex[name] != os.path.realpath(probe["driver_models"][name])
            assert any(ex[name].startswith(w + os.sep) for w in workers), ex
            assert os.path.getsize(ex[name]) == os.path.getsize(probe["driver_models"][name])


def test_filter_and_dedup_on_the_cluster_equal_local(cluster, package, inputs, reference, tmp_path):
    run = Submission(cluster, package, FILTER, *filter_args(inputs, tmp_path / "filter"), cwd=tmp_path)
    assert run.wait() == 0, run.output()[-3000:]
    assert outcome(tmp_path / "filter") == outcome(reference["filter"])
    run = Submission(cluster, package, DEDUP, "--input", str(tmp_path / "filter" / "kept"),
                     "--output", str(tmp_path / "dedup"), "--config", str(RULES), cwd=tmp_path)
    assert run.wait() == 0, run.output()[-3000:]
    got, want = outcome(tmp_path / "dedup"), outcome(reference["dedup"])
    assert got == want
    assert any(r[0] == "cluster" for r in want) and any(r[1] == "duplicate_exact" for r in want)


def test_lost_worker_during_dedup_changes_nothing(cluster, package, reference, tmp_path):
    out = tmp_path / "dedup"
    run = Submission(cluster, package, DEDUP, "--input", str(reference["filter"] / "kept"), "--output", str(out),
                     "--config", str(RULES), cwd=tmp_path)
    # mid-run: the documents are checkpointed and a later step is being written
    wait_until(lambda: len(list(out.glob("_checkpoints/*/rdd-*"))) >= 2, "the second checkpoint", run)
    assert not (out / "kept").exists()
    cluster.kill("worker1")  # the worker and its executor JVM (SIGKILL to the process group)
    try:
        assert run.wait() == 0, run.output()[-3000:]
        assert "Lost executor" in run.output() or "lost worker" in run.output().lower()
        assert outcome(out) == outcome(reference["dedup"])
        assert not (out / "_checkpoints").exists() and (out / "_COMPLETE").exists()
    finally:
        cluster.start_worker(1)
        cluster.wait_for_workers(2)


def test_killed_driver_leaves_no_complete_output_and_a_rerun_finishes(cluster, package, inputs, reference, tmp_path):
    out = tmp_path / "filter"
    args = filter_args(inputs, out)
    run = Submission(cluster, package, FILTER, *args, cwd=tmp_path)
    wait_until(lambda: any(out.glob("_staging/_temporary/0/task_*")), "the first committed task", run)
    run.kill()  # spark-submit, the driver JVM and the driver's Python, all at once
    assert not (out / "_COMPLETE").exists() and not (out / "kept").exists() and (out / "_staging").exists()
    rerun = Submission(cluster, package, FILTER, *args, cwd=tmp_path)
    assert rerun.wait() == 0, rerun.output()[-3000:]
    assert (out / "_COMPLETE").exists() and not (out / "_staging").exists()
    assert outcome(out) == outcome(reference["filter"])
