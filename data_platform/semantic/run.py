"""The semantic dedup job on Spark: embed -> k-means on a sample -> nearest centroid -> SemDeDup per cluster.

Every input document leaves in ``kept/`` or ``dropped/``; semantic duplicates get ``duplicate_semantic`` with
``duplicate_of`` naming the kept document. ``embeddings/`` (id + embedding) is written for other jobs to reuse,
``clusters/`` maps every embedded document to its cluster. The sample, the k-means seed and the keep order depend
only on the data, so the result does not depend on partitioning. ``sweep=True`` only reports, per eps, the share
of documents that would be removed.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pyarrow as pa

from data_platform import schema as S
from data_platform.alarms import AlarmCheck
from data_platform.documents import DUP_OF, KEY, live_documents, load_documents
from data_platform.io import hadoop_fs, writers
from data_platform.io.job_output import JobOutput
from data_platform.semantic import kmeans
from data_platform.semantic.config import EmbedConfig, SemDedupConfig
from data_platform.semantic.embed_batches import EMBEDDING, document_embeddings, task_device
from data_platform.spark import map_batches

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

QUALITY = "_quality"
GROUP = ["cluster", "sub", "chunk"]  # no group is larger than max_cluster_size


class SemanticInputError(ValueError):
    """The input lacks what the configuration needs (e.g. quality scores for keep: best_quality)."""


def _sample(emb: DataFrame, n: int) -> np.ndarray:
    """``n`` embeddings chosen by a hash of the id (the same rows however the data is partitioned)."""
    from pyspark.sql import functions as F

    from data_platform.semantic.encoder import from_values

    rows = emb.orderBy(F.xxhash64(S.ID), KEY).limit(n).select(EMBEDDING).collect()
    return from_values([r[0] for r in rows])


def _assign(emb: DataFrame, centroids: np.ndarray, backend: str, device: str, column: str = "cluster",
            sim: bool = True) -> DataFrame:
    """Nearest centroid (and its cosine) for every row, batch by batch on the executors."""
    fields = [pa.field(KEY, pa.string()), pa.field(column, pa.int64())]
    schema = pa.schema(fields + ([pa.field("centroid_sim", pa.float32())] if sim else []))

    def nearest(b: pa.RecordBatch) -> pa.RecordBatch:
        from data_platform.semantic.encoder import from_arrow

        labels, sims = kmeans.assign(from_arrow(b.column(EMBEDDING)), centroids, backend, device)
        cols = [b.column(KEY), pa.array(labels, pa.int64())] + ([pa.array(sims, pa.float32())] if sim else [])
        return pa.RecordBatch.from_arrays(cols, schema=schema)

    return map_batches(emb.select(KEY, EMBEDDING), nearest, schema)


def _order_cols(keep: str) -> list[Column]:
    from pyspark.sql import functions as F

    first = {"closest_to_centroid": F.col("centroid_sim").desc(), "farthest_from_centroid": F.col("centroid_sim").asc(),
             "best_quality": F.col(QUALITY).desc_nulls_last()}[keep]
    return [first, F.col(S.ID).asc(), F.col(KEY).asc()]


def split_oversized(members: DataFrame, cfg: SemDedupConfig, backend: str, device: str) -> tuple[DataFrame, int]:
    """Add ``sub`` and ``chunk`` so that no (cluster, sub, chunk) group exceeds ``max_cluster_size``: clusters that
    do are split by a second k-means trained on a sample of their members; what still does (near-identical
    members k-means cannot separate) is cut in keep order into chunks. Returns (members, number of clusters split)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    cap = cfg.max_cluster_size
    members = members.withColumn("sub", F.lit(0).cast("long")).withColumn("chunk", F.lit(0).cast("long"))
    big = {r["cluster"]: r["count"] for r in members.groupBy("cluster").count().where(F.col("count") > cap).collect()}
    if not big:
        return members, 0
    for c, size in sorted(big.items()):
        sample = _sample(members.where(F.col("cluster") == c), min(cfg.sample_size, size))
        sub_k = max(1, min(len(sample), 2 * math.ceil(size / cap)))
        centroids = kmeans.train(sample, sub_k, cfg.iterations, cfg.seed, backend, device)
        subs = _assign(members.where(F.col("cluster") == c), centroids, backend, device, "_sub", sim=False)
        members = (members.join(subs, KEY, "left")
                   .withColumn("sub", F.coalesce(F.col("_sub"), F.col("sub"))).drop("_sub"))
    w = Window.partitionBy("cluster", "sub")
    rank = F.row_number().over(w.orderBy(*_order_cols(cfg.keep))) - 1
    members = (members.withColumn("_size", F.count(F.lit(1)).over(w))
               .withColumn("chunk", F.when(F.col("_size") > cap, F.floor(rank / cap)).otherwise(0).cast("long"))
               .drop("_size"))
    return members, len(big)


