"""The ablation YAML: data versions, one training config, a token budget, seeds, a common evaluation set and one
tokenizer (pydantic; errors name the file, the key path and the line, as ``trainer.config`` does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

from data_platform.yaml_lines import ConfigError, load_with_lines, locator, validate
from trainer.channel import as_keys


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VersionSpec(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$", description="folder-safe name of the data version")
    inputs: list[str] = Field(min_length=1, description="parquet files, folders, globs or a manifest.json")
    weights: dict[str, float] | None = Field(None, description="mixture weights per channel (data.weights)")

    @field_validator("weights", mode="before")
    @classmethod
    def _channel_keys(cls, v: Any) -> Any:
        return as_keys(v)


class TrainingSpec(_Section):
    config: str = Field(description="a trainer YAML (trainer/configs/*.yaml)")
    overrides: list[str] = Field([], description="key.path=value overrides applied to every run")


class TokenizerSpec(_Section):
    path: str | None = Field(None, description="an existing tokenizer.json shared by every version")
    train_on: list[str] = Field([], description="or: parquet inputs to train one on (once, in <out>/tokenizer)")
    vocab_size: int = Field(32768, ge=259)
    docs_per_source: int = Field(20000, gt=0)
    max_chars: int = Field(20000, gt=0)

    @model_validator(mode="after")
    def _one(self) -> "TokenizerSpec":
        if (self.path is None) == (not self.train_on):
            raise ValueError("give either 'path' or 'train_on'")
        return self


class EvalSpec(_Section):
    inputs: list[str] = Field(min_length=1, description="parquet inputs of the common evaluation set")
    separate: bool = Field(True, description="the inputs are their own source: refused when they share a parquet "
                                             "file with a version; false = may be (sampled from) a version's inputs")
    docs_per_channel: int | None = Field(None, gt=0, description="take only this many documents per channel "
                                                                 "(smallest id hashes, at most half of it)")
    points: int = Field(10, gt=0, description="evaluations along each run (the loss curves)")
    max_sequences: int | None = Field(None, gt=0, description="sequences per channel; none = the whole set")


class AblationConfig(_Section):
    out: str = Field(description="folder of the runs, tokens and the comparison")
    versions: list[VersionSpec] = Field(min_length=2, description="the first one is the baseline")
    training: TrainingSpec
    tokenizer: TokenizerSpec
    eval: EvalSpec
    token_budget: PositiveInt | Literal["auto"] = Field(
        description="training tokens per run, the same for every version (-> steps); auto = the most that reads "
                    "no version more than once (the smallest version's unique tokens, whole steps)")
    allow_repeat: bool = Field(False, description="run a budget that reads a version (or a channel of its "
                                                  "mixture) more than once; false = refuse it")
    seeds: list[int] = Field(min_length=1, description="each seeds the model init and the data order")
    noise_factor: float = Field(2.0, gt=0, description="verdict only where |gap| > factor x pooled seed std")

    @model_validator(mode="after")
    def _unique(self) -> "AblationConfig":
        names = [v.name for v in self.versions]
        if len(set(names)) != len(names):
            raise ValueError(f"version names must be unique: {names}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be unique: {self.seeds}")
        return self


def load_ablation(path: str | Path) -> AblationConfig:
    """Read and validate an ablation YAML; raise ``ConfigError`` naming file:line and key."""
    path = Path(path)
    data, lines = load_with_lines(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: an ablation config is a mapping (out, versions, training, ...)")
    return validate(AblationConfig, data, locator(path, lines))
