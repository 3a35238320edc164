"""A real Spark standalone cluster on 127.0.0.1 for tests: one master and N workers started from the pyspark
installation's own launcher (``bin/spark-class``; the pip package ships no ``sbin/start-master.sh``), each in
its own process group so that stopping it (or killing it, as a lost worker) takes its executors with it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent
REPO = Path(__file__).resolve().parents[2]


def free_ports(k: int) -> list[int]:
    """``k`` distinct free ports (all held open at once while they are picked)."""
    socks = [socket.socket() for _ in range(k)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def spark_env(root: Path) -> dict[str, str]:
    """Environment for the cluster's JVMs and spark-submit: this interpreter for Python workers, loopback only,
    and no PYTHONPATH, so the library comes from the shipped package and not from the repository."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_")) and k != "PYTHONPATH"}
    env.update(SPARK_HOME=str(SPARK_HOME), SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_DAEMON_MEMORY="256m",
               SPARK_CONF_DIR=str(root / "conf"), HF_HUB_OFFLINE="1")
    return env


@dataclass
class StandaloneCluster:
    root: Path
    workers: int = 2
    worker_memory: str = "1g"
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # master RPC, then RPC and web UI per worker launch (restarts included); the master UI takes any free port
        self._ports = iter(free_ports(1 + 2 * (self.workers + 4)))
        self.master_port = next(self._ports)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    def start(self) -> "StandaloneCluster":
        (self.root / "conf").mkdir(parents=True, exist_ok=True)
        (self.root / "conf" / "log4j2.properties").write_text(  # the project's logging + workers' registration
            (REPO / "conf" / "log4j2.properties").read_text()
            + "logger.worker.name = org.apache.spark.deploy.worker.Worker\nlogger.worker.level = info\n")
        self._launch("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                     "--port", str(self.master_port), "--webui-port", "0")
        for i in range(self.workers):
            self.start_worker(i)
        self.wait_for_workers(self.workers)
        return self

    def start_worker(self, i: int) -> None:
        work = self.root / f"worker{i}"
        work.mkdir(parents=True, exist_ok=True)
        self._launch(f"worker{i}", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                     "--port", str(next(self._ports)), "--webui-port", str(next(self._ports)), "--cores", "1",
                     "--memory", self.worker_memory, "--work-dir", str(work), self.url)

    def _launch(self, name: str, main_class: str, *args: str) -> None:
        self.logs[name] = self.root / f"{name}-{time.time_ns()}.log"  # a fresh log per launch
        with open(self.logs[name], "wb") as log:
            self.procs[name] = subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), main_class, *args],
                                                env=spark_env(self.root), stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)

    def wait_for_workers(self, n: int, timeout: float = 180) -> None:
        """Until ``n`` running workers have logged their registration with the master."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            registered = [name for name in self.procs if name.startswith("worker")
                          and "Successfully registered with master" in self.logs[name].read_text(errors="replace")]
            if len(registered) >= n:
                return
            time.sleep(0.5)
        raise RuntimeError(f"the standalone cluster did not get {n} workers in {timeout}s; logs in {self.root}")

    def kill(self, name: str) -> None:
        """SIGKILL a master/worker and everything in its process group (a worker's executors and Python)."""
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def stop(self) -> None:
        """Stop every process of the cluster: SIGTERM, then SIGKILL what is left after 10 s."""
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for name in list(self.procs):
            try:
                self.procs[name].wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.kill(name)


def submit_command(cluster_url: str, py_files: Path, script: Path, *args: str, conf: dict[str, str] | None = None
                   ) -> list[str]:
    """A spark-submit command line for the cluster, shipping the library as ``--py-files``."""
    settings = {"spark.executor.memory": "512m", "spark.driver.memory": "512m", "spark.cores.max": "2",
                "spark.task.maxFailures": "4", **(conf or {})}
    confs = [x for k, v in settings.items() for x in ("--conf", f"{k}={v}")]
    return [str(SPARK_HOME / "bin" / "spark-submit"), "--master", cluster_url, "--py-files", str(py_files),
            *confs, str(script), *args]
