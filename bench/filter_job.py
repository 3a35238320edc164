"""The filter job end to end on HTML, next to its parts alone: extraction, the funnel, and the whole job.

Run from the repository root with the project's interpreter, on an otherwise idle machine:

    .venv/bin/python bench/filter_job.py                  # -> bench/results/filter_job.md and .json

Method
------
1. Pages (not timed): every ``*.html`` page of the Debian documentation packages ``postgresql-doc-15``,
   ``python3.11-doc``, ``debian-policy``, ``bash-doc`` and ``gnu-standards`` (downloaded with ``apt-get download``
   and unpacked with ``dpkg -x`` into ``~/.cache/data-platform/filter-job``; licences PostgreSQL, PSF-2.0, GPL,
   GFDL), decoded with ``decode_html``, in a seeded order, until ``--mb`` MB of HTML (default 87; all 1,748 pages of
   these packages make 74 MB, so by default every page is used). They are written
   as ONE JSON-lines file of ``{id, html, url, source}`` records: a single large input file.
2. The parts alone, in this process on one core (pyarrow and BLAS limited to one thread), on the first
   ``--sample`` pages (default 600) after a warm-up of 20:
   - extraction: ``extract_html`` with the default rule file's ``extract:`` settings (what the job runs, metadata
     included);
   - the funnel: ``process_batch`` with ``rules/default.yaml`` on the extracted pages given as text records
     (batches of 500: the job's Arrow batch size), so extraction is not counted twice.
   Their combined rate per core is 1 / (1/extraction + 1/funnel): the best the job could do with no Spark cost.
3. The job: ``spark-submit --master local[2] jobs/filter.py --input <the file> --output <tmp> --on-alarm warn``,
   default rules (``--on-alarm warn``: on these manuals the perplexity rule, enforced for ``debian-doc/*``,
   drops more than its alarm's 50% of the pages reaching it, and the job would stop before its end);
   wall seconds of the process (JVM start included). pages/s per core = pages / wall / 2. The machine's busy share
   of both cores over the job (``psutil.cpu_times``) shows whether the single file kept both cores working.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402

pa.set_cpu_count(1)
pa.set_io_thread_count(1)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

from _machine import git_state, hardware  # noqa: E402
from debian_text import fetch_packages  # noqa: E402
from scale import SPARK_SUBMIT, run_measured  # noqa: E402

from data_platform.config import load_rules  # noqa: E402
from data_platform.extract import extract_html  # noqa: E402
from data_platform.funnel import process_batch  # noqa: E402
from data_platform.io.records import decode_html  # noqa: E402
from tests.conftest import raw_batch  # noqa: E402

PACKAGES = ["postgresql-doc-15", "python3.11-doc", "debian-policy", "bash-doc", "gnu-standards"]
LICENCES = {"python3.11-doc": "PSF-2.0", "gnu-standards": "GFDL-1.3+"}
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "data-platform" / "filter-job"
RULES = ROOT / "rules/default.yaml"
CORES = 2
BATCH = 500


def pages(mb: float) -> tuple[list[dict], dict[str, dict]]:
    """HTML records of the packages' pages in a seeded order, up to ``mb`` MB of HTML; the packages used."""
    found = fetch_packages(PACKAGES, CACHE, LICENCES)
    files = sorted((name, p) for name, pkg in found.items() for p in (pkg.root / "usr").rglob("*.html")
                   if p.is_file() and not p.is_symlink())
    random.Random(20261203).shuffle(files)
    out, size = [], 0
    for name, path in files:
        html, _ = decode_html(path.read_bytes())
        out.append({"id": f"{name}/{path.name}", "html": html, "url": f"file://{path}", "source": f"debian-doc/{name}"})
        size += len(html.encode())
        if size >= mb * 1e6:
            break
    return out, {n: {"version": p.version, "licence": p.licence} for n, p in found.items()}


