"""The funnel report: one self-contained HTML page (inline CSS, plots as base64 PNG) per filter run.

It shows the funnel (documents and characters left after each stage), every rule's value distribution per
language against its thresholds, the share of documents nearby thresholds would drop, counts per source and
language, and borderline examples on both sides of each rule. Per-rule figures use a deterministic sample of
the run's rows (``report_rows``); counts come from ``stats.json``.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, LogLocator, MaxNLocator, NullLocator

from data_platform import schema as S
from data_platform.report.page import PAGE_END, page_head, pct, table

SNIPPET = "snippet"
SNIPPET_CHARS = 400
FACTORS = (0.8, 0.9, 1.0, 1.1, 1.25)
EXAMPLES = 5
DPI = 85
BINS = 30
UNKNOWN_LANG = "unknown"




# ----------------------------------------------------------------------------------------------- the data


def report_rows(spark, out: str, max_rows: int = 20000, seed: int = 0) -> pd.DataFrame:
    """kept/ and dropped/ read back with Spark, sampled deterministically to at most ``max_rows`` rows.

    Columns: id, source, lang, drop_reason, drop_detail, n_chars, rules (plain lists of dicts), snippet (the
    first ``SNIPPET_CHARS`` characters of the text).
    """
    from pyspark.sql import functions as F

    cols = [S.ID, S.SOURCE, S.LANG, S.DROP_REASON, S.DROP_DETAIL, S.N_CHARS, S.RULES,
            F.substring(S.TEXT, 1, SNIPPET_CHARS).alias(SNIPPET)]
    base = out.rstrip("/")
    df = spark.read.parquet(f"{base}/kept").select(*cols).unionByName(
        spark.read.parquet(f"{base}/dropped").select(*cols))
    total = df.count()
    if total > max_rows:
        df = df.sample(fraction=max_rows / total, seed=seed).limit(max_rows)
    rows = df.toPandas()
    rows[S.RULES] = rows[S.RULES].map(_plain_rules)
    return rows


def _plain_rules(rules: Iterable[Any] | None) -> list[dict[str, Any]]:
    """A ``rules`` cell as Spark/pandas hand it over (array of Rows or dicts, or None) as a list of dicts."""
    if rules is None:
        return []
    return [r.asDict() if hasattr(r, "asDict") else dict(r) for r in rules]


def rule_values(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows' ``rules`` as a long table: one row per (document, rule).

    ``doc`` is the document's position in ``rows``; ``reached`` is false when an earlier enforced rule in the
    document's funnel already failed (the document never got to this rule in the funnel).
    """
    records = []
    for doc, (lang, source, reason, rules) in enumerate(
            zip(rows[S.LANG], rows[S.SOURCE], rows[S.DROP_REASON], rows[S.RULES])):
        reached = True
        for r in rules:
            records.append((doc, lang or UNKNOWN_LANG, source, reason, r["name"], r["value"], r["min"], r["max"],
                            bool(r["passed"]), bool(r["enforced"]), reached))
            reached = reached and (r["passed"] or not r["enforced"])
    long = pd.DataFrame.from_records(records, columns=["doc", S.LANG, S.SOURCE, S.DROP_REASON, "rule", "value",
                                                      "min", "max", "passed", "enforced", "reached"])
    return long.astype({"value": float, "min": float, "max": float})


def threshold_shares(values: pd.DataFrame, rule: str, factors: Sequence[float] = FACTORS) -> pd.DataFrame:
    """Per language and bound: the share of documents reaching ``rule`` that a bound scaled by each factor drops.

    Each document's own bound is scaled (bounds vary by language and source), and failures that are not about
    the bounds (a language outside an allowed list) count at every factor, so at ×1 the share is what the rule
    drops now. One column per factor, named like ``×0.9``; ``current`` is the tuple of distinct bounds in use.
    """
    reached = values[(values["rule"] == rule) & values["reached"]]
    out = []
    for lang, g in reached.groupby(S.LANG, sort=True):
        other_failure = ~g["passed"] & ~((g["value"] < g["min"]) | (g["value"] > g["max"]))
        for bound in ("min", "max"):
            limit = g[bound]
            if limit.isna().all():
                continue
            row = {S.LANG: lang, "bound": bound, "current": tuple(sorted(limit.dropna().unique())),
                   "documents": len(g)}
            for f in factors:
                beyond = g["value"] < limit * f if bound == "min" else g["value"] > limit * f
                row[f"×{f:g}"] = (beyond | other_failure).sum() / len(g)
            out.append(row)
    return pd.DataFrame(out)


def _margin(df: pd.DataFrame) -> pd.Series:
    """Multiplicative distance of each value to its nearest bound, |log(value / bound)| (0 = on the threshold);
    values and bounds are never negative."""
    def distance(bound: pd.Series) -> pd.Series:
        return (np.log(df["value"] + 1e-9) - np.log(bound + 1e-9)).abs()

    return pd.concat([distance(df["max"]), distance(df["min"])], axis=1).min(axis=1)


# ------------------------------------------------------------------------------------------------ figures


