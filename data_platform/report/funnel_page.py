"""The funnel report: one self-contained HTML page (inline CSS, plots as base64 PNG) per filter run.

It shows the funnel (documents and characters left after each stage), every rule's value distribution per
language against its thresholds, the share of documents nearby thresholds would drop, counts per source and
language, and borderline examples on both sides of each rule. Per-rule figures use a deterministic sample of
the run's rows (``report_rows``); counts come from ``stats.json``. This module assembles the HTML; the numbers
come from ``funnel_data``, the plots from ``funnel_figures`` and the shared style from ``page``.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from data_platform import schema as S
from data_platform.report.funnel_data import (
    FACTORS,
    SNIPPET,
    funnel_steps,
    margin,
    report_rows,
    rule_values,
    threshold_shares,
)
from data_platform.report.funnel_figures import funnel_figure, rule_histograms
from data_platform.report.page import PAGE_END, page_head, pct, table

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

EXAMPLES = 5


def _summary(stats: dict[str, Any], rows: pd.DataFrame) -> str:
    """The run: inputs, rules file, elapsed time, totals, the accounting check and the sample size."""
    run = stats.get("run", {})
    acc = stats["accounting"]
    verdict = '<span class="ok">OK</span>' if acc["ok"] else '<span class="bad">MISMATCH</span>'
    items = [
        ("inputs", ", ".join(run.get("inputs", []))),
        ("files read", ", ".join(f"{kind}: {len(paths)}" for kind, paths in run.get("files", {}).items())),
        ("files ignored", ", ".join(run.get("ignored_files", [])) or "none"),
        ("rules file", run.get("rules", "")),
        ("output", run.get("output", "")),
        ("elapsed", f"{run['elapsed_s']} s" if "elapsed_s" in run else ""),
        ("kept", f"{stats['kept']['documents']:,} documents, {stats['kept']['characters']:,} characters"),
        ("dropped", f"{stats['dropped']['documents']:,} documents, {stats['dropped']['characters']:,} characters"),
        ("per-rule sample", f"{len(rows):,} of {stats['output_documents']:,} documents"),
    ]
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in items)
    accounting = (f"<tr><th>accounting</th><td>{acc['input']:,} in, {acc['kept_plus_dropped']:,} kept + dropped: "
                  f"{verdict}</td></tr>")
    return f"<table>{cells}{accounting}</table>"


def _funnel_section(stats: dict[str, Any], rules_by_name: dict[str, str]) -> str:
    """The funnel chart and table; stages that are not rules are the quarantine reasons."""
    steps = funnel_steps(stats)
    n_docs, n_chars = max(1, steps[0]["documents_left"]), max(1, steps[0]["characters_left"])
    alarms = {a["stage"]: a for a in stats.get("alarms", {}).get("stages", [])}
    body = [(s["reason"], "" if i == 0 else ("rule" if s["reason"] in rules_by_name else "quarantine"),
             s["documents_dropped"], s["characters_dropped"], s["documents_left"],
             pct(s["documents_left"] / n_docs), s["characters_left"], pct(s["characters_left"] / n_chars),
             *_alarm_cells(alarms.get(s["reason"])))
            for i, s in enumerate(steps)]
    marks = ["alarm" if alarms.get(s["reason"], {}).get("alarm") else "zero" if i and not s["documents_dropped"]
             else "" for i, s in enumerate(steps)]
    tbl = table(["stage", "kind", "dropped docs", "dropped chars", "docs left", "% docs left", "chars left",
                  "% chars left", "% of reaching removed", "alarm above"], body,
                classes=["", "", "n", "n", "n", "n", "n", "n", "n", "n"], row_class=marks)
    return (f'<section id="funnel"><h2>Funnel</h2><p class="doc">Stages in priority order (quarantine first); '
            "grey bars and rows dropped nothing; a red row removed more of the documents reaching it than its "
            "alarm allows (<code>expect.max_removed_share</code>).</p>"
            f"<img alt=\"funnel\" src=\"{funnel_figure(steps)}\">{tbl}</section>")


def _alarm_cells(entry: dict[str, Any] | None) -> tuple[str, str]:
    """The share of the documents reaching a stage that it removed, and its alarm's limit."""
    return (pct(entry["share"]), pct(entry["max_removed_share"])) if entry else ("", "")


