"""The training config: YAML -> validated pydantic sections; errors name the file, the key path and the line.

Sections: ``model`` (``ModelArgs``), ``data``, ``optim``, ``schedule``, ``eval``, ``checkpoint``, ``log`` and
``run``. Relative paths are taken from the working directory. ``overrides`` (``key.path=value``, the value read
as YAML) let scripts and the ablation runner change one field without writing a file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from data_platform.yaml_lines import ConfigError, load_with_lines, locator, validate
from trainer.channel import as_keys, parse
from trainer.model import ModelArgs
from trainer.tokenizer import SpecialTokens


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageConfig(_Section):
    """A mixture that takes over at a step (the run's first mixture is ``data.weights`` / ``data.caps``)."""

    start: int = Field(gt=1, description="first optimizer step (1-based) drawn from this mixture")
    weights: dict[str, float] | None = Field(None, description="mixture weights per channel; none = by size")
    caps: dict[str, float] = Field({}, description="largest share of a channel")

    @field_validator("weights", "caps", mode="before")
    @classmethod
    def _channel_keys(cls, v: Any) -> Any:
        return as_keys(v)


class DataConfig(_Section):
    tokens: str = Field(description="token folder written by trainer.pack (index.json + .npy shards)")
    inputs: list[str] = Field([], description="parquet files, folders, globs or manifest.json; packed when "
                                              "the token folder is not complete")
    tokenizer: str | None = Field(None, description="tokenizer.json used to pack 'inputs'")
    special_tokens: SpecialTokens = Field(SpecialTokens(), description="the tokenizer's names of its eos, pad and "
                                          "bos tokens (Llama-3: eos '<|end_of_text|>', pad null)")
    exclude: list[str] = Field([], description="parquet inputs whose document ids are left out of packing "
                                               "(e.g. a common evaluation set)")
    channel: str = Field("source", description="column (or meta key) naming a document's mixture channel; "
                                               "several joined with '+', e.g. lang+domain (trainer.channel)")
    group: str | None = Field(None, description="column (or meta key) whose documents are kept together in one "
                                                "global batch, e.g. repo or book (packed together; trainer.mixture)")
    heldout_docs: int = Field(200, ge=0, description="documents per channel held out for evaluation")
    weights: dict[str, float] | None = Field(None, description="mixture weights per channel; none = by size")
    caps: dict[str, float] = Field({}, description="largest share of a channel, e.g. {domain: 0.15}")
    stages: list[StageConfig] = Field([], description="later mixtures by first step, e.g. an annealing mixture "
                                                     "for the last 10% of the steps")
    max_epochs: float = Field(4.0, gt=0, description="warn when a channel would repeat more often than this")
    seq_len: int = Field(1024, gt=1)
    micro_batch: int = Field(8, gt=0, description="sequences per device per forward pass")
    grad_accum: int = Field(1, gt=0, description="micro-batches per optimizer step")
    ramp_steps: int = Field(0, ge=0, description="batch-size ramp-up: grad_accum grows linearly from "
                                                 "ramp_start_accum to grad_accum over these steps (0: none)")
    ramp_start_accum: int = Field(1, gt=0, description="micro-batches per step at step 1 of a ramp-up")
    document_masking: bool = Field(False, description="attention stays within each packed document (flex attention "
                                                      "on CUDA, a dense mask elsewhere); off: GPT-style packing")
    skip_batches: list[tuple[int, int]] = Field([], description="global batches [start, stop) drawn and not trained "
                                                              "on (0-based; what a spike rollback adds)")
    seed: int = 0
    workers: int = Field(0, ge=0, description="packing processes; 0 = one per CPU")

    @field_validator("channel", "group")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        if v is not None:
            parse(v)
        return v

    @field_validator("weights", "caps", mode="before")
    @classmethod
    def _channel_keys(cls, v: Any) -> Any:
        return as_keys(v)

    @model_validator(mode="after")
    def _shares(self) -> "DataConfig":
        if self.weights is not None and (not self.weights or any(w <= 0 for w in self.weights.values())):
            raise ValueError("weights must be positive numbers, one per channel")
        if any(not 0 < c <= 1 for c in self.caps.values()):
            raise ValueError("caps are shares in (0, 1]")
        if self.inputs and not self.tokenizer:
            raise ValueError("'inputs' need a 'tokenizer' to be packed with")
        if any(not 0 <= a < b for a, b in self.skip_batches):
            raise ValueError("skip_batches are [start, stop) ranges with 0 <= start < stop")
        if self.ramp_start_accum > self.grad_accum:
            raise ValueError(f"ramp_start_accum {self.ramp_start_accum} exceeds grad_accum {self.grad_accum}")
        starts = [s.start for s in self.stages]
        if starts != sorted(set(starts)):
            raise ValueError(f"stages start at increasing steps, not {starts}")
        return self

    def accum_at(self, step: int) -> int:
        """Micro-batches of optimizer step ``step`` (1-based): ``grad_accum``, or the ramp-up's value."""
        if step > self.ramp_steps:
            return self.grad_accum
        span = self.grad_accum - self.ramp_start_accum + 1
        return min(self.grad_accum, self.ramp_start_accum + (step - 1) * span // self.ramp_steps)


class OptimConfig(_Section):
    lr: float = Field(6e-4, gt=0)
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = Field(1e-8, gt=0)
    weight_decay: float = Field(0.1, ge=0, description="applied to matrices only (not norms)")
    grad_clip: float = Field(1.0, ge=0, description="max global grad norm; 0 = no clipping")
    z_loss: float = Field(0.0, ge=0, description="weight of the z-loss, mean squared log-partition (PaLM: 1e-4)")


class ScheduleConfig(_Section):
    kind: Literal["cosine", "wsd"] = "cosine"
    warmup_steps: int = Field(100, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="final lr as a share of optim.lr")
    decay_fraction: float = Field(0.2, gt=0, le=1, description="wsd: share of the steps spent decaying")
    decay_shape: Literal["linear", "sqrt"] = Field("sqrt", description="wsd: linear or 1-sqrt cooldown")


class EvalConfig(_Section):
    every: int = Field(0, ge=0, description="evaluate every N steps (0: only at the end)")
    tokens: str | None = Field(None, description="a token folder packed (same tokenizer) from a common evaluation "
                                                 "set: all its documents are evaluated instead of data's held-out")
    max_sequences: int = Field(64, gt=0, description="held-out sequences per channel")
    batch_size: int = Field(8, gt=0)
    choice_items: int = Field(200, ge=0, description="multiple-choice items built from the held-out documents, "
                                                     "scored at the final evaluation (0: none)")
    choice_prefix: int = Field(32, gt=0, description="tokens of passage given before the continuations")
    choice_continuation: int = Field(16, gt=0, description="tokens of every continuation (true and distractors)")
    choice_seed: int = Field(0, description="draws the items; the same for every run so versions compare")


class CheckpointConfig(_Section):
    every: int = Field(0, ge=0, description="save every N steps (0: only at the end)")
    keep: int = Field(2, gt=0, description="checkpoints kept (oldest removed first)")
    resume: str = Field("auto", description="auto (latest in out/checkpoints), never, or a checkpoint folder")


class LogConfig(_Section):
    every: int = Field(10, gt=0, description="console/TensorBoard/metrics.jsonl every N steps")
    spike_factor: float = Field(2.0, gt=1, description="a loss above factor x rolling mean is a spike")
    spike_window: int = Field(50, gt=1, description="steps in the rolling mean")
    grad_spike_factor: float = Field(5.0, gt=1, description="a grad norm above factor x rolling mean is a spike")
    spike_rollback: bool = Field(False, description="on a loss spike or a non-finite loss: back to the checkpoint "
                                                    "before it, skipping the batches since (PaLM)")
    max_rollbacks: int = Field(3, ge=0, description="rollbacks a run may make before it stops")
    hang_timeout: float = Field(1800.0, ge=0, description="seconds without a finished step before the process "
                                                          "prints every thread's stack and exits (0: off)")
    progress: bool = True


class RunConfig(_Section):
    out: str = Field(description="run folder: metrics.jsonl, tensorboard/, checkpoints/, final.json")
    steps: int = Field(gt=0, description="optimizer steps")
    precision: Literal["auto", "bf16", "fp32"] = Field("auto", description="auto: bf16 on GPU, fp32 on CPU")
    compile: bool = False
    distributed: Literal["ddp", "fsdp"] = "ddp"
    peak_flops: float | None = Field(None, gt=0, description="per-device peak FLOP/s for MFU; default by GPU")
    seed: int = Field(0, description="model initialisation")
    init_from: str | None = Field(None, description="a Hugging Face LLaMA checkpoint folder (config.json, "
                                                    "safetensors) to continue pretraining from")


class TrainConfig(_Section):
    model: ModelArgs
    data: DataConfig
    optim: OptimConfig = OptimConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    eval: EvalConfig = EvalConfig()
    checkpoint: CheckpointConfig = CheckpointConfig()
    log: LogConfig = LogConfig()
    run: RunConfig

    def tokens_per_step(self, world: int, step: int | None = None) -> int:
        """Training tokens of optimizer step ``step`` (default: after any ramp-up) on ``world`` processes."""
        accum = self.data.grad_accum if step is None else self.data.accum_at(step)
        return self.data.seq_len * self.data.micro_batch * accum * world

    def tokens_through(self, steps: int, world: int) -> int:
        """Training tokens of optimizer steps 1 .. ``steps`` (a ramp-up's smaller steps counted as they are)."""
        ramp = min(steps, self.data.ramp_steps)
        return (sum(self.tokens_per_step(world, s) for s in range(1, ramp + 1))
                + (steps - ramp) * self.tokens_per_step(world))

    def steps_covering(self, tokens: float, world: int, *, within: bool = False) -> int:
        """The fewest steps whose tokens reach ``tokens``, or (``within``) the most that stay within them."""
        steps, total = 0, 0
        while steps < self.data.ramp_steps and total + self.tokens_per_step(world, steps + 1) <= tokens:
            steps, total = steps + 1, total + self.tokens_per_step(world, steps + 1)
        if steps < self.data.ramp_steps:  # the budget ends inside the ramp-up
            return steps if within or total >= tokens else steps + 1
        rest = (tokens - total) / self.tokens_per_step(world)
        return steps + (math.floor(rest) if within else math.ceil(rest))

    @model_validator(mode="after")
    def _fits(self) -> "TrainConfig":
        if self.data.seq_len > self.model.max_seq_len:
            raise ValueError(f"data.seq_len {self.data.seq_len} exceeds model.max_seq_len {self.model.max_seq_len}")
        choice = self.eval.choice_prefix + self.eval.choice_continuation - 1
        if self.eval.choice_items and choice > self.model.max_seq_len:
            raise ValueError(f"eval.choice_prefix + eval.choice_continuation - 1 = {choice} exceeds "
                             f"model.max_seq_len {self.model.max_seq_len}")
        return self


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set ``a.b.c=value`` (value parsed as YAML) in the raw config mapping."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected key.path=value")
        node = data
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part} is not a section")
        node[last] = yaml.safe_load(raw)
    return data


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read, override and validate a training config; raise ``ConfigError`` naming file:line and key."""
    path = Path(path)
    data, lines = load_with_lines(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: a training config is a mapping with model, data and run sections")
    data = apply_overrides(data, overrides or [])
    return validate(TrainConfig, data, locator(path, lines))
