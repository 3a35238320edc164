"""Small-file and folder operations through Hadoop's FileSystem: the same calls work for local, HDFS and S3A
paths, on the driver (the JVM behind the SparkSession)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def jvm(spark: SparkSession) -> Any:
    """The py4j view of the driver's JVM (always there on the driver of a live session)."""
    view = spark.sparkContext._jvm
    assert view is not None, "no JVM behind this SparkSession (was it stopped?)"
    return view


def filesystem(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """(the Hadoop FileSystem holding ``path``, ``path`` as a Hadoop Path)."""
    jpath = hadoop_path(spark, path)
    return jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), jpath


def hadoop_path(spark: SparkSession, path: str) -> Any:
    return jvm(spark).org.apache.hadoop.fs.Path(path)


def exists(spark: SparkSession, path: str) -> bool:
    fs, jpath = filesystem(spark, path)
    return bool(fs.exists(jpath))


def remove(spark: SparkSession, path: str, recursive: bool = True) -> None:
    """Delete a file or folder (recursively unless told otherwise); a missing path is no error."""
    fs, jpath = filesystem(spark, path)
    fs.delete(jpath, recursive)


def read_text(spark: SparkSession, path: str) -> str | None:
    """A small file's text, or None when it does not exist."""
    fs, jpath = filesystem(spark, path)
    if not fs.exists(jpath):
        return None
    stream = fs.open(jpath)
    try:
        return jvm(spark).org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()


def read_json(spark: SparkSession, path: str) -> Any:
    """A small JSON file that must exist (a job's own stats or index)."""
    content = read_text(spark, path)
    if content is None:
        raise FileNotFoundError(f"{path} does not exist")
    return json.loads(content)


def write_text(spark: SparkSession, path: str, content: str) -> None:
    """Write (or replace) a small text file."""
    fs, jpath = filesystem(spark, path)
    stream = fs.create(jpath, True)
    try:
        stream.write(bytearray(content.encode("utf-8")))
    finally:
        stream.close()


def children(spark: SparkSession, folder: str) -> list[str]:
    """Full paths of the entries of ``folder`` (none when it does not exist)."""
    fs, jpath = filesystem(spark, folder)
    return [s.getPath().toString() for s in fs.listStatus(jpath)] if fs.exists(jpath) else []


def move(spark: SparkSession, src: str, dst: str) -> str:
    """Rename ``src`` to ``dst``, creating ``dst``'s parent folder; returns ``dst`` as Hadoop spells it. Raises
    when the filesystem refuses."""
    fs, source = filesystem(spark, src)
    target = hadoop_path(spark, dst)
    fs.mkdirs(target.getParent())
    if not fs.rename(source, target):
        raise RuntimeError(f"could not move {source.toString()} to {target.toString()}")
    return target.toString()
