"""The run's ``report.html``: documents and characters entering and leaving each stage, per source and language."""

from __future__ import annotations

import html
from typing import Any

from data_platform.report.page import PAGE_END, page_head, pct, table


def _stage_table(stats: dict[str, Any]) -> str:
    rows = [[s["name"], s["kind"], "ran" if s["ran"] else "skipped (complete)", s["documents_in"],
             s["documents_out"], s["documents_dropped"], s["characters_in"], s["characters_out"],
             s["characters_dropped"], s["characters_removed_inside"],
             ", ".join(f"{r}: {d['documents']:,}" for r, d in s["dropped_by_reason"].items())] for s in stats["stages"]]
    return table(["stage", "kind", "this run", "docs in", "docs out", "docs dropped", "chars in", "chars out",
                  "chars dropped", "chars removed inside docs", "drop reasons"], rows,
                 ["", "", "", "n", "n", "n", "n", "n", "n", "n", ""])


def _breakdown(stats: dict[str, Any], key: str) -> str:
    """One row per source (or language): documents entering the first stage, then leaving each stage."""
    stages = stats["stages"]
    names = sorted({n for s in stages for n in s[key]})
    rows = []
    for name in names:
        first = stages[0][key].get(name, {})
        row: list[Any] = [name, first.get("documents_in", 0)]
        for s in stages:
            row.append(s[key].get(name, {}).get("documents_out", 0))
        last = stages[-1][key].get(name, {})
        row += [first.get("characters_in", 0), last.get("characters_out", 0)]
        rows.append(row)
    headers = [key[3:], "docs in", *(f"after {s['name']}" for s in stages), "chars in", "chars out"]
    return table(headers, rows, ["", *["n"] * (len(headers) - 1)])


def build(stats: dict[str, Any]) -> str:
    acc = stats["accounting"]
    kept, n = stats["kept"], max(1, stats["input_documents"])
    verdict = '<span class="ok">OK</span>' if acc["ok"] else '<span class="bad">MISMATCH</span>'
    summary = (f"<p>{stats['input_documents']:,} documents in; {kept['documents']:,} kept "
               f"({pct(kept['documents'] / n)}), {kept['characters']:,} characters; data version "
               f"<code>{html.escape(stats['version']['id'])}</code>. Accounting (input = dropped by every stage "
               f"+ kept): {acc['dropped']:,} + {acc['kept']:,} = {acc['kept_plus_dropped']:,} of {acc['input']:,}: "
               f"{verdict}. Each stage's report.html (filter) and stats.json are in its folder under "
               f"<code>stages/</code>.</p>")
    return "".join([
        page_head(f"Pipeline report — {html.escape(stats['recipe']['name'])}"), summary,
        "<h2>Stages</h2>", _stage_table(stats),
        "<h2>Per source</h2>", _breakdown(stats, "by_source"),
        "<h2>Per language</h2>", _breakdown(stats, "by_lang"),
        PAGE_END,
    ])