def _png(fig: Figure) -> str:
    """A figure as a PNG data URI (rendered by Agg)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _funnel_steps(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """The funnel with its starting point: every stage with documents/characters dropped and left."""
    start = {"reason": "input", "documents_dropped": 0, "characters_dropped": 0,
             "documents_left": stats["output_documents"],
             "characters_left": stats["kept"]["characters"] + stats["dropped"]["characters"]}
    return [start, *stats["funnel"]]


def _funnel_figure(steps: list[dict[str, Any]]) -> str:
    """Two horizontal bar charts: documents and characters left after each stage, in priority order."""
    fig = Figure(figsize=(12, 0.32 * len(steps) + 1.2), layout="constrained")
    names = [s["reason"] for s in steps]
    for ax, unit in zip(fig.subplots(1, 2, sharey=True), ("documents", "characters")):
        left = [s[f"{unit}_left"] for s in steps]
        colors = ["#98a0ad" if i and not s[f"{unit}_dropped"] else "#3b6fb6" for i, s in enumerate(steps)]
        ax.barh(names, left, color=colors)
        top = max(left) or 1
        for y, (n, s) in enumerate(zip(left, steps)):
            label = f"{n:,}" + (f"  (−{s[f'{unit}_dropped']:,})" if s[f"{unit}_dropped"] else "")
            ax.text(n + top * 0.01, y, label, va="center", fontsize=8)
        ax.set_xlim(0, top * 1.3)
        ax.set_title(f"{unit} left after each stage", fontsize=10)
        ax.tick_params(labelsize=8)
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    fig.axes[0].invert_yaxis()
    return _png(fig)


def _bins(values: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, bool]:
    """Histogram edges covering the values and the bounds; log-spaced when nearly all values are positive and
    values plus bounds span more than two orders of magnitude (ignoring the lowest 5% of values)."""
    both = np.concatenate([values, bounds])
    positive = values[values > 0]
    if len(positive) >= 0.9 * len(values):
        low = min(np.quantile(positive, 0.05), bounds[bounds > 0].min(initial=np.inf))
        if both.max() / low > 100:
            return np.geomspace(both[both > 0].min(), both.max(), BINS + 1), True
    lo, hi = float(both.min()), float(both.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, BINS + 1), False


def _light_ticks(ax, log: bool, labels: bool) -> None:
    """Few ticks, no minor ones, x labels only where asked: ticks dominate the cost of many small axes."""
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(numticks=5))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(MaxNLocator(3, integer=True))
    ax.tick_params(labelsize=7, labelbottom=labels)


def _histograms(values: pd.DataFrame, rule: str) -> str | None:
    """Small multiples: the rule's values per language, with that language's min (blue) / max (red) bounds."""
    sub = values[(values["rule"] == rule) & values["value"].notna()]
    if sub.empty:
        return None
    langs = sorted(sub[S.LANG].unique())
    edges, log = _bins(sub["value"].to_numpy(), sub[["min", "max"]].stack().to_numpy())
    ncols = min(4, len(langs))
    nrows = math.ceil(len(langs) / ncols)
    fig = Figure(figsize=(3.1 * ncols, 1.9 * nrows + 0.3))
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.5 / (1.9 * nrows + 0.3), top=1 - 0.35 / (1.9 * nrows + 0.3),
                        wspace=0.25, hspace=0.45)
    axes = list(fig.subplots(nrows, ncols, sharex=True, squeeze=False).flat)
    for i, (ax, lang) in enumerate(zip(axes, langs)):
        g = sub[sub[S.LANG] == lang]
        ax.hist(np.clip(g["value"], edges[0], edges[-1]), bins=edges, histtype="stepfilled", color="#7d9fd3")
        for bound, color in (("min", "#1f4fd1"), ("max", "#c0392b")):
            for b in g[bound].dropna().unique():
                ax.axvline(b, color=color, ls="--", lw=1.2)
        zeros = int((g["value"] <= 0).sum()) if log else 0
        ax.set_title(f"{lang}  n={len(g)}" + (f", {zeros} at ≤0" if zeros else ""), fontsize=9, y=1.0, pad=3)
        _light_ticks(ax, log, labels=i + ncols >= len(langs))  # the lowest panel of each column
    for ax in axes[len(langs):]:
        ax.set_visible(False)
    return _png(fig)


# ------------------------------------------------------------------------------------------------- HTML


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
    steps = _funnel_steps(stats)
    n_docs, n_chars = max(1, steps[0]["documents_left"]), max(1, steps[0]["characters_left"])
    body = [(s["reason"], "" if i == 0 else ("rule" if s["reason"] in rules_by_name else "quarantine"),
             s["documents_dropped"], s["characters_dropped"], s["documents_left"],
             pct(s["documents_left"] / n_docs), s["characters_left"], pct(s["characters_left"] / n_chars))
            for i, s in enumerate(steps)]
    zero = ["zero" if i and not s["documents_dropped"] else "" for i, s in enumerate(steps)]
    tbl = table(["stage", "kind", "dropped docs", "dropped chars", "docs left", "% docs left", "chars left",
                  "% chars left"], body, classes=["", "", "n", "n", "n", "n", "n", "n"], row_class=zero)
    return (f'<section id="funnel"><h2>Funnel</h2><p class="doc">Stages in priority order (quarantine first); '
            f"grey bars and rows dropped nothing.</p><img alt=\"funnel\" src=\"{_funnel_figure(steps)}\">"
            f"{tbl}</section>")


def _cleaning_section(cleaning: dict[str, Any]) -> str:
    """Lines removed per line rule, PII placeholders per kind, evaluation items found (with documents)."""
    lines = cleaning.get("lines_removed", {})
    pii = cleaning.get("pii_redacted", {})
    found = cleaning.get("contamination", {})
    parts = ['<section id="cleaning"><h2>In-document cleaning</h2>']
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
    sub = sub.assign(margin=_margin(sub))
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
    img = _histograms(values, rule)
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


def write_report(spark, out: str, stats: dict[str, Any], order: list[str]) -> str:
    """Build the report of the run in ``out`` and write it to ``<out>/report.html``; returns that path."""
    from data_platform.io.hadoop_fs import write_text
    from data_platform.rules import REGISTRY

    rules_by_name = {n: REGISTRY[n].doc for n in order if n in REGISTRY}
    path = f"{out.rstrip('/')}/report.html"
    write_text(spark, path, build_report(stats, report_rows(spark, out), order, rules_by_name))
    return path
