"""Running a recipe: stages in order, each persisted under ``<out>/stages/NN-<name>/`` with its fingerprint.

A stage is skipped when its folder holds ``_COMPLETE`` and a ``stage.json`` with the fingerprint computed now;
otherwise its folder is cleared, ``stage.json`` written, and the stage run (its ``_COMPLETE`` comes last). As
each fingerprint includes the previous one, a changed stage invalidates itself and every later stage; once a
stage has run, every later stage runs too (its input was rewritten). At the
end the whole run is summarized in ``stats.json`` and ``report.html``, and a recipe ending in shards gets
``manifest.json`` and the ``README.md`` dataset card.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Callable

from data_platform.io import hadoop_fs as HFS
from data_platform.io import spark_io
from data_platform.io.job_output import COMPLETE_MARKER
from data_platform.pipeline import fingerprint as FP
from data_platform.pipeline import summary
from data_platform.pipeline.recipe import Recipe, Stage
from data_platform.pipeline.stages import REGISTRY

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STAGE_FILE = "stage.json"


class PipelineError(RuntimeError):
    """A stage finished without its accounting adding up."""


def stage_folder(out: str, index: int, name: str) -> str:
    return f"{out.rstrip('/')}/stages/{index:02d}-{name}"


def _is_current(spark: SparkSession, folder: str, fingerprint: str) -> bool:
    marker = HFS.read_text(spark, f"{folder}/{COMPLETE_MARKER}")
    stage = HFS.read_text(spark, f"{folder}/{STAGE_FILE}")
    return marker is not None and stage is not None and json.loads(stage)["fingerprint"] == fingerprint


def _remove_stale(spark: SparkSession, out: str, keep: set[str]) -> None:
    """Stage folders of stages the recipe no longer has."""
    for path in HFS.children(spark, f"{out.rstrip('/')}/stages"):
        if path.rstrip("/").rpartition("/")[2] not in keep:
            HFS.remove(spark, path)


def run_pipeline(spark: SparkSession, recipe: Recipe, output: str,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) the recipe into ``output``; returns the whole run's stats (also ``<output>/stats.json``).
    ``log`` gets one line per stage: skipped, or run with its documents in and kept."""
    started = time.time()
    out = output.rstrip("/")
    for name in summary.RUN_FILES:
        HFS.remove(spark, f"{out}/{name}", recursive=False)
    found = spark_io.discover(spark, recipe.inputs, getattr(recipe.stages[0].config, "format", "auto"))
    inputs_fp = FP.input_fingerprint(spark, [f for fs_ in found.files.values() for f in fs_],
                                     recipe.spec.input_fingerprint)
    _remove_stale(spark, out, {f"{i:02d}-{s.name}" for i, s in enumerate(recipe.stages)})
    previous, inputs, results, rerun = inputs_fp["sha256"], recipe.inputs, [], False
    for i, stage in enumerate(recipe.stages):
        folder = stage_folder(out, i, stage.name)
        fingerprint = FP.digest({"kind": stage.kind, "config": stage.config, "previous": previous})
        t0 = time.time()
        ran = rerun or not _is_current(spark, folder, fingerprint)
        if ran:
            log(f"stage {i:02d}-{stage.name}: running")
            stats, rerun = _run_stage(spark, stage, inputs, folder, fingerprint, previous), True
            log(f"stage {i:02d}-{stage.name}: done in {time.time() - t0:.1f} s, {stats['input_documents']:,} "
                f"documents in, {stats['kept']['documents']:,} kept")
        else:
            stats = HFS.read_json(spark, f"{folder}/stats.json")
            log(f"stage {i:02d}-{stage.name}: complete, skipped")
        results.append({"index": i, "name": stage.name, "kind": stage.kind, "folder": folder,
                        "fingerprint": fingerprint, "ran": ran, "elapsed_s": round(time.time() - t0, 2),
                        "stats": stats})
        previous, inputs = fingerprint, [f"{folder}/kept"]
    return summary.write_run(spark, recipe, out, inputs_fp, results, round(time.time() - started, 2))


def _run_stage(spark: SparkSession, stage: Stage, inputs: list[str], folder: str, fingerprint: str,
               previous: str) -> dict[str, Any]:
    """Clear the stage's folder, write ``stage.json``, run the stage; its stats, or PipelineError when its
    accounting does not add up."""
    HFS.remove(spark, folder)
    HFS.write_text(spark, f"{folder}/{STAGE_FILE}", json.dumps(
        {"name": stage.name, "kind": stage.kind, "fingerprint": fingerprint, "previous": previous,
         "config": FP.canonical(stage.config)}, indent=2, ensure_ascii=False))
    stats = REGISTRY[stage.kind].run(spark, inputs, folder, stage.config)
    if not stats["accounting"]["ok"]:
        raise PipelineError(f"stage {stage.name}: {stats['accounting']['input']} documents in, "
                            f"{stats['accounting']['kept_plus_dropped']} out")
    return stats
