"""Spark readers: inputs of any supported format -> document rows.

The Python work (JSON parsing, HTML decoding, WARC reading) runs on the executors, batch by batch, in the pure functions
of ``data_platform.io.records``; Spark reads bytes, splits files and moves batches.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pyarrow as pa

from data_platform import schema as S
from data_platform.io import records as R
from data_platform.io.hadoop_fs import filesystem
from data_platform.spark import map_batches, spark_schema

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

FORMATS = ("jsonl", "parquet", "html", "warc")
_SUFFIXES = {
    "jsonl": (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".jsonl.bz2", ".json.bz2", ".jsonl.zst"),
    "parquet": (".parquet",),
    "html": (".html", ".htm", ".xhtml"),
    "warc": (".warc", ".warc.gz", ".arc", ".arc.gz"),
}


# Splits of plain files per core: one large file becomes several tasks per core, so the core that finishes first
# takes the next split instead of idling while one long task ends the stage.
SPLITS_PER_CORE = 4


class InputError(ValueError):
    """An input path is missing or of an unknown format (reported to the user in one line)."""


@dataclass(frozen=True)
class Inputs:
    """Input files grouped by format, and files inside input folders that no reader takes."""

    files: dict[str, list[str]]
    ignored: list[str]

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.files.values())


def format_of(path: str) -> str | None:
    low = path.lower()
    return next((fmt for fmt, ends in _SUFFIXES.items() if low.endswith(ends)), None)


def discover(spark: SparkSession, paths: list[str], fmt: str = "auto") -> Inputs:
    """Expand files, folders and globs through Hadoop's FileSystem (local, HDFS, S3A ...) and group by format."""
    found: dict[str, list[str]] = {}
    ignored: list[str] = []
    for raw in paths:
        fs, jpath = filesystem(spark, raw)
        statuses = fs.globStatus(jpath)
        if not statuses:
            raise InputError(f"input not found: {raw}")
        for status in statuses:
            in_folder = status.isDirectory()
            for f in _list_files(fs, status):
                name = f.getName()
                if name.startswith((".", "_")):
                    continue
                kind = fmt if fmt != "auto" else format_of(name)
                if kind is None and in_folder:
                    ignored.append(f.toString())
                elif kind is None:
                    raise InputError(f"unknown input format for {f.toString()}; pass --format {'|'.join(FORMATS)}")
                else:
                    found.setdefault(kind, []).append(f.toString())
    if not found:
        raise InputError(f"no input files of a known format under {', '.join(paths)}")
    return Inputs({k: sorted(v) for k, v in found.items()}, sorted(ignored))


def _list_files(fs: Any, status: Any) -> list[Any]:
    if not status.isDirectory():
        return [status.getPath()]
    it = fs.listFiles(status.getPath(), True)
    out = []
    while it.hasNext():
        out.append(it.next().getPath())
    return out


def read_documents(spark: SparkSession, inputs: Inputs, fields: R.FieldMap, default_source: str | None,
                   max_record_bytes: int | None = None) -> tuple[DataFrame, int]:
    """All inputs as one DataFrame of ``schema.RAW_SCHEMA`` rows, and the number of input records. JSON-lines
    records over ``max_record_bytes`` reach Python as their first bytes only, dropped as ``too_long``."""
    if spark.conf.get("spark.sql.files.minPartitionNum", None) is None:  # unless the user chose
        spark.conf.set("spark.sql.files.minPartitionNum", str(SPLITS_PER_CORE * spark.sparkContext.defaultParallelism))
    frames, counts = [], []
    for fmt, files in inputs.files.items():
        extra = {"max_record_bytes": max_record_bytes} if fmt == "jsonl" else {}
        df, count = _READERS[fmt](spark, files, fields, default_source or fmt, **extra)
        frames.append(df)
        counts.append(count)
    df = frames[0]
    for other in frames[1:]:
        df = df.unionByName(other)
    return df, sum(counts)


Read = tuple["DataFrame", int]  # rows in RAW_SCHEMA and the input count


_CODECS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}


def _read_jsonl(spark: SparkSession, files: list[str], fields: R.FieldMap, source: str,
                max_record_bytes: int | None = None) -> Read:
    """Plain files through Spark's line reader (split across tasks); compressed ones in Python, one task each, so
    a truncated or corrupt stream becomes a quarantined row instead of a failed job."""
    packed = [f for f in files if f.lower().endswith(tuple(_CODECS))]
    plain = [f for f in files if f not in packed]
    reads = ([_read_plain_jsonl(spark, plain, fields, source, max_record_bytes)] if plain else [])
    if packed:
        reads.append(_read_files(spark, packed, lambda path, stream: R.iter_jsonl_rows(
            io.BufferedReader(pa.CompressedInputStream(stream, _CODECS[path.lower()[path.rindex("."):]])),
            path, fields, source, max_record_bytes)))
    df, count = reads[0]
    for other, n in reads[1:]:
        df, count = df.unionByName(other), count + n
    return df, count


