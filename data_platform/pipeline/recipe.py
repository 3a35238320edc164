"""Pipeline recipes: YAML -> a validated ``Recipe`` whose stages are already loaded for their registered kind.

```yaml
name: sample
inputs: [../data/sample]          # relative paths are relative to this file
stages:
  - {name: filter, kind: filter, rules: ../rules/default.yaml}
  - {name: dedup, kind: dedup, config: ../rules/default.yaml, dedup: {minhash: {threshold: 0.7}}}
  - {name: shards, kind: shards, shards: {target_bytes: 256MB}}
card: {licences: [...], notes: ...}
```
Errors name the file, the line and the key path (``pipelines/x.yaml:12: stages[1].dedup.minhash.threshold: ...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from data_platform.paths import resolve
from data_platform.pipeline.stages import REGISTRY, StageError
from data_platform.yaml_lines import ConfigError, KeyPath, load_with_lines, locator, validate


class CardInfo(BaseModel):
    """What the dataset card says beyond the numbers: licences of the inputs and free-form notes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    licences: list[str] = []
    notes: str = ""


class RecipeFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    inputs: list[str] = Field(min_length=1)
    output: str | None = Field(None, description="output folder (relative to this file); --output overrides")
    input_fingerprint: Literal["metadata", "content"] = "metadata"
    card: CardInfo = CardInfo()
    stages: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class Stage:
    """One loaded stage: its name, kind and the configuration its run function takes."""

    name: str
    kind: str
    config: Any


@dataclass(frozen=True)
class Recipe:
    path: str
    spec: RecipeFile
    inputs: list[str]
    output: str | None
    stages: list[Stage]

    @property
    def name(self) -> str:
        return self.spec.name


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe and load every stage's configuration; raise ``ConfigError`` on any error."""
    path = Path(path)
    data, lines = load_with_lines(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: a recipe must be a mapping with name, inputs and stages")
    fail = locator(path, lines)
    spec = validate(RecipeFile, data, fail)
    base = path.parent
    stages, seen = [], set()
    for i, raw in enumerate(spec.stages):
        stage = _load_stage(raw, (("stages", i)), base, fail)
        if stage.name in seen:
            raise fail(("stages", i, "name"), f"stage name {stage.name!r} is used twice")
        seen.add(stage.name)
        if REGISTRY[stage.kind].last and i != len(spec.stages) - 1:
            raise fail(("stages", i, "kind"), f"a {stage.kind} stage must be the last stage")
        stages.append(stage)
    output = resolve(base, spec.output) if spec.output else None
    return Recipe(str(path), spec, [resolve(base, p) for p in spec.inputs], output, stages)


def _load_stage(raw: dict[str, Any], where: KeyPath, base: Path, fail: Callable[[KeyPath, str], ConfigError]) -> Stage:
    if not isinstance(raw, dict):
        raise fail(where, "a stage must be a mapping with name and kind")
    name, kind = raw.get("name"), raw.get("kind")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
        raise fail(where + ("name",), "each stage needs a name of letters, digits, '-' and '_'")
    if kind not in REGISTRY:
        raise fail(where + ("kind",), f"unknown stage kind {kind!r}; known kinds: {', '.join(sorted(REGISTRY))}")
    section = {k: v for k, v in raw.items() if k not in ("name", "kind")}
    try:
        config = REGISTRY[kind].load(section, base)
    except StageError as err:
        raise fail(where + err.key, err.message) from None
    return Stage(name, kind, config)
