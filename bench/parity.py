"""Verdict parity of the ``fineweb.yaml`` preset with datatrove's FineWeb filter chain, document by document.

Run from the repository root with the project's interpreter (datatrove 0.10.1 and spaCy installed in it):

    .venv/bin/python bench/parity.py            # writes bench/results/parity.md and parity.json

Method
------
1. Corpus: ``bench/parity_corpus.py`` (English Debian manuals, dictionary pages and gloss lists, extracted once
   and cached outside the repository; provenance and licences go into the results).
2. datatrove, in this process: the chain of ``examples/fineweb.py`` after extraction and language id,
   ``GopherRepetitionFilter() -> GopherQualityFilter() -> C4QualityFilter(filter_no_terminal_punct=False) ->
   FineWebQualityFilter()``, through each filter's ``filter(doc)``, gives the keep/drop verdict and the first
   reason. Every check is also run on its own, on every document (a filter built with only that check
   enabled), so each check has a verdict even where an earlier one dropped the document; the FineWeb checks
   see the text as C4's line filters leave it, as in the chain.
3. This project: ``data_platform.funnel.process_batch`` over Arrow batches (``bench/funnel.py``'s helpers) with
   ``rules/presets/fineweb.yaml``. Rules of the preset that the registry does not have, and keys the rule or
   line-cleaning models do not know, are left out and reported as "not implemented". ``langid`` is disabled:
   datatrove's LanguageFilter needs a model download and is not part of the compared chain.
4. Per check: the share of documents on which datatrove's check and the mapped rule(s) (``CHECKS``) give the
   same verdict, counted over the documents that reached the rules on our side; every disagreement with both
   values. Overall: the keep/drop agreement of the two chains, with every disagreement and both reasons.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Literal

import yaml
from _machine import git_state, hardware  # (bench/ is the script folder)
from funnel import BATCH_ROWS, to_batches
from parity_corpus import build, default_cache, summary

from data_platform import schema as S
from data_platform.clean.line_rules import LineCleanConfig
from data_platform.config import RuleSet, load_rules
from data_platform.funnel import process_batch
from data_platform.rules import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
PRESET = ROOT / "rules/presets/fineweb.yaml"
RESULTS = ROOT / "bench/results"
CHAIN = ("GopherRepetitionFilter() -> GopherQualityFilter() -> C4QualityFilter(filter_no_terminal_punct=False) "
         "-> FineWebQualityFilter()")
PRE_RULE = ("empty_text", "too_little_text")  # what our line cleaning can end in before the rules


@dataclass(frozen=True)
class Check:
    """One datatrove check, run alone, and the rules of the preset that stand for it.

    ``at(t)`` is the datatrove filter with only this check on, at threshold ``t``; ``threshold`` the published
    value; ``bound`` says how ``t`` decides (``max``: dropped above it, ``min``: below it, ``flag``: no
    threshold); ``alone`` builds the published check when it has two bounds (``at`` then varies the lower one).
    """

    filter: str
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    at: Callable[[float], Any]
    threshold: float
    bound: Literal["max", "min", "flag"]
    alone: Callable[[], Any] | None = None
    on_c4_text: bool = False  # FineWeb's checks see C4's output

    def published(self) -> Any:
        return self.alone() if self.alone else self.at(self.threshold)


def _checks() -> list[Check]:
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    rep_off = dict(dup_line_frac=None, dup_para_frac=None, dup_line_char_frac=None, dup_para_char_frac=None,
                   top_n_grams=(), dup_n_grams=())
    qual_off = dict(min_doc_words=None, max_doc_words=None, min_avg_word_length=None, max_avg_word_length=None,
                    max_symbol_word_ratio=None, max_bullet_lines_ratio=None, max_ellipsis_lines_ratio=None,
                    max_non_alpha_words_ratio=None, min_stop_words=None)
    c4_off = dict(filter_no_terminal_punct=False, min_num_sentences=-1, filter_lorem_ipsum=False,
                  filter_curly_bracket=False)
    fw_off = dict(line_punct_thr=0.0, short_line_thr=1.0, char_duplicates_ratio=1.0, new_line_ratio=float("inf"))

    def rep(key: str, wrap: Callable[[float], Any] = lambda t: t) -> Callable[[float], Any]:
        return lambda t: GopherRepetitionFilter(**{**rep_off, key: wrap(t)})

    def qual(key: str) -> Callable[[float], Any]:
        return lambda t: GopherQualityFilter(**{**qual_off, key: t})

    def fw(key: str) -> Callable[[float], Any]:
        return lambda t: FineWebQualityFilter(**{**fw_off, key: t})

    g_rep, g_qual, c4q, fwq = ("GopherRepetitionFilter", "GopherQualityFilter", "C4QualityFilter",
                               "FineWebQualityFilter")
    checks = [
        Check(g_rep, ("dup_para_frac",), ("dup_para_ratio",), rep("dup_para_frac"), 0.3, "max"),
        Check(g_rep, ("dup_para_char_frac",), ("dup_para_char_ratio",), rep("dup_para_char_frac"), 0.2, "max"),
        Check(g_rep, ("dup_line_frac",), ("dup_line_ratio",), rep("dup_line_frac"), 0.3, "max"),
        Check(g_rep, ("dup_line_char_frac",), ("dup_line_char_ratio",), rep("dup_line_char_frac"), 0.2, "max"),
    ]
    checks += [Check(g_rep, (f"top_{n}_gram",), (f"top_{n}gram_char_ratio",),
                     rep("top_n_grams", lambda t, n=n: ((n, t),)), t, "max")
               for n, t in ((2, 0.2), (3, 0.18), (4, 0.16))]
    checks += [Check(g_rep, (f"duplicated_{n}_n_grams",), (f"dup_{n}gram_char_ratio",),
                     rep("dup_n_grams", lambda t, n=n: ((n, t),)), t, "max")
               for n, t in ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))]
    checks += [
        Check(g_qual, ("gopher_short_doc", "gopher_long_doc"), ("word_count",), qual("min_doc_words"), 50, "min",
              alone=lambda: GopherQualityFilter(**{**qual_off, "min_doc_words": 50, "max_doc_words": 100000})),
        Check(g_qual, ("gopher_below_avg_threshold", "gopher_above_avg_threshold"), ("mean_word_length",),
              qual("min_avg_word_length"), 3, "min",
              alone=lambda: GopherQualityFilter(**{**qual_off, "min_avg_word_length": 3, "max_avg_word_length": 10})),
        # one datatrove parameter for both symbols ("#" checked first, then the ellipsis): its value is the larger
        Check(g_qual, ("gopher_too_many_hashes", "gopher_too_many_ellipsis"),
              ("hash_word_ratio", "ellipsis_word_ratio"), qual("max_symbol_word_ratio"), 0.1, "max"),
        Check(g_qual, ("gopher_too_many_bullets",), ("bullet_line_ratio",), qual("max_bullet_lines_ratio"), 0.9,
              "max"),
        Check(g_qual, ("gopher_too_many_end_ellipsis",), ("ellipsis_line_ratio",), qual("max_ellipsis_lines_ratio"),
              0.3, "max"),
        Check(g_qual, ("gopher_below_alpha_threshold",), ("alpha_word_ratio",), qual("max_non_alpha_words_ratio"),
              0.8, "min"),
        Check(g_qual, ("gopher_enough_stop_words",), ("stopword_count",), qual("min_stop_words"), 2, "min"),
        Check(c4q, ("lorem_ipsum",), ("pattern_count",),
              lambda t: C4QualityFilter(**{**c4_off, "filter_lorem_ipsum": True}), 0, "flag"),
        Check(c4q, ("curly_bracket",), ("curly_bracket_count",),
              lambda t: C4QualityFilter(**{**c4_off, "filter_curly_bracket": True}), 0, "flag"),
        Check(c4q, ("too_few_sentences",), ("sentence_count",),
              lambda t: C4QualityFilter(**{**c4_off, "min_num_sentences": t}), 5, "min"),
        Check(fwq, ("line_punct_ratio",), ("line_punct_ratio",), fw("line_punct_thr"), 0.12, "min", on_c4_text=True),
        Check(fwq, ("short_line_ratio",), ("short_line_ratio",), fw("short_line_thr"), 0.67, "max", on_c4_text=True),
        Check(fwq, ("char_dup_ratio",), ("fineweb_dup_line_char_ratio",), fw("char_duplicates_ratio"), 0.01, "max",
              on_c4_text=True),
        Check(fwq, ("list_ratio",), ("list_ratio",), fw("new_line_ratio"), 0.3, "max", on_c4_text=True),
    ]
    return checks


def _keeps(flt: Any, text: str) -> tuple[bool, str | None]:
    from datatrove.data import Document
    from datatrove.pipeline.filters.base_filter import get_filter_result

    keep, reason = get_filter_result(flt.filter(Document(text=text, id="")))
    return keep, reason


def recovered_value(check: Check, text: str, top: float = 1e7, steps: int = 60) -> float | None:
    """datatrove's own value of a check (its ``filter(doc)`` returns none), by bisecting the check's threshold:
    the value is where the verdict flips. None for a check without a threshold."""
    if check.bound == "flag":
        return None
    lo, hi = 0.0, top
    for _ in range(steps):
        mid = (lo + hi) / 2
        dropped = not _keeps(check.at(mid), text)[0]
        lo, hi = (mid, hi) if dropped == (check.bound == "max") else (lo, mid)
    return round(hi if check.bound == "max" else lo, 6)


# Reasons that are not a check of their own: what they correspond to here.
OTHER_REASONS = {
    "GopherRepetitionFilter:empty": "empty_text",
    "FineWebQualityFilter:empty": "empty_text (nothing left after line cleaning)",
}


_NGRAMS = ("n-grams of words here (lower-cased, punctuation stripped, so the rule means the same for Chinese; "
           "characters without the spaces; overlaps counted once), of spaCy tokens in datatrove (case and "
           "punctuation tokens kept): `DROP VIEW` and `drop view` are one 2-gram here, two there "
           "(`gopher_repetition.py`'s docstring)")
# Definitions that differ on purpose, per rule: a chain disagreement decided by one of these rules is explained.
DELIBERATE = {
    **{f"top_{n}gram_char_ratio": _NGRAMS for n in (2, 3, 4)},
    **{f"dup_{n}gram_char_ratio": _NGRAMS for n in range(5, 11)},
    "dup_line_ratio": "lines holding only spaces are no lines here; datatrove counts them, and repeats of them",
    "dup_line_char_ratio": "lines holding only spaces are no lines here; datatrove counts them, and repeats of them",
    "fineweb_dup_line_char_ratio": "kept lines keep their indentation here (code stays readable); C4 strips "
                                   "every line, so in datatrove repeated indented lines count fewer characters",
}


# ----------------------------------------------------------------------------------------------- datatrove side


def run_datatrove(docs: list[dict], checks: list[Check]) -> list[dict]:
    """Per document: the chain's outcome and reason, and each check's verdict on its own."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.filters.base_filter import get_filter_result

    chain = [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(filter_no_terminal_punct=False),
             FineWebQualityFilter()]
    names = [type(f).__name__ for f in chain]
    lines_only = C4QualityFilter(filter_no_terminal_punct=False, min_num_sentences=-1, filter_lorem_ipsum=False,
                                 filter_curly_bracket=False)
    built = [(c, c.published()) for c in checks]
    out = []
    for d in docs:
        doc, reason = Document(text=d["text"], id=d["id"]), None
        for name, flt in zip(names, chain, strict=True):
            keep, why = get_filter_result(flt.filter(doc))
            if not keep:
                reason = f"{name}:{why}"
                break
        c4_doc = Document(text=d["text"], id=d["id"])
        lines_only.filter(c4_doc)
        alone = {}
        for check, flt in built:
            keep, why = _keeps(flt, c4_doc.text if check.on_c4_text else d["text"])
            alone[check.reasons[0]] = {"keep": keep, "reason": why}
        out.append({"reason": reason, "c4_text": c4_doc.text, "alone": alone})
    return out


