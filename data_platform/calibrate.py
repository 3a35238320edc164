"""Per-language thresholds from data (``dp-rules calibrate``), FineWeb-2's method: each language's bounds come from
that language's own clean reference distribution, not from English numbers.

Every enabled rule (``drop`` or ``tag`` mode) is computed on a clean reference and on labelled junk with the
funnel's own preparation and value code (``prepare_rows``, ``group_rows``, ``RuleValues``), so a value here is the
value the filter job records. Per (rule, language), a ``min`` in the rule file moves to the Q quantile of the
reference values and a ``max`` to the 1-Q quantile; quantiles are numpy's default (``method="linear"``:
interpolation between the order statistics at position q·(n-1)). Rules without bounds, or without values in a
language, are reported and not proposed.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import yaml

from data_platform import schema as S
from data_platform.config import RuleSet
from data_platform.funnel import RuleValues, group_rows, prepare_rows
from data_platform.io import records as R
from data_platform.io.spark_io import format_of

READ_BATCH = 1000  # documents per funnel batch: bounds memory; a document's values do not depend on its batch
SIG_DIGITS = 4
READABLE = ("jsonl", "parquet")
BOUNDS = ("min", "max")

Doc = dict[str, float | None]  # one document's value per rule
Warn = Callable[[str], None]


class CalibrationError(ValueError):
    """Unusable calibration input; the message names the file (and the language)."""


@dataclass
class Values:
    """One input's rule values per language, and each rule's bounds there as the rule file has them."""

    label: str
    docs: dict[str, list[Doc]] = field(default_factory=lambda: defaultdict(list))
    bounds: dict[str, dict[str, dict[str, float]]] = field(default_factory=lambda: defaultdict(dict))
    enforced: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # rules in drop mode, per lang
    unreached: Counter[str] = field(default_factory=Counter)
    reassigned: int = 0  # documents left out because langid gave them another language than the declared one


@dataclass(frozen=True)
class Policy:
    """How bounds are proposed: the quantile, which languages, which rules, and whether a bound may tighten."""

    quantile: float = 0.01
    min_docs: int = 30
    langs: list[str] | None = None
    enforced_only: bool = False  # only rules in drop mode (the bounds that decide what is kept)
    never_tighten: bool = False  # a bound of the file more lenient than the quantile stays (published values)
    where: dict[str, str] = field(default_factory=dict)  # only documents whose meta has these values (a split)
    declared_only: bool = False  # reference documents langid assigns to another language are left out


@dataclass(frozen=True)
class Proposal:
    """The proposed bounds of one rule in one language and what they would do (shares over all documents of the
    language; a document without a value passes, as in the funnel)."""

    lang: str
    rule: str
    current: dict[str, float]
    bounds: dict[str, float]
    n_reference: int
    n_valued: int
    n_junk: int
    dropped: int
    caught: int
    note: str | None = None
    at_quantile: dict[str, float] = field(default_factory=dict)  # the quantile bounds, before never_tighten


@dataclass(frozen=True)
class Calibration:
    """Everything the YAML block, the summary table and the HTML page show."""

    rules_path: str
    policy: Policy
    languages: list[str]
    proposals: list[Proposal]
    together: dict[str, tuple[int, int, int, int]]  # lang -> (reference dropped, n, junk caught, n)
    reference: Values
    junk: Values

    @property
    def quantile(self) -> float:
        return self.policy.quantile


def input_files(paths: list[str]) -> list[Path]:
    """The readable files behind files and folders (folders recursively, sorted; ``.``/``_`` names skipped)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith((".", "_"))
                           and format_of(f.name) in READABLE)
            if not found:
                raise CalibrationError(f"{raw}: no JSON Lines or parquet file in this folder")
            out += found
        elif p.is_file():
            if format_of(p.name) not in READABLE:
                raise CalibrationError(f"{raw}: not a JSON Lines or parquet file (.jsonl, .jsonl.gz, .parquet ...)")
            out.append(p)
        else:
            raise CalibrationError(f"{raw}: no such file or folder")
    return out


