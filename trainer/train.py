"""Training with Hugging Face Accelerate on CPU, one GPU or several (DDP, or FSDP with ``run.distributed: fsdp``).

    accelerate launch -m trainer.train --config trainer/configs/llama125m.yaml      # every visible GPU
    python -m trainer.train --config trainer/configs/tiny.yaml --set run.steps=50   # one process

Every rank draws the same global batch from the mixture sampler and takes its own rows, so the data order does
not depend on the number of GPUs. Checkpoints (``out/checkpoints/step_N``) hold the model, the optimizer, every
rank's RNG states and the run state (step, sampler position, spike history); resuming continues the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from data_platform.yaml_lines import ConfigError
from trainer import metrics as M
from trainer.choice import run_choice
from trainer.config import ScheduleConfig, TrainConfig, load_config
from trainer.data import TokenData, TokenStream, batch
from trainer.flops import flops_per_token, mfu, peak_flops
from trainer.mixture import MixtureSampler, mixture_probs
from trainer.model import IGNORE_INDEX, Transformer, count_params
from trainer.monitor import Monitor, SpikeDetector
from trainer.step import make_accelerator, make_optimizer, optimizer_step

if TYPE_CHECKING:
    from accelerate import Accelerator

DONE = "checkpoint.done"


@dataclass
class RunState:
    """The resumable counters of a run that are not model, optimizer or RNG (registered with Accelerate)."""

    sampler: MixtureSampler
    spikes: SpikeDetector
    step: int = 0
    tokens: int = 0

    def state_dict(self) -> dict:
        return {"step": self.step, "tokens": self.tokens, "sampler": self.sampler.state_dict(),
                "spikes": self.spikes.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.step, self.tokens = int(state["step"]), int(state["tokens"])
        self.sampler.load_state_dict(state["sampler"])
        self.spikes.load_state_dict(state["spikes"])


@dataclass
class Run:
    """Everything the training loop reads or advances."""

    cfg: TrainConfig
    accelerator: Accelerator
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    state: RunState
    train_streams: dict[str, TokenStream]
    heldout: dict[str, TokenStream]
    monitor: Monitor
    ckpt_dir: Path
    byte_len: torch.Tensor | None = None


def lr_at(step: int, total: int, base_lr: float, s: ScheduleConfig) -> float:
    """Learning rate of optimizer step ``step`` (0-based) out of ``total``: linear warmup, then cosine decay, or WSD
    (warmup, a stable plateau, a final linear or 1-sqrt cooldown; Hägele et al. 2024: a 1-sqrt cooldown over the last
    ~20% of steps matches cosine). A pure function of the step, so resuming needs no scheduler state."""
    floor = base_lr * s.min_lr_ratio
    if step < s.warmup_steps:
        return base_lr * (step + 1) / s.warmup_steps
    if s.kind == "cosine":
        progress = min(1.0, (step - s.warmup_steps) / max(1, total - 1 - s.warmup_steps))
        return floor + (base_lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    decay_start = max(s.warmup_steps, total - round(s.decay_fraction * total))
    if step < decay_start:
        return base_lr
    progress = min(1.0, (step - decay_start + 1) / max(1, total - decay_start))
    factor = 1 - progress if s.decay_shape == "linear" else 1 - math.sqrt(progress)
    return floor + (base_lr - floor) * factor


def _data(cfg: TrainConfig, accelerator: Accelerator) -> TokenData:
    d = cfg.data
    if d.inputs and accelerator.is_main_process:
        from trainer.pack import pack

        assert d.tokenizer is not None  # the config requires one with inputs
        pack(d.inputs, d.tokenizer, d.tokens, channel=d.channel, heldout_docs=d.heldout_docs, workers=d.workers,
             exclude=d.exclude)
    accelerator.wait_for_everyone()
    return TokenData(d.tokens)


def _latest_checkpoint(ckpt_dir: Path) -> Path | None:
    done = sorted(p.parent for p in ckpt_dir.glob(f"step_*/{DONE}"))
    return done[-1] if done else None


def _resume_from(cfg: TrainConfig, ckpt_dir: Path) -> Path | None:
    """The checkpoint ``checkpoint.resume`` names: none, the latest complete one (auto), or a given folder."""
    if cfg.checkpoint.resume == "never":
        return None
    return _latest_checkpoint(ckpt_dir) if cfg.checkpoint.resume == "auto" else Path(cfg.checkpoint.resume)


def _save(accelerator: Accelerator, ckpt_dir: Path, step: int, keep: int) -> Path:
    path = ckpt_dir / f"step_{step:08d}"
    accelerator.save_state(str(path), safe_serialization=False)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (path / DONE).write_text(json.dumps({"step": step}) + "\n")
        for old in sorted(p.parent for p in ckpt_dir.glob(f"step_*/{DONE}"))[:-keep]:
            shutil.rmtree(old)
    return path


@torch.no_grad()
def evaluate(model: torch.nn.Module, streams: dict[str, TokenStream], cfg: TrainConfig,
             accelerator: Accelerator, byte_len: torch.Tensor | None = None) -> dict:
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
            sums[k] += M.batch_sums(model(x), y, byte_len)
    sums = accelerator.reduce(sums, "sum")
    model.train()
    bpb = byte_len is not None
    out = {name: M.summarize(sums[k].tolist(), bpb) for k, name in enumerate(sorted(streams))}
    return {"overall": M.summarize(sums.sum(0).tolist(), bpb), "channels": out}


def _byte_lengths(cfg: TrainConfig, data: TokenData, device: torch.device) -> torch.Tensor | None:
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


def _eval_streams(cfg: TrainConfig, data: TokenData) -> dict[str, TokenStream]:
    """The held-out split of the training data, or every document of ``eval.tokens`` (same tokenizer)."""
    if cfg.eval.tokens is None:
        return data.streams("heldout")
    common = TokenData(cfg.eval.tokens)
    if common.index["fingerprint"]["tokenizer_sha256"] != data.index["fingerprint"]["tokenizer_sha256"]:
        raise ConfigError(f"eval.tokens {cfg.eval.tokens} was packed with another tokenizer than data.tokens")
    return common.streams("all")


def _model_and_optimizer(cfg: TrainConfig, accelerator: Accelerator) -> tuple[torch.nn.Module,
                                                                            torch.optim.Optimizer, int]:
    """The seeded model (compiled when asked) and its AdamW, both prepared by Accelerate; the parameter count."""
    torch.manual_seed(cfg.run.seed)  # the initial weights depend on the seed only, not on what ran before
    model = Transformer(cfg.model)
    n_params = count_params(model)  # before compile and prepare, which wrap the module
    if cfg.run.compile:
        model.compile()  # in place: checkpoints keep plain parameter names
    o = cfg.optim
    optimizer = make_optimizer(model, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=o.weight_decay,
                               device=accelerator.device)
    model, optimizer = accelerator.prepare(model, optimizer)
    return model, optimizer, n_params


def train(cfg: TrainConfig, stop_at: int | None = None, end_training: bool = True) -> dict:
    """Run (or resume) training; return final metrics, held-out losses per channel and where logs are.

    ``end_training=False`` keeps the process group alive for a further run in the same processes (ablations)."""
    accelerator = make_accelerator(cfg.run.precision, cfg.run.distributed)
    out, world = Path(cfg.run.out), accelerator.num_processes
    data = _data(cfg, accelerator)
    if data.vocab_size > cfg.model.vocab_size:
        raise ConfigError(f"the tokenizer has {data.vocab_size} tokens, model.vocab_size is {cfg.model.vocab_size}")
    train_streams, heldout = data.streams("train"), _eval_streams(cfg, data)
    sizes = {c: s.n_sequences(cfg.data.seq_len) for c, s in train_streams.items()}
    probs = mixture_probs(sizes, cfg.data.weights, cfg.data.caps)
    state = RunState(MixtureSampler(sizes, probs, cfg.data.seed),
                     SpikeDetector(cfg.log.spike_factor, cfg.log.spike_window))
    model, optimizer, n_params = _model_and_optimizer(cfg, accelerator)
    accelerator.register_for_checkpointing(state)  # save_state/load_state then carry step, sampler and spikes
    ckpt_dir = out / "checkpoints"
    resume = _resume_from(cfg, ckpt_dir)
    if resume is not None:
        accelerator.load_state(str(resume))
    if accelerator.is_main_process:
        _warn_repeats(probs, sizes, cfg, world)
    monitor = Monitor(out, total=cfg.run.steps, start=state.step, main=accelerator.is_main_process,
                      progress=cfg.log.progress)
    if accelerator.is_main_process:
        (out / "config.json").write_text(cfg.model_dump_json(indent=1) + "\n")
        monitor.record("run", state.step, {"params": n_params, "world_size": world,
                                           **{f"p_{c}": p for c, p in probs.items()}})
    run = Run(cfg=cfg, accelerator=accelerator, model=model, optimizer=optimizer, state=state,
              train_streams=train_streams, heldout=heldout, monitor=monitor, ckpt_dir=ckpt_dir,
              byte_len=_byte_lengths(cfg, data, accelerator.device))
    last = _loop(run, stop_at)
    if last.pop("eval_step", None) != state.step:  # the final evaluation, unless the loop's last step made it
        last["eval"] = evaluate(model, heldout, cfg, accelerator, run.byte_len)
        _record_eval(monitor, state.step, last["eval"])
    last["eval"]["choice"] = run_choice(model, heldout, data.index["special_ids"]["<|eos|>"], cfg.eval, accelerator)
    _record_choice(monitor, state.step, last["eval"]["choice"])
    result = {"step": state.step, "tokens": state.tokens, "params": n_params, **last,
              "spikes": state.spikes.spikes, "mixture": probs, "epochs": state.sampler.epochs(),
              "out": str(out), "metrics": str(monitor.metrics_path), "tensorboard": str(out / "tensorboard")}
    if accelerator.is_main_process:
        (out / "final.json").write_text(json.dumps(result, indent=1) + "\n")
    monitor.close()
    if end_training:
        accelerator.end_training()
    return result


def _warn_repeats(probs: dict[str, float], sizes: dict[str, int], cfg: TrainConfig, world: int) -> None:
    """Warn about channels the planned run would read more than ``data.max_epochs`` times."""
    draws = cfg.run.steps * cfg.data.micro_batch * cfg.data.grad_accum * world
    for c, p in probs.items():
        epochs = p * draws / sizes[c]
        if epochs > cfg.data.max_epochs:
            warnings.warn(f"channel {c} would be read {epochs:.1f} times (data.max_epochs {cfg.data.max_epochs}): "
                          "repeating data beyond ~4 epochs adds little (Muennighoff et al. 2023)", stacklevel=2)


EVAL_METRICS = ("loss", "ppl", "bits_per_byte", "top1", "top5")


def _record_eval(monitor: Monitor, step: int, result: dict) -> None:
    """One ``eval`` record: every metric overall (``loss``) and per channel (``loss/<channel>``)."""
    overall = result["overall"]
    values = {m: overall[m] for m in EVAL_METRICS if m in overall}
    for c, r in result["channels"].items():
        values.update({f"{m}/{c}": r[m] for m in EVAL_METRICS if m in r})
    per = ", ".join(f"{c} {r['loss']:.3f}" for c, r in result["channels"].items())
    bpb = overall.get("bits_per_byte")
    monitor.record("eval", step, values, f"eval {step:>6} | loss {overall['loss']:.4f} | ppl {overall['ppl']:.2f} "
                   + (f"| bpb {bpb:.4f} " if bpb is not None else "")
                   + f"| top1 {overall['top1']:.3f} | top5 {overall['top5']:.3f} | {per}")


def _record_choice(monitor: Monitor, step: int, choice: dict) -> None:
    """One ``choice`` record: the multiple-choice accuracy next to its chance level."""
    if choice["accuracy"] is None:
        monitor.record("choice", step, {"items": 0}, "choice: no items (eval.choice_items is 0, or fewer than 4 "
                                                     "held-out documents are long enough)")
        return
    monitor.record("choice", step, {k: choice[k] for k in ("accuracy", "chance", "stderr", "items", "correct")},
                   f"choice {step:>6} | accuracy {choice['accuracy']:.3f} ± {choice['stderr']:.3f} over "
                   f"{choice['items']} items (chance {choice['chance']:.2f})")


def _loop(run: Run, stop_at: int | None) -> dict:
    """Optimizer steps from ``run.state.step`` to ``run.steps`` (or ``stop_at``): set the lr, step, log, evaluate
    and checkpoint on schedule. Returns the last values logged (train loss, lr, grad norm, speed, eval, checkpoint)."""
    cfg, accelerator, state, monitor = run.cfg, run.accelerator, run.state, run.monitor
    t, world, rank = cfg.data.seq_len, accelerator.num_processes, accelerator.process_index
    step_tokens = cfg.tokens_per_step(world)
    flops_tok = flops_per_token(cfg.model, t)
    peak = cfg.run.peak_flops or (peak_flops(torch.cuda.get_device_name()) if torch.cuda.is_available() else None)
    end = min(cfg.run.steps, stop_at or cfg.run.steps)
    last: dict = {}
    first, timed_steps, timed_s = True, 0, 0.0  # the run's first step (compilation, warm-up) is not timed
    while state.step < end:
        started = time.perf_counter()
        lr = lr_at(state.step, cfg.run.steps, cfg.optim.lr, cfg.schedule)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        # Every rank draws the same global batch and keeps its own rows, so the data order ignores the world size;
        # a generator, so each micro-batch is read only when optimizer_step needs it.
        micro_batches = (batch(run.train_streams, state.sampler.take(cfg.data.micro_batch * world)[rank::world], t)
                         for _ in range(cfg.data.grad_accum))
        loss_val, norm = optimizer_step(accelerator, run.model, run.optimizer, micro_batches,
                                        n_micro=cfg.data.grad_accum, grad_clip=cfg.optim.grad_clip)
        state.step += 1
        state.tokens += step_tokens
        if not first:  # .item() above waited for the device, so this is the step's real time
            timed_steps, timed_s = timed_steps + 1, timed_s + time.perf_counter() - started
        first = False
        if state.spikes.update(state.step, loss_val):
            monitor.spike(state.step, loss_val, state.spikes.spikes[-1]["rolling_mean"])
        monitor.advance(loss_val)
        last.update(train_loss=loss_val, lr=lr)
        if state.step % cfg.log.every == 0 or state.step == end:
            tok_s = timed_steps * step_tokens / timed_s if timed_steps else None
            timed_steps, timed_s = 0, 0.0  # tokens/s is over the steps since the last log line
            util = mfu(tok_s, flops_tok, peak, world) if tok_s else None
            last.update(grad_norm=norm, tokens_per_s=tok_s, mfu=util)
            monitor.record("train", state.step, dict(last, tokens=state.tokens),
                           f"step {state.step:>6} | loss {loss_val:.4f} | lr {lr:.2e} | grad {norm:.3f}"
                           + (f" | {tok_s:,.0f} tok/s" if tok_s else "") + (f" | MFU {util:.1%}" if util else ""))
        if cfg.eval.every and state.step % cfg.eval.every == 0:
            last["eval"] = evaluate(run.model, run.heldout, cfg, accelerator, run.byte_len)
            last["eval_step"] = state.step
            _record_eval(monitor, state.step, last["eval"])
        if (cfg.checkpoint.every and state.step % cfg.checkpoint.every == 0) or state.step == end:
            last["checkpoint"] = str(_save(accelerator, run.ckpt_dir, state.step, cfg.checkpoint.keep))
    return last


EXAMPLES = """examples (dp-train is the same command as python -m trainer.train):
  dp-train --config trainer/configs/tiny.yaml --set run.steps=50
  dp-train --config trainer/configs/tiny.yaml --stop-at 20        # stop with a checkpoint; rerun to resume
  accelerate launch -m trainer.train --config trainer/configs/llama125m.yaml     # every visible GPU
"""


def main(argv: list[str] | None = None) -> int:
    from data_platform.cli import error
    from trainer.inputs import InputError
    from trainer.mixture import MixtureError
    from trainer.pack import PackError

    p = argparse.ArgumentParser(prog="python -m trainer.train", description=__doc__.splitlines()[0],
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="training YAML")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set run.steps=100 (repeatable)")
    p.add_argument("--stop-at", type=int, default=None, help="stop (with a checkpoint) after this step")
    args = p.parse_args(argv)
    try:
        result = train(load_config(args.config, args.overrides), stop_at=args.stop_at)
    except (ConfigError, InputError, MixtureError, PackError) as err:
        return error(err)
    ev = result["eval"]["overall"]
    if int(os.environ.get("RANK", "0")) == 0:
        bpb, choice = ev.get("bits_per_byte"), result["eval"]["choice"]["accuracy"]
        print(f"done: step {result['step']}, held-out loss {ev['loss']:.4f} (ppl {ev['ppl']:.2f}"
              + (f", {bpb:.4f} bits/byte" if bpb is not None else "") + f", top-1 {ev['top1']:.3f}"
              + (f", choice accuracy {choice:.3f}" if choice is not None else "") + f") -> {result['out']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
