"""The embedding stage on Spark: documents -> (key, id, embedding), reusing embeddings written by an earlier run."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from data_platform import schema as S
from data_platform.dedup.run import KEY
from data_platform.semantic.config import EmbedConfig
from data_platform.semantic.encoder import BUNDLED, embedding_type

EMBEDDING = "embedding"


def resolve_model_spec(spec: str, base) -> str:
    """``bundled:...`` as is; a relative folder relative to the rule file's directory ``base``."""
    from pathlib import Path

    return spec if spec == BUNDLED or Path(spec).is_absolute() else str((Path(base) / spec).resolve())


def task_device(device: str) -> str:
    """The GPU Spark assigned to this task (``spark.task.resource.gpu.amount``) when there is one, else ``device``."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    gpu = ctx.resources().get("gpu") if ctx is not None and device != "cpu" else None
    return f"cuda:{gpu.addresses[0]}" if gpu is not None and gpu.addresses else device


def embed_frame(df, cfg: EmbedConfig):
    """``mapInArrow`` over (key, text): the model is loaded once per Python worker and reused across batches."""
    from data_platform.io.spark_io import spark_schema

    schema = pa.schema([pa.field(KEY, pa.string()), pa.field(EMBEDDING, embedding_type(cfg.dtype))])

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from data_platform.semantic.encoder import embed_batch

        device = task_device(cfg.device)
        for b in batches:
            yield embed_batch(b, KEY, S.TEXT, cfg.model, cfg.max_tokens, cfg.batch_size, cfg.dtype, device)

    return df.select(KEY, S.TEXT).mapInArrow(run, spark_schema(schema))


def document_embeddings(spark, live, cfg: EmbedConfig, reuse: str | None = None):
    """(key, id, embedding) for every live document; with ``reuse`` (a folder of id + embedding parquet written by
    an earlier run), documents found there by id are not embedded again."""
    from pyspark.sql import functions as F

    if not reuse:
        return embed_frame(live, cfg).join(live.select(KEY, S.ID), KEY)
    known = spark.read.parquet(reuse).select(S.ID, F.col(EMBEDDING).alias("_known")).dropDuplicates([S.ID])
    joined = live.select(KEY, S.ID, S.TEXT).join(known, S.ID, "left")
    have = joined.where(F.col("_known").isNotNull()).select(KEY, S.ID, F.col("_known").alias(EMBEDDING))
    missing = joined.where(F.col("_known").isNull())
    fresh = embed_frame(missing, cfg).join(missing.select(KEY, S.ID), KEY).select(KEY, S.ID, EMBEDDING)
    have = have.select(KEY, S.ID, F.col(EMBEDDING).cast(fresh.schema[EMBEDDING].dataType).alias(EMBEDDING))
    return have.unionByName(fresh)


def resolved_embed(ruleset) -> EmbedConfig:
    """The rule set's ``embed:`` section with its model path made absolute (relative paths are to the rule file)."""
    from pathlib import Path

    cfg = ruleset.config.embed
    return cfg.model_copy(update={"model": resolve_model_spec(cfg.model, Path(ruleset.path).parent)})
