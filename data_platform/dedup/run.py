"""The dedup job on Spark: exact -> MinHash LSH + connected components -> paragraph -> sentence-span dedup.

Every input document leaves in ``kept/`` or ``dropped/`` (``duplicate_exact``, ``duplicate_minhash``,
``duplicate_paragraphs``, ``duplicate_sentences``, with ``duplicate_of`` naming the kept document); ``clusters/``
maps every clustered document to its cluster; ``stats.json`` has per-step counts and the cluster-size histogram.
Which document of a group is kept depends only on the data (ids, lengths, scores), never on partitioning.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from data_platform import schema as S
from data_platform.alarms import AlarmCheck
from data_platform.dedup import batch_ops as B
from data_platform.dedup.components import connected_components
from data_platform.dedup.config import DedupConfig, Keep, MinHashConfig
from data_platform.dedup.hashing import lsh_params
from data_platform.documents import DUP_OF, KEY, live_documents, load_documents
from data_platform.io import writers
from data_platform.io.job_output import JobOutput
from data_platform.spark import BatchFn, arrow_schema, map_batches

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

PAIR_SCHEMA = "src string, dst string, similarity double"


def _keep_order(keep: Keep, score_column: str | None) -> list[Column]:
    from pyspark.sql import functions as F

    by_id = [F.col(S.ID).asc(), F.col(KEY).asc()]
    if keep == "longest_text":
        return [F.col(S.N_CHARS).desc(), *by_id]
    if keep == "best_score":
        return [F.col(S.META)[score_column].cast("double").desc_nulls_last(), *by_id]
    return by_id


def _pick(members: DataFrame, group_col: str, keep: Keep, score_column: str | None, reason: str,
          what: str) -> DataFrame:
    """Within each group the first document in keep order stays; the others get ``reason`` and ``duplicate_of``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(group_col).orderBy(*_keep_order(keep, score_column))
    ranked = members.withColumn("_rank", F.row_number().over(w)).withColumn("_first", F.first(S.ID).over(w))
    return (ranked.where(F.col("_rank") > 1)
            .select(KEY, F.lit(reason).alias("_reason"), F.col("_first").alias(DUP_OF),
                    F.concat(F.lit(f"{what} of "), F.col("_first")).alias("_detail")))


def exact_duplicates(live: DataFrame, cfg: DedupConfig) -> DataFrame:
    norm = cfg.exact.normalize
    hashes = map_batches(live.select(KEY, S.TEXT), lambda b: B.exact_hashes(b, norm), B.HASH_SCHEMA)
    members = live.select(KEY, S.ID, S.N_CHARS, S.META).join(hashes, KEY)
    return _pick(members, "hash", cfg.exact.keep, None, S.DUPLICATE_EXACT, "exact duplicate")


def minhash_duplicates(live: DataFrame, cfg: DedupConfig) -> tuple[DataFrame, DataFrame]:
    """(duplicates, clusters): near-duplicate groups from LSH buckets, verified pairs and connected components."""
    from pyspark.sql import functions as F

    mh = cfg.minhash
    bands, rows = lsh_params(mh)
    sigs = map_batches(live.select(KEY, S.TEXT, S.LANG), lambda b: B.minhash_signatures(b, mh, bands, rows),
                       B.SIG_SCHEMA).checkpoint()
    members = sigs.select(KEY, F.posexplode("bands").alias("band", "bucket"))
    # each bucket's members link to its smallest key: a star, never the bucket's members gathered in one row
    firsts = members.groupBy("band", "bucket").agg(F.min(KEY).alias("src"))
    edges = (members.join(firsts, ["band", "bucket"]).where(F.col("src") != F.col(KEY))
             .select("src", F.col(KEY).alias("dst")).distinct())
    if mh.verify == "signature":
        edges = _verified(edges, sigs, mh.threshold)
    elif mh.verify == "exact":
        edges = _verified_exact(edges, live, mh)
    components = connected_components(edges, mh.max_iterations)
    clustered = live.select(KEY, S.ID, S.N_CHARS, S.META).join(components.withColumnRenamed("node", KEY), KEY)
    clusters = clustered.select(S.ID, KEY, "component")
    return _pick(clustered, "component", mh.keep, mh.score_column, S.DUPLICATE_MINHASH, "near duplicate"), clusters


def _signature_similarity(bt: pa.RecordBatch) -> pa.RecordBatch:
    """(src, dst, sig_a, sig_b) -> (src, dst, the share of signature positions that agree)."""
    import numpy as np

    from data_platform.dedup.hashing import estimated_jaccard

    sa = np.frombuffer(b"".join(bt.column("sig_a").to_pylist()), dtype="<u4").reshape(bt.num_rows, -1)
    sb = np.frombuffer(b"".join(bt.column("sig_b").to_pylist()), dtype="<u4").reshape(bt.num_rows, -1)
    return pa.RecordBatch.from_pydict({"src": bt.column("src"), "dst": bt.column("dst"),
                                       "similarity": estimated_jaccard(sa, sb)})


