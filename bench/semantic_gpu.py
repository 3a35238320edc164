"""Semantic-dedup GPU benchmark: the embedding stage's Arrow-batch function vs SentenceTransformer.encode, and
spherical k-means + nearest-centroid search + within-cluster SemDeDup on normalized vectors, GPU vs CPU.

Runs with plain ``python3`` on a GPU machine without pyspark, pydantic or faiss: it imports only
``data_platform.semantic.encoder``, ``.kmeans`` and ``.semdedup`` (torch, numpy, pyarrow, sentence-transformers).
What Spark adds around the Arrow function (serialization to the Python worker) is measured on CPU with --spark.

    python3 bench/semantic_gpu.py --model PATH --out bench/results        # full sizes (one H100: ~3 min)
    python bench/semantic_gpu.py --small --out /tmp/semantic_bench         # tiny sizes, CPU, to check it works

Method. (a) Texts: ~1000-character windows of the sample's Debian pages (HTML tags stripped by a regex: the text
is realistic, the extraction is not what is measured), repeated to --docs documents. Both sides embed the same
texts with the same model object (fp16 on CUDA), first 256 tokens, batch 128, after one untimed warm-up pass;
best of --repeats. "stage" is ``encoder.embed_batch`` on Arrow record batches of --arrow-batch rows (what
``mapInArrow`` calls); "encode" is ``model.encode(texts, batch_size=128, normalize_embeddings=True)``.
(b) --n vectors of dimension 384 drawn around --k random centres (unit norm); k-means with --k clusters and
--iters iterations from the same k-means++ seeding (untimed, reported separately); search = nearest centroid of
every vector; SemDeDup = the greedy blockwise pass over one cluster of --cluster vectors at eps 0.07. GPU: the
torch backend on CUDA in fp16 (faiss-gpu when installed); CPU: faiss-cpu when importable, else torch on CPU.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_platform.semantic import encoder as E  # noqa: E402
from data_platform.semantic import kmeans, semdedup  # noqa: E402  (after the path insert)


def sample_texts(n: int, chars: int = 1000) -> list[str]:
    """~``chars``-character windows of the sample pages' visible text, repeated to ``n`` texts."""
    windows = []
    with gzip.open(ROOT / "data" / "sample" / "pages.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            html = json.loads(line)["html"]
            html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
            text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
            windows += [text[i:i + chars] for i in range(0, len(text) - chars + 1, chars)]
    return [windows[i % len(windows)] for i in range(n)]


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        _sync()
        t = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_embedding(model: str, docs: int, arrow_batch: int, repeats: int, device: str) -> dict:
    import pyarrow as pa

    texts = sample_texts(docs)
    st = E.load_model(model, device)
    batches = [pa.RecordBatch.from_pydict({"_key": [str(i) for i in range(s, min(s + arrow_batch, docs))],
                                           "text": texts[s:s + arrow_batch]}) for s in range(0, docs, arrow_batch)]
    def stage() -> list[pa.RecordBatch]:
        return [E.embed_batch(b, "_key", "text", model, 256, 128, "float16", device) for b in batches]

    def encode() -> np.ndarray:
        return st.encode(texts, batch_size=128, normalize_embeddings=True, show_progress_bar=False)

    stage(), encode()  # warm-up (CUDA kernels, tokenizer caches)
    t_stage, t_encode = best_of(stage, repeats), best_of(encode, repeats)
    ours = np.concatenate([E.from_arrow(b.column("embedding")) for b in stage()])
    ref = np.asarray(encode(), dtype=np.float32)
    return {"docs": docs, "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
            "arrow_batch": arrow_batch, "device": str(st.device), "dtype": str(next(st.parameters()).dtype),
            "stage_docs_s": round(docs / t_stage, 1), "encode_docs_s": round(docs / t_encode, 1),
            "stage_over_encode": round(t_encode / t_stage, 3),
            "max_abs_diff_vs_encode": float(np.abs(ours - ref).max()),
            "min_cosine_vs_encode": float((ours * ref).sum(1).min())}


def bench_spark(model: str, docs: int, arrow_batch: int) -> dict:
    """The Spark stage itself (local[1], one Python worker) vs encode on the same texts, on this machine's CPU."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from data_platform.documents import KEY
    from data_platform.semantic.config import EmbedConfig
    from data_platform.semantic.embed_batches import embed_frame
    from data_platform.spark import build_session

    texts = sample_texts(docs)
    spark = build_session("bench", "local[1]", {"spark.sql.execution.arrow.maxRecordsPerBatch": str(arrow_batch)})
    df = spark.createDataFrame([(str(i), t) for i, t in enumerate(texts)], f"{KEY} string, text string").cache()
    df.count()
    cfg = EmbedConfig(model=model, max_tokens=256, batch_size=128, dtype="float16", device="cpu")
    def run() -> None:
        embed_frame(df, cfg).write.mode("overwrite").format("noop").save()

    run()  # warm-up: starts the Python worker and loads the model there
    t_spark = best_of(run, 1)
    spark.stop()
    st = E.load_model(model, "cpu")
    t_encode = best_of(lambda: st.encode(texts, batch_size=128, normalize_embeddings=True), 1)
    return {"docs": docs, "spark_stage_docs_s": round(docs / t_spark, 1), "encode_docs_s": round(docs / t_encode, 1),
            "stage_over_encode": round(t_encode / t_spark, 3)}


def clustered_vectors(n: int, k: int, dim: int, device: str, seed: int = 0):
    import torch

    g = torch.Generator(device="cpu").manual_seed(seed)
    centres = torch.nn.functional.normalize(torch.randn(k, dim, generator=g), dim=1)
    x = centres[torch.randint(0, k, (n,), generator=g)] + 0.05 * torch.randn(n, dim, generator=g)
    return torch.nn.functional.normalize(x, dim=1).numpy().astype(np.float32)


def bench_kmeans(n: int, k: int, iters: int, cluster: int, cpu_backend: str, gpu: bool) -> list[dict]:
    x = clustered_vectors(n, k, 384, "cpu")
    t = time.perf_counter()
    kmeans.init_centroids(x, k, 0)  # timed alone: both sides start from this seeding
    t_init = time.perf_counter() - t
    rows = []
    sides = ([("gpu", "torch" if kmeans.pick_backend("auto") == "torch" else "faiss", "cuda")] if gpu else [])
    sides.append(("cpu", cpu_backend, "cpu"))
    member = x[:cluster]
    order = np.arange(cluster)
    for side, backend, device in sides:
        if backend == "torch":
            kmeans.train(x[:10_000], 8, 2, 0, backend, device)  # warm-up
        t = time.perf_counter()
        cents = kmeans.train(x, k, iters, 0, backend, device)
        _sync()
        t_train = time.perf_counter() - t
        t_search = best_of(partial(kmeans.assign, x, cents, backend, device), 1)
        labels = kmeans.assign(x, cents, backend, device)[0]
        t_sd = best_of(partial(semdedup.greedy_duplicates, member, order, 0.93, device=device), 1)
        rows.append({"side": side, "backend": backend, "device": device, "n": n, "dim": 384, "k": k,
                     "iters": iters, "kmeans_s": round(t_train - t_init, 3), "kmeans_with_seeding_s": round(t_train, 3),
                     "search_s": round(t_search, 3), "search_vectors_s": round(n / t_search),
                     "nonempty_clusters": int(len(np.unique(labels))),
                     "semdedup_cluster": cluster, "semdedup_cluster_s": round(t_sd, 3)})
    return rows


def machine() -> dict:
    import torch

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    return {"date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu,
            "cores_available": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "faiss": _faiss_version(), "load_avg": os.getloadavg()}


def _faiss_version() -> str | None:
    try:
        import faiss

        return f"{faiss.__version__} ({faiss.get_num_gpus()} GPUs)"
    except ImportError:
        return None


def markdown(res: dict) -> str:
    m, e = res["machine"], res["embedding"]
    out = ["# Semantic dedup on GPU: embedding stage and k-means", "",
           f"Machine: {m['gpu'] or 'no GPU'}; CPU {m['cpu']} ({m['cores_available']} cores); Python {m['python']}, "
           f"torch {m['torch']}, faiss {m['faiss'] or 'not installed'}; {m['date_utc']}; load {m['load_avg']}.",
           f"Command: `{res['command']}`", "", "## Embedding (all-MiniLM-L6-v2, first 256 tokens)", "",
           "| docs | mean chars | device | dtype | stage docs/s | encode docs/s | stage / encode | max abs diff |",
           "|---|---|---|---|---|---|---|---|",
           f"| {e['docs']} | {e['mean_chars']} | {e['device']} | {e['dtype']} | {e['stage_docs_s']} | "
           f"{e['encode_docs_s']} | {e['stage_over_encode']} | {e['max_abs_diff_vs_encode']:.2e} |", ""]
    if res.get("spark"):
        s = res["spark"]
        out += ["Spark stage (local[1], CPU, this machine) vs encode: "
                f"{s['spark_stage_docs_s']} vs {s['encode_docs_s']} docs/s ({s['stage_over_encode']}).", ""]
    out += ["## k-means, search, SemDeDup (384-d unit vectors)", "",
            "| side | backend | n | k | iters | k-means s | search s | search vectors/s | SemDeDup cluster "
            "| SemDeDup s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    out += [f"| {r['side']} | {r['backend']} | {r['n']:,} | {r['k']} | {r['iters']} | {r['kmeans_s']} | "
            f"{r['search_s']} | {r['search_vectors_s']:,} | {r['semdedup_cluster']:,} | {r['semdedup_cluster_s']} |"
            for r in res["kmeans"]]
    out += ["", "k-means times exclude the shared k-means++ seeding (numpy, on the CPU, "
            f"{res['kmeans'][0]['kmeans_with_seeding_s'] - res['kmeans'][0]['kmeans_s']:.2f} s)."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=E.BUNDLED, help="sentence-transformers folder (default: the bundled MiniLM)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--small", action="store_true", help="tiny sizes, to check the script on a CPU machine")
    p.add_argument("--docs", type=int, default=20_000)
    p.add_argument("--arrow-batch", type=int, default=2_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--cluster", type=int, default=20_000, help="members of the cluster SemDeDup is timed on")
    p.add_argument("--spark", action="store_true", help="also time the Spark stage on CPU (needs pyspark)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.small:
        args.docs, args.arrow_batch, args.repeats = 48, 16, 1
        args.n, args.k, args.iters, args.cluster = 20_000, 50, 5, 2_000
    import torch

    gpu = torch.cuda.is_available()
    device = "cuda" if gpu else "cpu"
    cpu_backend = "faiss" if _faiss_version() else "torch"
    res = {"command": " ".join(["python", *sys.argv]), "machine": machine(),
           "embedding": bench_embedding(args.model, args.docs, args.arrow_batch, args.repeats, device),
           "spark": bench_spark(args.model, min(args.docs, 512), 128) if args.spark else None,
           "kmeans": bench_kmeans(args.n, args.k, args.iters, args.cluster, cpu_backend, gpu)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "semantic_gpu" if gpu else "semantic_cpu"
    (out / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown(res))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
