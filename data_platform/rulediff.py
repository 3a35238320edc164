"""What-if diff between two rule files over the same documents.

Rule values are computed once (under the old file) and both files' conditions are evaluated on them; a value is
recomputed only for a rule whose value-affecting parameters (``n``, word lists ...) differ. When the files differ
before the rules (limits, extraction, normalization, models, word lists), both are run in full instead.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from data_platform import schema as S
from data_platform.config import RuleSet
from data_platform.funnel import RuleValues, decide, group_rows, prepare_rows, process_batch

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SNIPPET_CHARS = 300
NEWLY_DROPPED, NEWLY_KEPT, REASON_CHANGED, SAME = "newly_dropped", "newly_kept", "reason_changed", "same"

DIFF_SCHEMA = pa.schema([
    pa.field(S.ID, pa.string()), pa.field(S.LANG, pa.string()), pa.field(S.SOURCE, pa.string()),
    pa.field(S.N_CHARS, pa.int64()), pa.field("old_reason", pa.string()), pa.field("new_reason", pa.string()),
    pa.field("change", pa.string()), pa.field("rule", pa.string()), pa.field("value", pa.float64()),
    pa.field("old_bound", pa.string()), pa.field("new_bound", pa.string()), pa.field("snippet", pa.string()),
])


def same_preparation(old: RuleSet, new: RuleSet) -> bool:
    """True when everything before the rules is identical, so one preparation serves both files."""
    a, b = old.config, new.config
    before_rules = ("limits", "extract", "normalize", "clean", "decontamination")
    return all(getattr(a, k) == getattr(b, k) for k in before_rules) and old.resources == new.resources


def diff_batch(batch: pa.RecordBatch, old: RuleSet, new: RuleSet) -> pa.RecordBatch:
    """One row per document: its fate under each file and, when it changed, the rule responsible."""
    if not same_preparation(old, new):
        return _diff_full(batch, old, new)
    cols, rows, live = prepare_rows(batch, old)
    fates: dict[int, tuple[str | None, str | None, dict | None, dict | None]] = {
        id(r): (r.reason, r.reason, None, None) for r in rows}  # quarantined: same fate on both sides
    for (lang, source), members in group_rows(live).items():
        values = RuleValues(members, lang, old)
        old_v = decide(values, old.resolve(lang, source).rules)
        new_v = decide(values, new.resolve(lang, source).rules)
        for row, (o_res, o_fail), (n_res, n_fail) in zip(members, old_v, new_v, strict=True):
            o_reason, n_reason = (o_fail or {}).get("name"), (n_fail or {}).get("name")
            rule = n_reason or o_reason
            fates[id(row)] = (o_reason, n_reason, _result(o_res, rule), _result(n_res, rule))
    out = []
    for doc_id, row in zip(cols[S.ID], rows, strict=True):
        o_reason, n_reason, o_hit, n_hit = fates[id(row)]
        doc = {S.LANG: row.lang, S.SOURCE: row.source, S.TEXT: row.text}
        out.append(_doc_row(doc_id, doc, o_reason, n_reason, n_reason or o_reason, o_hit, n_hit))
    return pa.RecordBatch.from_pylist(out, schema=DIFF_SCHEMA)


def _diff_full(batch: pa.RecordBatch, old: RuleSet, new: RuleSet) -> pa.RecordBatch:
    cols = batch.to_pydict()
    out = []
    both = zip(process_batch(batch, old).to_pylist(), process_batch(batch, new).to_pylist(), strict=True)
    for i, (o, n) in enumerate(both):
        rule = n["drop_reason"] or o["drop_reason"]
        out.append(_doc_row(cols[S.ID][i], n, o["drop_reason"], n["drop_reason"], rule,
                            _result(o["rules"], rule), _result(n["rules"], rule)))
    return pa.RecordBatch.from_pylist(out, schema=DIFF_SCHEMA)


def _result(results: list[dict], rule: str | None) -> dict | None:
    return next((r for r in results if r["name"] == rule), None) if rule else None


def _doc_row(doc_id, doc: dict, old_reason, new_reason, rule, o_res, n_res) -> dict[str, Any]:
    change = _change(old_reason, new_reason)
    text = doc[S.TEXT] or ""
    res = n_res or o_res
    return {S.ID: doc_id, S.LANG: doc[S.LANG], S.SOURCE: doc[S.SOURCE], S.N_CHARS: len(text),
            "old_reason": old_reason, "new_reason": new_reason, "change": change,
            "rule": rule if change != SAME else None, "value": res["value"] if res and change != SAME else None,
            "old_bound": _bound(o_res) if change != SAME else None,
            "new_bound": _bound(n_res) if change != SAME else None,
            "snippet": text[:SNIPPET_CHARS] if change != SAME else None}


def _change(old_reason: str | None, new_reason: str | None) -> str:
    if old_reason == new_reason:
        return SAME
    if old_reason is None:
        return NEWLY_DROPPED
    return NEWLY_KEPT if new_reason is None else REASON_CHANGED


def _bound(res: dict | None) -> str | None:
    if res is None:
        return "not applied"
    parts = [f"min {res['min']:g}" if res["min"] is not None else "",
             f"max {res['max']:g}" if res["max"] is not None else ""]
    mode = "" if res["enforced"] else " (tag only)"
    return (" ".join(p for p in parts if p) or "no bound") + mode


def summarize(counts: list[dict[str, Any]], examples: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """Changes grouped by (change, rule): documents, characters, per language and source, examples."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for c in counts:
        g = groups.setdefault((c["change"], c["rule"]), {"change": c["change"], "rule": c["rule"], "documents": 0,
                                                         "characters": 0, "by_lang": defaultdict(int),
                                                         "by_source": defaultdict(int), "examples": []})
        g["documents"] += c["documents"]
        g["characters"] += c["characters"]
        g["by_lang"][c[S.LANG] or "unknown"] += c["documents"]
        g["by_source"][c[S.SOURCE] or "unknown"] += c["documents"]
    for e in sorted(examples, key=lambda e: e[S.ID]):
        if (e["change"], e["rule"]) in groups:
            groups[(e["change"], e["rule"])]["examples"].append(
                {k: e[k] for k in (S.ID, S.LANG, "old_reason", "new_reason", "value", "old_bound", "new_bound",
                                   "snippet")})
    order = [NEWLY_DROPPED, NEWLY_KEPT, REASON_CHANGED]
    ordered = sorted(groups.values(), key=lambda g: (order.index(g["change"]), -g["documents"], g["rule"] or ""))
    for g in ordered:
        g["by_lang"], g["by_source"] = dict(sorted(g["by_lang"].items())), dict(sorted(g["by_source"].items()))
    changed = {c: sum(g["documents"] for g in ordered if g["change"] == c) for c in order}
    return {"documents": total, "changed": changed, "groups": ordered}