# ----------------------------------------------------------------------------------------------- our side


@dataclass
class Preset:
    """The preset as run: the rule set, and what of the file could not be loaded yet."""

    ruleset: RuleSet
    missing_rules: list[str] = field(default_factory=list)
    dropped_keys: list[str] = field(default_factory=list)


def load_available(path: Path) -> Preset:
    """Load ``path`` without what the code does not have yet (unknown rules and keys), and with langid off."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [n for n in data["rules"] if n not in REGISTRY]
    dropped: list[str] = []
    data["order"] = [n for n in data["order"] if n in REGISTRY]
    rules = {}
    for name, params in data["rules"].items():
        if name in REGISTRY:
            known = REGISTRY[name].params.model_fields
            dropped += [f"rules.{name}.{k}" for k in params if k not in known]
            rules[name] = {k: v for k, v in params.items() if k in known}
    data["rules"] = rules
    if "langid" in rules:
        rules["langid"]["enabled"] = False
    lines = data.get("clean", {}).get("lines")
    if lines:
        dropped += [f"clean.lines.{k}" for k in lines if k not in LineCleanConfig.model_fields]
        data["clean"]["lines"] = {k: v for k, v in lines.items() if k in LineCleanConfig.model_fields}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=path.parent, delete=False) as tmp:
        yaml.safe_dump(data, tmp, sort_keys=False)
    try:
        ruleset = load_rules(tmp.name)
    finally:
        Path(tmp.name).unlink()
    return Preset(ruleset, missing, dropped)


def run_ours(docs: list[dict], ruleset: RuleSet) -> list[dict]:
    """Per document: drop reason (None = kept), the output text, and every rule's recorded result by name."""
    records = [{"id": d["id"], "text": d["text"], "source": d["source"], "lang": d["lang"]} for d in docs]
    out = []
    for batch in to_batches(records):
        result = process_batch(batch, ruleset).to_pylist()
        out += [{"reason": r[S.DROP_REASON], "text": r[S.TEXT], "rules": {x["name"]: x for x in r[S.RULES] or []}}
                for r in result]
    return out