def _cleaning_section(cleaning: dict[str, Any]) -> str:
    """Lines removed per line rule, PII placeholders per kind, evaluation items found (with documents)."""
    lines = cleaning.get("lines_removed", {})
    pii = cleaning.get("pii_redacted", {})
    found = cleaning.get("contamination", {})
    rescued = cleaning.get("rescued", {})
    parts = ['<section id="cleaning"><h2>In-document cleaning</h2>']
    parts.append("<h4>Rescued: dropped by these rules, kept on their quality score (rescue:)</h4>" + (
        table(["rule", "documents", "examples"], [(k, v["documents"], ", ".join(v["examples"]))
                                                   for k, v in rescued.items()], classes=["", "n", ""])
        if rescued else '<p class="muted">none</p>'))
    parts.append("<h4>Lines removed, by line rule</h4>" + (
        table(["line rule", "documents", "lines", "characters"],
              [(k, v["documents"], v["lines"], v["characters"]) for k, v in sorted(lines.items())],
              classes=["", "n", "n", "n"]) if lines else '<p class="muted">none</p>'))
    parts.append("<h4>PII replaced by placeholders</h4>" + (
        table(["kind", "documents", "replaced"], [(k, v["documents"], v["replaced"]) for k, v in sorted(pii.items())],
              classes=["", "n", "n"]) if pii else '<p class="muted">none</p>'))
    parts.append("<h4>Evaluation items found</h4>" + (
        table(["item", "documents", "examples"], [(k, v["documents"], ", ".join(v["examples"]))
                                                   for k, v in found.items()], classes=["", "n", ""])
        if found else '<p class="muted">none</p>'))
    return "".join(parts) + "</section>"


