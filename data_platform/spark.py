"""Spark for the jobs: the session (local[*] unless told otherwise; Arrow batches sized for text documents),
Arrow <-> Spark schemas, and ``map_batches``, the one way a job applies an Arrow-batch function to a DataFrame."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Callable, Iterator

import pyarrow as pa

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

BatchFn = Callable[[pa.RecordBatch], pa.RecordBatch]


def build_session(app: str, master: str | None = None, conf: dict[str, str] | None = None,
                  progress: bool = False) -> SparkSession:
    """A SparkSession whose Python workers use this interpreter; ``master`` overrides spark-submit's;
    ``progress`` shows Spark's console progress bar (the command-line jobs turn it on when stderr is a terminal)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    elif "PYSPARK_GATEWAY_PORT" not in os.environ:  # plain `python`, not spark-submit (which sets --master)
        builder = builder.master("local[*]")
    settings = {
        # Documents are large: small Arrow batches keep Python worker memory bounded.
        "spark.sql.execution.arrow.maxRecordsPerBatch": "500",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "true" if progress else "false",
        "spark.sql.sources.partitionOverwriteMode": "static",
    }
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_schema(schema: pa.Schema) -> StructType:
    """The Spark schema of an Arrow schema."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def arrow_schema(df: DataFrame) -> pa.Schema:
    """The Arrow schema of a Spark DataFrame (what ``mapInArrow`` hands to Python)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema)


def map_batches(df: DataFrame, fn: BatchFn, schema: pa.Schema | str) -> DataFrame:
    """``fn`` applied to every Arrow batch of ``df`` on the executors; ``schema`` (Arrow, or a Spark DDL string)
    is what ``fn`` returns."""

    def each(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield fn(batch)

    return df.mapInArrow(each, schema if isinstance(schema, str) else spark_schema(schema))
