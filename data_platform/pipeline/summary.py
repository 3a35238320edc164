"""The whole run in one place: ``stats.json`` (documents and characters entering and leaving each stage, per
source and language, with the accounting across stages), ``manifest.json`` and the ``README.md`` dataset card."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from data_platform.io import hadoop_fs as HFS
from data_platform.io.job_output import COMPLETE_MARKER, STATS_FILE, mark_complete
from data_platform.pipeline import fingerprint as FP
from data_platform.pipeline.recipe import Recipe
from data_platform.pipeline.shards import SHARD_INDEX

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# What a run writes at the top of its output folder (removed before it runs again).
RUN_FILES = (STATS_FILE, "report.html", "manifest.json", "README.md", COMPLETE_MARKER)


def _breakdown(stats: dict[str, Any], previous: dict[str, Any] | None, key: str) -> dict[str, dict[str, int]]:
    """Per source (or language): documents and characters entering and leaving a stage."""
    own = stats[key]
    before = previous[key] if previous else None
    out = {}
    for name in sorted(set(own) | set(before or {})):
        e, b = own.get(name, {}), (before or {}).get(name, {})
        out[name] = {"documents_in": e.get("documents", 0),
                     "characters_in": b.get("kept_characters", 0) if before is not None else e.get("characters", 0),
                     "documents_out": e.get("kept_documents", 0), "characters_out": e.get("kept_characters", 0)}
    return out


def stage_summary(result: dict[str, Any], previous: dict[str, Any] | None, out: str) -> dict[str, Any]:
    s = result["stats"]
    chars_in = previous["kept"]["characters"] if previous else s["kept"]["characters"] + s["dropped"]["characters"]
    return {
        "name": result["name"], "kind": result["kind"], "folder": result["folder"][len(out) + 1:],
        "fingerprint": result["fingerprint"], "ran": result["ran"], "elapsed_s": result["elapsed_s"],
        "documents_in": s["input_documents"], "characters_in": chars_in,
        "documents_out": s["kept"]["documents"], "characters_out": s["kept"]["characters"],
        "documents_dropped": s["dropped"]["documents"], "characters_dropped": s["dropped"]["characters"],
        "characters_removed_inside": chars_in - s["kept"]["characters"] - s["dropped"]["characters"],
        "dropped_by_reason": {f["reason"]: {"documents": f["documents_dropped"], "characters": f["characters_dropped"]}
                              for f in s["funnel"] if f["documents_dropped"]},
        "accounting_ok": s["accounting"]["ok"],
        "by_source": _breakdown(s, previous, "by_source"),
        "by_lang": _breakdown(s, previous, "by_lang"),
    }


def _funnel(stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every drop reason of every stage, in order, as the job's funnel table expects it."""
    steps, docs_left = [], stages[0]["documents_in"]
    for st in stages:
        chars_left = st["characters_in"] - st["characters_removed_inside"]
        for reason, d in st["dropped_by_reason"].items():
            docs_left, chars_left = docs_left - d["documents"], chars_left - d["characters"]
            steps.append({"reason": f"{st['name']}: {reason}", "documents_dropped": d["documents"],
                          "characters_dropped": d["characters"], "documents_left": docs_left,
                          "characters_left": chars_left})
    return steps


def accounting(stages: list[dict[str, Any]], manifest: dict[str, Any] | None) -> dict[str, Any]:
    """Each stage takes exactly the previous stage's kept documents; the first stage's input equals everything
    dropped on the way plus the final kept documents (plus: the shards hold every final document)."""
    links = [{"stage": b["name"], "documents_in": b["documents_in"], "previous_kept": a["documents_out"],
              "ok": b["documents_in"] == a["documents_out"]} for a, b in zip(stages, stages[1:], strict=False)]
    dropped = sum(s["documents_dropped"] for s in stages)
    final = stages[-1]["documents_out"]
    ok = all(link["ok"] for link in links) and stages[0]["documents_in"] == dropped + final
    result = {"input": stages[0]["documents_in"], "dropped": dropped, "kept": final,
              "kept_plus_dropped": dropped + final, "stages": links}
    if manifest is not None:
        result["shard_documents"] = manifest["totals"]["documents"]
        ok = ok and manifest["totals"]["documents"] == stages[-1]["documents_in"]
    result["ok"] = ok
    return result


