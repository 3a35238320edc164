"""SparkSession for the jobs: local[*] unless told otherwise; Arrow batches sized for text documents."""

from __future__ import annotations

import os
import sys


def build_session(app: str, master: str | None = None, conf: dict[str, str] | None = None):
    """A SparkSession whose Python workers use this interpreter; ``master`` overrides spark-submit's."""
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
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.sources.partitionOverwriteMode": "static",
    }
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
