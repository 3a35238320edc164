"""A job's output folder from start to finish, the same for every job (filter, dedup, semantic, tag, shards).

``with JobOutput(spark, out, overwrite) as job:`` refuses to replace a completed run unless asked, clears what an
interrupted run left, and sets reliable checkpoints in ``<out>/_checkpoints``; the job then writes its data and
ends with ``job.finish(stats)``: ``stats.json``, the checkpoints removed, and ``_COMPLETE`` last, only when the
accounting holds. Readers trust a folder once ``_COMPLETE`` exists; a job that fails leaves none.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from data_platform.io import hadoop_fs as HFS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from data_platform.alarms import AlarmCheck

COMPLETE_MARKER = "_COMPLETE"
CHECKPOINTS = "_checkpoints"
STATS_FILE = "stats.json"
# Everything a job writes into its output folder: cleared before it runs again.
JOB_FILES = ("_staging", CHECKPOINTS, "kept", "dropped", "clusters", "embeddings", STATS_FILE, "report.html",
             COMPLETE_MARKER)


class OutputExistsError(ValueError):
    """The output folder already holds a completed run."""


class JobOutput:
    """One job's output folder; see the module docstring for the protocol."""

    def __init__(self, spark: SparkSession, path: str, overwrite: bool = True, clear: bool = True) -> None:
        self.spark, self.path, self.overwrite, self.clear = spark, path.rstrip("/"), overwrite, clear
        self.started = time.time()

    def __enter__(self) -> JobOutput:
        if self.clear:
            self._prepare()
        # Reliable checkpoints (files, not executor memory): a lost executor costs recomputation only.
        self.spark.sparkContext.setCheckpointDir(self.file(CHECKPOINTS))
        return self

    def __exit__(self, exc_type: type | None, *_: Any) -> None:
        if exc_type is None:  # a run that wrote no stats (a report-only run) leaves no checkpoints either
            HFS.remove(self.spark, self.file(CHECKPOINTS))

    def _prepare(self) -> None:
        if HFS.exists(self.spark, self.file(COMPLETE_MARKER)) and not self.overwrite:
            raise OutputExistsError(f"output {self.path} already holds a completed run; pass --overwrite to "
                                    "replace it")
        for name in JOB_FILES:
            HFS.remove(self.spark, self.file(name))

    def file(self, name: str) -> str:
        """The path of ``name`` inside the output folder."""
        return f"{self.path}/{name}"

    def run_info(self, **facts: Any) -> dict[str, Any]:
        """``stats["run"]``: what the job was given, and the seconds since it started."""
        return {**facts, "elapsed_s": round(time.time() - self.started, 2)}

    def finish(self, stats: dict[str, Any], alarms: AlarmCheck | None = None, **marker: Any) -> dict[str, Any]:
        """``stats.json`` (with the removal-rate ``alarms`` checked), checkpoints removed, then ``_COMPLETE`` (input
        documents and ``marker``) when the accounting holds and no alarm stops the job; returns ``stats``."""
        messages = alarms.apply(stats) if alarms else []
        HFS.write_text(self.spark, self.file(STATS_FILE), json.dumps(stats, indent=2, ensure_ascii=False))
        HFS.remove(self.spark, self.file(CHECKPOINTS))
        if alarms:
            alarms.act(messages)
        if stats["accounting"]["ok"]:
            mark_complete(self.spark, self.path, {"input_documents": stats["input_documents"], **marker})
        return stats


def mark_complete(spark: SparkSession, out: str, summary: dict[str, Any]) -> None:
    """The last write of a run: readers may trust the folder once this marker exists."""
    HFS.write_text(spark, f"{out.rstrip('/')}/{COMPLETE_MARKER}", json.dumps(summary, sort_keys=True) + "\n")


def interrupted_run(spark: SparkSession, path: str) -> str | None:
    """The output folder of an unfinished run (kept/ and dropped/, no ``_COMPLETE``) if ``path`` is its kept/ or
    dropped/ folder; else None. Such a folder may lack rows and must not be read as a result."""
    parent, _, name = path.rstrip("/").rpartition("/")
    if name not in ("kept", "dropped") or not parent:
        return None
    present = [HFS.exists(spark, f"{parent}/{n}") for n in ("kept", "dropped", COMPLETE_MARKER)]
    return parent if present == [True, True, False] else None
