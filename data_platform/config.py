"""Rule files: YAML -> validated, resolved rule sets. Every error names the file, the key path and the line.

A rule file holds defaults for every rule (``rules``), the funnel's priority ``order``, and overrides per
language (``languages: {en: {...}}``) and per source pattern (``sources: {"forum-*": {...}}``, fnmatch, applied
in file order after the language). An override block maps rule names to partial parameters and may carry its
own ``order``. The effective parameters of a document are: defaults <- its language <- matching sources.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data_platform import re2
from data_platform.alarms import FILTER_DEFAULTS, FilterAlarms
from data_platform.clean.line_rules import LineCleanConfig
from data_platform.clean.pii import PiiConfig
from data_platform.clean.urls import UrlFilter, UrlFilterConfig
from data_platform.decontam import DecontamConfig, load_index
from data_platform.dedup.config import DedupConfig
from data_platform.langcodes import normalize_lang
from data_platform.rules import REGISTRY, RuleParams
from data_platform.schema import PRE_RULE_REASONS
from data_platform.semantic.config import EmbedConfig, SemDedupConfig
from data_platform.tagging.config import DomainsConfig, QualityConfig, RescueConfig
from data_platform.yaml_lines import ConfigError, KeyPath, load_with_lines, locator, validate


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitsConfig(_Section):
    max_text_chars: int = Field(5_000_000, gt=0, description="longer documents are dropped as too_long")
    max_html_bytes: int = Field(10_000_000, gt=0, description="larger HTML pages are dropped as too_long")
    extract_timeout_s: float = Field(30.0, gt=0, description="trafilatura time budget per page")
    max_binary_ratio: float = Field(0.1, ge=0, le=1, description="share of control/U+FFFD chars = binary_content")
    max_record_bytes: int = Field(32_000_000, gt=0, description="larger JSON-lines records are dropped as too_long "
                                  "(cut in the JVM for plain files, read in pieces for compressed ones: bounded "
                                  "memory for 100 MB documents)")


class ExtractConfig(_Section):
    include_tables: bool = True
    include_comments: bool = False
    favor_precision: bool = False


class NormalizeConfig(_Section):
    remove_non_printable: bool = True
    collapse_spaces: bool = True
    unify_punctuation: bool = False
    max_word_chars: int | None = Field(1000, ge=8, description="drop space-free Latin tokens longer than this")
    junk_word_pattern: str | None = Field(r"\S*\x{FFFD}\S*", description="RE2 pattern of whole tokens to drop")

    @field_validator("junk_word_pattern")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            re2.check(v)
        return v


class OutputConfig(_Section):
    keep_text_before: bool = Field(False, description="also write the text before normalization")


class Example(_Section):
    """A regression example: a document and what the funnel must do with it."""

    id: str
    text: str
    lang: str | None = None
    source: str | None = None
    expect: Literal["kept", "dropped", "not_dropped_by"]
    rule: str | None = None

    @model_validator(mode="after")
    def _rule_fits(self) -> "Example":
        if self.expect == "kept" and self.rule:
            raise ValueError("an example expected to be kept names no rule")
        if self.expect != "kept":
            if not self.rule:
                raise ValueError(f"expect: {self.expect} needs the rule's name in 'rule'")
            if self.rule not in REGISTRY and self.rule not in PRE_RULE_REASONS:
                raise ValueError(f"unknown rule {self.rule!r}")
        return self


class CleanConfig(_Section):
    """In-document cleaning before the rules: URL block lists, line rules, PII redaction."""

    urls: UrlFilterConfig = UrlFilterConfig(enabled=False)
    lines: LineCleanConfig = LineCleanConfig(enabled=False)
    pii: PiiConfig = PiiConfig(enabled=False)


class RuleFile(_Section):
    version: Literal[1] = 1
    limits: LimitsConfig = LimitsConfig()
    extract: ExtractConfig = ExtractConfig()
    normalize: NormalizeConfig = NormalizeConfig()
    output: OutputConfig = OutputConfig()
    order: list[str]
    rules: dict[str, dict[str, Any]]
    languages: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, Any]] = {}
    clean: CleanConfig = CleanConfig()
    decontamination: DecontamConfig = DecontamConfig()
    dedup: DedupConfig = DedupConfig()
    embed: EmbedConfig = EmbedConfig()
    semdedup: SemDedupConfig = SemDedupConfig()
    quality: QualityConfig = QualityConfig()
    rescue: RescueConfig | None = None
    domains: DomainsConfig = DomainsConfig()
    examples: list[Example] = []
    examples_file: str | None = Field(None, description="YAML list of examples, relative to the rule file")
    alarms: FilterAlarms = Field(FILTER_DEFAULTS, description="removal-rate alarms of the filter's stages")

    @field_validator("languages", mode="before")
    @classmethod
    def _lang_codes(cls, v: Any) -> Any:
        """Language blocks under the codes documents carry (``nb`` and ``nn`` are ``no``, ``zh-CN`` is ``zh``)."""
        if not isinstance(v, dict):
            return v
        out: dict[str, Any] = {}
        for code, block in v.items():
            if isinstance(code, bool):  # YAML 1.1 reads an unquoted no (Norwegian) as false
                raise ValueError(f"{str(code).lower()!r} is read as a boolean: write Norwegian as 'no' (quoted)")
            if not isinstance(code, str) or not re.fullmatch(r"[a-z]{2,3}([_-][A-Za-z]+)?", code):
                raise ValueError(f"{code!r} is not a language code such as 'en' or 'zh'")
            lang = normalize_lang(code) or code
            if lang in out:
                raise ValueError(f"{code!r} and another block are both language {lang!r}: merge them")
            out[lang] = block
        return out


@dataclass(frozen=True)
class ResolvedRules:
    """The effective funnel for one (language, source) group: enabled rules in priority order."""

    rules: tuple[tuple[str, RuleParams], ...]


@dataclass
class RuleSet:
    """A validated rule file plus what it refers to, loaded on the driver; picklable, shipped to Spark executors.

    ``resources`` maps each rule with a loader to what it loaded (see ``rules/base.py``), plus ``url_filter``
    and ``eval_index`` for the cleaning sections that are enabled."""

    path: str
    config: RuleFile
    resources: dict[str, Any]
    _cache: dict[tuple[str, str], ResolvedRules] = field(default_factory=dict, repr=False)

    @property
    def order(self) -> list[str]:
        return list(self.config.order)

    def resolve(self, lang: str, source: str) -> ResolvedRules:
        """Effective rules for a document of ``lang`` from ``source`` (cached per pair)."""
        key = (lang, source)
        if key not in self._cache:
            layers = [self.config.languages.get(lang, {})]
            layers += [o for pat, o in self.config.sources.items() if fnmatch.fnmatchcase(source, pat)]
            self._cache[key] = _resolve(self.config, layers)
        return self._cache[key]


def _merge(base: dict[str, dict[str, Any]], layer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {name: dict(params) for name, params in base.items()}
    for name, params in layer.items():
        if name != "order":  # a non-mapping is passed through for _check_layer to report
            out[name] = {**out.get(name, {}), **(params or {})} if isinstance(params, dict | None) else params
    return out


def _resolve(config: RuleFile, layers: list[dict[str, Any]]) -> ResolvedRules:
    merged, order = config.rules, config.order
    for layer in layers:
        merged = _merge(merged, layer)
        order = layer.get("order", order)
    params = {name: REGISTRY[name].params.model_validate(p) for name, p in merged.items()}
    return ResolvedRules(tuple((n, params[n]) for n in order if params[n].enabled))


def filter_stages(config: RuleFile) -> list[str]:
    """The drop reasons the filter job decides: the quarantine reasons, then every rule of the file."""
    return [*PRE_RULE_REASONS, *config.rules]


def load_rules(path: str | Path) -> RuleSet:
    """Read and fully validate a rule file; raise ``ConfigError`` naming file, key path and line."""
    path = Path(path)
    data, lines = load_with_lines(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the rule file must be a mapping with 'order' and 'rules'")
    fail = locator(path, lines)
    config = validate(RuleFile, data, fail)
    _check_layer(config.rules, config.order, ("rules",), ("order",), {}, fail, defaults=True)
    for section in ("languages", "sources"):
        for key, layer in getattr(config, section).items():
            merged = _merge(config.rules, layer)
            order = layer.get("order", config.order)
            _check_layer(merged, order, (section, key), (section, key, "order"), layer, fail)
    for llayer in config.languages.values():
        for pat, slayer in config.sources.items():
            _check_layer(_merge(_merge(config.rules, llayer), slayer),
                         slayer.get("order", llayer.get("order", config.order)),
                         ("sources", pat), ("sources", pat, "order"), slayer, fail)
    _check_global_only(config, fail)
    _check_rescue(config, fail)
    try:
        config.alarms.check_names(filter_stages(config), FILTER_DEFAULTS)
    except ValueError as err:
        raise fail(("alarms", "expect"), str(err)) from None
    try:
        resources = {**_rule_resources(config, path.parent), **_section_resources(config, path.parent)}
    except (OSError, ValueError) as err:  # missing files, undecodable word lists: one line naming the file
        raise ConfigError(f"{path}: {err}") from None
    return RuleSet(str(path), config, resources)


def _check_layer(merged, order, where: KeyPath, order_key: KeyPath, layer, fail, defaults=False) -> None:
    _check_order(order, merged, order_key, fail)
    for name, params in merged.items():
        origin = where if defaults or name in layer else ("rules",)
        if name not in REGISTRY:
            raise fail(origin + (name,), f"unknown rule {name!r}; known rules: {', '.join(sorted(REGISTRY))}")
        if not isinstance(params, dict):
            raise fail(origin + (name,), "rule parameters must be a mapping such as {max: 0.3}")
        try:
            checked = REGISTRY[name].params.model_validate(params)
        except ValidationError as err:
            e = err.errors()[0]
            key = tuple(e["loc"])
            src = where if defaults or (key and key[0] in (layer.get(name) or {})) else ("rules",)
            raise fail(src + (name,) + key, e["msg"]) from None
        if checked.enabled and name not in order:
            raise fail(order_key, f"rule {name!r} is enabled but missing from the order")


def _check_global_only(config: RuleFile, fail) -> None:
    """Parameters a rule declares ``global_only`` apply before a document's language and source are known."""
    for section in ("languages", "sources"):
        for key, layer in getattr(config, section).items():
            for rule_name, params in layer.items():
                if rule_name == "order":
                    continue
                for p in REGISTRY[rule_name].params.global_only:
                    if p in (params or {}):
                        raise fail((section, key, rule_name, p),
                                   f"{rule_name}.{p} can only be set under rules: it applies before the "
                                   "document's language and source are known")


