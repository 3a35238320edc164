"""The tagging job on Spark: every live document gets one score per quality scorer (``quality_<name>``), the
run-wide combinations (``quality_ensemble``, ``quality_bucket``), the primary score (``quality_score`` and its
rounding ``quality_int``) and a domain with its confidence, as columns and in ``meta`` (``quality_score``,
``quality_bucket``, ``domain``), so that dedup's best_score keep and semdedup's best_quality keep can use them.
Nothing is dropped here; ``stats.json`` counts domains, scores and buckets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
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
from data_platform.tagging import scorers as SC
from data_platform.tagging.config import QualityConfig
from data_platform.tagging.scorers import Scorer

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from data_platform.config import RuleSet

QUALITY, QUALITY_INT, DOMAIN, DOMAIN_CONF = "quality_score", "quality_int", "domain", "domain_confidence"
ENSEMBLE, BUCKET, WEIGHT = "quality_ensemble", "quality_bucket", "_weight"


@dataclass(frozen=True)
class TagSettings:
    """What the tag job needs, paths resolved: the encoder, the quality scorers and how they combine, the domains."""

    embed: EmbedConfig
    quality: QualityConfig | None
    scorers: tuple[Scorer, ...]
    domains: dict[str, list[str]] | None
    temperature: float = 0.05
    bucket_tokenizer: str | None = None

    def tag_schema(self) -> pa.Schema:
        """What ``tag_batch`` returns: the key, one score per scorer, the domain, and a weight when bucketing."""
        fields = [pa.field(KEY, pa.string()), *(pa.field(s.column, pa.float32()) for s in self.scorers),
                  pa.field(DOMAIN, pa.string()), pa.field(DOMAIN_CONF, pa.float32())]
        if self.quality and self.quality.buckets:
            fields.append(pa.field(WEIGHT, pa.float64()))
        return pa.schema(fields)


def tag_settings(ruleset: RuleSet) -> TagSettings:
    """From a loaded rule set (relative paths are relative to the rule file)."""
    from data_platform.tagging.config import load_domains

    base, cfg = Path(ruleset.path).parent, ruleset.config
    quality = cfg.quality if cfg.quality.enabled else None
    scorers = tuple(SC.resolve(quality.scorers, base)) if quality else ()
    tokenizer = quality.buckets.tokenizer if quality and quality.buckets else None
    if tokenizer and not (base / tokenizer).is_file():
        raise FileNotFoundError(f"tokenizer {(base / tokenizer).resolve()} does not exist (quality.buckets.tokenizer "
                                f"in {ruleset.path})")
    domains = load_domains((base / cfg.domains.prototypes).resolve()) if cfg.domains.enabled else None
    return TagSettings(resolved_embed(ruleset), quality, scorers, domains, cfg.domains.temperature,
                       str((base / tokenizer).resolve()) if tokenizer else None)


def tag_batch(batch: pa.RecordBatch, settings: TagSettings, names: list[str],
              cents: np.ndarray | None) -> pa.RecordBatch:
    """(key, text[, embedding]) -> ``settings.tag_schema()``, on the executors; texts are embedded here when the
    batch carries no embeddings and the domains or a head scorer on the same encoder need them."""
    from data_platform.semantic.encoder import embed_texts, from_arrow
    from data_platform.tagging import domains as D

    e, texts = settings.embed, batch.column(S.TEXT).to_pylist()
    reuse = [s for s in settings.scorers if _embeds_like(s, e)]
    emb = None
    if EMBEDDING in batch.schema.names:
        emb = from_arrow(batch.column(EMBEDDING))
    elif cents is not None or reuse:
        emb = embed_texts(texts, e.model, e.max_tokens, e.batch_size, e.device)
    columns = [batch.column(KEY)]
    columns += [pa.array(SC.score(texts, s, emb if s in reuse else None), pa.float32()) for s in settings.scorers]
    labels, conf = pa.nulls(batch.num_rows, pa.string()), pa.nulls(batch.num_rows, pa.float32())
    if cents is not None and emb is not None:
        got, c = D.classify(emb, names, cents, settings.temperature)
        labels, conf = pa.array(got, pa.string()), pa.array(c, pa.float32())
    columns += [labels, conf]
    if settings.quality and settings.quality.buckets:
        columns.append(_weights(texts, settings.quality.buckets.weight, settings.bucket_tokenizer))
    return pa.RecordBatch.from_arrays(columns, schema=settings.tag_schema())


def _embeds_like(scorer: Scorer, embed: EmbedConfig) -> bool:
    """Whether a head scorer reads the same embeddings as the job's encoder (then they are computed once)."""
    from data_platform.tagging import quality_head as Q

    return (scorer.config.kind == "head" and Q.encoder_of(scorer.path) == embed.model
            and Q.load_head(scorer.path)[1]["max_tokens"] == embed.max_tokens)


