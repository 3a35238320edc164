"""The filter funnel: one Arrow batch in, one Arrow batch out, every document accounted for.

Order of work for each document: reader quarantine (malformed input) -> URL block lists -> size limits -> HTML
extraction -> binary/empty checks -> normalization -> line cleaning -> PII redaction -> evaluation-set check ->
language id -> every enabled rule's value -> the rules checked in the YAML's priority order; the first failing
rule in ``drop`` mode is the ``drop_reason`` -> rescue (``rescue:``): a document that only rules listed there
dropped is kept when a quality scorer rates it high enough, with ``meta.rescued_from`` naming those rules. Every
rule's value, bounds and verdict is recorded in ``rules`` for kept and dropped documents alike.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa

from data_platform import schema as S
from data_platform.clean.line_rules import clean_lines
from data_platform.clean.pii import redact
from data_platform.config import RuleSet
from data_platform.decontam import find as find_contamination
from data_platform.extract import extract_html
from data_platform.langcodes import normalize_lang
from data_platform.models import fasttext_langid
from data_platform.normalize import normalize_texts
from data_platform.rules import REGISTRY, DocBatch, RuleParams, Scores
from data_platform.text import word_lang

_BINARY_CHARS = {ord(c): None for c in map(chr, [*range(0, 9), 11, 12, *range(14, 32), 127, 0xFFFD])}


@dataclass
class _Row:
    """Mutable per-document state while a batch moves through the stages."""

    text: str | None
    lang: str | None
    source: str
    meta: dict[str, str]
    reason: str | None = None
    detail: str | None = None
    before: str | None = None
    extracted: str | None = None
    rules: list[dict] = field(default_factory=list)
    langid: list[tuple[str, float]] | None = None

    @property
    def live_text(self) -> str:
        """The text of a row still in the funnel: every live row holds text (checked by ``_prepare``)."""
        assert self.text is not None, "a live row without text"
        return self.text

    def drop(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail


def process_batch(batch: pa.RecordBatch, ruleset: RuleSet) -> pa.RecordBatch:
    """Run extraction, normalization and the funnel over a reader batch (``schema.RAW_SCHEMA``)."""
    cols, rows, live = prepare_rows(batch, ruleset)
    for (lang, source), members in group_rows(live).items():
        values = RuleValues(members, lang, ruleset)
        apply_verdicts(members, decide(values, ruleset.resolve(lang, source).rules))
    rescue(live, ruleset)
    return _to_batch(cols, rows, ruleset.config.output.keep_text_before)


def prepare_rows(batch: pa.RecordBatch, ruleset: RuleSet) -> tuple[dict, list[_Row], list[_Row]]:
    """Quarantine, limits, extraction, normalization and language detection: everything before the rules.

    Returns the batch's columns, every row, and the rows still live (not yet dropped)."""
    cols = batch.to_pydict()
    rows = [
        _Row(
            text=cols[S.TEXT][i],
            lang=normalize_lang(cols[S.LANG][i]),
            source=cols[S.SOURCE][i] or "",
            meta=dict(cols[S.META][i] or []),
            reason=cols[S.DROP_REASON][i],
            detail=cols[S.DROP_DETAIL][i],
        )
        for i in range(batch.num_rows)
    ]
    for row, html, url in zip(rows, cols[S.HTML], cols[S.URL], strict=True):
        if row.reason is None:
            _prepare(row, html, url, ruleset)
    live = [r for r in rows if r.reason is None]
    for row in live:  # before normalization, which would flatten the indentation that marks code lines
        row.extracted = row.text
        _clean_lines(row, ruleset)
    live = [r for r in live if r.reason is None]
    _normalize(live, ruleset)
    for row in live:
        if row.reason is None:
            _redact_and_check(row, ruleset)
    live = [r for r in live if r.reason is None]
    _detect_languages(live, ruleset)
    return cols, rows, live


def _prepare(row: _Row, html: str | None, url: str | None, ruleset: RuleSet) -> None:
    """URL block lists, size limits, extraction and the binary/empty checks for one document."""
    limits = ruleset.config.limits
    url_filter = ruleset.resources.get("url_filter")
    if url_filter is not None and (hit := url_filter.match(url)) is not None:
        row.text = row.text if html is None else html
        return row.drop("url_blocked", f"category={hit.category} list={hit.list_file} entry={hit.entry}")
    if html is not None:
        size = len(html.encode("utf-8", "replace"))
        if size > limits.max_html_bytes:
            row.text = html
            return row.drop("too_long", f"HTML of {size} bytes > limits.max_html_bytes={limits.max_html_bytes}")
        got = extract_html(html, url, ruleset.config.extract, limits.extract_timeout_s)
        if got.text is None:
            row.text = html
            return row.drop("extract_failed", got.error or "extraction failed")
        row.text = got.text
        row.meta.update(got.meta)
    text = row.text
    if text is None or not text.strip():
        return row.drop("empty_text", "the record has no text" if text is None else "the text is blank")
    if len(text) > limits.max_text_chars:
        return row.drop("too_long", f"{len(text)} characters > limits.max_text_chars={limits.max_text_chars}")
    binary = 1 - len(text.translate(_BINARY_CHARS)) / len(text)
    if binary > limits.max_binary_ratio:
        row.drop("binary_content", f"{binary:.0%} control/replacement characters > {limits.max_binary_ratio:.0%}")


