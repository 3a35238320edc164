"""Per-document scores from a trained model: each document's loss and bits per byte, by id, as parquet.

    python -m trainer.score --run out/train/tiny --input out/filter/kept --out out/scores/tiny.parquet

The run's latest complete checkpoint (``checkpoints/step_N``, the final one after a finished run) and its
``config.json`` give the model; the tokenizer is the run's ``data.tokenizer`` unless ``--tokenizer`` names one.
Inputs are what the trainer reads (parquet files, folders, globs, a pipeline manifest; ``trainer.inputs``) and JSON
Lines files (``.jsonl``, ``.jsonl.gz``), with ``id`` and ``text``.

A document is scored as the trainer saw it: after an EOS (the boundary before every packed document), its tokens
and its closing EOS are predicted, in windows of ``data.seq_len`` targets. ``n_tokens`` counts those targets,
``loss`` is nats per target, ``n_bytes`` the text's UTF-8 bytes and ``bits_per_byte`` = nats / ln 2 / n_bytes
(null for an empty text). The output has one row per input row, in input order, so it joins 1:1 on ``id``
with the pipeline's outputs (and lets data engineers drop the documents a small model finds hardest).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from pydantic import ValidationError

from trainer.config import TrainConfig
from trainer.inputs import PARQUET, InputError, read_columns, resolve
from trainer.metrics import row_nats
from trainer.model import IGNORE_INDEX, Transformer

DONE = "checkpoint.done"  # written by trainer.train after a complete checkpoint
WEIGHTS = "pytorch_model.bin"  # Accelerate's save_state(safe_serialization=False) name for the model
JSONL = (".jsonl", ".jsonl.gz", ".json.gz")
SCHEMA = pa.schema([("id", pa.string()), ("n_tokens", pa.int64()), ("n_bytes", pa.int64()),
                    ("loss", pa.float64()), ("bits_per_byte", pa.float64())])


class ScoreError(ValueError):
    """The run, its checkpoint, the tokenizer or an input cannot be used."""


def load_run(run: str | Path, checkpoint: str | None = None) -> tuple[TrainConfig, Transformer, Path]:
    """The run's config, its model with the weights of ``checkpoint`` (default: the latest complete one)."""
    run = Path(run)
    if not (run / "config.json").is_file():
        raise ScoreError(f"{run}: not a training run (no config.json)")
    try:
        cfg = TrainConfig.model_validate_json((run / "config.json").read_text())
    except ValidationError as err:
        raise ScoreError(f"{run / 'config.json'}: not a training config ({err.errors()[0]['msg']})") from err
    ckpt = Path(checkpoint) if checkpoint else _latest(run)
    weights = ckpt / WEIGHTS
    if not weights.is_file():
        sharded = any(ckpt.glob("pytorch_model_fsdp*"))
        raise ScoreError(f"{ckpt}: " + ("an FSDP-sharded checkpoint; trainer.score reads whole-model checkpoints "
                                        "(distributed: ddp)" if sharded else f"no {WEIGHTS}"))
    model = Transformer(cfg.model)
    try:
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except RuntimeError as err:
        raise ScoreError(f"{weights}: does not fit the run's model ({str(err).splitlines()[0]})") from err
    return cfg, model.eval(), ckpt


def _latest(run: Path) -> Path:
    done = sorted(p.parent for p in (run / "checkpoints").glob(f"step_*/{DONE}"))
    if not done:
        raise ScoreError(f"{run}: no complete checkpoint in {run / 'checkpoints'}")
    return done[-1]