def _group_fn(cfg: SemDedupConfig, sweep: bool) -> Callable[[pa.Table], pa.Table]:
    """The per-group Arrow function: duplicates (key, duplicate_of, similarity) or, in sweep mode, (eps, removed)."""
    def run(table: pa.Table) -> pa.Table:
        import torch

        from data_platform.semantic import semdedup as SD
        from data_platform.semantic.encoder import from_arrow

        emb = from_arrow(table.column(EMBEDDING))
        ids, keys = table.column(S.ID).to_pylist(), table.column(KEY).to_pylist()
        quality = (table.column(QUALITY).to_numpy(zero_copy_only=False).astype(np.float64)
                   if QUALITY in table.column_names else None)
        order = SD.keep_order(ids, keys, table.column("centroid_sim").to_numpy(), quality, cfg.keep)
        dev = task_device("cuda") if torch.cuda.is_available() else "cpu"
        if sweep:
            removed = SD.sweep(emb, order, cfg.sweep_eps, block=cfg.block, device=dev)
            return pa.table({"eps": pa.array(list(removed), pa.float64()),
                             "removed": pa.array(list(removed.values()), pa.int64())})
        dup, sim = SD.greedy_duplicates(emb, order, 1.0 - cfg.eps, cfg.block, device=dev)
        hit = np.nonzero(dup >= 0)[0]
        return pa.table({KEY: pa.array([keys[i] for i in hit], pa.string()),
                         DUP_OF: pa.array([ids[dup[i]] for i in hit], pa.string()),
                         "similarity": pa.array(sim[hit].astype(np.float64), pa.float64())})

    return run


def _quality_column(docs: DataFrame, name: str) -> Column:
    from pyspark.sql import functions as F

    if name in docs.columns:
        return F.col(name).cast("double")
    return F.col(S.META)[name].cast("double")


def cluster_members(spark: SparkSession, live: DataFrame, embed: EmbedConfig, cfg: SemDedupConfig,
                    reuse: str | None) -> tuple[DataFrame | None, DataFrame, dict[str, Any]]:
    """(members with cluster, sub, chunk, centroid_sim and embedding; embeddings; facts for stats.json)."""
    emb = document_embeddings(spark, live, embed, reuse).checkpoint(eager=True)
    n = emb.count()
    backend = kmeans.pick_backend(cfg.backend)
    if n == 0:
        return None, emb, {"documents": 0, "clusters": 0, "sample": 0, "backend": backend, "clusters_split": 0}
    sample = _sample(emb, cfg.sample_size)
    k = kmeans.check_k(n, len(sample), cfg.clusters, cfg.max_cluster_size)
    centroids = kmeans.train(sample, k, cfg.iterations, cfg.seed, backend, embed.device)
    members = emb.join(_assign(emb, centroids, backend, embed.device), KEY)
    if cfg.keep == "best_quality":
        members = members.join(live.select(KEY, _quality_column(live, cfg.quality_column).alias(QUALITY)), KEY)
    members, split = split_oversized(members, cfg, backend, embed.device)
    facts = {"documents": n, "clusters": k, "sample": len(sample), "backend": backend, "clusters_split": split}
    return members.checkpoint(eager=True), emb, facts


def _check_quality(live: DataFrame, cfg: SemDedupConfig) -> None:
    from pyspark.sql import functions as F

    if cfg.keep != "best_quality":
        return
    if cfg.quality_column not in live.columns and live.where(F.col(S.META)[cfg.quality_column].isNotNull()).isEmpty():
        raise SemanticInputError(f"keep: best_quality needs a {cfg.quality_column!r} column or meta key in the input "
                                 "(run jobs/tag.py first)")


