"""Writing kept/ and dropped/ in one pass, atomically: a staging folder split by status, then two renames."""

from __future__ import annotations

from typing import TYPE_CHECKING

from data_platform import schema as S
from data_platform.io import hadoop_fs as HFS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

STATUS = "_status"


def write_partitioned(df: DataFrame, spark: SparkSession, out: str) -> None:
    """Write every row once, split by status, then move the two halves to ``kept/`` and ``dropped/``."""
    from pyspark.sql import functions as F

    out = out.rstrip("/")
    staging = f"{out}/_staging"
    status = F.when(F.col(S.DROP_REASON).isNull(), F.lit("kept")).otherwise(F.lit("dropped"))
    df.withColumn(STATUS, status).write.mode("overwrite").partitionBy(STATUS).parquet(staging)
    for part in ("kept", "dropped"):
        src = f"{staging}/{STATUS}={part}"
        if HFS.exists(spark, src):
            HFS.move(spark, src, f"{out}/{part}")
        else:  # no row of that status: an empty but readable folder
            spark.createDataFrame([], df.schema).write.parquet(f"{out}/{part}")
    HFS.remove(spark, staging)
