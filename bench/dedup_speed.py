"""Speed of dedup: MinHash signatures per core against a plain datasketch loop, and the whole dedup job on Spark.

Run from the repository root with the project's interpreter (with rensa: ``pip install -e '.[bench]'``), on an
otherwise idle machine:

    .venv/bin/python bench/dedup_speed.py       # writes bench/results/dedup_speed.md and dedup_speed.json

Method
------
1. Corpus (not timed). The documents of ``bench/dedup_quality.py``: the 160 extracted sample pages (8 languages)
   plus their 768 generated near-duplicate variants (same seed, so the same texts), 928 documents. The list is
   repeated whole (``[d1..dn, d1..dn, ...]``) until it holds at least ``--min-docs`` documents (default 3000);
   copies get ids ``<id>#<copy>``.
2. Signatures, one thread (timed in this process; pyarrow, OMP and BLAS limited to one thread), every side over
   the same batches of 500 documents (the job's Arrow batch size), one untimed warm-up batch first:
   - the kernel: ``data_platform.dedup.hashing.signatures(texts, langs, MinHashConfig(num_perm=128))`` (the
     default ``hash: multiply_shift``), from a list of str and from an Arrow array (what the job passes); best of
     ``--repeats`` passes;
   - datasketch's path: the same call with ``hash: datasketch`` (``hashing.shingles`` + ``MinHash.bulk``);
   - its two parts alone: the Python shingling, and ``MinHash.bulk`` on shingles computed beforehand;
   - rensa's ``RMinHash`` (Rust) on the same shingles computed beforehand, as ``str``.
   ``hash: datasketch`` must equal ``MinHash.bulk`` document for document. A cProfile of one kernel batch shows
   where its Python-side time goes.
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
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib import metadata  # noqa: E402
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
SIG_LABELS = {
    "kernel": "`signatures()`, the compiled kernel, list input",
    "kernel_arrow": "the same, Arrow input (what the job passes)",
    "datasketch_path": "`signatures()` with `hash: datasketch` (shingling + `MinHash.bulk`)",
    "shingling": "the Python shingling alone (`hashing.shingles`)",
    "datasketch_bulk": "datasketch `MinHash.bulk` alone, shingles given",
    "rensa": "rensa `RMinHash`, shingles given (as `str`)",
}


# ----------------------------------------------------------------------------------------------------- corpus


def repeat(docs: list[dict], min_docs: int) -> tuple[list[dict], int]:
    copies = max(1, math.ceil(min_docs / len(docs)))
    return [{**d, "id": f"{d['id']}#{k}"} for k in range(copies) for d in docs], copies


# ----------------------------------------------------------------------------------------------------- signatures


def best_of(fn, batches: list, repeats: int) -> dict:
    """``fn(batch)`` over every batch after one untimed warm-up call; the fastest of ``repeats`` passes (wall and
    CPU seconds) and the last pass's results."""
    fn(batches[0])
    passes = []
    for _ in range(repeats):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        results = [fn(b) for b in batches]
        passes.append((time.perf_counter() - wall0, time.process_time() - cpu0, results))
    wall, cpu, results = min(passes, key=lambda p: p[0])
    return {"wall_s": wall, "cpu_s": cpu, "all_wall_s": [p[0] for p in passes], "results": results}


def time_signatures(docs: list[dict], repeats: int) -> dict[str, dict]:
    """Every implementation over the same batches of BATCH_ROWS documents, one thread."""
    from datasketch import MinHash
    from rensa import RMinHash

    cfg, ds_cfg = MinHashConfig(num_perm=NUM_PERM), MinHashConfig(num_perm=NUM_PERM, hash="datasketch")
    batches = [([d["text"] for d in docs[i : i + BATCH_ROWS]], [d["lang"] for d in docs[i : i + BATCH_ROWS]])
               for i in range(0, len(docs), BATCH_ROWS)]
    arrow = [(pa.array(t, pa.large_string()), langs) for t, langs in batches]
    sets = [[shingles(t, lang, cfg) for t, lang in zip(*b, strict=True)] for b in batches]
    strings = [[[x.decode() for x in s] for s in batch] for batch in sets]

    def rensa(batch: list[list[str]]) -> list[np.ndarray]:
        out = []
        for shingle_strings in batch:
            m = RMinHash(num_perm=NUM_PERM, seed=1)
            m.update(shingle_strings)
            out.append(np.asarray(m.digest()))
        return out

    runs = {
        "kernel": best_of(lambda b: signatures(*b, cfg)[0], batches, repeats),
        "kernel_arrow": best_of(lambda b: signatures(*b, cfg)[0], arrow, repeats),
        "datasketch_path": best_of(lambda b: signatures(*b, ds_cfg)[0], batches, 1),
        "shingling": best_of(lambda b: [shingles(t, lang, cfg) for t, lang in zip(*b, strict=True)], batches, 1),
        "datasketch_bulk": best_of(lambda s: MinHash.bulk([x for x in s if x], num_perm=NUM_PERM, seed=1), sets, 1),
        "rensa": best_of(rensa, strings, 1),
    }
    for r in runs.values():
        r["docs"] = len(docs)
        r["docs_per_s"] = len(docs) / r["wall_s"]
    ds_bulk = np.concatenate([np.stack([m.hashvalues for m in ms]) for ms in runs["datasketch_bulk"]["results"]])
    ds_path = np.concatenate(runs["datasketch_path"]["results"])
    runs["datasketch_path"]["identical_to_bulk"] = int((ds_path == ds_bulk).all(axis=1).sum())
    from_list, from_arrow = (np.concatenate(runs[k]["results"]) for k in ("kernel", "kernel_arrow"))
    runs["kernel_arrow"]["identical_to_list"] = int((from_list == from_arrow).all(axis=1).sum())
    for r in runs.values():
        del r["results"]
    return runs


