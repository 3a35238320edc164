"""The filter job as a library function: read -> extract/normalize/funnel (mapInArrow) -> kept/dropped/stats/report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import pyarrow as pa

from data_platform import schema as S
from data_platform.config import RuleSet
from data_platform.funnel import funnel_order, process_batch
from data_platform.io import spark_io, writers
from data_platform.io.records import FieldMap
from data_platform.models.shipping import ship_files
from data_platform.report import stats as ST
from data_platform.report.funnel_page import write_report


@dataclass
class FilterRun:
    inputs: list[str]
    output: str
    ruleset: RuleSet
    fmt: str = "auto"
    fields: FieldMap = field(default_factory=FieldMap)
    source: str | None = None
    partitions: int = 0
    overwrite: bool = True


def annotate(df, ruleset: RuleSet):
    """Apply extraction, normalization and the funnel to a DataFrame of raw rows, batch by batch."""
    keep_before = ruleset.config.output.keep_text_before

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            yield process_batch(b, ruleset)

    return df.mapInArrow(run, spark_io.spark_schema(S.output_schema(keep_before)))


def run_filter(spark, job: FilterRun) -> dict[str, Any]:
    """Run the whole filter job and return the stats (also written to ``<output>/stats.json``)."""
    started = time.time()
    inputs = spark_io.discover(spark, job.inputs, job.fmt)
    writers.prepare_output(spark, job.output, job.overwrite)
    raw, input_count = spark_io.read_documents(spark, inputs, job.fields, job.source,
                                               job.ruleset.config.limits.max_record_bytes)
    if job.partitions:
        raw = raw.repartition(job.partitions)
    ruleset = ship_files(spark.sparkContext, job.ruleset)  # executors open their own copies of the models
    writers.write_partitioned(annotate(raw, ruleset), spark, job.output)
    stats = ST.build_stats(ST.aggregate(spark, job.output), funnel_order(job.ruleset), input_count)
    stats["cleaning"] = ST.cleaning_stats(spark, job.output)
    stats["run"] = {"inputs": job.inputs, "files": inputs.files, "ignored_files": inputs.ignored, "rules": job.ruleset.path,
                    "output": job.output, "elapsed_s": round(time.time() - started, 2)}
    write_report(spark, job.output, stats, funnel_order(job.ruleset))
    writers.finish(spark, job.output, stats, {"input_documents": input_count})
    return stats