def read_rows(path: Path) -> list[dict[str, Any]]:
    """A file's records as reader rows (``schema.RAW_SCHEMA``), parsed as the Spark readers parse them."""
    try:
        return _parquet_rows(path) if format_of(path.name) == "parquet" else _jsonl_rows(path)
    except (OSError, pa.ArrowException) as err:
        raise CalibrationError(f"{path}: unreadable: {err}") from None


def _jsonl_rows(path: Path) -> list[dict[str, Any]]:
    fields = R.FieldMap()
    with pa.input_stream(str(path), compression="detect") as raw:  # .gz, .bz2, .zst by extension
        return [R.parse_json_line(line.rstrip(b"\r\n"), str(path), fields, "jsonl")
                for line in io.BufferedReader(raw) if line.strip()]


def _parquet_rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    fields, rows = R.FieldMap(), []
    for rec in pq.read_table(path).to_pylist():
        if isinstance(rec.get(fields.meta), list):  # a map column arrives as key/value pairs
            rec[fields.meta] = dict(rec[fields.meta])
        fallback = R.content_id(str(path), json.dumps(rec, sort_keys=True, default=str).encode())
        rows.append(R.record_row(rec, fallback, fields, "parquet"))
    return rows


def _check_rows(rows: list[dict[str, Any]], path: Path) -> None:
    if not rows:
        raise CalibrationError(f"{path}: empty file (no documents)")
    parsed = [r for r in rows if r[S.DROP_REASON] is None]
    missing = [r for r in parsed if not (r[S.LANG] or "").strip()]
    if missing:
        raise CalibrationError(f"{path}: {len(missing)} of {len(parsed)} documents have no 'lang' (the first: "
                               f"{missing[0][S.ID]}); calibration needs each document's declared language")


def compute_values(paths: list[str], ruleset: RuleSet, where: dict[str, str] | None = None,
                   declared_only: bool = False) -> Values:
    """Every enabled rule's value for every document of the inputs that reaches the rules, per language (only the
    documents whose ``meta`` holds the ``where`` values; with ``declared_only``, only those whose detected language
    is the declared one)."""
    out = Values(" ".join(paths))
    for path in input_files(paths):
        rows = read_rows(path)
        _check_rows(rows, path)
        if where:
            rows = [r for r in rows if all(dict(r[S.META] or []).get(k) == v for k, v in where.items())]
            if not rows:
                shown = ", ".join(f"meta.{k}={v}" for k, v in where.items())
                raise CalibrationError(f"{path}: no document has {shown}")
        for start in range(0, len(rows), READ_BATCH):
            _add_batch(out, R.to_batch(rows[start:start + READ_BATCH]), ruleset, declared_only)
    return out


def _add_batch(out: Values, batch: pa.RecordBatch, ruleset: RuleSet, declared_only: bool) -> None:
    _, rows, live = prepare_rows(batch, ruleset)
    out.unreached.update(r.reason for r in rows if r.reason is not None)
    if declared_only:  # the funnel keeps a differing declared language in meta
        out.reassigned += sum("lang_declared" in r.meta for r in live)
        live = [r for r in live if "lang_declared" not in r.meta]
    for (lang, source), members in group_rows(live).items():
        values = RuleValues(members, lang, ruleset)
        docs: list[Doc] = [{} for _ in members]
        for name, params in ruleset.resolve(lang, source).rules:
            if params.mode == "drop":
                out.enforced[lang].add(name)
            current = out.bounds[lang].setdefault(name, {})
            for k in BOUNDS:
                if getattr(params, k) is not None:
                    current.setdefault(k, getattr(params, k))
            for doc, v in zip(docs, values.get(name, params).values, strict=True):
                doc[name] = None if v is None or math.isnan(v) else float(v)
        out.docs[lang].extend(docs)


def round_sig(x: float, digits: int = SIG_DIGITS) -> float:
    """``x`` rounded to ``digits`` significant digits."""
    return float(f"{x:.{digits}g}")


def fails(value: float | None, bounds: dict[str, float]) -> bool:
    """The funnel's check: a value below ``min`` or above ``max`` fails; no value passes."""
    return value is not None and (value < bounds.get("min", -math.inf) or value > bounds.get("max", math.inf))


