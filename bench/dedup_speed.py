"""Speed of dedup: MinHash signatures per core against a plain datasketch loop, and the whole dedup job on Spark.

Run from the repository root with the project's interpreter, on an otherwise idle machine:

    .venv/bin/python bench/dedup_speed.py       # writes bench/results/dedup_speed.md and dedup_speed.json

Method
------
1. Corpus (not timed). The documents of ``bench/dedup_quality.py``: the 160 extracted sample pages (8 languages)
   plus their 768 generated near-duplicate variants (same seed, so the same texts), 928 documents. The list is
   repeated whole (``[d1..dn, d1..dn, ...]``) until it holds at least ``--min-docs`` documents (default 3000);
   copies get ids ``<id>#<copy>``.
2. Signatures, one thread (timed in this process; pyarrow, OMP and BLAS limited to one thread):
   - ours: ``data_platform.dedup.hashing.signatures(texts, langs, MinHashConfig(num_perm=128))`` over batches
     of 500 documents (the job's Arrow batch size), shingling included; one warm-up batch untimed, then every
     batch timed; best of ``--repeats`` passes;
   - datasketch, per document: ``m = MinHash(num_perm=128, seed=1); for s in shingles(text, lang, cfg):
     m.update(s)`` over the same documents (the same shingling, so only the hashing differs); one pass.
   Both give a signature per document; every document's values are compared (they must be identical).
   A cProfile of one batch of ours shows where its time goes.
3. The dedup job (timed in this process, wall clock): ``run_dedup`` with every stage on (``DedupConfig()``:
   exact, MinHash LSH with verification and connected components, paragraph and sentence-span dedup) on a
   ``build_session('bench', 'local[2]')`` session, input the corpus as one JSON-lines file (text records: no HTML
   extraction), output to a temporary folder, overwriting. Creating the session (pyspark import and JVM launch,
   the first in this process) is timed separately and is not part of any docs/s figure. A first job on the
   unrepeated 928 documents warms the JVM (reported, not used); then the 928 documents and the repeated corpus
   are each run ``--job-repeats`` times, best reported. docs/s = input documents / wall seconds of
   ``run_dedup`` (reading, all stages, writing kept/, dropped/, clusters/, stats.json). The machine's CPU use
   (all processes, from /proc/stat) over each job is recorded: the job's JVM and Python workers are separate
   processes, and other load would show as well.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

pa.set_cpu_count(1)
pa.set_io_thread_count(1)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup_quality as Q  # noqa: E402  (the corpus and the machine description are shared)

from data_platform.dedup.config import DedupConfig, MinHashConfig  # noqa: E402
from data_platform.dedup.hashing import shingles, signatures  # noqa: E402

ROOT = Q.ROOT
RESULTS = ROOT / "bench/results"
BATCH_ROWS = 500
NUM_PERM = 128
GOAL_RATIO = 5.0


# ----------------------------------------------------------------------------------------------------- corpus


def repeat(docs: list[dict], min_docs: int) -> tuple[list[dict], int]:
    copies = max(1, math.ceil(min_docs / len(docs)))
    return [{**d, "id": f"{d['id']}#{k}"} for k in range(copies) for d in docs], copies


# ----------------------------------------------------------------------------------------------------- signatures


def time_ours(docs: list[dict], cfg: MinHashConfig, repeats: int) -> dict:
    """signatures() over batches of BATCH_ROWS after one untimed warm-up batch; best of ``repeats`` passes."""
    batches = [([d["text"] for d in docs[i : i + BATCH_ROWS]], [d["lang"] for d in docs[i : i + BATCH_ROWS]])
               for i in range(0, len(docs), BATCH_ROWS)]
    signatures(*batches[0], cfg)  # warm-up
    passes = []
    for _ in range(repeats):
        sigs, per_batch = [], []
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for texts, langs in batches:
            t0 = time.perf_counter()
            sig, has = signatures(texts, langs, cfg)
            if len(texts) == BATCH_ROWS or len(batches) == 1:
                per_batch.append(len(texts) / (time.perf_counter() - t0))
            sigs.append(sig)
        passes.append((time.perf_counter() - wall0, time.process_time() - cpu0, per_batch, np.concatenate(sigs)))
    wall, cpu, per_batch, sig = min(passes, key=lambda p: p[0])
    return {"wall_s": wall, "cpu_s": cpu, "docs": len(docs), "docs_per_s": len(docs) / wall,
            "per_batch_docs_per_s": per_batch, "all_wall_s": [p[0] for p in passes], "sig": sig}


def time_datasketch(docs: list[dict], cfg: MinHashConfig) -> dict:
    """The plain per-document loop: one MinHash per document, ``update`` per shingle."""
    from datasketch import MinHash

    m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)  # warm-up (imports, first allocation)
    for s in shingles(docs[0]["text"], docs[0]["lang"], cfg):
        m.update(s)
    values = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for d in docs:
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        for s in shingles(d["text"], d["lang"], cfg):
            m.update(s)
        values.append(m.hashvalues)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"wall_s": wall, "cpu_s": cpu, "docs": len(docs), "docs_per_s": len(docs) / wall,
            "values": np.stack(values), "scheme": getattr(m, "scheme", "legacy")}


def profile_batch(docs: list[dict], cfg: MinHashConfig, top: int = 12) -> list[dict]:
    """cProfile one signatures() call on one batch; the ``top`` functions by own time."""
    profiler = cProfile.Profile()
    texts, langs = [d["text"] for d in docs[:BATCH_ROWS]], [d["lang"] for d in docs[:BATCH_ROWS]]
    profiler.runcall(signatures, texts, langs, cfg)
    stats = pstats.Stats(profiler).stats
    rows = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    return [{"function": f"{_short_path(file)}:{line}({func})" if file != "~" else func, "ncalls": ncalls,
             "tottime_s": tottime, "cumtime_s": cumtime}
            for (file, line, func), (_, ncalls, tottime, cumtime, _) in rows]


def _short_path(file: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# ----------------------------------------------------------------------------------------------------- the job


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def time_job(spark, path: Path, out: Path, cfg: DedupConfig) -> dict:
    from data_platform.dedup.run import run_dedup

    busy0, total0 = cpu_jiffies()
    t0 = time.perf_counter()
    stats = run_dedup(spark, [str(path)], str(out), cfg)
    wall = time.perf_counter() - t0
    busy1, total1 = cpu_jiffies()
    return {"wall_s": wall, "machine_cpu_busy": (busy1 - busy0) / max(1, total1 - total0),
            "input": stats["input_documents"], "kept": stats["kept"]["documents"],
            "dropped": {f["reason"]: f["documents_dropped"] for f in stats["funnel"] if f["documents_dropped"]},
            "accounting_ok": stats["accounting"]["ok"],
            "clusters": stats["dedup"]["cluster_size_histogram"],
            "paragraph_characters_removed": stats["dedup"].get("paragraph_characters_removed")}


def time_spark(corpora: list[tuple[str, Path, int]], job_repeats: int, tmp: Path) -> tuple[dict, dict]:
    """Session start-up, a warm-up job, then each corpus ``job_repeats`` times (best kept)."""
    t0 = time.perf_counter()
    from data_platform.spark import build_session

    spark = build_session("bench", "local[2]")
    startup = time.perf_counter() - t0
    conf = {k: spark.conf.get(k) for k in ("spark.master", "spark.sql.shuffle.partitions", "spark.sql.adaptive.enabled",
                                           "spark.sql.execution.arrow.maxRecordsPerBatch")}
    conf["spark.driver.memory"] = spark.sparkContext.getConf().get("spark.driver.memory", "unset (1g)")
    cfg = DedupConfig()
    jobs = {}
    try:
        name, path, _ = corpora[0]
        print(f"  warm-up job on {name} ...", flush=True)
        jobs["warm-up"] = {"corpus": name, **time_job(spark, path, tmp / "out-warmup", cfg)}
        for name, path, n in corpora:
            runs = []
            for r in range(job_repeats):
                print(f"  job on {name} ({n} docs), run {r + 1} ...", flush=True)
                runs.append(time_job(spark, path, tmp / f"out-{name}", cfg))
            best = min(runs, key=lambda x: x["wall_s"])
            jobs[name] = {**best, "docs_per_s": best["input"] / best["wall_s"],
                          "all_wall_s": [x["wall_s"] for x in runs]}
    finally:
        t1 = time.perf_counter()
        spark.stop()
        stop = time.perf_counter() - t1
    return {"create_s": startup, "stop_s": stop, "conf": conf}, jobs


# ----------------------------------------------------------------------------------------------------- report


def top_processes() -> list[str]:
    """The five busiest other processes (``ps``: %CPU over each one's lifetime), to spot a disturbed run."""
    out = subprocess.run(["ps", "-eo", "pcpu,pid,etime,args", "--sort=-pcpu"], capture_output=True,
                         text=True).stdout.splitlines()
    others = [ln for ln in out[1:] if ln.split()[1] != str(os.getpid())]
    return [ln[:140] for ln in others[:5]]


def write_markdown(path: Path, info: dict, s: dict) -> None:
    ours, theirs, sp, jobs = s["ours"], s["datasketch"], s["spark"], s["jobs"]
    ratio = s["ratio"]
    md = [
        "# Dedup speed: MinHash signatures per core vs datasketch, and the dedup job on Spark",
        "",
        "Generated by `bench/dedup_speed.py` (`.venv/bin/python bench/dedup_speed.py`); the method is in that "
        "file's docstring.",
        "",
        "## Machine",
        "",
        *Q.machine_lines(info),
        "- other processes above 5% CPU before the timed parts (`ps`, %CPU over their lifetime): "
        + ("; ".join(f"`{p.strip()}`" for p in busy) if (busy := [p for p in s["processes_before"]
                                                                  if float(p.split()[0]) >= 5]) else "none"),
        "",
        "## Corpus",
        "",
        f"The {s['corpus']['unique']} documents of `bench/dedup_quality.py` (160 extracted sample pages in 8 "
        f"languages and 768 near-duplicate variants of 96 of them), repeated {s['corpus']['copies']} times = "
        f"{s['corpus']['docs']:,} documents, {s['corpus']['mb']:.1f} MB of UTF-8 text, "
        f"{s['corpus']['shingles_per_doc']:.0f} shingles per document on average.",
        "",
        "## Signatures, one core",
        "",
        f"num_perm {NUM_PERM}, seed 1; both sides shingle with `data_platform.dedup.hashing.shingles` and hash "
        f"with datasketch's scheme (`{theirs['scheme']}` in datasketch {info['datasketch']}).",
        "",
        "| implementation | docs | seconds | CPU s | docs/s per core | MB/s per core |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| `signatures()` over batches of {BATCH_ROWS} | {ours['docs']:,} | {ours['wall_s']:.2f} | "
        f"{ours['cpu_s']:.2f} | **{ours['docs_per_s']:,.0f}** | {s['corpus']['mb'] / ours['wall_s']:.2f} |",
        f"| datasketch `MinHash.update` per shingle, per document | {theirs['docs']:,} | {theirs['wall_s']:.2f} | "
        f"{theirs['cpu_s']:.2f} | {theirs['docs_per_s']:,.0f} | {s['corpus']['mb'] / theirs['wall_s']:.2f} |",
        "",
        f"Ratio: **{ratio:.2f}x** per core (goal >= {GOAL_RATIO:g}x: {'met' if ratio >= GOAL_RATIO else 'NOT met'}). "
        f"Signatures identical for {s['identical']:,} of {ours['docs']:,} documents. Our per-batch rate over the "
        f"{len(ours['per_batch_docs_per_s'])} full batches: min {min(ours['per_batch_docs_per_s']):.0f}, median "
        f"{statistics.median(ours['per_batch_docs_per_s']):.0f}, max {max(ours['per_batch_docs_per_s']):.0f} docs/s; "
        f"passes: {', '.join(f'{w:.2f} s' for w in ours['all_wall_s'])}.",
        "",
        f"Where the time of one batch of {BATCH_ROWS} goes (cProfile, top functions by own time; the profiler "
        "inflates Python-heavy parts):",
        "",
        "| function | calls | own s | cumulative s |",
        "| --- | ---: | ---: | ---: |",
        *(f"| `{r['function']}` | {r['ncalls']:,} | {r['tottime_s']:.3f} | {r['cumtime_s']:.3f} |"
          for r in s["profile"]),
        "",
        "## The dedup job, local[2]",
        "",
        "`run_dedup` with every stage on (`DedupConfig()`: exact, MinHash LSH 128 permutations with verification and "
        "connected components, paragraph and sentence-span dedup), JSON-lines input of text records (no HTML "
        "extraction), wall clock of the call (reading, every stage, writing all outputs). Spark settings: "
        + ", ".join(f"`{k}` {v}" for k, v in sp["conf"].items()) + ".",
        "",
        "| corpus | input docs | seconds | **docs/s** (2 cores) | machine CPU busy | kept | dropped by stage | runs |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, j in jobs.items():
        if name == "warm-up":
            continue
        md.append(f"| {name} | {j['input']:,} | {j['wall_s']:.1f} | **{j['docs_per_s']:.1f}** | "
                  f"{j['machine_cpu_busy']:.0%} | {j['kept']:,} | {_drops(j['dropped'])} | "
                  f"{', '.join(f'{w:.1f} s' for w in j['all_wall_s'])} |")
    w = jobs["warm-up"]
    md += [
        "",
        f"The first job of the session (warm-up, {w['input']} documents, not in the table) took {w['wall_s']:.1f} s. "
        f"Spark start-up, not in any figure above: creating the `local[2]` session (pyspark import and JVM launch, "
        f"the first in the process) {sp['create_s']:.1f} s; stopping it {sp['stop_s']:.1f} s.",
        "",
        "## Notes",
        "",
        *s["notes"],
    ]
    path.write_text("\n".join(md).rstrip() + "\n", encoding="utf-8")


def _drops(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in d.items()) or "none"


# ------------------------------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-docs", type=int, default=3000, help="repeat the corpus to at least this many docs")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of signatures() (best reported)")
    parser.add_argument("--job-repeats", type=int, default=2, help="timed runs of the job per corpus (best)")
    parser.add_argument("--seed", type=int, default=20240611, help="the corpus seed (as dedup_quality.py)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for dedup_speed.md and .json")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    load_start = Path("/proc/loadavg").read_text().split()[:3]
    processes = top_processes()
    commit = Q.git_state()
    print(f"load average {' '.join(load_start)}; busiest processes:\n  " + "\n  ".join(processes), flush=True)
    t0 = time.perf_counter()
    pages = Q.extract_pages()
    unique, _, _ = Q.build_corpus(pages, 12, args.seed)
    docs, copies = repeat(unique, args.min_docs)
    cfg = MinHashConfig(num_perm=NUM_PERM)
    n_shingles = sum(len(shingles(d["text"], d["lang"], cfg)) for d in unique)
    corpus = {"unique": len(unique), "copies": copies, "docs": len(docs),
              "mb": sum(len(d["text"].encode("utf-8")) for d in docs) / 1e6,
              "shingles_per_doc": n_shingles / len(unique)}
    print(f"corpus: {len(unique)} documents x {copies} = {len(docs)} ({time.perf_counter() - t0:.1f} s, not timed)")

    print("timing signatures() ...", flush=True)
    ours = time_ours(docs, cfg, args.repeats)
    print(f"  {ours['docs_per_s']:.0f} docs/s", flush=True)
    print("timing the datasketch loop ...", flush=True)
    theirs = time_datasketch(docs, cfg)
    print(f"  {theirs['docs_per_s']:.0f} docs/s", flush=True)
    identical = int((ours["sig"] == theirs["values"].astype(np.uint64)).all(axis=1).sum())
    ratio = ours["docs_per_s"] / theirs["docs_per_s"]
    profile = profile_batch(docs, cfg)
    load_sig = Path("/proc/loadavg").read_text().split()[:3]

    print("timing the dedup job ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="dedup-speed-") as tmp:
        tmp = Path(tmp)
        corpora = [(f"{len(unique)} distinct documents", Q.write_jsonl(unique, tmp / "unique.jsonl"), len(unique)),
                   (f"repeated x{copies}", Q.write_jsonl(docs, tmp / "repeated.jsonl"), len(docs))]
        spark, jobs = time_spark(corpora, args.job_repeats, tmp)
    load_end = Path("/proc/loadavg").read_text().split()[:3]
    info = Q.machine_info(load_start, load_end, commit)

    notes = [
        f"- Both signature implementations run in this process, one after the other, on one thread; CPU s close to "
        f"seconds means the process had its core throughout. Load average after the signature timing: "
        f"{' '.join(load_sig)}.",
        "- Shingling (`shingles`: regex word split, n-gram joins, set, UTF-8 encoding) and one SHA-1 per shingle "
        "(datasketch's `sha1_hash32`) are Python-level work per shingle on both sides and bound the rate; the "
        "permutations and minima are numpy work.",
        "- In the repeated corpus every document has exact copies: the exact stage drops them first, so MinHash, "
        "paragraph and sentence dedup see the distinct documents only (as they would in a crawl with mirrors). The "
        "distinct-documents row is the same job with no exact duplicates among its input.",
        "- docs/s of the job is for 2 cores (local[2]); Spark's fixed costs per job (planning, the connected-"
        "components rounds, shuffles with the default number of partitions, writing) weigh heavily at a few "
        "thousand documents, so the rate is not a per-document cost to extrapolate from.",
    ]
    summary = {
        "machine": info, "processes_before": processes, "corpus": corpus,
        "settings": {"num_perm": NUM_PERM, "batch_rows": BATCH_ROWS, "repeats": args.repeats,
                     "job_repeats": args.job_repeats, "min_docs": args.min_docs, "seed": args.seed},
        "ours": {k: v for k, v in ours.items() if k != "sig"},
        "datasketch": {k: v for k, v in theirs.items() if k != "values"},
        "ratio": ratio, "identical": identical, "profile": profile, "spark": spark, "jobs": jobs, "notes": notes,
    }
    print(f"\nsignatures: ours {ours['docs_per_s']:.0f} docs/s, datasketch loop {theirs['docs_per_s']:.0f} docs/s, "
          f"ratio {ratio:.2f}x ({'goal met' if ratio >= GOAL_RATIO else 'BELOW the 5x goal'}); identical "
          f"{identical}/{len(docs)}")
    for name, j in jobs.items():
        print(f"job {name}: {j['input']} docs in {j['wall_s']:.1f} s = {j['input'] / j['wall_s']:.1f} docs/s; "
              f"machine CPU busy {j['machine_cpu_busy']:.0%}; dropped {j['dropped']}")
    print(f"Spark start-up {spark['create_s']:.1f} s, stop {spark['stop_s']:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    write_markdown(args.out / "dedup_speed.md", info, summary)
    (args.out / "dedup_speed.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                               encoding="utf-8")
    print(f"wrote {args.out / 'dedup_speed.md'} and {args.out / 'dedup_speed.json'}")


if __name__ == "__main__":
    main()