def _weights(texts: list[str | None], weight: str, tokenizer: str | None) -> pa.Array:
    """What each document weighs in the bucket percentiles: UTF-8 bytes, tokens, or 1."""
    import pyarrow.compute as pc

    if weight == "documents":
        return pa.array(np.ones(len(texts)), pa.float64())
    if weight == "bytes":
        return pc.cast(pc.fill_null(pc.binary_length(pa.array(texts, pa.string())), 0), pa.float64())
    assert tokenizer is not None, "checked by BucketConfig"
    enc = _tokenizer(tokenizer).encode_batch([t or "" for t in texts], add_special_tokens=False)
    return pa.array([float(len(x.ids)) for x in enc], pa.float64())


@lru_cache(maxsize=2)
def _tokenizer(path: str):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def _centroids(settings: TagSettings) -> tuple[list[str], np.ndarray | None]:
    from data_platform.semantic.encoder import embed_texts
    from data_platform.tagging.domains import centroids

    if not settings.domains:
        return [], None
    e = settings.embed
    return centroids(settings.domains, lambda texts: embed_texts(texts, e.model, e.max_tokens, device=e.device))


def tag_frame(spark: SparkSession, live: DataFrame, settings: TagSettings, reuse: str | None = None) -> DataFrame:
    """``settings.tag_schema()`` for every live document."""
    names, cents = _centroids(settings)
    rows = live.select(KEY, S.TEXT)
    if reuse:
        rows = rows.join(document_embeddings(spark, live, settings.embed, reuse).select(KEY, EMBEDDING), KEY)
    return map_batches(rows, lambda b: tag_batch(b, settings, names, cents), settings.tag_schema())


def combine(tags: DataFrame, quality: QualityConfig | None) -> tuple[DataFrame, list[float | None]]:
    """The run-wide quality columns: ``quality_ensemble`` (mean or max of per-scorer percentiles), ``quality_score``
    and ``quality_int`` (the primary score and its rounding), ``quality_bucket``; plus the bucket boundaries."""
    from pyspark.sql import functions as F

    from data_platform.tagging.buckets import percentile_ranks, token_buckets

    if quality is None:
        return tags.withColumn(QUALITY, F.lit(None).cast("float")).withColumn(QUALITY_INT, F.lit(None).cast("int")), []
    if quality.ensemble:
        cols = [SC.PREFIX + n for n in quality.ensemble.scorers or [s.name for s in quality.scorers]]
        pct = [F.col(c + "_pct") for c in cols]
        ens = F.greatest(*pct) if quality.ensemble.method == "max" and len(pct) > 1 else sum(pct[1:], pct[0]) / len(pct)
        tags = percentile_ranks(tags, cols).withColumn(ENSEMBLE, ens.cast("float")).drop(*(c + "_pct" for c in cols))
    primary = F.col(SC.PREFIX + quality.primary_score)
    tags = tags.withColumn(QUALITY, primary.cast("float")).withColumn(QUALITY_INT, F.rint(primary).cast("int"))
    if not quality.buckets:
        return tags, []
    tags, bounds = token_buckets(tags, SC.PREFIX + quality.buckets.score, WEIGHT, quality.buckets.n, BUCKET)
    return tags.drop(WEIGHT), bounds