def profile_batch(docs: list[dict], cfg: MinHashConfig, top: int = 8) -> list[dict]:
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
    sigs, sp, jobs = s["signatures"], s["spark"], s["jobs"]
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
        f"num_perm {NUM_PERM}, seed 1, batches of {BATCH_ROWS} documents (the job's Arrow batch size), word "
        f"5-grams (character 5-grams for zh/ja), the same shingles on every side (`hashing.shingles`; the kernel "
        f"computes them itself and the tests check they are the same). numba {info['numba']}, rensa {info['rensa']}, "
        f"datasketch {info['datasketch']}.",
        "",
        "| implementation | docs | seconds | CPU s | docs/s per core | MB/s per core |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {SIG_LABELS[name]} | {r['docs']:,} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
          f"{'**' if name == 'kernel' else ''}{r['docs_per_s']:,.0f}{'**' if name == 'kernel' else ''} | "
          f"{s['corpus']['mb'] / r['wall_s']:.2f} |" for name, r in sigs.items()),
        "",
        f"- Kernel (`hash: multiply_shift`, the default): **{s['ratio_path']:.1f}x** datasketch's path (shingling + "
        f"`MinHash.bulk`, `hash: datasketch`) and **{s['ratio_bulk']:.1f}x** `MinHash.bulk` alone on shingles "
        f"given to it (goal: >= 5,000 docs/s per core, "
        f"{'met' if sigs['kernel']['docs_per_s'] >= 5000 else 'NOT met'}; >= 10x `MinHash.bulk`: "
        f"{'met' if s['ratio_bulk'] >= 10 else 'met against the path only' if s['ratio_path'] >= 10 else 'NOT met'}).",
        f"- `hash: datasketch` equals `MinHash.bulk` for {sigs['datasketch_path']['identical_to_bulk']:,} of "
        f"{sigs['datasketch_path']['docs']:,} documents; the kernel gives the same values from a list and from "
        f"Arrow for {sigs['kernel_arrow']['identical_to_list']:,}.",
        f"- Kernel passes: {', '.join(f'{w:.2f} s' for w in sigs['kernel']['all_wall_s'])}.",
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

    print("timing signatures ...", flush=True)
    sig_runs = time_signatures(docs, args.repeats)
    for name, r in sig_runs.items():
        print(f"  {name}: {r['docs_per_s']:.0f} docs/s", flush=True)
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
    info["numba"], info["rensa"] = metadata.version("numba"), metadata.version("rensa")
    kernel = sig_runs["kernel"]["docs_per_s"]
    ratio_path = kernel / sig_runs["datasketch_path"]["docs_per_s"]
    ratio_bulk = kernel / sig_runs["datasketch_bulk"]["docs_per_s"]

    notes = [
        f"- Every signature implementation runs in this process, one after the other, on one thread; CPU s close "
        f"to seconds means the process had its core throughout. Load average after the signature timing: "
        f"{' '.join(load_sig)}.",
        "- The kernel's time is the batch's UTF-8 encoding (list input; the job hands it the Arrow column "
        "instead), the word split and hashing, and 128 multiply-add-shift permutations per shingle in a loop LLVM "
        "vectorizes; datasketch's path is Python-level work per shingle (regex split, joins, a set, one SHA-1 "
        "each), rensa's is its Rust hashing after the same Python shingling.",
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
        "signatures": sig_runs, "ratio_path": ratio_path, "ratio_bulk": ratio_bulk,
        "profile": profile, "spark": spark, "jobs": jobs, "notes": notes,
    }
    print(f"\nsignatures: kernel {sig_runs['kernel']['docs_per_s']:.0f} docs/s; {ratio_path:.1f}x datasketch's path "
          f"(shingling + bulk), {ratio_bulk:.1f}x MinHash.bulk alone on given shingles")
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