def _normalize(rows: list[_Row], ruleset: RuleSet) -> None:
    if not rows:
        return
    before = [r.text for r in rows]
    after = normalize_texts(pa.array(before, pa.string()), ruleset.config.normalize).to_pylist()
    for row, old, new in zip(rows, before, after, strict=True):
        row.text, row.before = new, old
        if not new:
            row.drop("empty_text", "nothing left after normalization")


def _clean_lines(row: _Row, ruleset: RuleSet) -> None:
    """C4/RefinedWeb line rules; what each removed goes to meta, too little left drops the document."""
    cfg = ruleset.config.clean.lines
    if not cfg.enabled:
        return
    result = clean_lines(row.live_text, word_lang(row.lang, row.live_text), row.source, cfg)
    if not result.removed:
        return
    row.meta["lines_removed"] = json.dumps({k: list(v) for k, v in result.removed.items()})
    if result.too_little:
        return row.drop("too_little_text", f"{len(result.text)} characters left after line cleaning removed "
                                            f"{sum(n for n, _ in result.removed.values())} lines "
                                            "(lines.min_remaining_chars / min_remaining_share)")
    row.text = result.text


def _redact_and_check(row: _Row, ruleset: RuleSet) -> None:
    """PII redaction and the evaluation-set check on one normalized document; changes recorded in meta."""
    clean, resources = ruleset.config.clean, ruleset.resources
    if clean.pii.enabled:
        row.text, counts = redact(row.live_text, clean.pii)
        if counts:
            row.meta["pii_redacted"] = json.dumps(counts, sort_keys=True)
    index = resources.get("eval_index")
    if index is not None and (items := find_contamination(row.live_text, index)):
        row.meta["contamination"] = ",".join(items)
        if ruleset.config.decontamination.action == "drop":
            shown = ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")
            row.drop("contaminated", f"shares {ruleset.config.decontamination.ngram}-grams with {shown}")


def _detect_languages(rows: list[_Row], ruleset: RuleSet) -> None:
    """fastText on every document at once; the top language becomes ``lang`` (the declared one goes to meta)."""
    spec = ruleset.resources.get("langid")
    if not rows or not spec:
        return
    preds = fasttext_langid.predict([r.live_text for r in rows], spec["path"], spec["top_k"])
    for row, pred in zip(rows, preds, strict=True):
        row.langid = pred
        detected = pred[0][0] if pred else None
        if spec["assign_lang"] and detected:
            if row.lang and row.lang != detected:
                row.meta["lang_declared"] = row.lang
            row.lang = detected


def group_rows(rows: list[_Row]) -> dict[tuple[str, str], list[_Row]]:
    """Rows by (segmentation language, source): the unit for which rule parameters are resolved."""
    groups: dict[tuple[str, str], list[_Row]] = defaultdict(list)
    for row in rows:
        lang = word_lang(row.lang, row.live_text)
        row.lang = row.lang or lang
        groups[(lang, row.source)].append(row)
    return groups


def doc_batch(members: list[_Row], lang: str, ruleset: RuleSet, text: str = "cleaned") -> DocBatch:
    """The group's documents as rules see them: ``cleaned`` (the funnel's text) or ``extracted`` (before line
    cleaning, normalization and redaction)."""
    langid = [r.langid for r in members if r.langid is not None]  # detected for all live rows or for none
    texts = [r.extracted if text == "extracted" else r.text for r in members]
    return DocBatch(pa.array(texts, pa.string()), lang, ruleset.resources,
                    langid if members and len(langid) == len(members) else None)


class RuleValues:
    """Rule values of one group, computed once per (rule, value-affecting parameters) and reused."""

    def __init__(self, members: list[_Row], lang: str, ruleset: RuleSet) -> None:
        self.members, self.lang, self.ruleset = members, lang, ruleset
        self._batches: dict[str, DocBatch] = {}
        self._cache: dict[tuple[str, str], Scores] = {}

    def __len__(self) -> int:
        return len(self.members)

    def get(self, name: str, params: RuleParams) -> Scores:
        key = (name, params.model_dump_json(exclude=VERDICT_ONLY))
        if key not in self._cache:
            self._cache[key] = REGISTRY[name].compute(self._batch(params.text), params)
        return self._cache[key]

    def _batch(self, text: str) -> DocBatch:
        if text not in self._batches:  # each view of the text is built once, and only when a rule asks for it
            self._batches[text] = doc_batch(self.members, self.lang, self.ruleset, text)
        return self._batches[text]


