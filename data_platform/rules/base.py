"""What a rule is: a parameter model (its YAML schema entry), a function computing one value per document and,
for a rule that needs files (word lists, models), a loader that reads them once on the driver.

A loader is called as ``load(params, base_dir)`` when the rule file is read: ``params`` holds every distinct
parameter set the rule runs with (the defaults, each language and source override merged over them), ``base_dir``
is the rule file's folder. What it returns travels with the rule set to the executors and is seen by the rule as
``batch.resources[<rule name>]``. A file the executors must open themselves (a model) is returned wrapped in
``models.shipping.ExecutorFile``: jobs ship every such file with Spark (``ship_files``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, Sequence

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from data_platform import text as T


class RuleParams(BaseModel):
    """Keys every rule accepts: ``enabled``, ``mode`` (drop, or tag = record only), ``min``/``max`` bounds and
    ``text``, the version of the text the rule judges.

    ``global_only`` names parameters used before a document's language and source are known: they can only be
    set under ``rules:``, never in a language or source override."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    global_only: ClassVar[tuple[str, ...]] = ()
    enabled: bool = True
    mode: Literal["drop", "tag"] = "drop"
    min: float | None = None
    max: float | None = None
    text: Literal["cleaned", "extracted"] = Field(
        "cleaned", description="cleaned: after line cleaning, normalization and PII redaction (the text that is "
        "kept); extracted: as extracted, before them (FineWeb runs Gopher's filters before C4's line removal)")

    @model_validator(mode="after")
    def _bounds_ordered(self) -> "RuleParams":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class RatioParams(RuleParams):
    """A rule whose value is a share in [0, 1]."""

    min: float | None = Field(None, ge=0, le=1)
    max: float | None = Field(None, ge=0, le=1)


class CountParams(RuleParams):
    """A rule whose value is a non-negative count or length."""

    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)


@dataclass
class DocBatch:
    """Documents of one language group, with per-document views computed once and shared by all rules."""

    texts: pa.Array
    lang: str
    resources: dict[str, Any] = field(default_factory=dict)
    langid: list[list[tuple[str, float]]] | None = None  # per-document predictions, made before grouping
    _views: dict[str, list[Any]] = field(default_factory=dict, repr=False)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def pytexts(self) -> list[str]:
        return self.texts.to_pylist()

    @cached_property
    def words(self) -> list[list[str]]:
        return [T.words(t, self.lang) for t in self.pytexts]

    @cached_property
    def line_lengths(self):
        return T.line_lengths(self.texts)

    def view(self, name: str, per_text: Callable[[str], Any]) -> list[Any]:
        """``per_text`` of every text, computed once per batch under ``name`` and shared by the rules that ask for
        the same view (e.g. the lines or paragraphs of a family's definition)."""
        if name not in self._views:
            self._views[name] = [per_text(t) for t in self.pytexts]
        return self._views[name]

    def shared(self, name: str, of_batch: Callable[["DocBatch"], Any]) -> Any:
        """``of_batch(self)``, computed once per batch under ``name``: a structure over the whole batch that
        several rules share (e.g. the flattened word hashes of the Gopher n-gram rules)."""
        if name not in self._shared:
            self._shared[name] = of_batch(self)
        return self._shared[name]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Scores:
    """One value per document (None = could not be computed), an optional human-readable detail, and optional
    rule-specific failures beyond the min/max bounds (e.g. a language outside the allowed list)."""

    values: Sequence[float | None]
    details: Sequence[str | None] | None = None
    failed: Sequence[bool] | None = None


ComputeFn = Callable[[DocBatch, Any], Scores]
LoadFn = Callable[[list[Any], Path], Any]  # (every distinct parameter set, the rule file's folder) -> resources


@dataclass(frozen=True)
class Rule:
    name: str
    params: type[RuleParams]
    compute: ComputeFn
    doc: str
    load: LoadFn | None = None


REGISTRY: dict[str, Rule] = {}


def rule(name: str, params: type[RuleParams], load: LoadFn | None = None) -> Callable[[ComputeFn], ComputeFn]:
    """Register ``fn`` as the rule ``name`` with its YAML parameter model and, optionally, its resource loader."""

    def register(fn: ComputeFn) -> ComputeFn:
        if name in REGISTRY:
            raise ValueError(f"rule {name!r} registered twice")
        REGISTRY[name] = Rule(name, params, fn, (fn.__doc__ or "").strip().splitlines()[0], load)
        return fn

    return register