def _check_rescue(config: RuleFile, fail) -> None:
    """``rescue:`` names a quality scorer and rules that exist."""
    if config.rescue is None:
        return
    scorers = [s.name for s in config.quality.scorers]
    if config.rescue.scorer not in scorers:
        raise fail(("rescue", "scorer"), f"{config.rescue.scorer!r} is not in quality.scorers ({', '.join(scorers)})")
    for i, name in enumerate(config.rescue.rules):
        if name not in REGISTRY:
            raise fail(("rescue", "rules", i), f"unknown rule {name!r}; known rules: {', '.join(sorted(REGISTRY))}")


def _check_order(order: Any, merged: dict, key: KeyPath, fail) -> None:
    if not isinstance(order, list):
        raise fail(key, "order must be a list of rule names")
    seen: set[str] = set()
    for i, name in enumerate(order):
        if name in seen:
            raise fail(key + (i,), f"rule {name!r} appears twice in the order")
        if name not in merged:
            raise fail(key + (i,), f"{name!r} is in the order but has no entry under rules")
        seen.add(name)


def _rule_resources(config: RuleFile, base: Path) -> dict[str, Any]:
    """What each enabled rule's loader returns for every parameter set it runs with, read once on the driver."""
    contexts = _contexts(config)
    resources: dict[str, Any] = {}
    for name, rule in REGISTRY.items():
        if rule.load is None:
            continue
        params: list[RuleParams] = []
        for merged in contexts:
            if name in merged and (p := rule.params.model_validate(merged[name])) not in params:
                params.append(p)
        if any(p.enabled for p in params):
            resources[name] = rule.load(params, base)
    return resources


def _contexts(config: RuleFile) -> list[dict[str, dict[str, Any]]]:
    """Rule parameters of the defaults, of each override merged over them, and of each source over each language."""
    langs, sources = list(config.languages.values()), list(config.sources.values())
    merged = [config.rules] + [_merge(config.rules, layer) for layer in langs + sources]
    return merged + [_merge(_merge(config.rules, lang), src) for lang in langs for src in sources]


def _section_resources(config: RuleFile, base: Path) -> dict[str, Any]:
    """The URL block lists, the evaluation-set index and the rescue scorer, when their sections are enabled."""
    from data_platform.tagging import scorers

    resources: dict[str, Any] = {}
    if config.rescue:
        resources["rescue"] = scorers.resolve([config.quality.scorer(config.rescue.scorer)], base)[0]
    if config.clean.urls.enabled:
        resources["url_filter"] = UrlFilter.load(config.clean.urls, base)
    dc = config.decontamination
    if dc.enabled:
        if not dc.eval_dir:
            raise FileNotFoundError("decontamination is enabled but decontamination.eval_dir is not set")
        resources["eval_index"] = load_index((base / dc.eval_dir).resolve(), dc)
    return resources
