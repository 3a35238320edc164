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
from typing import Any, Callable

from data_platform.io import spark_io, writers
from data_platform.pipeline import fingerprint as FP
from data_platform.pipeline.recipe import Recipe
from data_platform.pipeline.stages import REGISTRY

STAGE_FILE = "stage.json"


class PipelineError(RuntimeError):
    """A stage finished without its accounting adding up."""


def stage_folder(out: str, index: int, name: str) -> str:
    return f"{out.rstrip('/')}/stages/{index:02d}-{name}"


def _fs(spark, path: str):
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), p, jvm


def read_text(spark, path: str) -> str | None:
    """A small file's text through Hadoop's FileSystem, or None when it does not exist."""
    fs, p, jvm = _fs(spark, path)
    if not fs.exists(p):
        return None
    stream = fs.open(p)
    try:
        return jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()


def _is_current(spark, folder: str, fingerprint: str) -> bool:
    marker = read_text(spark, f"{folder}/{writers.COMPLETE_MARKER}")
    stage = read_text(spark, f"{folder}/{STAGE_FILE}")
    return marker is not None and stage is not None and json.loads(stage)["fingerprint"] == fingerprint


def _remove_stale(spark, out: str, keep: set[str]) -> None:
    """Stage folders of stages the recipe no longer has."""
    fs, root, jvm = _fs(spark, f"{out.rstrip('/')}/stages")
    if fs.exists(root):
        for status in fs.listStatus(root):
            if status.getPath().getName() not in keep:
                fs.delete(status.getPath(), True)


def run_pipeline(spark, recipe: Recipe, output: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) the recipe into ``output``; returns the whole run's stats (also ``<output>/stats.json``)."""
    from data_platform.pipeline import summary

    started = time.time()
    out = output.rstrip("/")
    for name in ("stats.json", "report.html", "manifest.json", "README.md", writers.COMPLETE_MARKER):
        fs, p, _ = _fs(spark, f"{out}/{name}")
        fs.delete(p, False)
    found = spark_io.discover(spark, recipe.inputs, getattr(recipe.stages[0].config, "format", "auto"))
    inputs_fp = FP.input_fingerprint(spark, [f for fs_ in found.files.values() for f in fs_],
                                     recipe.spec.input_fingerprint)
    _remove_stale(spark, out, {f"{i:02d}-{s.name}" for i, s in enumerate(recipe.stages)})
    previous, inputs, results, rerun = inputs_fp["sha256"], recipe.inputs, [], False
    for i, stage in enumerate(recipe.stages):
        folder = stage_folder(out, i, stage.name)
        fingerprint = FP.digest({"kind": stage.kind, "config": stage.config, "previous": previous})
        t0 = time.time()
        if not rerun and _is_current(spark, folder, fingerprint):
            stats, ran = json.loads(read_text(spark, f"{folder}/stats.json")), False
            log(f"stage {i:02d}-{stage.name}: complete, skipped")
        else:
            log(f"stage {i:02d}-{stage.name}: running")
            fs, p, _ = _fs(spark, folder)
            fs.delete(p, True)
            writers.write_text(spark, f"{folder}/{STAGE_FILE}", json.dumps(
                {"name": stage.name, "kind": stage.kind, "fingerprint": fingerprint, "previous": previous,
                 "config": FP.canonical(stage.config)}, indent=2, ensure_ascii=False))
            stats, ran, rerun = REGISTRY[stage.kind].run(spark, inputs, folder, stage.config), True, True
            if not stats["accounting"]["ok"]:
                raise PipelineError(f"stage {stage.name}: {stats['accounting']['input']} documents in, "
                                    f"{stats['accounting']['kept_plus_dropped']} out")
        results.append({"index": i, "name": stage.name, "kind": stage.kind, "folder": folder,
                        "fingerprint": fingerprint, "ran": ran, "elapsed_s": round(time.time() - t0, 2),
                        "stats": stats})
        previous, inputs = fingerprint, [f"{folder}/kept"]
    return summary.write_run(spark, recipe, out, inputs_fp, results, round(time.time() - started, 2))
