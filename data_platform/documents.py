"""What the jobs after the filter share about documents: the row key, ``duplicate_of``, and loading documents.

A job loads its input with ``load_documents``: a funnel output (kept/ parquet, every column kept) as is, any other
reader input with its HTML extracted; every row gets a unique ``_key`` that the job's joins use and that is dropped
before writing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from data_platform import schema as S

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

KEY = "_key"
DUP_OF = "duplicate_of"
DOC_SCHEMA = pa.schema([*S.DOC_FIELDS, pa.field(S.N_CHARS, pa.int64()), pa.field(S.DROP_REASON, pa.string()),
                        pa.field(S.DROP_DETAIL, pa.string())])


def raw_to_documents(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Reader rows -> documents: HTML extracted, quarantined rows passed on with their reason."""
    from data_platform.config import ExtractConfig
    from data_platform.extract import extract_html

    out = []
    for r in batch.to_pylist():
        text, reason, detail, meta = r[S.TEXT], r[S.DROP_REASON], r[S.DROP_DETAIL], dict(r[S.META] or [])
        if reason is None and r[S.HTML] is not None:
            got = extract_html(r[S.HTML], r[S.URL], ExtractConfig(), 30.0)
            text, meta = (got.text, {**meta, **got.meta}) if got.text else (r[S.HTML], meta)
            reason, detail = (None, None) if got.text else ("extract_failed", got.error)
        if reason is None and not (text or "").strip():
            reason, detail = "empty_text", "the record has no text"
        out.append({S.ID: r[S.ID], S.TEXT: text, S.URL: r[S.URL], S.SOURCE: r[S.SOURCE], S.LANG: r[S.LANG],
                    S.META: list(meta.items()), S.N_CHARS: len(text or ""), S.DROP_REASON: reason,
                    S.DROP_DETAIL: detail})
    return pa.RecordBatch.from_pylist(out, schema=DOC_SCHEMA)


def load_documents(spark: SparkSession, inputs: list[str], fmt: str = "auto",
                   source: str | None = None) -> tuple[DataFrame, int]:
    """(documents with a unique ``_key``, the number of input records) from a funnel output or any reader input."""
    from data_platform.io import job_output, spark_io
    from data_platform.io.records import FieldMap
    from data_platform.spark import map_batches

    found = spark_io.discover(spark, inputs, fmt)
    for path in inputs:
        if (run := job_output.interrupted_run(spark, path)) is not None:
            raise spark_io.InputError(f"{path} belongs to an unfinished run ({run} has no "
                                      f"{job_output.COMPLETE_MARKER}); rerun the job that writes it")
    if set(found.files) == {"parquet"}:
        df = spark.read.parquet(*found.files["parquet"])
        if {S.ID, S.TEXT, S.N_CHARS, S.DROP_REASON}.issubset(df.columns):  # the filter job's output
            return with_key(df), df.count()
    raw, count = spark_io.read_documents(spark, found, FieldMap(), source)
    return with_key(map_batches(raw, raw_to_documents, DOC_SCHEMA)), count


def with_key(df: DataFrame) -> DataFrame:
    """``df`` with ``_key``: id + content hash + a row number, unique even when an input repeats an id (only
    identical rows tie)."""
    from pyspark.sql import functions as F

    return df.withColumn(KEY, F.concat_ws("\u0001", F.col(S.ID), F.sha1(F.coalesce(F.col(S.TEXT), F.lit(""))),
                                          F.monotonically_increasing_id().cast("string")))


def live_documents(docs: DataFrame) -> DataFrame:
    """The documents no earlier stage dropped."""
    from pyspark.sql import functions as F

    return docs.where(F.col(S.DROP_REASON).isNull())