def _verified(edges: DataFrame, sigs: DataFrame, threshold: float) -> DataFrame:
    """Keep candidate pairs whose signatures agree on at least ``threshold`` of their positions."""
    from pyspark.sql import functions as F

    a = sigs.select(F.col(KEY).alias("src"), F.col("sig").alias("sig_a"))
    b = sigs.select(F.col(KEY).alias("dst"), F.col("sig").alias("sig_b"))
    pairs = edges.join(a, "src").join(b, "dst")
    scored = map_batches(pairs, _signature_similarity, PAIR_SCHEMA)
    return scored.where(F.col("similarity") >= threshold).select("src", "dst")


def _repeated_units(live: DataFrame, explode: BatchFn, remove: BatchFn, after_first: bool,
                    max_count: int) -> DataFrame:
    """Flag every repeated unit (line or sentence span) across the corpus — each occurrence after the first in
    (key, position) order, or all of them above ``max_count`` — and let ``remove`` cut them out per document."""
    from pyspark.sql import functions as F

    units = map_batches(live.select(KEY, S.TEXT), explode, B.PARA_SCHEMA)
    # aggregations per hash (combined map-side), joined back: a unit repeated 10^6 times is never one window or row
    if after_first:
        firsts = units.groupBy("hash").agg(F.min(F.struct(KEY, "idx")).alias("_first"))
        flagged = units.join(firsts, "hash").where(F.struct(KEY, "idx") != F.col("_first"))
    else:
        counts = units.groupBy("hash").count().where(F.col("count") > max_count)
        flagged = units.join(counts.select("hash"), "hash")
    removals = flagged.groupBy(KEY).agg(F.collect_list("idx").alias("remove_idx"))
    joined = live.join(removals, KEY, "left")
    schema = arrow_schema(joined)
    return map_batches(joined, remove, schema.remove(schema.get_field_index("remove_idx")))


def _shingle_similarity(bt: pa.RecordBatch, mh: MinHashConfig) -> pa.RecordBatch:
    """(src, dst, text_a, text_b, lang_a, lang_b) -> (src, dst, exact shingle Jaccard)."""
    from data_platform.dedup.hashing import exact_jaccard

    c = bt.to_pydict()
    pairs = zip(c["text_a"], c["text_b"], c["lang_a"], c["lang_b"], strict=True)
    sims = [exact_jaccard(ta, tb, la, lb, mh) for ta, tb, la, lb in pairs]
    return pa.RecordBatch.from_pydict({"src": c["src"], "dst": c["dst"], "similarity": sims})


def _verified_exact(edges: DataFrame, live: DataFrame, mh: MinHashConfig) -> DataFrame:
    """Keep candidate pairs whose exact shingle Jaccard reaches the threshold (texts joined to both ends)."""
    from pyspark.sql import functions as F

    a = live.select(F.col(KEY).alias("src"), F.col(S.TEXT).alias("text_a"), F.col(S.LANG).alias("lang_a"))
    b = live.select(F.col(KEY).alias("dst"), F.col(S.TEXT).alias("text_b"), F.col(S.LANG).alias("lang_b"))

    pairs = edges.join(a, "src").join(b, "dst")
    scored = map_batches(pairs, lambda bt: _shingle_similarity(bt, mh), PAIR_SCHEMA)
    return scored.where(F.col("similarity") >= mh.threshold).select("src", "dst")


def paragraph_dedup(live: DataFrame, cfg: DedupConfig) -> DataFrame:
    """cc_net-style: repeated lines removed; documents that lose too large a share are dropped."""
    pc = cfg.paragraphs
    return _repeated_units(live, lambda b: B.paragraph_hashes(b, pc),
                           lambda b: B.remove_units(b, "paragraphs", 1, pc.max_removed_share, S.DUPLICATE_PARAGRAPHS),
                           pc.mode == "after_first", pc.max_count)


def sentence_dedup(live: DataFrame, cfg: DedupConfig) -> DataFrame:
    """C4-style: spans of ``span`` sentences seen earlier in the corpus removed; heavy losers dropped."""
    sc = cfg.sentences
    return _repeated_units(live, lambda b: B.sentence_span_hashes(b, sc),
                           lambda b: B.remove_units(b, "sentences", sc.span, sc.max_removed_share,
                                                    S.DUPLICATE_SENTENCES),
                           True, 0)


