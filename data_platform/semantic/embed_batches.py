"""Embedding documents on Spark, batch by batch: documents -> (key, id, embedding), reusing embeddings written by
an earlier run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from data_platform import schema as S
from data_platform.documents import KEY
from data_platform.semantic.config import EmbedConfig
from data_platform.semantic.encoder import BUNDLED, embedding_type
from data_platform.spark import map_batches

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from data_platform.config import RuleSet

EMBEDDING = "embedding"


def resolve_model_spec(spec: str, base: str | Path) -> str:
    """``bundled:...`` as is; a relative folder relative to the rule file's directory ``base``."""
    return spec if spec == BUNDLED or Path(spec).is_absolute() else str((Path(base) / spec).resolve())


def task_device(device: str) -> str:
    """The GPU Spark assigned to this task (``spark.task.resource.gpu.amount``) when there is one, else ``device``."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    gpu = ctx.resources().get("gpu") if ctx is not None and device != "cpu" else None
    return f"cuda:{gpu.addresses[0]}" if gpu is not None and gpu.addresses else device


def embed_frame(df: DataFrame, cfg: EmbedConfig) -> DataFrame:
    """(key, embedding) for the (key, text) rows of ``df``: the model is loaded once per Python worker and reused
    across batches."""
    schema = pa.schema([pa.field(KEY, pa.string()), pa.field(EMBEDDING, embedding_type(cfg.dtype))])

    def embed(batch: pa.RecordBatch) -> pa.RecordBatch:
        from data_platform.semantic.encoder import embed_batch

        device = task_device(cfg.device)
        return embed_batch(batch, KEY, S.TEXT, cfg.model, cfg.max_tokens, cfg.batch_size, cfg.dtype, device)

    return map_batches(df.select(KEY, S.TEXT), embed, schema)


def document_embeddings(spark: SparkSession, live: DataFrame, cfg: EmbedConfig,
                        reuse: str | None = None) -> DataFrame:
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


def resolved_embed(ruleset: RuleSet) -> EmbedConfig:
    """The rule set's ``embed:`` section with its model path made absolute (relative paths are to the rule file)."""
    cfg = ruleset.config.embed
    return cfg.model_copy(update={"model": resolve_model_spec(cfg.model, Path(ruleset.path).parent)})
