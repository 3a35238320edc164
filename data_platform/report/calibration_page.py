"""The calibration page (``dp-rules calibrate --html``): per rule, the reference and junk value distributions of
each language with the proposed and the current bounds (deterministic inline SVG), and the drop/catch table."""

from __future__ import annotations

import html
import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from data_platform.calibrate import BOUNDS, Calibration, Proposal, describe
from data_platform.report.funnel_figures import _bins, _light_ticks, small_multiples  # the funnel report's axes
from data_platform.report.page import PAGE_END, page_head, pct, table

# Fixed SVG ids, no date, text as <text> elements (not glyph paths): the same calibration, the same bytes.
SVG_SALT = "data-platform-calibration"
REFERENCE, JUNK, PROPOSED, CURRENT = "#3b6fb6", "#c0392b", "#1d2330", "#98a0ad"


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": SVG_SALT, "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _values(cal: Calibration, rule: str, lang: str) -> tuple[np.ndarray, np.ndarray]:
    def known(docs):
        return np.array([v for d in docs if (v := d.get(rule)) is not None], dtype=np.float64)

    return known(cal.reference.docs[lang]), known(cal.junk.docs.get(lang, []))


def rule_figure(cal: Calibration, rule: str, props: list[Proposal]) -> str | None:
    """Small multiples, one per language: reference (filled) and junk (line) as shares of their documents, the
    proposed bounds (solid) and the rule file's (dotted)."""
    panels = [(p, *_values(cal, rule, p.lang)) for p in props]
    panels = [x for x in panels if x[1].size or x[2].size]
    if not panels:
        return None
    marks = [v for p, _, _ in panels for v in (*p.bounds.values(), *p.current.values())]
    edges, log = _bins(np.concatenate([np.concatenate([r, j]) for _, r, j in panels]), np.array(marks, dtype=float))
    fig, axes, ncols = small_multiples(len(panels), head=0.6, hspace=0.5)
    for i, (ax, (p, ref, junk)) in enumerate(zip(axes, panels, strict=False)):
        for vals, filled in ((ref, True), (junk, False)):
            if vals.size:
                ax.hist(np.clip(vals, edges[0], edges[-1]), bins=edges.tolist(),
                        weights=np.full(vals.size, 1 / vals.size), histtype="stepfilled" if filled else "step",
                        color=REFERENCE if filled else JUNK, alpha=0.6 if filled else 1.0, lw=1.2)
        for k in BOUNDS:
            if k in p.bounds:
                ax.axvline(p.bounds[k], color=PROPOSED, lw=1.4)
            if k in p.current:
                ax.axvline(p.current[k], color=CURRENT, ls=":", lw=1.4)
        ax.set_title(f"{p.lang}  ref n={ref.size}, junk n={junk.size}", fontsize=9, y=1.0, pad=3)
        _light_ticks(ax, log, labels=i + ncols >= len(panels))
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.legend(handles=_legend(), loc="upper center", ncols=4, fontsize=8, frameon=False)
    return _svg(fig)


def _legend() -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    return [Patch(color=REFERENCE, alpha=0.6, label="reference"), Line2D([], [], color=JUNK, label="junk"),
            Line2D([], [], color=PROPOSED, label="proposed bound"),
            Line2D([], [], color=CURRENT, ls=":", label="rule file's bound")]


def _proposal_rows(cal: Calibration) -> list[tuple]:
    rows = []
    for p in cal.proposals:
        rows.append((p.lang, p.rule, _bounds(p.current), _bounds(p.bounds),
                     _share(p.dropped, p.n_reference), p.n_reference, _share(p.caught, p.n_junk), p.n_junk,
                     p.note or ""))
    return rows


def _bounds(bounds: dict[str, float]) -> str:
    return " ".join(f"{k} {v:g}" for k, v in bounds.items())


def _share(k: int, n: int) -> str:
    return pct(k / n) if n else "n/a"


def render_page(cal: Calibration) -> str:
    """The calibration as a self-contained page in the funnel report's style."""
    title = html.escape(f"Calibration — {cal.rules_path}")
    q = cal.quantile
    parts = [page_head(title),
             f"<p>Reference <code>{html.escape(cal.reference.label)}</code>, junk "
             f"<code>{html.escape(cal.junk.label)}</code>. A rule's <code>min</code> is proposed at the {q:g} quantile "
             f"and its <code>max</code> at the {1 - q:g} quantile of the language's reference values (numpy's linear "
             "interpolation), rounded to 4 significant digits; shares are for the rounded bounds.</p>",
             "<h2>Per language</h2>",
             table(["lang", "reference dropped by all bounds", "reference n", "junk caught", "junk n"],
                   [(lang, _share(r, rn), rn, _share(j, jn), jn) for lang, (r, rn, j, jn) in cal.together.items()],
                   classes=["", "n", "n", "n", "n"]),
             "<h2>Per rule and language</h2>",
             table(["lang", "rule", "rule file", "proposed", "reference dropped", "reference n", "junk caught",
                    "junk n", "note"], _proposal_rows(cal), classes=["", "", "", "", "n", "n", "n", "n", ""]),
             "<h2>Distributions</h2>"]
    for rule in sorted({p.rule for p in cal.proposals}):
        props = [p for p in cal.proposals if p.rule == rule]
        figure = rule_figure(cal, rule, props)
        parts.append(f'<section id="{html.escape(rule)}"><h3>{html.escape(rule)}</h3>')
        parts += [f'<p class="doc">{html.escape(f"{p.lang}: {describe(p, q)}")}</p>' for p in props if p.bounds]
        parts.append(figure or '<p class="muted">no values in any language</p>')
        parts.append("</section>")
    parts.append(PAGE_END)
    return "".join(parts)
