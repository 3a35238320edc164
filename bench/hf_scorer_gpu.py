"""GPU throughput of the hf quality scorer: a ~110M-parameter BERT-base regression classifier (the FineWeb-Edu
classifier's architecture, randomly initialised here: no hub) at sequence 512, scoring ~1000-character documents
through ``tag_batch`` (the Arrow-batch function the tag stage's mapInArrow calls), side by side with a plain
``transformers`` text-classification pipeline loop on the same texts, plus the two's agreement.

    python bench/hf_scorer_gpu.py --tokenizer DIR --texts data/reference/reference.jsonl.gz --out results.json

``--tokenizer`` is a BERT tokenizer folder (tokenizer.json + tokenizer_config.json; the bundled all-MiniLM-L6-v2's
is bert-base-uncased's vocabulary, the FineWeb-Edu classifier's too). pyspark is not needed (see STACK.md).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa


def make_model(folder: Path, tokenizer: Path) -> int:
    """BERT-base (12 layers, 768 wide, 512 positions) with a one-output regression head; returns its parameters."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(num_labels=1, problem_type="regression"))
    model.save_pretrained(folder)
    for f in tokenizer.iterdir():
        shutil.copy(f, folder / f.name)
    return sum(p.numel() for p in model.parameters())


def chunks(paths: list[str], n: int, lang: str | None = None, size: int = 1000) -> list[str]:
    """``n`` texts of ``size`` characters or a little more, cut at spaces from the documents (of ``lang`` if given),
    cycled when there are fewer."""
    out: list[str] = []
    for path in paths:
        with gzip.open(path, "rt") if path.endswith(".gz") else open(path) as f:
            for line in f:
                doc = json.loads(line)
                text = doc["text"] if lang in (None, doc.get("lang")) else ""
                while (cut := text.find(" ", size)) > 0:
                    out.append(text[:cut])
                    text = text[cut:]
    return [out[i % len(out)] for i in range(n)]


def time_tag_batches(texts: list[str], settings, rows: int) -> tuple[float, np.ndarray]:
    """Seconds to score ``texts`` through ``tag_batch`` in Arrow batches of ``rows`` (after one warm-up batch)."""
    import torch

    from data_platform.tagging.run import tag_batch

    batches = [pa.RecordBatch.from_pydict({"_key": [str(i) for i in range(s, min(s + rows, len(texts)))],
                                           "text": texts[s:s + rows]}) for s in range(0, len(texts), rows)]
    tag_batch(batches[0], settings, [], None)
    torch.cuda.synchronize()
    start = time.perf_counter()
    scores = [tag_batch(b, settings, [], None).column(1).to_numpy() for b in batches]
    return time.perf_counter() - start, np.concatenate(scores)


def time_pipeline(texts: list[str], folder: Path, batch_size: int) -> tuple[float, np.ndarray]:
    """Seconds for transformers' pipeline (bf16, truncation at 512) over the texts."""
    import torch
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(folder), device=0, dtype=torch.bfloat16,
                    function_to_apply="none")
    kw = {"batch_size": batch_size, "truncation": True, "max_length": 512}
    list(pipe(texts[:batch_size], **kw))
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = [r["score"] for r in pipe(texts, **kw)]
    return time.perf_counter() - start, np.array(out, np.float32)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokenizer", type=Path, required=True)
    p.add_argument("--texts", nargs="+", required=True)
    p.add_argument("--docs", type=int, default=60_000)
    p.add_argument("--pipeline-docs", type=int, default=10_000)
    p.add_argument("--rows", type=int, default=10_000, help="rows per Arrow batch (Spark's maxRecordsPerBatch)")
    p.add_argument("--batch-tokens", type=int, nargs="+", default=[65536])
    p.add_argument("--lang", default=None, help="only documents of this language (the classifier's, e.g. en)")
    p.add_argument("--compile", action="store_true", help="also time the scorer with compile: true")
    p.add_argument("--model-dir", type=Path, default=Path("/tmp/edu-bench"))
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()

    import torch
    from transformers import AutoTokenizer

    from data_platform.semantic.config import EmbedConfig
    from data_platform.tagging.config import QualityConfig, ScorerConfig
    from data_platform.tagging.run import TagSettings
    from data_platform.tagging.scorers import Scorer

    params = make_model(args.model_dir, args.tokenizer)
    texts = chunks(args.texts, args.docs, args.lang)
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    lengths = [len(x) for x in tok(texts[:5000], truncation=True, max_length=512)["input_ids"]]
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "params": params,
              "docs": len(texts), "distinct": len(set(texts)), "lang": args.lang,
              "mean_chars": float(np.mean([len(t) for t in texts])),
              "mean_tokens": float(np.mean(lengths)), "runs": []}
    for budget, compiled in [(b, c) for c in [False, True][: 1 + args.compile] for b in args.batch_tokens]:
        cfg = ScorerConfig(name="edu", kind="hf", path=str(args.model_dir), batch_tokens=budget, compile=compiled)
        settings = TagSettings(EmbedConfig(), QualityConfig(scorers=[cfg]), (Scorer(cfg, str(args.model_dir)),), None)
        secs, ours = time_tag_batches(texts, settings, args.rows)
        rate = len(texts) / secs
        flops = 2 * params * rate * result["mean_tokens"]
        result["runs"].append({"batch_tokens": budget, "compile": compiled, "seconds": round(secs, 2),
                               "docs_per_s": round(rate), "model_tflops": round(flops / 1e12, 1)})
        print(json.dumps(result["runs"][-1]), flush=True)
    n = min(args.pipeline_docs, len(texts))
    secs, theirs = time_pipeline(texts[:n], args.model_dir, 128)
    best = max(r["docs_per_s"] for r in result["runs"])
    result["pipeline"] = {"docs": n, "batch_size": 128, "seconds": round(secs, 2), "docs_per_s": round(n / secs)}
    result["ratio"] = round(best / result["pipeline"]["docs_per_s"], 2)
    diff = np.abs(ours[:n] - theirs)
    result["agreement_bf16"] = {"max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
                                "pearson": float(np.corrcoef(ours[:n], theirs)[0, 1])}
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