def propose(lang: str, rule: str, current: dict[str, float], reference: list[float | None],
            junk: list[float | None], q: float, never_tighten: bool = False) -> Proposal:
    """Bounds at the Q (min) and 1-Q (max) quantiles of the reference values, rounded, with their effect; with
    ``never_tighten`` a bound of the file that is already more lenient is kept."""
    known = np.array([v for v in reference if v is not None], dtype=np.float64)
    note = ("no min or max in the rule file" if not current else
            "no value in this language" if known.size == 0 else None)
    at_q = {} if note else {k: round_sig(float(np.quantile(known, q if k == "min" else 1 - q)))
                            for k in BOUNDS if k in current}
    bounds = ({k: min(v, current[k]) if k == "min" else max(v, current[k]) for k, v in at_q.items()}
              if never_tighten else at_q)
    ordered = {k: current[k] for k in BOUNDS if k in current}
    dropped, caught = sum(fails(v, bounds) for v in reference), sum(fails(v, bounds) for v in junk)
    return Proposal(lang, rule, ordered, bounds, len(reference), int(known.size), len(junk), dropped, caught, note,
                    at_q)


def select_languages(reference: Values, min_docs: int, langs: list[str] | None, warn: Warn) -> list[str]:
    """The reference's languages (or those asked for) with at least ``min_docs`` documents reaching the rules."""
    kept = []
    for lang in sorted(set(langs) if langs else reference.docs):
        n = len(reference.docs.get(lang, []))
        if n < min_docs:
            warn(f"{reference.label}: language {lang!r} has {n} documents reaching the rules, fewer than "
                 f"--min-docs {min_docs}; skipped")
        else:
            kept.append(lang)
    if not kept:
        found = ", ".join(f"{k} {len(v)}" for k, v in sorted(reference.docs.items())) or "none"
        raise CalibrationError(f"{reference.label}: no language has --min-docs {min_docs} documents reaching the "
                               f"rules (found: {found})")
    return kept


def calibrate(ruleset: RuleSet, reference: list[str], junk: list[str], policy: Policy, warn: Warn) -> Calibration:
    """Values on both inputs, the languages to calibrate, one proposal per (language, enabled rule)."""
    ref = compute_values(reference, ruleset, policy.where, policy.declared_only)
    bad = compute_values(junk, ruleset, policy.where)
    if ref.reassigned:
        warn(f"{ref.label}: {ref.reassigned} documents left out: langid gave them another language than declared")
    for v in (ref, bad):
        if v.unreached:
            shown = ", ".join(f"{k} {n}" for k, n in sorted(v.unreached.items()))
            warn(f"{v.label}: {v.unreached.total()} documents did not reach the rules ({shown})")
    languages = select_languages(ref, policy.min_docs, policy.langs, warn)
    if ignored := sorted(set(bad.docs) - set(languages)):
        warn(f"{bad.label}: junk in languages not calibrated, ignored: "
             + ", ".join(f"{k} {len(bad.docs[k])}" for k in ignored))
    proposals, together = [], {}
    for lang in languages:
        ref_docs, junk_docs = ref.docs[lang], bad.docs.get(lang, [])
        rules = sorted(r for r in ref.bounds[lang] if not policy.enforced_only or r in ref.enforced[lang])
        props = [propose(lang, rule, ref.bounds[lang][rule], [d.get(rule) for d in ref_docs],
                         [d.get(rule) for d in junk_docs], policy.quantile, policy.never_tighten) for rule in rules]
        proposals += props
        together[lang] = (_any_fails(ref_docs, props), len(ref_docs), _any_fails(junk_docs, props), len(junk_docs))
    return Calibration(ruleset.path, policy, languages, proposals, together, ref, bad)


def _any_fails(docs: list[Doc], props: list[Proposal]) -> int:
    return sum(any(fails(d.get(p.rule), p.bounds) for p in props if p.bounds) for d in docs)


def _effect(verb: str, k: int, n: int, what: str) -> str:
    """``drops 1.0% (1 of 100) of reference``, or ``no junk documents``."""
    return f"{verb} {100 * k / n:.1f}% ({k} of {n}) of {what}" if n else f"no {what} documents"


def _cell(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}% ({k}/{n})" if n else "no documents"


def yaml_key(lang: str) -> str:
    """A language code as a YAML key: 'no' (Norwegian) quoted, as YAML 1.1 reads no as false."""
    return yaml.safe_dump(lang).splitlines()[0]


