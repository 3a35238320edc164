"""Writing kept/ and dropped/ in one pass, atomically: a staging folder, then renames, then a marker."""

from __future__ import annotations

import json

from data_platform import schema as S

STATUS = "_status"
COMPLETE_MARKER = "_COMPLETE"
CHECKPOINTS = "_checkpoints"


class OutputExistsError(ValueError):
    """The output folder already holds a completed run."""


def _fs(spark, path: str):
    jvm = spark.sparkContext._jvm
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    return jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), jpath, jvm


def prepare_output(spark, out: str, overwrite: bool) -> None:
    """Refuse to clobber a completed run unless asked; clear half-written leftovers of an interrupted one."""
    fs, root, jvm = _fs(spark, out)
    if fs.exists(jvm.org.apache.hadoop.fs.Path(root, COMPLETE_MARKER)) and not overwrite:
        raise OutputExistsError(f"output {out} already holds a completed run; pass --overwrite to replace it")
    for name in ("_staging", CHECKPOINTS, "kept", "dropped", "clusters", "embeddings", "stats.json", "report.html",
                 COMPLETE_MARKER):
        fs.delete(jvm.org.apache.hadoop.fs.Path(root, name), True)


def remove(spark, path: str) -> None:
    """Delete a file or folder (recursively) through Hadoop's FileSystem."""
    fs, jpath, _ = _fs(spark, path)
    fs.delete(jpath, True)


def interrupted_run(spark, path: str) -> str | None:
    """The output folder of an unfinished run (kept/ and dropped/, no ``_COMPLETE``) if ``path`` is its kept/ or
    dropped/ folder; else None. Such a folder may lack rows and must not be read as a result."""
    parent, _, name = path.rstrip("/").rpartition("/")
    if name not in ("kept", "dropped") or not parent:
        return None
    fs, root, jvm = _fs(spark, parent)
    exists = [fs.exists(jvm.org.apache.hadoop.fs.Path(root, n)) for n in ("kept", "dropped", COMPLETE_MARKER)]
    return parent if exists == [True, True, False] else None


def write_partitioned(df, spark, out: str) -> None:
    """Write every row once, split by status, then move the two halves to ``kept/`` and ``dropped/``."""
    from pyspark.sql import functions as F

    staging = f"{out.rstrip('/')}/_staging"
    status = F.when(F.col(S.DROP_REASON).isNull(), F.lit("kept")).otherwise(F.lit("dropped"))
    df.withColumn(STATUS, status).write.mode("overwrite").partitionBy(STATUS).parquet(staging)
    fs, root, jvm = _fs(spark, out)
    for part in ("kept", "dropped"):
        src = jvm.org.apache.hadoop.fs.Path(f"{staging}/{STATUS}={part}")
        dst = jvm.org.apache.hadoop.fs.Path(root, part)
        if fs.exists(src):
            fs.rename(src, dst)
        else:  # no row of that status: an empty but readable folder
            spark.createDataFrame([], df.schema).write.parquet(dst.toString())
    fs.delete(jvm.org.apache.hadoop.fs.Path(staging), True)


def write_text(spark, path: str, content: str) -> None:
    """Write a small text file through Hadoop's FileSystem (works for local and remote outputs)."""
    fs, jpath, _ = _fs(spark, path)
    stream = fs.create(jpath, True)
    try:
        stream.write(bytearray(content.encode("utf-8")))
    finally:
        stream.close()


def use_checkpoints(spark, out: str) -> None:
    """Reliable checkpoints in ``<out>/_checkpoints`` (files, not executor memory): a lost executor costs
    recomputation only. ``finish`` removes them."""
    spark.sparkContext.setCheckpointDir(f"{out.rstrip('/')}/{CHECKPOINTS}")


def finish(spark, out: str, stats: dict, summary: dict) -> None:
    """End of a job: ``stats.json``, checkpoints removed, then ``_COMPLETE`` when the accounting holds."""
    out = out.rstrip("/")
    write_text(spark, f"{out}/stats.json", json.dumps(stats, indent=2, ensure_ascii=False))
    remove(spark, f"{out}/{CHECKPOINTS}")
    if stats["accounting"]["ok"]:
        mark_complete(spark, out, summary)


def mark_complete(spark, out: str, summary: dict) -> None:
    """The last write of a run: readers may trust the folder once this marker exists."""
    write_text(spark, f"{out.rstrip('/')}/{COMPLETE_MARKER}", json.dumps(summary, sort_keys=True) + "\n")
