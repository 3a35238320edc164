"""Held-out evaluation during training: loss, perplexity, bits per byte and top-k accuracy per channel, and its
records in the run's metrics."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from data_platform.yaml_lines import ConfigError
from trainer import metrics as M
from trainer.config import TrainConfig
from trainer.data import TokenData, TokenStream, batch
from trainer.model import IGNORE_INDEX
from trainer.monitor import Monitor

if TYPE_CHECKING:
    from accelerate import Accelerator


@torch.no_grad()
def evaluate(model: torch.nn.Module, streams: dict[str, TokenStream], cfg: TrainConfig,
             accelerator: Accelerator, byte_len: torch.Tensor | None = None,
             mask_fn: Callable[[torch.Tensor], Any] | None = None) -> dict:
    """Held-out loss, perplexity, top-1/top-5 next-token accuracy and (with the tokenizer's ``byte_len`` table)
    bits per byte, per channel and overall (token-weighted; bytes summed). Every rank runs the same number of
    batches (padded with fully masked rows), which FSDP needs."""
    model.eval()
    rank, world, t = accelerator.process_index, accelerator.num_processes, cfg.data.seq_len
    sums = torch.zeros(len(streams), M.N_SUMS, dtype=torch.float64, device=accelerator.device)
    for k, (name, stream) in enumerate(sorted(streams.items())):
        n = min(cfg.eval.max_sequences, stream.n_sequences(t))
        mine = M.rank_share(n, rank, world)
        for start in range(0, len(mine), cfg.eval.batch_size):
            chunk = mine[start:start + cfg.eval.batch_size]
            x, y = batch(streams, [(name, i if i is not None else 0) for i in chunk], t)
            y[[i is None for i in chunk]] = IGNORE_INDEX
            x, y = x.to(accelerator.device), y.to(accelerator.device)
            sums[k] += M.batch_sums(model(x, mask=mask_fn(x) if mask_fn else None), y, byte_len)
    sums = accelerator.reduce(sums, "sum")
    model.train()
    bpb = byte_len is not None
    out = {name: M.summarize(sums[k].tolist(), bpb) for k, name in enumerate(sorted(streams))}
    return {"overall": M.summarize(sums.sum(0).tolist(), bpb), "channels": out}


def byte_lengths(cfg: TrainConfig, data: TokenData, device: torch.device) -> torch.Tensor | None:
    """The tokenizer's per-id UTF-8 byte lengths on ``device`` for bits per byte; None (with a warning) when
    ``data.tokenizer`` names no file. A tokenizer other than the one the tokens were packed with is an error."""
    path = cfg.data.tokenizer
    if path is None or not Path(path).is_file():
        warnings.warn(f"bits per byte not computed: data.tokenizer {path} is not a file", stacklevel=2)
        return None
    if M.tokenizer_sha256(path) != data.index["fingerprint"]["tokenizer_sha256"]:
        raise ConfigError(f"data.tokenizer {path} is not the tokenizer {cfg.data.tokens} was packed with")
    try:
        lengths = M.token_byte_lengths(path)
    except M.MetricsError as err:
        raise ConfigError(str(err)) from err
    table = torch.zeros(max(cfg.model.vocab_size, lengths.size), dtype=torch.int64)
    table[: lengths.size] = torch.from_numpy(lengths)
    return table.to(device)


def eval_streams(cfg: TrainConfig, data: TokenData) -> dict[str, TokenStream]:
    """The held-out split of the training data, or every document of ``eval.tokens`` (same tokenizer)."""
    if cfg.eval.tokens is None:
        return data.streams("heldout")
    common = TokenData(cfg.eval.tokens)
    if common.index["fingerprint"]["tokenizer_sha256"] != data.index["fingerprint"]["tokenizer_sha256"]:
        raise ConfigError(f"eval.tokens {cfg.eval.tokens} was packed with another tokenizer than data.tokens")
    return common.streams("all")


EVAL_METRICS = ("loss", "ppl", "bits_per_byte", "top1", "top5")


def record_eval(monitor: Monitor, step: int, result: dict, tokens: int) -> None:
    """One ``eval`` record: every metric overall (``loss``) and per channel (``loss/<channel>``), and the training
    tokens seen by then."""
    overall = result["overall"]
    values: dict = {m: overall[m] for m in EVAL_METRICS if m in overall} | {"tokens": tokens}
    for c, r in result["channels"].items():
        values.update({f"{m}/{c}": r[m] for m in EVAL_METRICS if m in r})
    per = ", ".join(f"{c} {r['loss']:.3f}" for c, r in result["channels"].items())
    bpb = overall.get("bits_per_byte")
    monitor.record("eval", step, values, f"eval {step:>6} | loss {overall['loss']:.4f} | ppl {overall['ppl']:.2f} "
                   + (f"| bpb {bpb:.4f} " if bpb is not None else "")
                   + f"| top1 {overall['top1']:.3f} | top5 {overall['top5']:.3f} | {per}")


def record_choice(monitor: Monitor, step: int, choice: dict) -> None:
    """One ``choice`` record: the multiple-choice accuracy next to its chance level."""
    if choice["accuracy"] is None:
        monitor.record("choice", step, {"items": 0}, "choice: no items (eval.choice_items is 0, or fewer than 4 "
                                                     "held-out documents are long enough)")
        return
    monitor.record("choice", step, {k: choice[k] for k in ("accuracy", "chance", "stderr", "items", "correct")},
                   f"choice {step:>6} | accuracy {choice['accuracy']:.3f} ± {choice['stderr']:.3f} over "
                   f"{choice['items']} items (chance {choice['chance']:.2f})")
