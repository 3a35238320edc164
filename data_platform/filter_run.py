"""The filter job as a library function: read -> extract, normalize, funnel (batch by batch) -> kept, dropped, stats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from data_platform import schema as S
from data_platform.alarms import AlarmCheck
from data_platform.config import RuleSet, filter_stages
from data_platform.funnel import funnel_order, process_batch
from data_platform.io import spark_io, writers
from data_platform.io.job_output import JobOutput
from data_platform.io.records import FieldMap
from data_platform.models.shipping import ship_files
from data_platform.report import stats as ST
from data_platform.report.funnel_page import write_report
from data_platform.spark import map_batches

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


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


def annotate(df: DataFrame, ruleset: RuleSet) -> DataFrame:
    """Apply extraction, normalization and the funnel to a DataFrame of raw rows, batch by batch."""
    schema = S.output_schema(ruleset.config.output.keep_text_before)
    return map_batches(df, lambda b: process_batch(b, ruleset), schema)


def run_filter(spark: SparkSession, job: FilterRun) -> dict[str, Any]:
    """Run the whole filter job and return the stats (also written to ``<output>/stats.json``)."""
    inputs = spark_io.discover(spark, job.inputs, job.fmt)
    with JobOutput(spark, job.output, job.overwrite) as out:
        raw, input_count = spark_io.read_documents(spark, inputs, job.fields, job.source,
                                                   job.ruleset.config.limits.max_record_bytes)
        if job.partitions:
            raw = raw.repartition(job.partitions)
        ruleset = ship_files(spark.sparkContext, job.ruleset)  # executors open their own copies of the models
        writers.write_partitioned(annotate(raw, ruleset), spark, out.path)
        order = funnel_order(job.ruleset)
        stats = ST.build_stats(ST.aggregate(spark, out.path), order, input_count)
        stats["cleaning"] = ST.cleaning_stats(spark, out.path)
        stats["run"] = out.run_info(inputs=job.inputs, files=inputs.files, ignored_files=inputs.ignored,
                                    rules=job.ruleset.path, output=job.output)
        alarms = AlarmCheck(filter_stages(job.ruleset.config), job.ruleset.config.alarms)
        alarms.apply(stats)  # the report shows each stage against its alarm
        write_report(spark, out.path, stats, order)
        return out.finish(stats, alarms)