def run_dedup(spark: SparkSession, inputs: list[str], output: str, cfg: DedupConfig, fmt: str = "auto",
              source: str | None = None, overwrite: bool = True) -> dict[str, Any]:
    """Run the enabled steps over the inputs and write kept/, dropped/, clusters/, stats.json."""
    from pyspark.sql import functions as F

    from data_platform.report import stats as RS

    with JobOutput(spark, output, overwrite) as job:
        seconds: dict[str, float] = {}
        with _timed(seconds, "read"):
            docs, input_count = load_documents(spark, inputs, fmt, source)
            # materialized once: every step reads the same rows with the same keys
            docs = docs.withColumn(DUP_OF, F.lit(None).cast("string")).checkpoint(eager=True)
            input_chars = docs.agg(F.sum(S.N_CHARS)).collect()[0][0] or 0
        final, clusters = deduplicated(docs, cfg, seconds)
        with _timed(seconds, "write"):
            writers.write_partitioned(final.drop(KEY), spark, job.path)
            histogram = _write_clusters(clusters, job.path) if clusters is not None else {}
        stats = RS.build_stats(RS.aggregate(spark, job.path), S.drop_reason_order("dedup"), input_count)
        output_chars = stats["kept"]["characters"] + stats["dropped"]["characters"]
        stats["dedup"] = {"config": cfg.model_dump(), "lsh_bands_rows": list(lsh_params(cfg.minhash)),
                          "cluster_size_histogram": histogram,
                          "paragraph_characters_removed": input_chars - output_chars,
                          "stage_seconds": {k: round(v, 2) for k, v in seconds.items()}}
        stats["run"] = job.run_info(inputs=inputs, output=output)
        return job.finish(stats, AlarmCheck(list(S.REASONS_BY_STAGE["dedup"]), cfg.alarms))


def deduplicated(docs: DataFrame, cfg: DedupConfig, seconds: dict[str, float]) -> tuple[DataFrame, DataFrame | None]:
    """(every document once, duplicates marked and repeated units cut; the near-duplicate clusters, None without
    MinHash). Exact and MinHash duplicates are decided on the live documents; the survivors go through the
    paragraph and sentence steps. Each step's wall seconds (its results are checkpointed) go into ``seconds``."""
    from pyspark.sql import functions as F

    live = live_documents(docs)
    verdicts, clusters = [], None
    if cfg.exact.enabled:
        with _timed(seconds, "exact"):
            exact = exact_duplicates(live, cfg).checkpoint()
        verdicts.append(exact)
        live = live.join(exact.select(KEY), KEY, "left_anti")
    if cfg.minhash.enabled:
        with _timed(seconds, "minhash"):
            near, clusters = minhash_duplicates(live, cfg)
            near = near.checkpoint()
        verdicts.append(near)
        live = live.join(near.select(KEY), KEY, "left_anti")
    final = docs.where(F.col(S.DROP_REASON).isNotNull())
    for name, enabled, step in (("paragraphs", cfg.paragraphs.enabled, paragraph_dedup),
                                ("sentences", cfg.sentences.enabled, sentence_dedup)):
        if enabled:  # documents a step drops leave; the survivors (with text cut) go on to the next step
            with _timed(seconds, name):
                cut = step(live, cfg).checkpoint()
            final = final.unionByName(cut.where(F.col(S.DROP_REASON).isNotNull()))
            live = live_documents(cut)
    final = final.unionByName(live)
    if verdicts:
        final = final.unionByName(_marked(docs, verdicts))
    return final, clusters


@contextmanager
def _timed(seconds: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    seconds[name] = time.perf_counter() - start


def _marked(docs: DataFrame, verdicts: list[DataFrame]) -> DataFrame:
    """The documents the verdicts name, with their drop reason, detail and ``duplicate_of``."""
    from pyspark.sql import functions as F

    marks = verdicts[0]
    for v in verdicts[1:]:
        marks = marks.unionByName(v)
    return (docs.drop(DUP_OF).join(marks, KEY)
            .withColumn(S.DROP_REASON, F.col("_reason")).withColumn(S.DROP_DETAIL, F.col("_detail"))
            .drop("_reason", "_detail").select(*docs.columns))


def _write_clusters(clusters: DataFrame, out: str) -> dict[str, int]:
    """clusters/: every near-duplicate cluster member with its cluster (the smallest member key's document id)
    and size; returns {cluster size: number of clusters}."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy("component")
    named = (clusters.withColumn("size", F.count(F.lit(1)).over(w))
             .withColumn("cluster", F.min(F.struct(KEY, S.ID)).over(w)[S.ID])
             .select(S.ID, "cluster", "size"))
    named.write.mode("overwrite").parquet(f"{out}/clusters")
    sizes = named.groupBy("cluster", "size").count().groupBy("size").count().collect()
    return {str(r["size"]): r["count"] for r in sorted(sizes, key=lambda r: r["size"])}
