"""The tagging job on Spark: every live document gets a quality score (float 0-5 and rounded int) and a domain
with its confidence, as columns and in ``meta`` (``quality_score``, ``domain``), so that dedup's best_score keep
and semdedup's best_quality keep can use them. Nothing is dropped here; ``stats.json`` counts domains and scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from data_platform import schema as S
from data_platform.documents import KEY, live_documents, load_documents
from data_platform.io import writers
from data_platform.io.job_output import JobOutput
from data_platform.semantic.config import EmbedConfig
from data_platform.semantic.embed_batches import EMBEDDING, document_embeddings, resolved_embed
from data_platform.spark import map_batches

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from data_platform.config import RuleSet

QUALITY, QUALITY_INT, DOMAIN, DOMAIN_CONF = "quality_score", "quality_int", "domain", "domain_confidence"
TAG_SCHEMA = pa.schema([pa.field(KEY, pa.string()), pa.field(QUALITY, pa.float32()), pa.field(QUALITY_INT, pa.int32()),
                        pa.field(DOMAIN, pa.string()), pa.field(DOMAIN_CONF, pa.float32())])


@dataclass(frozen=True)
class TagSettings:
    """What the tag job needs, paths resolved: the encoder, the quality head, the domain prototypes."""

    embed: EmbedConfig
    quality_head: str | None
    domains: dict[str, list[str]] | None
    temperature: float = 0.05


def tag_settings(ruleset: RuleSet) -> TagSettings:
    """From a loaded rule set (relative paths are relative to the rule file)."""
    from data_platform.tagging.config import load_domains

    base, cfg = Path(ruleset.path).parent, ruleset.config
    head = str((base / cfg.quality.head).resolve()) if cfg.quality.enabled else None
    if head and not Path(head).is_file():
        raise FileNotFoundError(f"quality head {head} does not exist (quality.head in {ruleset.path})")
    domains = load_domains((base / cfg.domains.prototypes).resolve()) if cfg.domains.enabled else None
    return TagSettings(resolved_embed(ruleset), head, domains, cfg.domains.temperature)


def tag_batch(batch: pa.RecordBatch, settings: TagSettings, names: list[str],
              cents: np.ndarray | None) -> pa.RecordBatch:
    """(key, text[, embedding]) -> (key, quality_score, quality_int, domain, domain_confidence), on the executors;
    texts are embedded here when the batch carries no embeddings."""
    from data_platform.semantic.encoder import embed_texts, from_arrow
    from data_platform.tagging import domains as D
    from data_platform.tagging import quality_head as Q

    e = settings.embed
    emb = (from_arrow(batch.column(EMBEDDING)) if EMBEDDING in batch.schema.names
           else embed_texts(batch.column(S.TEXT).to_pylist(), e.model, e.max_tokens, e.batch_size, e.device))
    n = batch.num_rows
    quality = pa.nulls(n, pa.float32())
    rounded = pa.nulls(n, pa.int32())
    if settings.quality_head:
        head, meta = Q.load_head(settings.quality_head)
        same = (Q.encoder_of(settings.quality_head) == settings.embed.model
                and meta["max_tokens"] == settings.embed.max_tokens)
        scores = (Q.predict(head, emb) if same
                  else Q.score_texts(batch.column(S.TEXT).to_pylist(), settings.quality_head, settings.embed.device))
        quality, rounded = pa.array(scores, pa.float32()), pa.array(np.rint(scores).astype(np.int32), pa.int32())
    labels, conf = pa.nulls(n, pa.string()), pa.nulls(n, pa.float32())
    if cents is not None:
        got, c = D.classify(emb, names, cents, settings.temperature)
        labels, conf = pa.array(got, pa.string()), pa.array(c, pa.float32())
    return pa.RecordBatch.from_arrays([batch.column(KEY), quality, rounded, labels, conf], schema=TAG_SCHEMA)


def _centroids(settings: TagSettings) -> tuple[list[str], np.ndarray | None]:
    from data_platform.semantic.encoder import embed_texts
    from data_platform.tagging.domains import centroids

    if not settings.domains:
        return [], None
    e = settings.embed
    return centroids(settings.domains, lambda texts: embed_texts(texts, e.model, e.max_tokens, device=e.device))


def tag_frame(spark: SparkSession, live: DataFrame, settings: TagSettings, reuse: str | None = None) -> DataFrame:
    """(key + the four tag columns) for every live document."""
    names, cents = _centroids(settings)
    rows = live.select(KEY, S.TEXT)
    if reuse:
        rows = rows.join(document_embeddings(spark, live, settings.embed, reuse).select(KEY, EMBEDDING), KEY)
    return map_batches(rows, lambda b: tag_batch(b, settings, names, cents), TAG_SCHEMA)


def run_tagging(spark: SparkSession, inputs: list[str], output: str, settings: TagSettings, fmt: str = "auto",
                source: str | None = None, overwrite: bool = True, embeddings: str | None = None) -> dict[str, Any]:
    """Tag every live document of the inputs; write kept/, dropped/ (documents dropped upstream), stats.json."""
    from data_platform.report import stats as RS

    with JobOutput(spark, output, overwrite) as job:
        docs, input_count = load_documents(spark, inputs, fmt, source)
        docs = docs.drop(QUALITY, QUALITY_INT, DOMAIN, DOMAIN_CONF).checkpoint(eager=True)
        tags = tag_frame(spark, live_documents(docs), settings, embeddings).checkpoint(eager=True)
        tagged = docs.join(tags, KEY, "left")
        writers.write_partitioned(tagged.withColumn(S.META, _meta_with_tags()).drop(KEY), spark, job.path)
        stats = RS.build_stats(RS.aggregate(spark, job.path), S.drop_reason_order("tag"), input_count)
        stats["tags"] = _tag_stats(spark, job.path)
        stats["tags"]["settings"] = {"embed": settings.embed.model_dump(), "quality_head": settings.quality_head,
                                     "domains": list(settings.domains or []), "temperature": settings.temperature}
        stats["run"] = job.run_info(inputs=inputs, output=output)
        return job.finish(stats)


def _meta_with_tags() -> Column:
    """meta with ``quality_score`` and ``domain`` set (previous values replaced) where the document was tagged."""
    from pyspark.sql import functions as F

    base = F.map_filter(F.coalesce(F.col(S.META), F.create_map().cast("map<string,string>")),
                        lambda k, v: ~k.isin(QUALITY, DOMAIN))
    tags = F.map_filter(F.create_map(F.lit(QUALITY), F.format_string("%.3f", F.col(QUALITY)), F.lit(DOMAIN),
                                     F.col(DOMAIN)), lambda k, v: v.isNotNull())
    tagged = F.col(QUALITY).isNotNull() | F.col(DOMAIN).isNotNull()
    return F.when(tagged, F.map_concat(base, tags)).otherwise(F.col(S.META))


def _tag_stats(spark: SparkSession, out: str) -> dict[str, Any]:
    """Documents per domain (with mean confidence) and per rounded quality score, over kept/."""
    from pyspark.sql import functions as F

    kept = spark.read.parquet(f"{out}/kept")
    domains = kept.groupBy(DOMAIN).agg(F.count(F.lit(1)).alias("n"), F.avg(DOMAIN_CONF).alias("conf")).collect()
    scores = kept.groupBy(QUALITY_INT).count().collect()
    mean = kept.agg(F.avg(QUALITY)).collect()[0][0]
    return {"domains": {r[DOMAIN] or "untagged": {"documents": r["n"], "mean_confidence": round(r["conf"] or 0, 4)}
                        for r in sorted(domains, key=lambda r: -r["n"])},
            "quality_int": {str(r[QUALITY_INT]): r["count"]
                            for r in sorted(scores, key=lambda r: -1 if r[QUALITY_INT] is None else r[QUALITY_INT])},
            "quality_mean": None if mean is None else round(mean, 4)}