def _jsonl(path: Path, batch_rows: int) -> Iterator[tuple[list[str], list[str]]]:
    ids: list[str] = []
    texts: list[str] = []
    with (gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise ScoreError(f"{path}:{n}: invalid JSON ({err.msg})") from err
            if not isinstance(rec, dict) or "id" not in rec or "text" not in rec:
                raise ScoreError(f"{path}:{n}: a record needs 'id' and 'text'")
            ids.append(str(rec["id"]))
            texts.append(rec["text"] or "")
            if len(ids) == batch_rows:
                yield ids, texts
                ids, texts = [], []
    if ids:
        yield ids, texts


def read_documents(inputs: list[str], batch_rows: int = 1024) -> Iterator[tuple[list[str], list[str]]]:
    """(ids, texts) batches of every input, files in a stable order."""
    for path in resolve(inputs, (*PARQUET, *JSONL), "parquet or JSON Lines file"):
        if path.name.endswith(JSONL):
            yield from _jsonl(path, batch_rows)
            continue
        for d in read_columns(path, ["id", "text"], batch_rows):
            yield [str(i) for i in d["id"]], [t or "" for t in d["text"]]


def windows(tokens: np.ndarray, seq_len: int) -> list[np.ndarray]:
    """Cuts of ``seq_len`` + 1 tokens overlapping by one: every token after the first is a target once."""
    return [tokens[i:i + seq_len + 1] for i in range(0, tokens.size - 1, seq_len)]


@torch.no_grad()
def document_nats(model: torch.nn.Module, docs: list[np.ndarray], seq_len: int, batch_size: int,
                  device: torch.device, pad_id: int) -> np.ndarray:
    """Summed nats of every document's targets (``docs``: each one's full token sequence, context first).
    Windows are sorted by length and each batch padded to its longest, so short documents cost little."""
    cuts = [(d, w) for d, doc in enumerate(docs) for w in windows(doc, seq_len)]
    cuts.sort(key=lambda c: -c[1].size)
    nats = torch.zeros(len(docs), dtype=torch.float64, device=device)
    autocast = torch.autocast("cuda", torch.bfloat16) if device.type == "cuda" else nullcontext()
    for start in range(0, len(cuts), batch_size):
        part = cuts[start:start + batch_size]
        width = part[0][1].size - 1
        x = torch.full((len(part), width), pad_id, dtype=torch.int64)
        y = torch.full((len(part), width), IGNORE_INDEX, dtype=torch.int64)
        for r, (_, w) in enumerate(part):
            x[r, : w.size - 1], y[r, : w.size - 1] = torch.from_numpy(w[:-1]), torch.from_numpy(w[1:])
        x, y = x.to(device), y.to(device)
        with autocast:
            logits = model(x)
        nats.index_add_(0, torch.tensor([d for d, _ in part], device=device), row_nats(logits, y))
    return nats.cpu().numpy()


def score_batch(model: torch.nn.Module, tok, ids: list[str], texts: list[str], seq_len: int, batch_size: int,
                device: torch.device, eos: int, pad: int) -> pa.Table:
    """The scores of one batch of documents (``eos``, ``pad``: the tokenizer's ids)."""
    encoded = tok.encode_batch(texts, add_special_tokens=False)
    docs = [np.array([eos, *e.ids, eos], np.int64) for e in encoded]
    nats = document_nats(model, docs, seq_len, batch_size, device, pad)
    n_tokens = np.array([d.size - 1 for d in docs], np.int64)
    n_bytes = np.array([len(t.encode("utf-8")) for t in texts], np.int64)
    bpb = [float(n) / math.log(2) / b if b else None for n, b in zip(nats, n_bytes, strict=True)]
    return pa.table({"id": ids, "n_tokens": n_tokens, "n_bytes": n_bytes, "loss": nats / n_tokens,
                     "bits_per_byte": pa.array(bpb, pa.float64())}, schema=SCHEMA)


def score(run: str | Path, inputs: list[str], out: str | Path, *, tokenizer: str | None = None,
          checkpoint: str | None = None, batch_size: int | None = None, device: str | None = None) -> dict:
    """Score every document of ``inputs`` with the run's model into the parquet ``out``; return a summary."""
    from trainer.tokenizer import load

    cfg, model, ckpt = load_run(run, checkpoint)
    tok_path = tokenizer or cfg.data.tokenizer
    if tok_path is None:
        raise ScoreError(f"{run}: the run names no tokenizer (data.tokenizer); pass --tokenizer")
    try:
        tok = load(tok_path)
        specials = cfg.data.special_tokens.ids(tok, tok_path)
    except InputError as err:
        raise ScoreError(str(err)) from err
    if tok.get_vocab_size() > cfg.model.vocab_size:
        raise ScoreError(f"{tok_path} has {tok.get_vocab_size()} tokens, the model {cfg.model.vocab_size}")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.to(dev)
    size = batch_size or cfg.eval.batch_size
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with pq.ParquetWriter(str(out), SCHEMA) as writer:
        for ids, texts in read_documents(inputs):
            writer.write_table(score_batch(model, tok, ids, texts, cfg.data.seq_len, size, dev, specials["eos"],
                                           specials["pad"]))
            rows += len(ids)
    return {"documents": rows, "checkpoint": str(ckpt), "device": str(dev), "out": str(out)}


EXAMPLES = """example (dp-score is the same command as python -m trainer.score):
  dp-score --run out/train/tiny --input out/filter/kept --out out/scores/tiny.parquet
"""


def main(argv: list[str] | None = None) -> int:
    from data_platform.cli import error

    p = argparse.ArgumentParser(prog="python -m trainer.score", description=__doc__.splitlines()[0],
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="training run folder (config.json, checkpoints/)")
    p.add_argument("--input", nargs="+", required=True, help="parquet / JSON Lines files, folders or globs")
    p.add_argument("--out", required=True, help="output parquet: id, n_tokens, n_bytes, loss, bits_per_byte")
    p.add_argument("--tokenizer", help="tokenizer.json (default: the run's data.tokenizer)")
    p.add_argument("--checkpoint", help="checkpoint folder (default: the run's latest complete one)")
    p.add_argument("--batch-size", type=int, help="windows per forward pass (default: the run's eval.batch_size)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when present)")
    args = p.parse_args(argv)
    if args.batch_size is not None and args.batch_size <= 0:
        return error("--batch-size must be positive")
    try:
        done = score(args.run, args.input, args.out, tokenizer=args.tokenizer, checkpoint=args.checkpoint,
                     batch_size=args.batch_size, device=args.device)
    except (ScoreError, InputError, OSError, pa.ArrowException) as err:
        return error(err)
    print(f"{done['documents']} documents scored with {done['checkpoint']} on {done['device']} -> {done['out']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