def run_semdedup(spark: SparkSession, inputs: list[str], output: str, cfg: SemDedupConfig, embed: EmbedConfig,
                 fmt: str = "auto", source: str | None = None, overwrite: bool = True, sweep: bool = False,
                 embeddings: str | None = None) -> dict[str, Any]:
    """Run semantic dedup (or only its eps sweep) and return the stats (also written to ``<output>``)."""
    from pyspark.sql import functions as F

    from data_platform.report import stats as RS

    with JobOutput(spark, output, overwrite, clear=not sweep) as job:
        docs, input_count = load_documents(spark, inputs, fmt, source)
        if DUP_OF not in docs.columns:
            docs = docs.withColumn(DUP_OF, F.lit(None).cast("string"))
        docs = docs.checkpoint(eager=True)
        live = live_documents(docs)
        _check_quality(live, cfg)
        members, emb, facts = cluster_members(spark, live, embed, cfg, embeddings)
        if sweep:
            return _sweep(spark, members, cfg, facts, job, inputs)
        emb.select(S.ID, EMBEDDING).write.mode("overwrite").parquet(job.file("embeddings"))
        writers.write_partitioned(_marked(spark, docs, members, cfg).drop(KEY), spark, job.path)
        sizes = _write_clusters(members, job.file("clusters"))
        stats = RS.build_stats(RS.aggregate(spark, job.path), S.drop_reason_order("semantic"), input_count)
        stats["semdedup"] = {"config": cfg.model_dump(), "embed": embed.model_dump(), **facts,
                             "cluster_size_histogram": sizes}
        stats["run"] = job.run_info(inputs=inputs, output=output)
        return job.finish(stats, AlarmCheck(list(S.REASONS_BY_STAGE["semantic"]), cfg.alarms))


def _marked(spark: SparkSession, docs: DataFrame, members: DataFrame | None, cfg: SemDedupConfig) -> DataFrame:
    """``docs`` with the semantic duplicates marked (reason, detail, ``duplicate_of`` the kept document)."""
    from pyspark.sql import functions as F

    dup_schema = f"{KEY} string, {DUP_OF} string, similarity double"
    dups = (members.groupBy(*GROUP).applyInArrow(_group_fn(cfg, False), dup_schema) if members is not None
            else spark.createDataFrame([], dup_schema)).checkpoint(eager=True)
    detail = F.format_string("semantic duplicate of %s (cosine %.4f)", F.col("_of"), F.col("similarity"))
    hit = F.col("_of").isNotNull()
    return (docs.join(dups.withColumnRenamed(DUP_OF, "_of"), KEY, "left")
            .withColumn(S.DROP_REASON, F.when(hit, F.lit(S.DUPLICATE_SEMANTIC)).otherwise(F.col(S.DROP_REASON)))
            .withColumn(S.DROP_DETAIL, F.when(hit, detail).otherwise(F.col(S.DROP_DETAIL)))
            .withColumn(DUP_OF, F.coalesce(F.col("_of"), F.col(DUP_OF)))
            .select(*docs.columns))


def _write_clusters(members: DataFrame | None, path: str) -> dict[str, int]:
    """clusters/ (id, cluster, sub, chunk, centroid_sim per embedded document); returns the size histogram."""
    if members is None:
        return {}
    members.select(S.ID, *GROUP, "centroid_sim").write.mode("overwrite").parquet(path)
    return _size_histogram(members)


def _size_histogram(members: DataFrame) -> dict[str, int]:
    """{power-of-two bucket lower bound: clusters of that size}."""
    from pyspark.sql import functions as F

    sizes = members.groupBy("cluster").count().select(
        F.pow(F.lit(2), F.floor(F.log2("count"))).cast("long").alias("b")).groupBy("b").count().collect()
    return {str(r["b"]): r["count"] for r in sorted(sizes, key=lambda r: r["b"])}


def _sweep(spark: SparkSession, members: DataFrame | None, cfg: SemDedupConfig, facts: dict[str, Any],
           job: JobOutput, inputs: list[str]) -> dict[str, Any]:
    """Per eps: documents and share that semantic dedup would remove; written to ``<output>/sweep.json`` only."""
    from pyspark.sql import functions as F

    removed = {e: 0 for e in cfg.sweep_eps}
    if members is not None:
        rows = (members.groupBy(*GROUP)
                .applyInArrow(_group_fn(cfg, True), "eps double, removed long")
                .groupBy("eps").agg(F.sum("removed").alias("removed")).collect())
        removed.update({r["eps"]: r["removed"] for r in rows})
    n = max(facts["documents"], 1)
    report = {"sweep": [{"eps": e, "threshold": round(1 - e, 6), "removed": removed[e],
                         "share_removed": removed[e] / n} for e in cfg.sweep_eps],
              "semdedup": {"config": cfg.model_dump(), **facts},
              "run": job.run_info(inputs=inputs, output=job.path)}
    hadoop_fs.write_text(spark, job.file("sweep.json"), json.dumps(report, indent=2))
    return report