def _breakdown_section(title: str, key: str, breakdown: dict[str, dict[str, Any]], order: list[str]) -> str:
    """Documents, characters and kept share per source or language, with its drops per reason (funnel order)."""
    rank = {r: i for i, r in enumerate(order)}
    body = []
    for name, e in breakdown.items():
        reasons = sorted(e["dropped"].items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
        body.append((name, e["documents"], e["characters"], e["kept_documents"],
                     pct(e["kept_documents"] / max(1, e["documents"])), e["documents"] - e["kept_documents"],
                     " · ".join(f"{r} {n:,}" for r, n in reasons)))
    tbl = table([key, "documents", "characters", "kept", "% kept", "dropped", "dropped by reason"], body,
                 classes=["", "n", "n", "n", "n", "n", ""])
    return f'<section id="by-{key}"><h2>{html.escape(title)}</h2>{tbl}</section>'


def _bound_text(low: float, high: float) -> str:
    """A document's bounds as ``[min, max]``, ``≥ min`` or ``≤ max``."""
    if not math.isnan(low) and not math.isnan(high):
        return f"[{low:g}, {high:g}]"
    return f"≥ {low:g}" if not math.isnan(low) else (f"≤ {high:g}" if not math.isnan(high) else "no bound")


def _share_cell(share: float, current: tuple[float, ...], factor: float) -> str:
    """A share in percent, with the scaled bound when the language has a single one."""
    return pct(share) + (f" ({current[0] * factor:.3g})" if len(current) == 1 else "")


def _shares_table(values: pd.DataFrame, rule: str) -> str:
    """``threshold_shares`` as an HTML table, shares in percent."""
    shares = threshold_shares(values, rule)
    if shares.empty:
        return '<p class="muted">No bound set for this rule.</p>'
    body = [(r[S.LANG], r["bound"], ", ".join(f"{b:g}" for b in r["current"]), r["documents"],
             *[_share_cell(r[f"×{f:g}"], r["current"], f) for f in FACTORS]) for r in shares.to_dict("records")]
    return ("<h4>Share that would be dropped at nearby thresholds</h4>"
            '<p class="doc">Among sampled documents that reach this rule (not dropped by an earlier one), per '
            "language, with the scaled bound in brackets; each document's own bound is scaled (sources may "
            "override a language's), so ×1 is what the rule drops now.</p>"
            + table([S.LANG, "bound", "current", "documents reaching it", *[f"×{f:g}" for f in FACTORS]], body,
                     classes=["", "", "", "n", *["n"] * len(FACTORS)]))


def _examples(rows: pd.DataFrame, values: pd.DataFrame, rule: str) -> str:
    """Borderline dropped documents (this rule decided) next to the kept documents closest to its threshold."""
    sub = values[(values["rule"] == rule) & values["value"].notna()]
    sub = sub.assign(margin=margin(sub))
    dropped = sub[sub[S.DROP_REASON] == rule].nsmallest(EXAMPLES, "margin")
    kept = sub[sub[S.DROP_REASON].isna()].nsmallest(EXAMPLES, "margin")
    if dropped.empty:
        return ""
    left = table(["id", "lang", "value", "detail", "text"],
                  [(rows[S.ID].iat[d.doc], d.lang, d.value, rows[S.DROP_DETAIL].iat[d.doc], rows[SNIPPET].iat[d.doc])
                   for d in dropped.itertuples()], classes=["", "", "n", "", "snip"])
    right = table(["id", "lang", "value", "bound", "text"],
                   [(rows[S.ID].iat[k.doc], k.lang, k.value, _bound_text(k.min, k.max), rows[SNIPPET].iat[k.doc])
                    for k in kept.itertuples()], classes=["", "", "n", "", "snip"])
    return (f"<h4>Examples</h4><div class=\"pair\"><div><b>dropped by {html.escape(rule)}</b> (closest to the "
            f"threshold){left}</div><div><b>kept, closest to the threshold</b>{right}</div></div>")


def _rule_section(rows: pd.DataFrame, values: pd.DataFrame, rule: str, doc: str, dropped_now: int) -> str:
    """One rule: its description, value histograms per language, nearby-threshold shares and examples."""
    sub = values[values["rule"] == rule]
    head = (f'<section id="rule-{html.escape(rule)}"><h3>{html.escape(rule)}</h3>'
            f'<p class="doc">{html.escape(doc.replace("``", ""))}</p>')
    if sub.empty:
        return head + '<p class="muted">Not computed for any sampled document.</p></section>'
    mode = "drop" if sub["enforced"].any() else "tag (recorded, never drops)"
    facts = (f'<p class="muted">mode: {mode} · {sub["value"].notna().sum():,} sampled documents with a value · '
             f"dropped by it in the whole run: {dropped_now:,} · dashed lines: "
             '<span style="color:#1f4fd1">min</span> / <span style="color:#c0392b">max</span> per language</p>')
    img = rule_histograms(values, rule)
    figure = f'<img alt="{html.escape(rule)} per language" src="{img}">' if img else '<p class="muted">No values.</p>'
    return head + facts + figure + _shares_table(values, rule) + _examples(rows, values, rule) + "</section>"


def _quarantine_section(rows: pd.DataFrame, order: list[str], rules_by_name: dict[str, str]) -> str:
    """Up to ``EXAMPLES`` sampled documents per reason decided before the rules (malformed, too long ...)."""
    reasons = rows[S.DROP_REASON].dropna()
    present = [r for r in order if r not in rules_by_name and (reasons == r).any()]
    parts = []
    for reason in present:
        picked = rows[rows[S.DROP_REASON] == reason].sort_values(S.ID).head(EXAMPLES)
        parts.append(f"<h4>{html.escape(reason)}</h4>" + table(
            ["id", "source", "lang", "detail", "text"],
            picked[[S.ID, S.SOURCE, S.LANG, S.DROP_DETAIL, SNIPPET]].itertuples(index=False),
            classes=["", "", "", "", "snip"]))
    body = "".join(parts) or '<p class="muted">Nothing quarantined in the sample.</p>'
    return f'<section id="quarantine"><h2>Quarantined before the rules</h2>{body}</section>'


def _nav(rules: list[str]) -> str:
    """Links to every section."""
    links = [("funnel", "Funnel"), ("by-source", "Per source"), ("by-lang", "Per language"),
             ("quarantine", "Quarantine examples"), *[(f"rule-{r}", r) for r in rules]]
    return "<nav>" + "".join(f'<a href="#{html.escape(a)}">{html.escape(t)}</a>' for a, t in links) + "</nav>"


def build_report(stats: dict[str, Any], rows: pd.DataFrame, order: list[str], rules_by_name: dict[str, str]) -> str:
    """The whole report as one self-contained HTML page.

    ``order`` is the funnel order (quarantine reasons, then rules); ``rules_by_name`` maps each rule to its
    one-line description. Every rule of ``order`` that is in ``rules_by_name`` or in the rows gets a section
    ``rule-<name>``.
    """
    values = rule_values(rows)
    present = set(values["rule"])
    rules = [n for n in order if n in rules_by_name or n in present]
    dropped = {s["reason"]: s["documents_dropped"] for s in stats["funnel"]}
    sections = "".join(_rule_section(rows, values, r, rules_by_name.get(r, ""), dropped.get(r, 0)) for r in rules)
    title = f"Filter report — {html.escape(str(stats.get('run', {}).get('output', '')))}"
    return "".join([
        page_head(title),
        _summary(stats, rows), _nav(rules),
        _funnel_section(stats, rules_by_name),
        _breakdown_section("Per source", "source", stats["by_source"], order),
        _breakdown_section("Per language", "lang", stats["by_lang"], order),
        _cleaning_section(stats.get("cleaning", {})),
        _quarantine_section(rows, order, rules_by_name),
        f'<section id="rules"><h2>Rules</h2>{sections}</section>',
        PAGE_END,
    ])


def write_report(spark: SparkSession, out: str, stats: dict[str, Any], order: list[str]) -> str:
    """Build the report of the run in ``out`` and write it to ``<out>/report.html``; returns that path."""
    from data_platform.io.hadoop_fs import write_text
    from data_platform.rules import REGISTRY

    rules_by_name = {n: REGISTRY[n].doc for n in order if n in REGISTRY}
    path = f"{out.rstrip('/')}/report.html"
    write_text(spark, path, build_report(stats, report_rows(spark, out), order, rules_by_name))
    return path
