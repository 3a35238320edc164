"""The whole dedup job at scale: GB of text per core-hour on realistic-size documents, and a skewed corpus.

Run from the repository root with the project's interpreter, on an otherwise idle machine:

    .venv/bin/python bench/dedup_scale.py                 # 300k docs + skew (1M docs) -> bench/results/dedup_scale.*
    .venv/bin/python bench/dedup_scale.py --docs 30000 --skew-docs 0

Method
------
1. Scale corpus (generated, not timed): ``tests/cluster/corpus.py`` with seed 0, ``--words`` words per document
   (default 1,250: about 7 KB, the size of a real extracted web page) in paragraphs of 5 sentences, 8 JSON-lines
   files. Every 10th document is a near duplicate of an earlier one, every 25th an exact copy, every 20th a digit
   table; the rest is distinct prose.
2. Skew corpus (generated, not timed): ``--skew-docs`` documents of 40 words (default 1,000,000) of which
   ``--skew-copies`` (default 200,000, every 5th) are one 400-word page: half of them exact copies, half with one
   word replaced (a near duplicate that only MinHash finds, so one LSH bucket and one component of 100,000).
3. Each corpus goes through ``jobs/dedup.py`` as users start it: one ``spark-submit --master local[2]
   --driver-memory 4g`` process, the rule file's ``dedup:`` section (``rules/default.yaml``: exact, MinHash LSH
   with verification and connected components, paragraph and sentence-span dedup). Wall seconds include the JVM
   start; GB/core-hour = input text (UTF-8 bytes of ``text``) / (wall hours x 2 cores). The job's own
   ``stats.json`` gives seconds per stage (each stage's result is checkpointed, so a stage's time is its own).
   Peak memory: the largest resident-memory sum over the spark-submit process tree (psutil, every 0.25 s); CPU
   use: the machine's busy share of both cores over the job (``psutil.cpu_times``).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _machine import git_state, hardware  # noqa: E402
from scale import SPARK_SUBMIT, run_measured  # noqa: E402

from tests.cluster.corpus import WORDS, document, write_corpus  # noqa: E402

CORES = 2
STAGES = ("read", "exact", "minhash", "paragraphs", "sentences", "write")


def write_skew_corpus(folder: Path, n: int, copies: int, files: int = 8) -> Path:
    """``n`` documents; every (n // copies)-th one the same 400-word page, exact and one-word-changed in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    page = document(7, 0, 400)["text"].split(" ")
    every = n // copies
    rng = random.Random(7)
    handles = [open(folder / f"part-{f:03d}.jsonl", "w") for f in range(files)]
    try:
        for i in range(n):
            doc = document(0, i, 40)
            if i % every == 0:
                words = list(page)
                if (i // every) % 2:
                    words[rng.randrange(len(words))] = rng.choice(WORDS)
                doc["text"] = " ".join(words)
            handles[i % files].write(json.dumps(doc) + "\n")
    finally:
        for h in handles:
            h.close()
    return folder


def text_bytes(folder: Path) -> int:
    total = 0
    for f in sorted(folder.iterdir()):
        with open(f) as lines:
            total += sum(len(json.loads(line)["text"].encode()) for line in lines)
    return total


def run_job(corpus: Path, out: Path, log: Path) -> dict:
    """One spark-submit of jobs/dedup.py; its wall time, memory, CPU use and what its stats.json reports."""
    before = psutil.cpu_times()
    r = run_measured([str(SPARK_SUBMIT), "--master", "local[2]", "--driver-memory", "4g",
                      str(ROOT / "jobs/dedup.py"), "--input", str(corpus), "--output", str(out)], log)
    after = psutil.cpu_times()
    busy = sum(getattr(after, k) - getattr(before, k) for k in ("user", "system", "nice"))
    stats = json.loads((out / "stats.json").read_text())
    reasons = {f["reason"]: f["documents_dropped"] for f in stats["funnel"] if f["documents_dropped"]}
    return {**r, "cpu_busy_share": round(busy / (r["wall_s"] * CORES), 3),
            "input_documents": stats["accounting"]["input"], "accounting_ok": stats["accounting"]["ok"],
            "kept": stats["kept"]["documents"], "dropped_by_reason": reasons,
            "stage_seconds": stats["dedup"]["stage_seconds"],
            "cluster_sizes_top": sorted(stats["dedup"]["cluster_size_histogram"], key=int)[-3:]}


def measure(name: str, corpus: Path, work: Path) -> dict:
    n_bytes = text_bytes(corpus)
    r = run_job(corpus, work / f"{name}-out", work / f"{name}.log")
    r["text_gb"] = round(n_bytes / 1e9, 3)
    r["gb_per_core_hour"] = round(n_bytes / 1e9 / (r["wall_s"] / 3600 * CORES), 2)
    r["docs_per_s"] = round(r["input_documents"] / r["wall_s"])
    r["machine_date"], r["code"] = hardware()["date_utc"], git_state()
    print(f"{name}: {r['input_documents']:,} docs {r['text_gb']} GB in {r['wall_s']} s = "
          f"{r['gb_per_core_hour']} GB/core-hour; stages {r['stage_seconds']}; peak {r['peak_rss_mib']} MiB; "
          f"CPU busy {r['cpu_busy_share']:.0%}", flush=True)
    shutil.rmtree(work / f"{name}-out")
    return r


def write_results(results: dict, meta: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    m = meta["machine"]
    lines = ["# The dedup job at scale", "",
             f"Generated by `bench/dedup_scale.py` (method in its docstring). Machine: {m['cpu']}, "
             f"{m['cores_available']} cores available, {m['ram_gib']} GiB RAM, {m['os']}, Python {m['python']}, "
             f"{m['java']}. Each corpus ran alone on the machine; its date and code are in its row.", "",
             "| corpus | documents | text GB | wall s | GB/core-hour | docs/s | peak RSS MiB | CPU busy | kept | run |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['input_documents']:,} | {r['text_gb']} | {r['wall_s']:,} | "
                     f"**{r['gb_per_core_hour']}** | {r['docs_per_s']:,} | {r['peak_rss_mib']:,} | "
                     f"{r['cpu_busy_share']:.0%} | {r['kept']:,} | {r['machine_date']}, `{r['code']}` |")
    lines += ["", "Seconds per stage (from the job's `stats.json`):", "",
              "| corpus | " + " | ".join(STAGES) + " |", "|---|" + "---:|" * len(STAGES)]
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(str(r["stage_seconds"].get(s, "")) for s in STAGES) + " |")
    for name, r in results.items():
        stage, secs = max(r["stage_seconds"].items(), key=lambda kv: kv[1])
        lines.append(f"\n{name}: the largest stage is {stage}, {secs / sum(r['stage_seconds'].values()):.0%} of "
                     f"the stages' time; peak memory {r['peak_rss_mib']:,} MiB for the whole process tree.")
    lines += ["", "Dropped by reason:", ""]
    for name, r in results.items():
        lines.append(f"- {name}: " + ", ".join(f"{k} {v:,}" for k, v in r["dropped_by_reason"].items())
                     + f"; largest near-duplicate clusters: {', '.join(r['cluster_sizes_top'])}")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=300_000)
    p.add_argument("--words", type=int, default=1250)
    p.add_argument("--skew-docs", type=int, default=1_000_000, help="0: no skew run")
    p.add_argument("--skew-copies", type=int, default=200_000)
    p.add_argument("--out", type=Path, default=ROOT / "bench/results/dedup_scale")
    p.add_argument("--append", action="store_true", help="keep the other corpora's results already in --out")
    args = p.parse_args()
    meta = {"machine": hardware(), "code": git_state(), "words": args.words}
    work = Path(tempfile.mkdtemp(prefix="dedup-scale-"))
    previous = args.out.with_suffix(".json")
    results = json.loads(previous.read_text())["results"] if args.append and previous.exists() else {}
    try:
        if args.docs:
            corpus = write_corpus(work / "scale", args.docs, seed=0, files=8, words=args.words, paragraph=5)
            results[f"{args.docs:,} documents of {args.words} words"] = measure("scale", corpus, work)
            shutil.rmtree(corpus)
            write_results(results, meta, args.out)
        if args.skew_docs:
            corpus = write_skew_corpus(work / "skew", args.skew_docs, args.skew_copies)
            results[f"skew: one page x{args.skew_copies:,} in {args.skew_docs:,}"] = measure("skew", corpus, work)
            write_results(results, meta, args.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