# ----------------------------------------------------------------------------------------------- comparison


def _fails(result: dict | None) -> bool | None:
    return None if result is None else not result["passed"]


def compare_checks(docs, dt, ours, checks: list[Check], preset: Preset) -> list[dict]:
    """Per check: documents compared, agreements, and every disagreement with both values."""
    rows = []
    for check in checks:
        missing = [r for r in check.rules if r not in REGISTRY]
        row: dict[str, Any] = {"filter": check.filter, "reasons": list(check.reasons), "rules": list(check.rules),
                               "status": "not implemented: " + ", ".join(missing) if missing else "compared"}
        if not missing:
            compared, same, diffs = 0, 0, []
            for d, theirs, mine in zip(docs, dt, ours, strict=True):
                results = [mine["rules"].get(r) for r in check.rules]
                if any(x is None for x in results):
                    continue  # dropped before the rules on our side (line cleaning left nothing)
                compared += 1
                t = theirs["alone"][check.reasons[0]]
                our_drop = any(_fails(x) for x in results)
                if our_drop == (not t["keep"]):
                    same += 1
                else:
                    text = theirs["c4_text"] if check.on_c4_text else d["text"]
                    diffs.append({"id": d["id"], "datatrove": t["reason"] or "kept",
                                  "datatrove_value": recovered_value(check, text),
                                  "ours": {x["name"]: {"value": x["value"], "min": x["min"], "max": x["max"],
                                                       "passed": x["passed"]} for x in results}})
            row |= {"compared": compared, "same": same, "share": same / compared if compared else None,
                    "disagreements": diffs}
        rows.append(row)
    return rows


