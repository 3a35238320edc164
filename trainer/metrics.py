"""Evaluation metrics beyond the loss: bits per byte and top-k next-token accuracy, summed batch by batch.

Bits per byte (bpb) = total nats / ln 2 / total UTF-8 bytes of the predicted tokens. It does not depend on the
tokenizer, so runs with different vocabularies compare. The byte count comes from a per-token-id table of UTF-8
byte lengths, read once from the tokenizer's byte-level vocabulary (every character of a byte-level BPE token
stands for exactly one byte; special tokens have none): the bytes of any token sequence are then a table lookup
and a sum on the device, exact (the decoded text is the concatenation of the tokens' bytes) and with no decoding
of the evaluated text.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from trainer.model import IGNORE_INDEX

TOP_K = 5
# Columns of the per-batch sums: nats, predicted tokens, their UTF-8 bytes, top-1 hits, top-5 hits.
NATS, TOKENS, BYTES, TOP1, TOP5 = range(5)
N_SUMS = 5


class MetricsError(ValueError):
    """The tokenizer cannot give byte counts for bits per byte."""


def token_byte_lengths(tokenizer_path: str | Path) -> np.ndarray:
    """UTF-8 bytes of every token id of a byte-level BPE tokenizer (0 for special tokens)."""
    from tokenizers import pre_tokenizers

    from trainer.tokenizer import load

    tok = load(tokenizer_path)
    alphabet = set(pre_tokenizers.ByteLevel.alphabet())
    specials = {t.content for t in tok.get_added_tokens_decoder().values()}
    lengths = np.zeros(tok.get_vocab_size(), np.int64)
    for piece, i in tok.get_vocab().items():
        if piece in specials:
            continue
        if not set(piece) <= alphabet:
            raise MetricsError(f"{tokenizer_path}: token {piece!r} is not byte-level; bits per byte needs a "
                               "byte-level BPE tokenizer")
        lengths[i] = len(piece)
    return lengths


def tokenizer_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def batch_sums(logits: torch.Tensor, targets: torch.Tensor, byte_len: torch.Tensor | None) -> torch.Tensor:
    """The ``N_SUMS`` float64 sums of one batch: logits (batch, seq, vocab), targets (batch, seq) with
    ``IGNORE_INDEX`` at positions not scored, ``byte_len`` the per-id byte table (None: bytes stay 0)."""
    flat, y = logits.float().flatten(0, 1), targets.flatten()
    mask = y != IGNORE_INDEX
    safe = y.clamp(min=0)
    nats = F.cross_entropy(flat, y, ignore_index=IGNORE_INDEX, reduction="sum")
    top = flat.topk(min(TOP_K, flat.shape[-1]), dim=-1).indices
    hits = (top == safe[:, None]) & mask[:, None]
    n_bytes = byte_len[safe][mask].sum() if byte_len is not None else torch.zeros((), device=y.device)
    return torch.stack([nats.double(), mask.sum().double(), n_bytes.double(), hits[:, 0].sum().double(),
                        hits.sum().double()])


def row_nats(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Summed nats of each row's targets (float64), positions at ``IGNORE_INDEX`` left out."""
    nll = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX,
                          reduction="none")
    return nll.view(targets.shape).double().sum(1)


def rank_share(n: int, rank: int, world: int) -> list[int | None]:
    """The item indices of ``rank`` out of ``n``, strided, padded with None so that every rank gets as many
    (FSDP needs every rank to run the same number of batches)."""
    return [i if i < n else None for i in range(rank, world * -(-n // world), world)]


def bits_per_byte(nats: float, n_bytes: float) -> float | None:
    """nats / ln 2 / bytes; None without bytes."""
    return nats / math.log(2) / n_bytes if n_bytes else None


def summarize(sums: list[float], with_bytes: bool) -> dict:
    """loss (nats/token), ppl, tokens, bytes, bits_per_byte, top1, top5 from one row of sums."""
    count = sums[TOKENS]
    loss = sums[NATS] / count if count else float("nan")
    out: dict[str, float | int | None] = {"loss": loss, "ppl": math.exp(min(loss, 50.0)), "tokens": int(count),
           "top1": sums[TOP1] / count if count else float("nan"),
           "top5": sums[TOP5] / count if count else float("nan")}
    if with_bytes:
        out.update(bytes=int(sums[BYTES]), bits_per_byte=bits_per_byte(sums[NATS], sums[BYTES]))
    return out
