"""Training with Hugging Face Accelerate on CPU, one GPU or several (DDP, or FSDP with ``run.distributed: fsdp``).

    accelerate launch -m trainer.train --config trainer/configs/llama125m.yaml      # every visible GPU
    python -m trainer.train --config trainer/configs/tiny.yaml --set run.steps=50   # one process

Every rank draws the same global batch from the mixture sampler and takes its own rows, so the data order does
not depend on the number of GPUs; batches are read ahead on a thread (``trainer.loader``) and the loop waits for
the device only at log lines, evaluations and checkpoints (``trainer.window``). Checkpoints
(``out/checkpoints/step_N``) hold the model, the optimizer, every rank's RNG states and the run state (step,
sampler position, spike history, skipped batches); resuming continues the same run. On a loss spike or a
non-finite loss with ``log.spike_rollback``, the run goes back to the last checkpoint before it and skips the
global batches drawn since, up to the spike (PaLM, Chowdhery et al. 2022); the rollback is recorded.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from data_platform.yaml_lines import ConfigError
from trainer.choice import run_choice
from trainer.config import ScheduleConfig, TrainConfig, load_config
from trainer.data import TokenData, TokenStream
from trainer.flops import flops_per_token, mfu, peak_flops
from trainer.heldout import byte_lengths, eval_streams, evaluate, record_choice, record_eval
from trainer.loader import BatchPlan, Prefetcher
from trainer.mixture import MixtureSampler, mixture_probs
from trainer.model import DocumentMask, Transformer, count_params
from trainer.monitor import Monitor, SpikeDetector, Watchdog
from trainer.step import make_accelerator, make_optimizer, optimizer_step
from trainer.window import StepWindow, WindowRead

if TYPE_CHECKING:
    from accelerate import Accelerator

DONE = "checkpoint.done"


class TrainingError(RuntimeError):
    """The run cannot go on: a non-finite loss or grad norm with no rollback left."""


@dataclass
class RunState:
    """The resumable counters of a run that are not model, optimizer or RNG (registered with Accelerate)."""

    sampler: MixtureSampler
    spikes: SpikeDetector
    grad_spikes: SpikeDetector
    step: int = 0
    tokens: int = 0
    batches: int = 0  # global batches drawn, skipped ones included
    skips: list[list[int]] = field(default_factory=list)  # [start, stop) batch ranges rollbacks skip
    rollbacks: list[dict] = field(default_factory=list)

    def state_dict(self) -> dict:
        return {"step": self.step, "tokens": self.tokens, "batches": self.batches, "sampler": self.sampler.state_dict(),
                "spikes": self.spikes.state_dict(), "grad_spikes": self.grad_spikes.state_dict(),
                "skips": self.skips, "rollbacks": self.rollbacks}

    def load_state_dict(self, state: dict) -> None:
        """Also a checkpoint of an earlier trainer (no batch count, grad spikes or skips: none were made)."""
        self.step, self.tokens = int(state["step"]), int(state["tokens"])
        self.batches = int(state.get("batches", self.step))
        self.sampler.load_state_dict(state["sampler"])
        self.spikes.load_state_dict(state["spikes"])
        self.grad_spikes.load_state_dict(state.get("grad_spikes", {"recent": [], "spikes": []}))
        self.skips, self.rollbacks = [list(r) for r in state.get("skips", [])], list(state.get("rollbacks", []))


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
    mask_fn: Any = None  # inputs -> attention mask, with data.document_masking


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
             exclude=d.exclude, specials=d.special_tokens, group=d.group)
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


def _model_and_optimizer(cfg: TrainConfig, accelerator: Accelerator) -> tuple[torch.nn.Module,
                                                                            torch.optim.Optimizer, int]:
    """The seeded model (from ``run.init_from``'s weights when given; compiled when asked) and its AdamW, both
    prepared by Accelerate; the parameter count."""
    torch.manual_seed(cfg.run.seed)  # the initial weights depend on the seed only, not on what ran before
    model = Transformer(cfg.model)
    if cfg.run.init_from:
        from trainer.hf_checkpoint import load_into

        load_into(model, cfg.run.init_from)
    n_params = count_params(model)  # before compile and prepare, which wrap the module
    if cfg.run.compile:
        model.compile()  # in place: checkpoints keep plain parameter names
    o = cfg.optim
    optimizer = make_optimizer(model, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=o.weight_decay,
                               device=accelerator.device)
    model, optimizer = accelerator.prepare(model, optimizer)
    return model, optimizer, n_params


def _stages(cfg: TrainConfig, sizes: dict[str, int]) -> list[tuple[int, dict[str, float]]]:
    """The mixture of every stage: ``data.weights``/``caps`` from step 1, then each of ``data.stages``."""
    d = cfg.data
    out = [(1, mixture_probs(sizes, d.weights, d.caps))]
    for s in d.stages:
        if s.start > cfg.run.steps:
            warnings.warn(f"data.stages: a stage starts at step {s.start}, after the last step {cfg.run.steps}",
                          stacklevel=2)
        out.append((s.start, mixture_probs(sizes, s.weights, s.caps)))
    return out


def train(cfg: TrainConfig, stop_at: int | None = None, end_training: bool = True) -> dict:
    """Run (or resume) training; return final metrics, held-out losses per channel and where logs are.

    ``end_training=False`` keeps the process group alive for a further run in the same processes (ablations)."""
    accelerator = make_accelerator(cfg.run.precision, cfg.run.distributed)
    out, world = Path(cfg.run.out), accelerator.num_processes
    data = _data(cfg, accelerator)
    if data.vocab_size > cfg.model.vocab_size:
        raise ConfigError(f"the tokenizer has {data.vocab_size} tokens, model.vocab_size is {cfg.model.vocab_size}")
    train_streams, heldout = data.streams("train"), eval_streams(cfg, data)
    sizes = {c: s.n_sequences(cfg.data.seq_len) for c, s in train_streams.items()}
    stages = _stages(cfg, sizes)
    probs = stages[0][1]
    units = {c: u for c, s in train_streams.items() if (u := s.units(cfg.data.seq_len)) is not None}
    state = RunState(MixtureSampler(sizes, stages, cfg.data.seed, units or None),
                     SpikeDetector(cfg.log.spike_factor, cfg.log.spike_window),
                     SpikeDetector(cfg.log.grad_spike_factor, cfg.log.spike_window))
    model, optimizer, n_params = _model_and_optimizer(cfg, accelerator)
    accelerator.register_for_checkpointing(state)  # save_state/load_state then carry step, sampler and spikes
    ckpt_dir = out / "checkpoints"
    resume = _resume_from(cfg, ckpt_dir)
    if resume is not None:
        accelerator.load_state(str(resume))
    if accelerator.is_main_process:
        _warn_repeats(stages, sizes, cfg, world)
    monitor = Monitor(out, total=cfg.run.steps, start=state.step, main=accelerator.is_main_process,
                      progress=cfg.log.progress)
    if accelerator.is_main_process:
        (out / "config.json").write_text(cfg.model_dump_json(indent=1) + "\n")
        monitor.record("run", state.step, {"params": n_params, "world_size": world,
                                           **{f"p_{c}": p for c, p in probs.items()}})
    mask_fn = DocumentMask(data.eos_id, flex=accelerator.device.type == "cuda") if cfg.data.document_masking else None
    run = Run(cfg=cfg, accelerator=accelerator, model=model, optimizer=optimizer, state=state,
              train_streams=train_streams, heldout=heldout, monitor=monitor, ckpt_dir=ckpt_dir,
              byte_len=byte_lengths(cfg, data, accelerator.device), mask_fn=mask_fn)
    last = _loop(run, stop_at)
    if last.pop("eval_step", None) != state.step:  # the final evaluation, unless the loop's last step made it
        last["eval"] = evaluate(model, heldout, cfg, accelerator, run.byte_len, mask_fn)
        record_eval(monitor, state.step, last["eval"], state.tokens)
    last["eval"]["choice"] = run_choice(model, heldout, data.eos_id, cfg.eval, accelerator)
    record_choice(monitor, state.step, last["eval"]["choice"])
    result = {"step": state.step, "tokens": state.tokens, "params": n_params, **last,
              "spikes": state.spikes.spikes, "grad_spikes": state.grad_spikes.spikes, "rollbacks": state.rollbacks,
              "mixture": probs, "stages": [{"start": s, "mixture": p} for s, p in stages],
              "epochs": state.sampler.epochs(), "out": str(out), "metrics": str(monitor.metrics_path),
              "tensorboard": str(out / "tensorboard")}
    if accelerator.is_main_process:
        (out / "final.json").write_text(json.dumps(result, indent=1) + "\n")
    monitor.close()
    if end_training:
        accelerator.end_training()
    return result


def _warn_repeats(stages: list[tuple[int, dict[str, float]]], sizes: dict[str, int], cfg: TrainConfig,
                  world: int) -> None:
    """Warn about channels the planned run would read more than ``data.max_epochs`` times."""
    ends = [s for s, _ in stages[1:]] + [cfg.run.steps + 1]
    draws: dict[str, float] = {}
    for (start, probs), stop in zip(stages, ends, strict=True):
        seqs = sum(cfg.data.micro_batch * world * cfg.data.accum_at(step) for step in range(start, stop))
        for c, p in probs.items():
            draws[c] = draws.get(c, 0.0) + p * seqs
    for c, n in draws.items():
        epochs = n / sizes[c]
        if epochs > cfg.data.max_epochs:
            warnings.warn(f"channel {c} would be read {epochs:.1f} times (data.max_epochs {cfg.data.max_epochs}): "
                          "repeating data beyond ~4 epochs adds little (Muennighoff et al. 2023)", stacklevel=2)


def _prefetcher(run: Run, end: int) -> Prefetcher:
    """Batches from the run's state on (a copy of its sampler runs ahead on the thread)."""
    cfg, state = run.cfg, run.state
    skip = tuple(tuple(r) for r in [*cfg.data.skip_batches, *state.skips])
    plan = BatchPlan(cfg.data.seq_len, cfg.data.micro_batch, cfg.data.accum_at, skip,  # type: ignore[arg-type]
                     run.accelerator.process_index, run.accelerator.num_processes)
    return Prefetcher(run.train_streams, copy.deepcopy(state.sampler), plan, state.step, end, state.batches,
                      pin=run.accelerator.device.type == "cuda")


def _due(every: int, step: int) -> bool:
    return bool(every) and step % every == 0


def _loop(run: Run, stop_at: int | None) -> dict:
    """Optimizer steps from ``run.state.step`` to ``run.steps`` (or ``stop_at``): set the lr, step, and at log
    lines, evaluations and checkpoints read the window (spikes, non-finite values, rollback), log, evaluate and
    checkpoint. Returns the last values logged (train loss, lr, grad norm, speed, eval, checkpoint)."""
    cfg, accelerator, state = run.cfg, run.accelerator, run.state
    end = min(cfg.run.steps, stop_at or cfg.run.steps)
    window = StepWindow(state.sampler.channels, accelerator.device)
    watchdog = Watchdog(cfg.log.hang_timeout)
    loader = _prefetcher(run, end)
    last: dict = {}
    first = True  # the run's first step (compilation, warm-up) is not timed
    try:
        while state.step < end:
            item = loader.next()
            lr = lr_at(item.step - 1, cfg.run.steps, cfg.optim.lr, cfg.schedule)
            for group in run.optimizer.param_groups:
                group["lr"] = lr
            log = _due(cfg.log.every, item.step) or item.step == end
            result = optimizer_step(accelerator, run.model, run.optimizer, item.micro, cfg.optim.grad_clip,
                                    z_loss=cfg.optim.z_loss, channel_sums=window.sums, mask_fn=run.mask_fn,
                                    with_layer_norms=log)
            state.step, state.batches = item.step, item.batches
            state.sampler.load_state_dict(item.sampler)
            tokens = cfg.tokens_per_step(accelerator.num_processes, item.step)
            state.tokens += tokens
            window.add(item.step, item.batches, result, tokens)
            if first:
                result.loss.item()  # wait for compilation and the first step, then start the clock
                window.restart_clock()
                first = False
            watchdog.arm()
            evaluate_now = _due(cfg.eval.every, state.step)
            checkpoint_now = _due(cfg.checkpoint.every, state.step) or state.step == end
            if not (log or evaluate_now or checkpoint_now):
                continue
            read = window.read(accelerator)
            last.update(lr=lr)
            trouble = _check(run, read, last)
            if trouble is not None and _rollback(run, trouble):
                loader.close()
                loader = _prefetcher(run, end)
                window.restart_clock()
                continue
            if evaluate_now:
                last["eval"] = evaluate(run.model, run.heldout, cfg, accelerator, run.byte_len, run.mask_fn)
                last["eval_step"] = state.step
                record_eval(run.monitor, state.step, last["eval"], state.tokens)
            if checkpoint_now:
                last["checkpoint"] = str(_save(accelerator, run.ckpt_dir, state.step, cfg.checkpoint.keep))
            window.restart_clock()
    finally:
        watchdog.disarm()
        loader.close()
    return last


def _check(run: Run, read: WindowRead, last: dict) -> dict | None:
    """Spikes and non-finite values of the window's steps, then its train record (at log lines, evaluations and
    checkpoints, so every step is in one); the first trouble (a loss spike or a non-finite loss or grad norm) as
    ``{step, batches, kind, value}``, or None."""
    state, monitor, trouble = run.state, run.monitor, None
    for step, batches, loss, norm in zip(read.steps, read.batches, read.losses, read.grad_norms, strict=True):
        if not (math.isfinite(loss) and math.isfinite(norm)):
            trouble = trouble or {"step": step, "batches": batches, "kind": "non-finite", "value": loss}
            continue
        if state.spikes.update(step, loss):
            monitor.spike("loss", step, loss, state.spikes.spikes[-1]["rolling_mean"])
            trouble = trouble or {"step": step, "batches": batches, "kind": "loss spike", "value": loss}
        if state.grad_spikes.update(step, norm):
            monitor.spike("grad norm", step, norm, state.grad_spikes.spikes[-1]["rolling_mean"])
    monitor.advance(len(read.steps), read.losses[-1])
    _record_train(run, read, last)
    return trouble


def _record_train(run: Run, read: WindowRead, last: dict) -> None:
    """The ``train`` record (token-weighted loss overall and per channel over the window, the last step's lr and
    grad norm, speed) and the ``norms`` record (every layer group's gradient and parameter norm)."""
    cfg, state, monitor = run.cfg, run.state, run.monitor
    world = run.accelerator.num_processes
    peak = cfg.run.peak_flops or (peak_flops(torch.cuda.get_device_name()) if torch.cuda.is_available() else None)
    tok_s = read.tokens_per_s
    util = mfu(tok_s, flops_per_token(cfg.model, cfg.data.seq_len), peak, world) if tok_s else None
    last.update(train_loss=read.train_loss, grad_norm=read.grad_norms[-1], tokens_per_s=tok_s, mfu=util)
    per_channel = {f"train_loss/{c}": v for c, v in read.channel_loss.items()}
    per_channel.update({f"train_tokens/{c}": n for c, n in read.channel_tokens.items()})
    monitor.record("train", state.step, dict(last, tokens=state.tokens, **per_channel),
                   f"step {state.step:>6} | loss {read.train_loss:.4f} | lr {last['lr']:.2e} | "
                   f"grad {read.grad_norms[-1]:.3f}" + (f" | {tok_s:,.0f} tok/s" if tok_s else "")
                   + (f" | MFU {util:.1%}" if util else ""))
    if read.layer_norms:
        monitor.record("norms", state.step, {f"{kind}/{name}": v[k] for name, v in read.layer_norms.items()
                                             for k, kind in enumerate(("grad_norm", "param_norm"))})


def _rollback(run: Run, trouble: dict) -> bool:
    """Back to the last checkpoint before ``trouble``'s step, skipping the global batches from there through it;
    False (a warning, or an error for a non-finite value) when rollbacks are off, used up or have no checkpoint."""
    cfg, state = run.cfg, run.state
    before = [p for p in sorted(run.ckpt_dir.glob(f"step_*/{DONE}")) if _step_of(p.parent) < trouble["step"]]
    why = ("log.spike_rollback is off" if not cfg.log.spike_rollback
           else f"log.max_rollbacks {cfg.log.max_rollbacks} used" if len(state.rollbacks) >= cfg.log.max_rollbacks
           else "no checkpoint before it" if not before else None)
    if why is not None:
        if trouble["kind"] == "non-finite":
            raise TrainingError(f"non-finite loss or grad norm at step {trouble['step']} ({why}); the last "
                                f"checkpoints are in {run.ckpt_dir}")
        return False
    skips, rollbacks, spikes = state.skips, state.rollbacks, state.spikes.spikes
    run.accelerator.load_state(str(before[-1].parent))  # model, optimizer, RNG and the run state at that step
    record = {"from_step": trouble["step"], "to_step": state.step, "cause": trouble["kind"],
              "value": trouble["value"], "skip_batches": [state.batches, trouble["batches"]]}
    state.skips, state.rollbacks = [*skips, record["skip_batches"]], [*rollbacks, record]
    state.spikes.spikes = spikes
    run.monitor.rewind(state.step)
    run.monitor.record("rollback", state.step, {k: v for k, v in record.items() if k != "skip_batches"}
                       | {"skip_from": state.batches, "skip_to": trouble["batches"]},
                       f"rollback: {trouble['kind']} at step {trouble['step']} -> step {state.step}, skipping "
                       f"global batches {state.batches}..{trouble['batches'] - 1}")
    return True


def _step_of(path: Path) -> int:
    return int(path.name.removeprefix("step_"))


EXAMPLES = """examples (dp-train is the same command as python -m trainer.train):
  dp-train --config trainer/configs/tiny.yaml --set run.steps=50
  dp-train --config trainer/configs/tiny.yaml --stop-at 20        # stop with a checkpoint; rerun to resume
  accelerate launch -m trainer.train --config trainer/configs/llama125m.yaml     # every visible GPU
"""


def main(argv: list[str] | None = None) -> int:
    from data_platform.cli import error
    from trainer.hf_checkpoint import CheckpointError
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
    except (ConfigError, InputError, MixtureError, PackError, CheckpointError, TrainingError) as err:
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