# Parameters that change a rule's verdict but not its value: editing them never requires recomputation.
VERDICT_ONLY = {"enabled", "mode", "min", "max"}

Verdicts = list[tuple[list[dict], dict | None]]  # per document: every rule's result, and the deciding one


def decide(values: RuleValues, rules: tuple[tuple[str, RuleParams], ...]) -> Verdicts:
    """Each document's rule results in funnel order and its first failing enforced rule (None = kept)."""
    n = len(values)
    results: list[list[dict]] = [[] for _ in range(n)]
    for name, params in rules:
        scores = values.get(name, params)
        details = scores.details or [None] * n
        failed = scores.failed or [False] * n
        for res, value, detail, bad in zip(results, scores.values, details, failed, strict=True):
            res.append(_verdict(name, value, params, detail, bad))
    return [(res, next((r for r in res if not r["passed"] and r["enforced"]), None)) for res in results]


def apply_verdicts(members: list[_Row], verdicts: Verdicts) -> None:
    for row, (results, failed) in zip(members, verdicts, strict=True):
        row.rules = results
        if failed is not None:
            row.drop(failed["name"], describe_failure(failed))


def rescue(rows: list[_Row], ruleset: RuleSet) -> None:
    """Keep the rows that only ``rescue.rules`` dropped and that the rescue scorer rates >= ``min_score``."""
    from data_platform.tagging.scorers import score

    cfg, scorer = ruleset.config.rescue, ruleset.resources.get("rescue")
    if cfg is None or scorer is None:
        return
    allowed = set(cfg.rules)
    failed = {id(r): [v["name"] for v in r.rules if not v["passed"] and v["enforced"]] for r in rows}
    candidates = [r for r in rows if r.reason in allowed and allowed.issuperset(failed[id(r)])]
    if not candidates:
        return
    for row, value in zip(candidates, score([r.text for r in candidates], scorer), strict=True):
        if value >= cfg.min_score:
            row.reason = row.detail = None
            row.meta["rescued_from"] = ",".join(failed[id(row)])
            row.meta["rescue_score"] = f"{value:.4g}"


def _verdict(name: str, value: float | None, params: RuleParams, detail: str | None, failed: bool) -> dict:
    ok = not failed and (value is None or math.isnan(value) or (
        (params.min is None or value >= params.min) and (params.max is None or value <= params.max)
    ))
    return {
        "name": name,
        "value": value,
        "min": params.min,
        "max": params.max,
        "passed": ok,
        "enforced": params.mode == "drop",
        "detail": detail if value is not None else (detail or "value could not be computed; not checked"),
    }


def describe_failure(r: dict) -> str:
    """``char_repetition=0.2096 > max 0.2 (detail)``: why a rule failed."""
    value, low, high = r["value"], r["min"], r["max"]
    if value is None:
        bound = ""
    elif low is not None and value < low:
        bound = f" < min {low:g}"
    elif high is not None and value > high:
        bound = f" > max {high:g}"
    else:
        bound = " within bounds"
    shown = "none" if value is None else f"{value:.4g}"
    return f"{r['name']}={shown}{bound}" + (f" ({r['detail']})" if r["detail"] else "")


def _to_batch(cols: dict, rows: list[_Row], keep_before: bool) -> pa.RecordBatch:
    data = {
        S.ID: cols[S.ID],
        S.TEXT: [r.text for r in rows],
        S.URL: cols[S.URL],
        S.SOURCE: cols[S.SOURCE],
        S.LANG: [r.lang for r in rows],
        S.META: [list(r.meta.items()) for r in rows],
        S.N_CHARS: [len(r.text) if r.text is not None else 0 for r in rows],
        S.DROP_REASON: [r.reason for r in rows],
        S.DROP_DETAIL: [r.detail for r in rows],
        S.RULES: [r.rules for r in rows],
    }
    if keep_before:
        data[S.TEXT_BEFORE] = [r.before for r in rows]
    return pa.RecordBatch.from_pydict(data, schema=S.output_schema(keep_before))


def funnel_order(ruleset: RuleSet) -> list[str]:
    """Every possible drop reason in the order the funnel checks them (for stats and reports)."""
    names = list(ruleset.order)
    for layer in [*ruleset.config.languages.values(), *ruleset.config.sources.values()]:
        names += [n for n in layer.get("order", []) if n not in names]
    return S.drop_reason_order("filter", names)
