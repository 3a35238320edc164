"""The funnel report's figures (matplotlib, Agg), each returned as a PNG data URI: the funnel's bars and a rule's
value histograms per language."""

from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, LogLocator, MaxNLocator, NullLocator

from data_platform import schema as S

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DPI = 85
BINS = 30


def _png(fig: Figure) -> str:
    """A figure as a PNG data URI (rendered by Agg)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def funnel_figure(steps: list[dict[str, Any]]) -> str:
    """Two horizontal bar charts: documents and characters left after each stage, in priority order."""
    fig = Figure(figsize=(12, 0.32 * len(steps) + 1.2), layout="constrained")
    names = [s["reason"] for s in steps]
    for ax, unit in zip(fig.subplots(1, 2, sharey=True), ("documents", "characters"), strict=True):
        left = [s[f"{unit}_left"] for s in steps]
        colors = ["#98a0ad" if i and not s[f"{unit}_dropped"] else "#3b6fb6" for i, s in enumerate(steps)]
        ax.barh(names, left, color=colors)
        top = max(left) or 1
        for y, (n, s) in enumerate(zip(left, steps, strict=True)):
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


def _light_ticks(ax: Axes, log: bool, labels: bool) -> None:
    """Few ticks, no minor ones, x labels only where asked: ticks dominate the cost of many small axes."""
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(numticks=5))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(MaxNLocator(3, integer=True))
    ax.tick_params(labelsize=7, labelbottom=labels)


def small_multiples(n: int, head: float, hspace: float) -> tuple[Figure, list[Axes], int]:
    """A figure of ``n`` panels, four per row, sharing the x axis, ``head`` inches above them for a title; with its
    axes and its number of columns."""
    ncols = min(4, n)
    nrows = math.ceil(n / ncols)
    height = 1.9 * nrows + head
    fig = Figure(figsize=(3.1 * ncols, height))
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.5 / height, top=1 - (head + 0.05) / height, wspace=0.25,
                        hspace=hspace)
    return fig, list(fig.subplots(nrows, ncols, sharex=True, squeeze=False).flat), ncols


def rule_histograms(values: pd.DataFrame, rule: str) -> str | None:
    """Small multiples: the rule's values per language, with that language's min (blue) / max (red) bounds."""
    sub = values[(values["rule"] == rule) & values["value"].notna()]
    if sub.empty:
        return None
    langs = sorted(sub[S.LANG].unique())
    edges, log = _bins(sub["value"].to_numpy(), sub[["min", "max"]].stack().to_numpy())
    fig, axes, ncols = small_multiples(len(langs), head=0.3, hspace=0.45)
    for i, (ax, lang) in enumerate(zip(axes, langs, strict=False)):
        g = sub[sub[S.LANG] == lang]
        ax.hist(np.clip(g["value"], edges[0], edges[-1]), bins=edges.tolist(), histtype="stepfilled", color="#7d9fd3")
        for bound, color in (("min", "#1f4fd1"), ("max", "#c0392b")):
            for b in g[bound].dropna().unique():
                ax.axvline(b, color=color, ls="--", lw=1.2)
        zeros = int((g["value"] <= 0).sum()) if log else 0
        ax.set_title(f"{lang}  n={len(g)}" + (f", {zeros} at ≤0" if zeros else ""), fontsize=9, y=1.0, pad=3)
        _light_ticks(ax, log, labels=i + ncols >= len(langs))  # the lowest panel of each column
    for ax in axes[len(langs):]:
        ax.set_visible(False)
    return _png(fig)
