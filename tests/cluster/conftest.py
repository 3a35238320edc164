"""Fixtures for the tests against a real Spark standalone cluster (marker ``cluster``; select with
``-m cluster``, skip with ``-m 'not cluster'``): one cluster of a master and two workers per test run, the
library packaged by ``scripts/package.sh``, a generated corpus plus sample files, and its local[2] results."""

from __future__ import annotations

import collections
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cluster.corpus import write_corpus
from tests.cluster.standalone import REPO, StandaloneCluster, spark_env, submit_command

RULES = REPO / "rules" / "default.yaml"
SAMPLE = REPO / "data" / "sample"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    c = StandaloneCluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield c.start()
    finally:
        c.stop()


@pytest.fixture(scope="session")
def package(tmp_path_factory) -> Path:
    """The library as users ship it: ``scripts/package.sh`` -> data_platform.zip for --py-files."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(["bash", str(REPO / "scripts" / "package.sh"), str(dist)], check=True, capture_output=True,
                   env={**os.environ, "PYTHON": sys.executable})
    return dist / "data_platform.zip"


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> list[str]:
    """Generated prose with exact and near duplicates, plus real pages (WARC: extraction, language id, KenLM)
    and the synthetic junk of the sample."""
    folder = write_corpus(tmp_path_factory.mktemp("corpus"), 1500, seed=9, files=3)
    return [str(folder), str(SAMPLE / "pages.warc.gz"), str(SAMPLE / "synthetic.jsonl")]


@pytest.fixture(scope="session")
def reference(spark, inputs, tmp_path_factory) -> dict[str, Path]:
    """Filter and dedup outputs of a local[2] run on the same inputs."""
    from data_platform.config import load_rules
    from data_platform.dedup.run import run_dedup
    from data_platform.filter_run import FilterRun, run_filter

    out = tmp_path_factory.mktemp("local")
    ruleset = load_rules(RULES)
    assert run_filter(spark, FilterRun(inputs, str(out / "filter"), ruleset))["accounting"]["ok"]
    dedup = run_dedup(spark, [str(out / "filter" / "kept")], str(out / "dedup"), ruleset.config.dedup)
    assert dedup["accounting"]["ok"]
    return {"filter": out / "filter", "dedup": out / "dedup"}


def outcome(out: Path) -> collections.Counter:
    """Every output row as (id, drop_reason, drop_detail, text hash), and the dedup clusters if any."""
    rows: collections.Counter = collections.Counter()
    for part in ("kept", "dropped"):
        t = pq.read_table(out / part, columns=["id", "drop_reason", "drop_detail", "text"]).to_pydict()
        rows.update(zip(t["id"], t["drop_reason"], t["drop_detail"],
                        (hashlib.sha1((x or "").encode()).hexdigest() for x in t["text"]), strict=True))
    if (out / "clusters").exists():
        t = pq.read_table(out / "clusters").to_pydict()
        rows.update(("cluster", *r) for r in zip(t["id"], t["cluster"], t["size"], strict=True))
    return rows


class Submission:
    """A spark-submit run against the cluster in its own process group (so the whole driver can be killed)."""

    def __init__(self, cluster: StandaloneCluster, package: Path, script: Path, *args: str, cwd: Path,
                 conf: dict[str, str] | None = None):
        self.log = cwd / f"submit-{time.time_ns()}.log"
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen(submit_command(cluster.url, package, script, *args, conf=conf), cwd=cwd,
                                     env=spark_env(cluster.root), stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait(self, timeout: float = 900) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:  # never leave a driver behind
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise
        finally:
            self._log.close()

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_until(condition, what: str, proc: Submission, timeout: float = 600, poll: float = 0.1) -> None:
    """Poll ``condition`` while the submission runs; fail if it ends or the time runs out first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        if proc.proc.poll() is not None:
            pytest.fail(f"the job ended (rc {proc.proc.returncode}) before {what}:\n{proc.output()[-3000:]}")
        time.sleep(poll)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}")
