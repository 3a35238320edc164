"""A downstream-style multiple-choice task built from held-out documents: pick the true continuation of a passage.

An item is a document's first ``prefix`` tokens, its true next ``continuation`` tokens, and ``options - 1``
distractors: the tokens at the same offsets of other held-out documents (pooled over channels). Documents, the
distractors and the answer's position are drawn with a seeded generator from the documents in channel order, so
every run evaluated on the same held-out tokens gets the same items.

The model picks the option with the highest summed log-likelihood given the prefix. Every option has the same
number of tokens, so the sum ranks the options as the per-token mean would; per-character normalization (used
when options differ in length) would instead reward options whose tokens carry more bytes, which is not what
is asked here. Accuracy is reported with the chance level 1 / options and its binomial standard error
sqrt(acc (1 - acc) / items), the sampling noise of the item set (the seed noise is the comparison's business).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from trainer.data import TokenStream
from trainer.metrics import rank_share, row_nats
from trainer.model import IGNORE_INDEX

if TYPE_CHECKING:
    from trainer.config import EvalConfig

METHOD = "summed log-likelihood of each continuation given the prefix"


@dataclass(frozen=True)
class ChoiceItem:
    """A passage prefix, the options (token arrays of one length) and the index of the true one."""

    prefix: np.ndarray
    options: tuple[np.ndarray, ...]
    answer: int


def documents(stream: TokenStream, eos: int) -> list[np.ndarray]:
    """The documents of a packed stream (EOS after each), without their EOS."""
    tokens = stream.tokens(0, stream.n_tokens)
    ends = np.flatnonzero(tokens == eos)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [tokens[s:e] for s, e in zip(starts, ends, strict=True)]


def build_items(streams: dict[str, TokenStream], eos: int, *, n_items: int, prefix: int, continuation: int,
                options: int = 4, seed: int = 0) -> list[ChoiceItem]:
    """Up to ``n_items`` items from the documents (channels in sorted order) long enough for prefix and
    continuation; an item whose distractor equals its true continuation is left out."""
    need = prefix + continuation
    docs = [d for c in sorted(streams) for d in documents(streams[c], eos) if d.size >= need]
    if len(docs) < options:
        return []
    rng = random.Random(seed)
    items = []
    for pick in rng.sample(range(len(docs)), min(n_items, len(docs))):
        others = [j + (j >= pick) for j in rng.sample(range(len(docs) - 1), options - 1)]
        conts = [docs[j][prefix:need] for j in others]
        true = docs[pick][prefix:need]
        answer = rng.randrange(options)
        if any(np.array_equal(true, c) for c in conts):
            continue
        conts.insert(answer, true)
        items.append(ChoiceItem(docs[pick][:prefix], tuple(conts), answer))
    return items


def _rows(items: list[ChoiceItem]) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets of every (item, option): targets only at the continuation's positions."""
    seqs = np.stack([np.concatenate([it.prefix, opt]) for it in items for opt in it.options]).astype(np.int64)
    x, y = seqs[:, :-1], np.full((len(seqs), seqs.shape[1] - 1), IGNORE_INDEX, np.int64)
    p = items[0].prefix.size
    y[:, p - 1:] = seqs[:, p:]
    return torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(y))


def loglik(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Summed log-likelihood of each row's targets (float64)."""
    return -row_nats(model(x), y)


@torch.no_grad()
def evaluate_choice(model: torch.nn.Module, items: list[ChoiceItem], batch_size: int, device: torch.device,
                    rank: int = 0, world: int = 1, reduce=None) -> dict:
    """Accuracy over the items (``reduce`` sums a tensor over processes). Every rank runs the same number of
    batches, padded with rows whose score is dropped, as FSDP needs."""
    if not items:
        return {"accuracy": None, "chance": None, "stderr": None, "items": 0, "correct": 0, "method": METHOD}
    model.eval()
    x, y = _rows(items)
    n = len(x)
    scores = torch.zeros(n, dtype=torch.float64, device=device)
    mine = rank_share(n, rank, world)
    for start in range(0, len(mine), batch_size):
        chunk = mine[start:start + batch_size]
        idx = torch.tensor([n - 1 if i is None else i for i in chunk])
        ll = loglik(model, x[idx].to(device), y[idx].to(device))
        real = torch.tensor([i is not None for i in chunk], device=device)
        scores.index_add_(0, idx.to(device)[real], ll[real])
    if reduce is not None:
        scores = reduce(scores)
    model.train()
    k = len(items[0].options)
    chosen = scores.view(-1, k).argmax(1).cpu()
    correct = int((chosen == torch.tensor([it.answer for it in items])).sum())
    acc = correct / len(items)
    return {"accuracy": acc, "chance": 1 / k, "stderr": math.sqrt(acc * (1 - acc) / len(items)),
            "items": len(items), "correct": correct, "method": METHOD}


def run_choice(model: torch.nn.Module, streams: dict[str, TokenStream], eos: int, cfg: EvalConfig,
               accelerator) -> dict:
    """Build the items the eval config asks for from ``streams`` and score them with the model."""
    items = build_items(streams, eos, n_items=cfg.choice_items, prefix=cfg.choice_prefix,
                        continuation=cfg.choice_continuation, seed=cfg.choice_seed)
    return evaluate_choice(model, items, cfg.batch_size, accelerator.device, accelerator.process_index,
                           accelerator.num_processes, lambda t: accelerator.reduce(t, "sum"))