def _yaml_float(x: float) -> str:
    """A float as YAML 1.1 reads it back as a float (``1e-05`` alone would be a string)."""
    return yaml.safe_dump(x).splitlines()[0]


def describe(p: Proposal, q: float) -> str:
    """``word_count min at q=0.01 (file: 1): drops 1.0% (1 of 100) of reference, catches ...``."""
    at = ", ".join(f"{k} at q={q if k == 'min' else 1 - q:g}" if v == p.at_quantile[k]
                   else f"{k} kept (q={q if k == 'min' else 1 - q:g} gives {v_q:g})"
                   for k, v in p.bounds.items() for v_q in [p.at_quantile[k]])
    was = ", ".join(f"{k} {v:g}" for k, v in p.current.items())
    valued = f", {p.n_reference - p.n_valued} without a value" if p.n_valued < p.n_reference else ""
    return (f"{p.rule} {at} (file: {was}): {_effect('drops', p.dropped, p.n_reference, 'reference')}{valued}, "
            f"{_effect('catches', p.caught, p.n_junk, 'junk')}")


def to_yaml(cal: Calibration) -> str:
    """The ``languages:`` block to merge into the rule file, every choice explained in comments."""
    lines = [f"# Thresholds calibrated for {cal.rules_path}",
             f"# reference: {cal.reference.label}", f"# junk: {cal.junk.label}",
             f"# languages with at least {cal.policy.min_docs} reference documents reaching the rules"
             + ("; rules in drop mode only" if cal.policy.enforced_only else "") + ".",
             f"# min = the {cal.quantile:g} quantile, max = the {1 - cal.quantile:g} quantile of each language's "
             "reference values (numpy linear),",
             f"# rounded to {SIG_DIGITS} significant digits; shares are for the rounded bounds, over the "
             "documents that reach the rules.",
             *(["# never tighter than the rule file: where its bound is more lenient, it stays."]
               if cal.policy.never_tighten else []),
             "# Merge into the rule file's `languages:` section.",
             "languages:" + ("" if cal.languages else " {}")]
    for lang in cal.languages:
        props = [p for p in cal.proposals if p.lang == lang]
        ref_k, ref_n, junk_k, junk_n = cal.together[lang]
        lines.append(f"  {yaml_key(lang)}:" + ("" if any(p.bounds for p in props) else " {}"))
        lines.append(f"    # all bounds below together: {_effect('drop', ref_k, ref_n, 'reference')}, "
                     f"{_effect('catch', junk_k, junk_n, 'junk')}")
        for p in props:
            if p.bounds:
                shown = ", ".join(f"{k}: {_yaml_float(v)}" for k, v in p.bounds.items())
                lines += [f"    # {describe(p, cal.quantile)}", f"    {p.rule}: {{{shown}}}"]
        for p in props:
            if not p.bounds:
                lines.append(f"    # not proposed: {p.rule} ({p.note})")
    return "\n".join(lines) + "\n"


def summary_table(cal: Calibration):
    """The proposals as a rich Table: one row per (language, rule), then the language's bounds together."""
    from rich.table import Table

    table = Table(title=f"calibration of {cal.rules_path} (q={cal.quantile:g})", title_justify="left")
    for col in ("lang", "rule", "rule file", "proposed", "reference dropped", "junk caught"):
        table.add_column(col, justify="right" if col.endswith(("dropped", "caught")) else "left",
                         no_wrap=col == "rule")
    for lang in cal.languages:
        for p in (p for p in cal.proposals if p.lang == lang):
            if p.bounds:
                table.add_row(lang, p.rule, _bounds_text(p.current), _bounds_text(p.bounds),
                              _cell(p.dropped, p.n_reference), _cell(p.caught, p.n_junk))
            else:
                table.add_row(lang, p.rule, _bounds_text(p.current), f"[dim]{p.note}[/]", "", "")
        ref_k, ref_n, junk_k, junk_n = cal.together[lang]
        table.add_row(lang, "all together", "", "", _cell(ref_k, ref_n), _cell(junk_k, junk_n), end_section=True)
    return table


def _bounds_text(bounds: dict[str, float]) -> str:
    return " ".join(f"{k} {v:g}" for k, v in bounds.items())