def recipe_hash(recipe: Recipe) -> str:
    """What the recipe does, independent of its input: each stage's kind and configuration (file contents)."""
    return FP.digest([{"kind": s.kind, "config": s.config} for s in recipe.stages])


def manifest(recipe: Recipe, shards: list[dict[str, Any]], shard_folder: str, columns: list[str],
             version: dict[str, str]) -> dict[str, Any]:
    entries = [{**s, "path": f"{shard_folder}/{s['path']}"} for s in shards]
    by: dict[str, dict[str, Any]] = {"by_source": {}, "by_lang": {}}
    for s in entries:
        for key, value in (("by_source", s["source"]), ("by_lang", s["lang"])):
            e = by[key].setdefault(value or "unknown", {"shards": 0, "documents": 0, "characters": 0, "bytes": 0})
            e["shards"] += 1
            for k in ("documents", "characters", "bytes"):
                e[k] += s[k]
    totals = {"shards": len(entries), **{k: sum(s[k] for s in entries) for k in ("documents", "characters", "bytes")}}
    return {"recipe": recipe.name, "version": version, "columns": columns, "totals": totals,
            "by_source": dict(sorted(by["by_source"].items())), "by_lang": dict(sorted(by["by_lang"].items())),
            "shards": entries}


def write_run(spark: SparkSession, recipe: Recipe, out: str, inputs_fp: dict[str, Any], results: list[dict[str, Any]],
              elapsed_s: float) -> dict[str, Any]:
    """Write stats.json, report.html, and for a recipe ending in shards manifest.json and README.md."""
    from data_platform.pipeline import card, report

    stages = [stage_summary(r, results[i - 1]["stats"] if i else None, out) for i, r in enumerate(results)]
    r_hash = recipe_hash(recipe)
    version = {"id": hashlib.sha256(f"{r_hash}:{inputs_fp['sha256']}".encode()).hexdigest()[:16],
               "recipe_sha256": r_hash, "input_sha256": inputs_fp["sha256"]}
    man = None
    if results[-1]["kind"] == "shards":
        last = results[-1]
        shards = HFS.read_json(spark, f"{last['folder']}/{SHARD_INDEX}")
        man = manifest(recipe, shards, stages[-1]["folder"], last["stats"]["shards"]["columns"], version)
    stats = {"recipe": {"name": recipe.name, "path": recipe.path, "description": recipe.spec.description},
             "version": version, "inputs": {"paths": recipe.inputs, "fingerprint": inputs_fp},
             "input_documents": stages[0]["documents_in"],
             "kept": {"documents": stages[-1]["documents_out"], "characters": stages[-1]["characters_out"]},
             "dropped": {"documents": sum(s["documents_dropped"] for s in stages),
                         "characters": sum(s["characters_dropped"] for s in stages)},
             "accounting": accounting(stages, man), "funnel": _funnel(stages), "stages": stages,
             "run": {"output": out, "stages_run": [s["name"] for s in stages if s["ran"]],
                     "stages_skipped": [s["name"] for s in stages if not s["ran"]], "elapsed_s": elapsed_s}}
    stats["output_documents"] = stats["accounting"]["kept_plus_dropped"]
    HFS.write_text(spark, f"{out}/{STATS_FILE}", json.dumps(stats, indent=2, ensure_ascii=False))
    HFS.write_text(spark, f"{out}/report.html", report.build(stats))
    if man is not None:
        HFS.write_text(spark, f"{out}/manifest.json", json.dumps(man, indent=2, ensure_ascii=False))
        HFS.write_text(spark, f"{out}/README.md", card.build(recipe, stats, man))
    if stats["accounting"]["ok"]:
        mark_complete(spark, out, {"version": version["id"], "documents": stats["kept"]["documents"]})
    return stats