def run_tagging(spark: SparkSession, inputs: list[str], output: str, settings: TagSettings, fmt: str = "auto",
                source: str | None = None, overwrite: bool = True, embeddings: str | None = None) -> dict[str, Any]:
    """Tag every live document of the inputs; write kept/, dropped/ (documents dropped upstream), stats.json."""
    from data_platform.report import stats as RS

    with JobOutput(spark, output, overwrite) as job:
        docs, input_count = load_documents(spark, inputs, fmt, source)
        docs = docs.drop(*_tag_columns(docs.columns)).checkpoint(eager=True)
        tags = tag_frame(spark, live_documents(docs), settings, embeddings).checkpoint(eager=True)
        tags, bounds = combine(tags, settings.quality)
        tagged = docs.join(tags.checkpoint(eager=True), KEY, "left")
        writers.write_partitioned(tagged.withColumn(S.META, _meta_with_tags(tagged.columns)).drop(KEY), spark,
                                  job.path)
        stats = RS.build_stats(RS.aggregate(spark, job.path), S.drop_reason_order("tag"), input_count)
        stats["tags"] = _tag_stats(spark, job.path, settings, bounds)
        stats["run"] = job.run_info(inputs=inputs, output=output)
        return job.finish(stats)


def _tag_columns(columns: list[str]) -> list[str]:
    """Columns an earlier tag run wrote (replaced by this one)."""
    return [c for c in columns if c.startswith(SC.PREFIX) or c in (DOMAIN, DOMAIN_CONF)]


def _meta_with_tags(columns: list[str]) -> Column:
    """meta with ``quality_score``, ``quality_bucket`` and ``domain`` set (previous values replaced) where the
    document was tagged."""
    from pyspark.sql import functions as F

    keys = [k for k in (QUALITY, BUCKET, DOMAIN) if k in columns]
    base = F.map_filter(F.coalesce(F.col(S.META), F.create_map().cast("map<string,string>")),
                        lambda k, v: ~k.isin(*keys))
    values = {QUALITY: F.format_string("%.3f", F.col(QUALITY)), BUCKET: F.col(BUCKET).cast("string"),
              DOMAIN: F.col(DOMAIN)}
    tags = F.map_filter(F.create_map(*(x for k in keys for x in (F.lit(k), values[k]))), lambda k, v: v.isNotNull())
    tagged = F.col(QUALITY).isNotNull() | F.col(DOMAIN).isNotNull()
    return F.when(tagged, F.map_concat(base, tags)).otherwise(F.col(S.META))


def _tag_stats(spark: SparkSession, out: str, settings: TagSettings,
               bounds: list[float | None]) -> dict[str, Any]:
    """Over kept/: documents per domain (with mean confidence), per rounded primary score and per bucket (with
    its boundaries), and each score's mean; plus the settings."""
    from pyspark.sql import functions as F

    kept = spark.read.parquet(f"{out}/kept")
    domains = kept.groupBy(DOMAIN).agg(F.count(F.lit(1)).alias("n"), F.avg(DOMAIN_CONF).alias("conf")).collect()
    scores = kept.groupBy(QUALITY_INT).count().collect()
    means = kept.agg(*(F.avg(c).alias(c) for c in kept.columns if c.startswith(SC.PREFIX) and c != QUALITY_INT))
    out_stats: dict[str, Any] = {
        "domains": {r[DOMAIN] or "untagged": {"documents": r["n"], "mean_confidence": round(r["conf"] or 0, 4)}
                    for r in sorted(domains, key=lambda r: -r["n"])},
        "quality_int": {str(r[QUALITY_INT]): r["count"]
                        for r in sorted(scores, key=lambda r: -1 if r[QUALITY_INT] is None else r[QUALITY_INT])},
        "means": {k: None if v is None else round(v, 4) for k, v in means.collect()[0].asDict().items()},
    }
    out_stats["quality_mean"] = out_stats["means"].get(QUALITY)
    if BUCKET in kept.columns:
        counts = {r[BUCKET]: r["count"] for r in kept.groupBy(BUCKET).count().collect()}
        out_stats["buckets"] = {"documents": {str(b): counts.get(b, 0) for b in range(len(bounds) + 1)},
                                "boundaries": bounds}
    out_stats["settings"] = {"embed": settings.embed.model_dump(), "domains": list(settings.domains or []),
                             "temperature": settings.temperature,
                             "quality": settings.quality.model_dump() if settings.quality else None,
                             "scorers": {s.name: s.path for s in settings.scorers}}
    return out_stats