def compare_chains(docs, dt, ours, checks: list[Check]) -> dict:
    """Keep/drop agreement of the whole chains; every disagreement with both reasons, our values of the rules that
    stand for datatrove's reason, and the value of our deciding rule."""
    rules_of = {f"{c.filter}:{r}": c.rules for c in checks for r in c.reasons}
    same, diffs = 0, []
    for d, theirs, mine in zip(docs, dt, ours, strict=True):
        if (theirs["reason"] is None) == (mine["reason"] is None):
            same += 1
            continue
        deciding = mine["rules"].get(mine["reason"] or "")
        mapped = {r: mine["rules"][r]["value"] for r in rules_of.get(theirs["reason"] or "", ()) if r in mine["rules"]}
        decided_by = [mine["reason"]] if mine["reason"] else list(mapped)
        why = next((DELIBERATE[r] for r in decided_by if r in DELIBERATE), None)
        diffs.append({"id": d["id"], "datatrove": theirs["reason"] or "kept", "our_values": mapped,
                      "ours": mine["reason"] or "kept", "our_value": deciding["value"] if deciding else None,
                      "why": why})
    kept = {"datatrove": sum(t["reason"] is None for t in dt), "ours": sum(o["reason"] is None for o in ours)}
    return {"docs": len(docs), "same": same, "share": same / len(docs), "kept": kept, "disagreements": diffs,
            "datatrove_reasons": Counter(t["reason"] or "kept" for t in dt).most_common(),
            "our_reasons": Counter(o["reason"] or "kept" for o in ours).most_common()}


