"""Helpers of the trainer tests: a short tiny-config run over a packed token folder, and its metrics."""

from __future__ import annotations

import json

from tests.conftest import REPO
from trainer.config import TrainConfig, load_config

TINY = REPO / "trainer" / "configs" / "tiny.yaml"


def config(tokens, out, *extra: str) -> TrainConfig:
    """8 steps of the tiny config (4 x 32-token sequences x 2 micro-batches), logging every step."""
    tokenizer = tokens.parent / "tokenizer.json"
    return load_config(TINY, [f"data.tokens={tokens}", "data.inputs=[]", f"data.tokenizer={tokenizer}",
                              f"run.out={out}", "run.steps=8",
                              "log.every=1", "log.progress=false", "eval.every=4", "eval.max_sequences=4",
                              "checkpoint.every=4", "data.micro_batch=4", "data.seq_len=32", *extra])


def records(out) -> list[dict]:
    return [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]


def curve(out, kind="train", key="train_loss") -> list[tuple[int, float]]:
    return [(r["step"], r[key]) for r in records(out) if r["kind"] == kind]
