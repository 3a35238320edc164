"""The shared look of the project's HTML pages (funnel report, rule diff): style, tables, number formats."""

from __future__ import annotations

import html
import math
from typing import Any, Iterable, Sequence

import numpy as np

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1280px;padding:0 24px 48px;
color:#1d2330;font-size:14px;line-height:1.45}
h1{margin:24px 0 4px}h2{margin-top:40px;border-bottom:2px solid #d7dce5;padding-bottom:4px}
h3{margin:32px 0 2px;font-family:ui-monospace,Menlo,Consolas,monospace}h4{margin:16px 0 6px}
nav{font-size:13px;columns:3}nav a{display:block;text-decoration:none}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #d7dce5;padding:3px 8px;vertical-align:top}
th{background:#eef1f6;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.zero td{color:#98a0ad}tr.alarm td{color:#b91c1c;font-weight:600}
.wide{overflow-x:auto}.doc{color:#4a5363;margin:2px 0 8px}.muted{color:#6b7280}
.bad{color:#b42318;font-weight:600}.ok{color:#067647;font-weight:600}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:16px}.pair>div{min-width:0}.pair table{width:100%}
td.text{width:55%;min-width:16em}
.snip{white-space:pre-wrap;word-break:break-word;max-height:9em;overflow:auto;font-family:ui-monospace,Menlo,
Consolas,monospace;font-size:12px;background:#f7f8fa}
img{max-width:100%;display:block}
"""

PAGE_END = "</body></html>"


def page_head(title: str) -> str:
    """The start of a self-contained page; ``title`` must already be escaped."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{CSS}</style></head><body><h1>{title}</h1>")


def fmt(x: Any) -> str:
    """A cell value as escaped text: integers with separators, floats with 4 significant digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, (int, np.integer)):
        return f"{x:,}"
    if isinstance(x, (float, np.floating)):
        return f"{x:.4g}"
    return html.escape(str(x))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], classes: Sequence[str] = (),
           row_class: Sequence[str] | None = None) -> str:
    """An HTML table with escaped cells. ``classes``: a CSS class per column (``n`` numbers, ``snip`` text)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, x in enumerate(row):
            cls = classes[j] if j < len(classes) else ""
            if cls == "snip":
                cells.append(f'<td class="text"><div class="snip">{fmt(x)}</div></td>')
            else:
                cells.append(f'<td class="{cls}">{fmt(x)}</td>' if cls else f"<td>{fmt(x)}</td>")
        tr = f' class="{row_class[i]}"' if row_class and row_class[i] else ""
        body.append(f"<tr{tr}>{''.join(cells)}</tr>")
    return f'<div class="wide"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def pct(x: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{100 * x:.1f}%"