def time_parts(docs: list[dict], sample: int) -> dict:
    """Extraction and the funnel alone, one core, on the first ``sample`` pages."""
    ruleset = load_rules(RULES)
    cfg, budget = ruleset.config.extract, ruleset.config.limits.extract_timeout_s
    for d in docs[:20]:
        extract_html(d["html"], d["url"], cfg, budget)
    chosen = docs[:sample]
    start = time.perf_counter()
    texts = [extract_html(d["html"], d["url"], cfg, budget).text for d in chosen]
    extract_s = time.perf_counter() - start
    records = [{"id": d["id"], "text": t, "url": d["url"], "source": d["source"]}
               for d, t in zip(chosen, texts, strict=True) if t]
    batches = [raw_batch(records[i : i + BATCH]) for i in range(0, len(records), BATCH)]
    process_batch(batches[0].slice(0, 20), ruleset)
    start = time.perf_counter()
    for b in batches:
        process_batch(b, ruleset)
    funnel_s = time.perf_counter() - start
    ex, fu = len(chosen) / extract_s, len(records) / funnel_s
    return {"pages": len(chosen), "extracted": len(records), "extract_pages_per_s": round(ex, 2),
            "funnel_pages_per_s": round(fu, 2), "combined_pages_per_s": round(1 / (1 / ex + 1 / fu), 2)}


def time_job(path: Path, n: int, work: Path) -> dict:
    before = psutil.cpu_times()
    r = run_measured([str(SPARK_SUBMIT), "--master", f"local[{CORES}]", str(ROOT / "jobs/filter.py"),
                      "--input", str(path), "--output", str(work / "out"), "--on-alarm", "warn"], work / "job.log")
    after = psutil.cpu_times()
    busy = sum(getattr(after, k) - getattr(before, k) for k in ("user", "system", "nice"))
    stats = json.loads((work / "out/stats.json").read_text())
    return {**r, "pages": n, "alarms": [a["stage"] for a in stats["alarms"]["stages"] if a["alarm"]],
            "input_documents": stats["accounting"]["input"], "kept": stats["kept"]["documents"],
            "pages_per_s_per_core": round(n / r["wall_s"] / CORES, 2),
            "cpu_busy_share": round(busy / (r["wall_s"] * CORES), 3)}


def write_results(res: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
    m, parts, job = res["machine"], res["parts"], res["job"]
    ratio = job["pages_per_s_per_core"] / parts["combined_pages_per_s"]
    pkgs = ", ".join(f"{n} {p['version']} ({p['licence']})" for n, p in res["packages"].items())
    lines = [
        "# The filter job on HTML, end to end and by part", "",
        f"Generated by `bench/filter_job.py` (method in its docstring). Machine: {m['cpu']}, {m['cores_available']}"
        f" cores available, {m['ram_gib']} GiB RAM, {m['os']}, Python {m['python']}, {m['java']}; {m['date_utc']}."
        f" Code: {res['code']}.", "",
        f"Input: one JSON-lines file of {job['pages']:,} real documentation pages, {res['input_mb']} MB "
        f"({pkgs}).", "",
        "| part | pages | pages/s per core |", "|---|---:|---:|",
        f"| extraction alone (`extract_html`, metadata on) | {parts['pages']:,} | {parts['extract_pages_per_s']} |",
        f"| funnel alone (`process_batch`, extracted text) | {parts['extracted']:,} | {parts['funnel_pages_per_s']} |",
        f"| both, no Spark (1 / (1/a + 1/b)) | | {parts['combined_pages_per_s']} |",
        f"| **the job** (`spark-submit --master local[2] jobs/filter.py`, wall {job['wall_s']} s) | "
        f"{job['pages']:,} | **{job['pages_per_s_per_core']}** |", "",
        f"The job runs at **{ratio:.0%}** of its parts' combined rate per core; both cores were busy "
        f"{job['cpu_busy_share']:.0%} of the job's wall time (one input file). Peak memory "
        f"{job['peak_rss_mib']:,} MiB; kept {job['kept']:,} of {job['input_documents']:,}; stages over their "
        f"removal-rate alarm (run with `--on-alarm warn`): {', '.join(job['alarms']) or 'none'}.",
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=87.0, help="MB of HTML in the input file")
    p.add_argument("--sample", type=int, default=600, help="pages for the parts' timing")
    p.add_argument("--out", type=Path, default=ROOT / "bench/results/filter_job")
    args = p.parse_args()
    docs, packages = pages(args.mb)
    work = Path(tempfile.mkdtemp(prefix="filter-job-"))
    try:
        path = work / "pages.jsonl"
        path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
        res = {"machine": hardware(), "code": git_state(), "packages": packages,
               "input_mb": round(path.stat().st_size / 1e6, 1)}
        res["parts"] = time_parts(docs, args.sample)
        print(f"parts: {res['parts']}", flush=True)
        res["job"] = time_job(path, len(docs), work)
        print(f"job: {res['job']}", flush=True)
        write_results(res, args.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
