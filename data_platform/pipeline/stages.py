"""The stage registry: stage kind -> how its YAML section is loaded and the function that runs it.

Every run function has the shape ``run(spark, inputs, output, config) -> stats`` and follows the single-stage
jobs' output conventions (kept/, dropped/ with drop_reason, stats.json, ``_COMPLETE`` written last). A new kind
registers with ``register`` or ``register_section``; built in: filter, dedup, semantic, tag, shards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from data_platform import yaml_lines
from data_platform.io.records import FieldMap
from data_platform.paths import resolve
from data_platform.yaml_lines import ConfigError, KeyPath, format_path, line_of, load_with_lines

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

RunFn = Callable[["SparkSession", list[str], str, Any], dict[str, Any]]


class StageError(ValueError):
    """A stage section is wrong at ``key`` (relative to the stage entry)."""

    def __init__(self, key: KeyPath, message: str):
        super().__init__(message)
        self.key, self.message = key, message


@dataclass(frozen=True)
class StageKind:
    load: Callable[[dict[str, Any], Path], Any]  # (stage section, recipe folder) -> config for ``run``
    run: RunFn
    last: bool = False  # must be the recipe's last stage (shards)


REGISTRY: dict[str, StageKind] = {}


def register(kind: str, load: Callable[[dict[str, Any], Path], Any], run: RunFn, last: bool = False) -> None:
    REGISTRY[kind] = StageKind(load, run, last)


def validate(model: type[BaseModel], data: Any, prefix: KeyPath = ()) -> Any:
    """``model.model_validate(data)``; a ValidationError becomes a StageError at the first failing key."""
    return yaml_lines.validate(model, data, lambda key, msg: StageError(prefix + key, msg))


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _inside(data: Any, key: KeyPath) -> bool:
    for part in key:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def register_section(kind: str, key: str, model: type[BaseModel], run: RunFn) -> None:
    """A kind configured like its single-stage job: a rule file's ``<key>:`` section (``config: FILE``) and/or
    an inline ``<key>:`` mapping deep-merged over it, validated by ``model``."""

    def load(section: dict[str, Any], base: Path) -> BaseModel:
        unknown = set(section) - {"config", key}
        if unknown:
            raise StageError((sorted(unknown)[0],), f"unknown key; a {kind} stage takes 'config' and '{key}'")
        inline = section.get(key) or {}
        if not isinstance(inline, dict):
            raise StageError((key,), "must be a mapping")
        from_file: dict[str, Any] = {}
        lines: dict[Any, int] = {}
        file: Path | None = None
        if section.get("config") is not None:
            file = Path(resolve(base, str(section["config"])))
            data, lines = load_with_lines(file)
            from_file = (data or {}).get(key) or {} if isinstance(data, dict) else {}
        try:
            return validate(model, _merge(from_file, inline))
        except StageError as err:
            if file is not None and not _inside(inline, err.key):  # the value came from the referenced file
                raise ConfigError(f"{file}:{line_of(lines, (key, *err.key))}: {format_path((key, *err.key))}: "
                                  f"{err.message}") from None
            raise StageError((key, *err.key), err.message) from None

    register(kind, load, run)


# ---------------------------------------------------------------------------------------------- filter


class FilterSection(BaseModel):
    """A filter stage: the filter job's options (``jobs/filter.py``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: str
    format: str = Field("auto", description="input format (default: from extensions)")
    source: str | None = Field(None, description="source label for records that carry none")
    partitions: int = Field(0, ge=0, description="repartition the input (0 = keep)")
    fields: dict[str, str] = Field({}, description="input field names, e.g. {text: body}")


@dataclass(frozen=True)
class FilterConfig:
    ruleset: Any  # data_platform.config.RuleSet
    format: str
    source: str | None
    partitions: int
    fields: FieldMap


def load_filter(section: dict[str, Any], base: Path) -> FilterConfig:
    from data_platform.config import load_rules
    from data_platform.io.spark_io import FORMATS

    sec = validate(FilterSection, section)
    if sec.format not in ("auto", *FORMATS):
        raise StageError(("format",), f"unknown format; one of auto, {', '.join(FORMATS)}")
    unknown = set(sec.fields) - set(FieldMap.__dataclass_fields__)
    if unknown:
        known = ", ".join(FieldMap.__dataclass_fields__)
        raise StageError(("fields", sorted(unknown)[0]), f"unknown field; known: {known}")
    return FilterConfig(load_rules(resolve(base, sec.rules)), sec.format, sec.source, sec.partitions,
                        FieldMap(**sec.fields))


def run_filter_stage(spark: SparkSession, inputs: list[str], output: str, cfg: FilterConfig) -> dict[str, Any]:
    from data_platform.filter_run import FilterRun, run_filter

    return run_filter(spark, FilterRun(inputs, output, cfg.ruleset, cfg.format, cfg.fields, cfg.source,
                                       cfg.partitions))


def load_shards(section: dict[str, Any], base: Path) -> Any:
    from data_platform.pipeline.shards import ShardsConfig

    if set(section) - {"shards"}:
        raise StageError((sorted(set(section) - {"shards"})[0],), "unknown key; a shards stage takes 'shards'")
    return validate(ShardsConfig, section.get("shards") or {}, ("shards",))


class RulesSection(BaseModel):
    """A semantic or tag stage: the rule file whose ``embed:``/``semdedup:`` or ``quality:``/``domains:``
    sections configure it, as ``jobs/semdedup.py --config`` and ``jobs/tag.py --config`` read it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: str


def _ruleset(section: dict[str, Any], base: Path):
    from data_platform.config import load_rules

    return load_rules(resolve(base, validate(RulesSection, section).rules))


def load_semantic(section: dict[str, Any], base: Path) -> tuple[Any, Any]:
    from data_platform.semantic.embed_batches import resolved_embed

    ruleset = _ruleset(section, base)
    return ruleset.config.semdedup, resolved_embed(ruleset)


def run_semantic_stage(spark: SparkSession, inputs: list[str], output: str, cfg: tuple[Any, Any]) -> dict[str, Any]:
    from data_platform.semantic.run import run_semdedup

    semdedup, embed = cfg
    return run_semdedup(spark, inputs, output, semdedup, embed)


def load_tag(section: dict[str, Any], base: Path) -> Any:
    from data_platform.tagging.run import tag_settings

    return tag_settings(_ruleset(section, base))


def run_tag_stage(spark: SparkSession, inputs: list[str], output: str, settings: Any) -> dict[str, Any]:
    from data_platform.tagging.run import run_tagging

    return run_tagging(spark, inputs, output, settings)


def _register_builtins() -> None:
    from data_platform.dedup.config import DedupConfig
    from data_platform.dedup.run import run_dedup
    from data_platform.pipeline.shards import run_shards

    register("filter", load_filter, run_filter_stage)
    register_section("dedup", "dedup", DedupConfig, run_dedup)
    register("semantic", load_semantic, run_semantic_stage)
    register("tag", load_tag, run_tag_stage)
    register("shards", load_shards, run_shards, last=True)


_register_builtins()