def render_text(summary: dict[str, Any], old: str, new: str) -> str:
    """The diff for the console."""
    c = summary["changed"]
    lines = [f"rules diff {old} -> {new} over {summary['documents']:,} documents: "
             f"{c[NEWLY_DROPPED]:,} newly dropped, {c[NEWLY_KEPT]:,} newly kept, {c[REASON_CHANGED]:,} reason changed"]
    for g in summary["groups"]:
        langs = ", ".join(f"{k} {v}" for k, v in g["by_lang"].items())
        lines.append(f"  {g['change']:<15} {g['rule']:<24} {g['documents']:>7,} docs {g['characters']:>10,} chars  "
                     f"[{langs}]")
        for e in g["examples"]:
            snippet = " ".join((e["snippet"] or "").split())[:100]
            lines.append(f"      {e['id']} ({e['lang']}) {e['old_reason'] or 'kept'} -> {e['new_reason'] or 'kept'}, "
                         f"{g['rule']}={_num(e['value'])} ({e['old_bound']} -> {e['new_bound']}): {snippet}")
    return "\n".join(lines)


def _num(v: float | None) -> str:
    return "none" if v is None else f"{v:.4g}"


def render_html(summary: dict[str, Any], old: str, new: str) -> str:
    """The diff as a self-contained page in the funnel report's style."""
    from data_platform.report.page import PAGE_END, page_head, table

    c = summary["changed"]
    parts = [page_head(html.escape(f"Rules diff — {old} → {new}")),
             f"<p>{summary['documents']:,} documents: <b>{c[NEWLY_DROPPED]:,}</b> newly dropped, "
             f"<b>{c[NEWLY_KEPT]:,}</b> newly kept, <b>{c[REASON_CHANGED]:,}</b> dropped for another reason.</p>",
             table(["change", "rule", "documents", "characters", "per language", "per source"],
                   [(g["change"], g["rule"], g["documents"], g["characters"],
                     ", ".join(f"{k} {v}" for k, v in g["by_lang"].items()),
                     ", ".join(f"{k} {v}" for k, v in g["by_source"].items())) for g in summary["groups"]],
                   classes=["", "", "n", "n", "", ""])]
    for g in summary["groups"]:
        parts.append(f'<section id="{g["change"]}-{html.escape(g["rule"] or "")}"><h3>{g["change"]} · '
                     f'{html.escape(g["rule"] or "")}</h3>')
        parts.append(table(["id", "lang", "old fate", "new fate", "value", "old bound", "new bound", "text"],
                           [(e["id"], e["lang"], e["old_reason"] or "kept", e["new_reason"] or "kept", e["value"],
                             e["old_bound"], e["new_bound"], e["snippet"]) for e in g["examples"]],
                           classes=["", "", "", "", "n", "", "", "snip"]))
        parts.append("</section>")
    parts.append(PAGE_END)
    return "".join(parts)


def run_diff(spark: SparkSession, old: RuleSet, new: RuleSet, inputs: list[str], output: str, fmt: str = "auto",
             source: str | None = None, examples: int = 5) -> dict[str, Any]:
    """Diff every input document on Spark, write ``diff/`` (parquet), ``diff.json`` and ``diff.html``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from data_platform.io import hadoop_fs, spark_io
    from data_platform.io.records import FieldMap
    from data_platform.models.shipping import ship_files
    from data_platform.spark import map_batches

    found = spark_io.discover(spark, inputs, fmt)
    old, new = ship_files(spark.sparkContext, old), ship_files(spark.sparkContext, new)
    raw, total = spark_io.read_documents(spark, found, FieldMap(), source)

    out = output.rstrip("/")
    map_batches(raw, lambda b: diff_batch(b, old, new), DIFF_SCHEMA).write.mode("overwrite").parquet(f"{out}/diff")
    changed = spark.read.parquet(f"{out}/diff").where(F.col("change") != SAME)
    counts = (changed.groupBy("change", "rule", "lang", "source")
              .agg(F.count(F.lit(1)).alias("documents"), F.sum("n_chars").alias("characters")))
    first = Window.partitionBy("change", "rule").orderBy("id")
    shown = changed.withColumn("_n", F.row_number().over(first)).where(F.col("_n") <= examples)
    summary = summarize([r.asDict() for r in counts.collect()], [r.asDict() for r in shown.collect()], total)
    summary["old"], summary["new"] = old.path, new.path
    hadoop_fs.write_text(spark, f"{out}/diff.json", json.dumps(summary, indent=2, ensure_ascii=False))
    hadoop_fs.write_text(spark, f"{out}/diff.html", render_html(summary, old.path, new.path))
    return summary