def compare_c4_text(dt, ours) -> dict:
    """Line removal: documents kept by both whose text (lines stripped, blank lines dropped) is identical."""
    both = [(t, o) for t, o in zip(dt, ours, strict=True) if t["reason"] is None and o["reason"] is None]
    same = sum(_lines(t["c4_text"]) == _lines(o["text"]) for t, o in both)
    return {"compared": len(both), "same": same, "share": same / len(both) if both else None}


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.split("\n") if ln.strip()]


# ----------------------------------------------------------------------------------------------- report


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _fmt(v: Any) -> str:
    return "None" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def write_markdown(path: Path, report: dict) -> None:
    chain, checks = report["chain"], report["checks"]
    md = ["# Parity: `rules/presets/fineweb.yaml` vs datatrove's FineWeb chain", "",
          f"Machine: {report['machine']['cpu']}; commit `{report['machine']['commit']}`; datatrove "
          f"{report['machine']['datatrove']}, spaCy {report['machine']['spacy']}. Method in `bench/parity.py`'s "
          "docstring.", "",
          "## Corpus", "",
          f"{chain['docs']:,} English documents from Debian 12 packages not used by `data/sample` "
          "(`bench/parity_corpus.py`; built with `apt-get download` and `dpkg -x`, HTML extracted with the "
          "project's `extract_html`, trafilatura with `favor_precision`).", "",
          "| package | version | licence | kind | documents | characters |", "| --- | --- | --- | --- | ---: | ---: |"]
    for p in report["corpus"]["packages"]:
        md.append(f"| {p['name']} | {p['version']} | {p['licence']} | {p['kind']} | "
                  f"{report['corpus']['docs'].get(p['name'], 0):,} | {report['corpus']['chars'].get(p['name'], 0):,} |")
    md += ["", "## Keep/drop agreement of the chains", "",
           f"datatrove: {CHAIN}. This project: `process_batch` with the preset as loaded (below).", "",
           f"**{chain['same']:,} of {chain['docs']:,} documents ({_pct(chain['share'])}) get the same keep/drop "
           f"verdict.** Kept: datatrove {chain['kept']['datatrove']:,}, this project {chain['kept']['ours']:,}.", ""]
    if report["preset"]["missing_rules"] or report["preset"]["dropped_keys"]:
        md += ["Preset as loaded: rules not implemented yet (left out of the run): "
               + (", ".join(f"`{r}`" for r in report["preset"]["missing_rules"]) or "none")
               + "; keys not known yet (left out): "
               + (", ".join(f"`{k}`" for k in report["preset"]["dropped_keys"]) or "none")
               + ". `langid` is disabled (not part of the compared chain).", ""]
    else:
        md += ["Preset as loaded: every rule and key of the file; `langid` disabled (not part of the compared "
               "chain).", ""]
    md += ["## Per check", "",
           "Each datatrove check run on its own on every document, against the mapped rule's recorded verdict "
           "(documents that our line cleaning emptied before the rules are not counted).", "",
           "| datatrove filter | reason(s) | rule(s) here | compared | same verdict |",
           "| --- | --- | --- | ---: | ---: |"]
    for c in checks:
        share = c["status"] if c["status"] != "compared" else f"{c['same']:,} ({_pct(c['share'])})"
        md.append(f"| {c['filter']} | {', '.join(f'`{r}`' for r in c['reasons'])} | "
                  f"{', '.join(f'`{r}`' for r in c['rules'])} | {c.get('compared', '')} | {share} |")
    md += ["", "Reasons that are no check of their own: "
           + "; ".join(f"`{k}` -> {v}" for k, v in OTHER_REASONS.items()) + ".", "",
           f"C4 line filters: of the {report['c4_text']['compared']:,} documents both chains keep, "
           f"{report['c4_text']['same']:,} ({_pct(report['c4_text']['share'])}) have the same lines after line "
           "removal (lines stripped, blank lines ignored).", "",
           "Where the preset departs from FineWeb on purpose: README.md, section \"Presets\".", "",
           "## Outcomes", "", "| datatrove reason | documents |", "| --- | ---: |"]
    md += [f"| `{r}` | {n:,} |" for r, n in chain["datatrove_reasons"]]
    md += ["", "| our drop reason | documents |", "| --- | ---: |"]
    md += [f"| `{r}` | {n:,} |" for r, n in chain["our_reasons"]]
    unexplained = sum(x["why"] is None for x in chain["disagreements"])
    md += ["", "## Disagreements: chains", "",
           f"Each disagreement is explained by the deliberate definition of the rule that decided it (`DELIBERATE` "
           f"in `bench/parity.py`); **{unexplained} unexplained**.", "",
           "| document | datatrove | our values of its rule(s) | ours | our deciding value | why |",
           "| --- | --- | --- | --- | ---: | --- |"]
    md += [f"| `{x['id']}` | `{x['datatrove']}` | "
           f"{'; '.join(f'{k}={_fmt(v)}' for k, v in x['our_values'].items()) or '-'} | `{x['ours']}` | "
           f"{_fmt(x['our_value'])} | {x['why'] or '**unexplained**'} |" for x in chain["disagreements"]]
    md += ["", "## Disagreements: per check", "",
           "datatrove's value is recovered by bisecting the threshold of the check run alone (its `filter(doc)` "
           "returns a verdict, not a value): for the symbol check the larger of the `#` and ellipsis ratios; none "
           "for the curly-bracket check, which has no threshold.", ""]
    for c in checks:
        if not c.get("disagreements"):
            continue
        md += [f"### {c['filter']}: {', '.join(c['reasons'])}", "", "| document | datatrove | value | ours |",
               "| --- | --- | ---: | --- |"]
        for x in c["disagreements"]:
            ours = "; ".join(f"{n}={_fmt(v['value'])} (min {_fmt(v['min'])}, max {_fmt(v['max'])}, "
                             f"{'pass' if v['passed'] else 'fail'})" for n, v in x["ours"].items())
            md.append(f"| `{x['id']}` | {x['datatrove']} | {_fmt(x['datatrove_value'])} | {ours} |")
        md.append("")
    path.write_text("\n".join(md).rstrip() + "\n", encoding="utf-8")


