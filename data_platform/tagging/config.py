"""The ``quality:``, ``rescue:`` and ``domains:`` sections of a rule file, and the domain prototype file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from data_platform.yaml_lines import load_with_lines, locator, validate


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScorerConfig(_Section):
    """One quality model; its score is written as column ``quality_<name>``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="column quality_<name>")
    kind: Literal["hf", "fasttext", "head"] = Field(
        description="hf: a local Hugging Face sequence-classification folder (config.json, safetensors, tokenizer); "
                    "fasttext: a supervised fastText model, scored as the probability of `label`; head: the MLP "
                    "quality head on sentence embeddings (dp-train-quality)")
    path: str = Field(description="model folder or file, relative to the rule file; must be readable on executors")
    label: str | None = Field(None, description="fasttext: the label whose probability is the score (required); "
                              "hf with several classes: score = that class's probability (default: the expected "
                              "class index)")
    max_tokens: int | None = Field(None, ge=8, description="hf: tokens read per document (default: the model's "
                                   "maximum, 512 for BERT-style models)")
    batch_tokens: int = Field(65536, ge=512, description="hf: padded tokens per forward pass")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="hf: auto = cuda when the executor has a GPU")
    compile: bool = Field(False, description="hf on CUDA: torch.compile the model (dynamic shapes)")

    @model_validator(mode="after")
    def _label(self) -> ScorerConfig:
        if self.kind == "fasttext" and not self.label:
            raise ValueError(f"scorer {self.name!r}: a fasttext scorer needs the label it scores, e.g. __label__hq")
        return self


class EnsembleConfig(_Section):
    """Scores combined into ``quality_ensemble``: the mean or max of each scorer's percentile over the run."""

    method: Literal["mean", "max"] = "mean"
    scorers: list[str] | None = Field(None, min_length=1, description="scorer names; none = all")


class BucketConfig(_Section):
    """``quality_bucket`` 0..n-1 (n-1 best): cut at token-weighted percentiles of a score over the whole run."""

    n: int = Field(20, ge=2, le=1000, description="number of buckets (Nemotron-CC: 20)")
    score: str = Field("ensemble", description="ensemble or a scorer name")
    weight: Literal["bytes", "tokens", "documents"] = Field(
        "bytes", description="what a document weighs: UTF-8 bytes, tokens of `tokenizer`, or 1")
    tokenizer: str | None = Field(None, description="tokenizer.json for weight: tokens, relative to the rule file")

    @model_validator(mode="after")
    def _tokenizer(self) -> BucketConfig:
        if (self.weight == "tokens") != (self.tokenizer is not None):
            raise ValueError("weight: tokens needs tokenizer: (a tokenizer.json), and tokenizer: needs weight: tokens")
        return self


HEAD_SCORER = ScorerConfig(name="head", kind="head", path="../models/quality/head.pt")


class QualityConfig(_Section):
    enabled: bool = True
    scorers: list[ScorerConfig] = Field([HEAD_SCORER], min_length=1)
    primary: str | None = Field(None, description="the score also written as quality_score (what dedup and "
                                "semdedup keep by): a scorer name or ensemble; default: ensemble if set, else "
                                "the first scorer")
    ensemble: EnsembleConfig | None = None
    buckets: BucketConfig | None = None

    @model_validator(mode="after")
    def _names(self) -> QualityConfig:
        names = [s.name for s in self.scorers]
        if len(set(names)) != len(names):
            raise ValueError(f"scorer names must be unique: {names}")
        known = set(names) | ({"ensemble"} if self.ensemble else set())
        wanted = [*(self.ensemble.scorers or [] if self.ensemble else []),
                  *([self.buckets.score] if self.buckets else []), *([self.primary] if self.primary else [])]
        for name in wanted:
            if name not in known:
                raise ValueError(f"{name!r} is not a scorer (scorers: {', '.join(sorted(known))})")
        if self.ensemble and "ensemble" in (self.ensemble.scorers or []):
            raise ValueError("an ensemble cannot contain itself")
        return self

    @property
    def primary_score(self) -> str:
        """The score written as quality_score."""
        return self.primary or ("ensemble" if self.ensemble else self.scorers[0].name)

    def scorer(self, name: str) -> ScorerConfig:
        return next(s for s in self.scorers if s.name == name)


class RescueConfig(_Section):
    """Documents dropped only by the listed heuristic rules are kept when a scorer rates them at least min_score."""

    scorer: str = Field(description="a name from quality.scorers")
    min_score: float = Field(description="kept when the score is >= this (in the scorer's own units)")
    rules: list[str] = Field(min_length=1, description="rules whose drops may be rescued")


class DomainsConfig(_Section):
    enabled: bool = True
    prototypes: str = Field("tags/domains.yaml", description="categories with example texts, relative to the rule file")
    temperature: float = Field(0.05, gt=0, description="softmax temperature over cosine similarities")


class DomainFile(_Section):
    """``categories: {name: [example text, ...]}``: each category's centroid is the mean of its examples."""

    categories: dict[str, list[str]]

    @field_validator("categories")
    @classmethod
    def _non_empty(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(v) < 2:
            raise ValueError("give at least two categories")
        for name, examples in v.items():
            if not examples or any(not (e or "").strip() for e in examples):
                raise ValueError(f"category {name!r} needs at least one non-empty example")
        return v


def load_domains(path: Path) -> dict[str, list[str]]:
    """Read and validate a domain prototype file; errors name the file, key and line."""
    data, lines = load_with_lines(path)
    return validate(DomainFile, data, locator(path, lines)).categories