def _read_plain_jsonl(spark: SparkSession, files: list[str], fields: R.FieldMap, source: str,
                      max_record_bytes: int | None = None) -> Read:
    from pyspark.sql import functions as F

    lines = (spark.read.option("lineSep", "\n").text(files)  # a record ends at \n only, never at a bare \r
             .select(_without_final_cr(F.col("value").cast("binary")).alias("line"),
                     F.input_file_name().alias("file"))
             .where(F.trim(F.col("line").cast("string")) != ""))
    if max_record_bytes is not None:  # cut in the JVM: a 100 MB record never becomes an Arrow batch or a str
        size = F.octet_length("line")
        big = size > max_record_bytes
        head = F.when(big, F.substring("line", 1, R.OVERSIZE_HEAD_BYTES)).otherwise(F.col("line"))
        lines = lines.select(head.alias("line"), "file", size.alias("size"), F.when(big, F.sha1("line")).alias("sha1"))

    def parse(b: pa.RecordBatch) -> pa.RecordBatch:
        c, blank = b.to_pydict(), [None] * b.num_rows
        records = zip(c["line"], c["file"], c.get("size", blank), c.get("sha1", blank), strict=True)
        return R.to_batch([R.parse_json_line(line, f, fields, source) if digest is None
                           else R.oversize_row(line, f, size, digest, max_record_bytes, fields, source)
                           for line, f, size, digest in records])

    return map_batches(lines, parse, S.RAW_SCHEMA), lines.count()


def _without_final_cr(line: Column) -> Column:
    """The line's bytes without a final carriage return (a \r\n line end); on bytes, so invalid UTF-8 stays."""
    from pyspark.sql import functions as F

    n = F.octet_length(line)
    return F.when(F.substring(line, -1, 1) == F.lit(bytearray(b"\r")), F.substring(line, F.lit(1), n - 1)
                  ).otherwise(line)


def _read_parquet(spark: SparkSession, files: list[str], fields: R.FieldMap, source: str) -> Read:
    from pyspark.sql import functions as F

    df = spark.read.parquet(*files)

    def convert(b: pa.RecordBatch) -> pa.RecordBatch:
        rows = []
        for rec in b.to_pylist():
            origin = rec.pop("__file")
            if isinstance(rec.get(fields.meta), list):  # a map column arrives as key/value pairs
                rec[fields.meta] = dict(rec[fields.meta])
            fallback = R.content_id(origin, json.dumps(rec, sort_keys=True, default=str).encode())
            rows.append(R.record_row(rec, fallback, fields, source))
        return R.to_batch(rows)

    with_file = df.select("*", F.input_file_name().alias("__file"))
    return map_batches(with_file, convert, S.RAW_SCHEMA), df.count()


def _read_files(spark: SparkSession, files: list[str],
               per_file: Callable[[str, Any], Iterator[dict[str, Any]]]) -> Read:
    """One task per file; ``per_file(path, stream)`` yields rows (pyarrow's filesystems open any URI). Not
    ``map_batches``: one input row (a file) becomes many batches."""
    paths = spark.createDataFrame([(f,) for f in files], "path string").repartition(max(1, len(files)))

    def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyarrow import fs as pafs

        for b in batches:
            for path in b.column("path").to_pylist():
                files_of, inner = pafs.FileSystem.from_uri(path)
                with files_of.open_input_stream(inner, compression=None) as stream:
                    chunk: list[dict] = []
                    for r in per_file(path, stream):
                        chunk.append(r)
                        if len(chunk) >= 200:
                            yield R.to_batch(chunk)
                            chunk = []
                    if chunk:
                        yield R.to_batch(chunk)

    df = paths.mapInArrow(read, spark_schema(S.RAW_SCHEMA))
    return df, df.count()


def _read_warc(spark: SparkSession, files: list[str], fields: R.FieldMap, source: str) -> Read:
    return _read_files(spark, files, lambda path, stream: R.iter_warc_rows(stream, path, source))


def _read_html(spark: SparkSession, files: list[str], fields: R.FieldMap, source: str) -> Read:
    return _read_files(spark, files, lambda path, stream: iter([R.html_file_row(path, stream.read(), source)]))


_READERS = {"jsonl": _read_jsonl, "parquet": _read_parquet, "warc": _read_warc, "html": _read_html}