def print_summary(report: dict) -> None:
    chain = report["chain"]
    print(f"\nchains: same keep/drop on {chain['same']}/{chain['docs']} ({_pct(chain['share'])}); "
          f"kept datatrove {chain['kept']['datatrove']}, ours {chain['kept']['ours']}; "
          f"{sum(x['why'] is None for x in chain['disagreements'])} disagreements unexplained")
    for c in report["checks"]:
        what = c["status"] if c["status"] != "compared" else f"{c['same']}/{c['compared']} ({_pct(c['share'])})"
        print(f"  {c['filter']:<23} {'/'.join(c['reasons']):<52} {what}")
    if report["preset"]["missing_rules"]:
        print(f"not implemented: {', '.join(report['preset']['missing_rules'])}")
    if report["preset"]["dropped_keys"]:
        print(f"keys left out: {', '.join(report['preset']['dropped_keys'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache(), help="folder for the packages and corpus")
    parser.add_argument("--preset", type=Path, default=PRESET)
    parser.add_argument("--limit", type=int, help="first N documents only (a quick check of the harness)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for parity.md and parity.json")
    args = parser.parse_args()
    commit = git_state()
    docs, packages = build(args.cache)
    docs = docs[: args.limit] if args.limit else docs
    preset = load_available(args.preset)
    checks = _checks()
    t0 = time.perf_counter()
    dt = run_datatrove(docs, checks)
    t1 = time.perf_counter()
    ours = run_ours(docs, preset.ruleset)
    print(f"{len(docs)} documents: datatrove {t1 - t0:.1f} s (chain + each check alone), "
          f"funnel {time.perf_counter() - t1:.1f} s (batches of {BATCH_ROWS})", file=sys.stderr)
    sizes = summary(docs)
    report = {
        "machine": {**hardware(), "commit": commit, "datatrove": version("datatrove"), "spacy": version("spacy")},
        "preset": {"path": str(args.preset.relative_to(ROOT)) if args.preset.is_relative_to(ROOT) else
                   str(args.preset), "missing_rules": preset.missing_rules, "dropped_keys": preset.dropped_keys},
        "corpus": {"packages": [vars(p) for p in packages], "docs": dict(sizes["docs"]),
                   "chars": dict(sizes["chars"])},
        "chain": compare_chains(docs, dt, ours, checks),
        "checks": compare_checks(docs, dt, ours, checks, preset),
        "c4_text": compare_c4_text(dt, ours),
    }
    print_summary(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "parity.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    write_markdown(args.out / "parity.md", report)
    print(f"wrote {args.out / 'parity.md'} and {args.out / 'parity.json'}")


if __name__ == "__main__":
    main()
