"""How the filter and dedup jobs scale with corpus size on this machine: time, documents/s and peak memory.

Run from the repository root with the project's interpreter:

    .venv/bin/python bench/scale.py                      # 100k, 300k, 1M documents -> bench/results/scale.md/.json
    .venv/bin/python bench/scale.py --sizes 100000 --words 40

Method: for each size a corpus is generated (``tests/cluster/corpus.py``, seed 0, ``--words`` words per
document, 8 JSON-lines files; every 10th document a near duplicate, every 25th an exact copy, every 20th junk;
not timed). Then the real jobs run as users start them, one after the other, each in a fresh
``spark-submit --master local[2]`` process: ``jobs/filter.py`` (default rules) into ``filter/``, and
``jobs/dedup.py`` on ``filter/kept`` into ``dedup/``. Wall time is the spark-submit process's (JVM start
included); documents/s = input documents / wall time. Peak memory is the largest sum of resident memory (RSS)
over the spark-submit process tree (driver JVM, which is also the executor in local mode, and the Python
workers), polled every 0.25 s with psutil. The load average before and after each job is recorded: the
machine's 2 cores may be shared with other work, which shows up there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _machine import git_state, hardware  # noqa: E402

from tests.cluster.corpus import write_corpus  # noqa: E402

SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"


def run_measured(cmd: list[str], log: Path) -> dict:
    """Run ``cmd``; wall seconds, peak RSS of its process tree (MiB) and the load averages around it."""
    load_before = os.getloadavg()[0]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONPATH": str(ROOT)}  # this checkout's library, not an installed one
    started = time.time()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        root, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(root))
            time.sleep(0.25)
    wall = time.time() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (rc {proc.returncode}); log: {log}")
    return {"wall_s": round(wall, 1), "peak_rss_mib": round(peak / 2**20),
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def bench_size(n: int, words: int, work: Path, driver_memory: str) -> dict:
    corpus = write_corpus(work / "corpus", n, seed=0, files=8, words=words)
    size_mb = sum(f.stat().st_size for f in corpus.iterdir()) / 1e6
    base = [str(SPARK_SUBMIT), "--master", "local[2]", "--driver-memory", driver_memory]
    result = {"documents": n, "input_mb": round(size_mb, 1)}
    jobs = {"filter": [str(ROOT / "jobs/filter.py"), "--input", str(corpus), "--output", str(work / "filter")],
            "dedup": [str(ROOT / "jobs/dedup.py"), "--input", str(work / "filter/kept"),
                      "--output", str(work / "dedup")]}
    for name, args in jobs.items():
        r = run_measured([*base, *args], work / f"{name}.log")
        stats = json.loads((work / name / "stats.json").read_text())
        r["input_documents"] = stats["accounting"]["input"]
        r["kept"] = stats["kept"]["documents"]
        r["docs_per_s"] = round(r["input_documents"] / r["wall_s"])
        result[name] = r
        print(f"{n:>9,} docs  {name:6s} {r['wall_s']:8.1f} s  {r['docs_per_s']:7,} docs/s  "
              f"peak {r['peak_rss_mib']:,} MiB  load {r['load_before']}->{r['load_after']}", flush=True)
    shutil.rmtree(work)
    return result


def write_results(results: list[dict], meta: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    lines = [
        "# Scaling: filter and dedup jobs by corpus size",
        "",
        f"Machine: {meta['machine']['cpu']}, {meta['machine']['cores_available']} cores available, "
        f"{meta['machine']['ram_gib']} GiB RAM, {meta['machine']['os']}, Python {meta['machine']['python']}, "
        f"{meta['machine']['java']}; {meta['machine']['date_utc']}. Code: {meta['code']}.",
        "",
        f"`bench/scale.py` (method in its docstring): generated English-like documents of {meta['words']} words, "
        f"each job one `spark-submit --master local[2] --driver-memory {meta['driver_memory']}` process. "
        "The load averages before and after each job are listed: a run under load from other work is a lower "
        "bound; the growth with size is the point.",
        "",
        "| documents | input MB | job | wall s | docs/s | peak RSS MiB | kept | load before → after |",
        "|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        for job in ("filter", "dedup"):
            j = r[job]
            lines.append(f"| {r['documents']:,} | {r['input_mb']:,} | {job} | {j['wall_s']:,} | {j['docs_per_s']:,} "
                         f"| {j['peak_rss_mib']:,} | {j['kept']:,} | {j['load_before']} → {j['load_after']} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    p.add_argument("--words", type=int, default=40, help="words per generated document")
    p.add_argument("--driver-memory", default="2g")
    p.add_argument("--out", type=Path, default=ROOT / "bench/results/scale")
    args = p.parse_args()
    meta = {"machine": hardware(), "code": git_state(), "words": args.words, "driver_memory": args.driver_memory}
    results = []
    for n in args.sizes:
        results.append(bench_size(n, args.words, Path(tempfile.mkdtemp(prefix=f"scale-{n}-")), args.driver_memory))
        write_results(results, meta, args.out)  # after every size: a long run that stops still leaves results


if __name__ == "__main__":
    main()
