"""The dedup job on Spark: exact -> MinHash LSH + connected components -> paragraph -> sentence-span dedup.

Every input document leaves in ``kept/`` or ``dropped/`` (``duplicate_exact``, ``duplicate_minhash``,
``duplicate_paragraphs``, ``duplicate_sentences``, with ``duplicate_of`` naming the kept document); ``clusters/`` maps every clustered
document to its cluster; ``stats.json`` has per-stage counts and the cluster-size histogram. Which document of a
group is kept depends only on the data (ids, lengths, scores), never on partitioning.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator

import pyarrow as pa

from data_platform import schema as S
from data_platform.dedup import stages as ST
from data_platform.dedup.components import connected_components
from data_platform.dedup.config import DedupConfig, Keep
from data_platform.dedup.hashing import lsh_params
from data_platform.io import spark_io, writers
from data_platform.io.records import FieldMap

KEY = ST.KEY
DUP_OF = "duplicate_of"


def _batches(fn: Callable[[pa.RecordBatch], pa.RecordBatch]) -> Callable[[Iterator[pa.RecordBatch]], Iterator]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            yield fn(b)

    return run


def load_documents(spark, inputs: list[str], fmt: str = "auto", source: str | None = None):
    """Documents with a unique ``_key`` from a funnel output (kept/ parquet, all columns kept) or any reader input."""
    found = spark_io.discover(spark, inputs, fmt)
    for path in inputs:
        if (run := writers.interrupted_run(spark, path)) is not None:
            raise spark_io.InputError(f"{path} belongs to an unfinished run ({run} has no {writers.COMPLETE_MARKER}); "
                                      "rerun the job that writes it")
    if set(found.files) == {"parquet"}:
        df = spark.read.parquet(*found.files["parquet"])
        if {S.ID, S.TEXT, S.N_CHARS, S.DROP_REASON}.issubset(df.columns):  # the filter job's output
            return _with_key(df), df.count()
    raw, count = spark_io.read_documents(spark, found, FieldMap(), source)
    docs = raw.mapInArrow(_batches(ST.raw_to_documents), spark_io.spark_schema(ST.DOC_SCHEMA))
    return _with_key(docs), count


def _with_key(df):
    from pyspark.sql import functions as F

    # id + content hash + a row number: unique even when an input repeats an id; only identical rows tie.
    return df.withColumn(KEY, F.concat_ws("\u0001", F.col(S.ID), F.sha1(F.coalesce(F.col(S.TEXT), F.lit(""))),
                                          F.monotonically_increasing_id().cast("string")))


def _keep_order(keep: Keep, score_column: str | None):
    from pyspark.sql import functions as F

    by_id = [F.col(S.ID).asc(), F.col(KEY).asc()]
    if keep == "longest_text":
        return [F.col(S.N_CHARS).desc(), *by_id]
    if keep == "best_score":
        return [F.col(S.META)[score_column].cast("double").desc_nulls_last(), *by_id]
    return by_id


def _pick(members, group_col: str, keep: Keep, score_column: str | None, reason: str, what: str):
    """Within each group the first document in keep order stays; the others get ``reason`` and ``duplicate_of``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(group_col).orderBy(*_keep_order(keep, score_column))
    ranked = members.withColumn("_rank", F.row_number().over(w)).withColumn("_first", F.first(S.ID).over(w))
    return (ranked.where(F.col("_rank") > 1)
            .select(KEY, F.lit(reason).alias("_reason"), F.col("_first").alias(DUP_OF),
                    F.concat(F.lit(f"{what} of "), F.col("_first")).alias("_detail")))


def exact_duplicates(live, cfg: DedupConfig):
    spark_schema = spark_io.spark_schema(ST.HASH_SCHEMA)
    norm = cfg.exact.normalize
    hashes = live.select(KEY, S.TEXT).mapInArrow(_batches(lambda b: ST.exact_hashes(b, norm)), spark_schema)
    members = live.select(KEY, S.ID, S.N_CHARS, S.META).join(hashes, KEY)
    return _pick(members, "hash", cfg.exact.keep, None, "duplicate_exact", "exact duplicate")


def minhash_duplicates(spark, live, cfg: DedupConfig):
    """(duplicates, clusters): near-duplicate groups from LSH buckets, verified pairs and connected components."""
    from pyspark.sql import functions as F

    mh = cfg.minhash
    bands, rows = lsh_params(mh)
    sigs = (live.select(KEY, S.TEXT, S.LANG)
            .mapInArrow(_batches(lambda b: ST.minhash_signatures(b, mh, bands, rows)),
                        spark_io.spark_schema(ST.SIG_SCHEMA))
            .checkpoint())
    buckets = (sigs.select(KEY, F.posexplode("bands").alias("band", "bucket"))
               .groupBy("band", "bucket").agg(F.array_sort(F.collect_set(KEY)).alias("keys"))
               .where(F.size("keys") > 1))
    edges = (buckets.select(F.col("keys")[0].alias("src"), F.explode("keys").alias("dst"))
             .where(F.col("src") != F.col("dst")).distinct())
    if mh.verify == "signature":
        edges = _verified(edges, sigs, mh.threshold)
    elif mh.verify == "exact":
        edges = _verified_exact(edges, live, mh)
    components = connected_components(edges, mh.max_iterations)
    members = live.select(KEY, S.ID, S.N_CHARS, S.META).join(components.withColumnRenamed("node", KEY), KEY)
    clusters = members.select(S.ID, KEY, "component")
    return _pick(members, "component", mh.keep, mh.score_column, "duplicate_minhash", "near duplicate"), clusters


def _verified(edges, sigs, threshold: float):
    """Keep candidate pairs whose signatures agree on at least ``threshold`` of their positions."""
    from pyspark.sql import functions as F

    a = sigs.select(F.col(KEY).alias("src"), F.col("sig").alias("sig_a"))
    b = sigs.select(F.col(KEY).alias("dst"), F.col("sig").alias("sig_b"))
    pairs = edges.join(a, "src").join(b, "dst")
    schema = "src string, dst string, similarity double"

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import numpy as np

        from data_platform.dedup.hashing import estimated_jaccard

        for bt in batches:
            sa = np.frombuffer(b"".join(bt.column("sig_a").to_pylist()), dtype="<u4").reshape(bt.num_rows, -1)
            sb = np.frombuffer(b"".join(bt.column("sig_b").to_pylist()), dtype="<u4").reshape(bt.num_rows, -1)
            yield pa.RecordBatch.from_pydict({"src": bt.column("src"), "dst": bt.column("dst"),
                                              "similarity": estimated_jaccard(sa, sb)})

    return pairs.mapInArrow(score, schema).where(F.col("similarity") >= threshold).select("src", "dst")


def _repeated_units(live, explode, remove, after_first: bool, max_count: int):
    """Flag every repeated unit (line or sentence span) across the corpus — each occurrence after the first in
    (key, position) order, or all of them above ``max_count`` — and let ``remove`` cut them out per document."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    units = live.select(KEY, S.TEXT).mapInArrow(_batches(explode), spark_io.spark_schema(ST.PARA_SCHEMA))
    flagged = (units.withColumn("_n", F.row_number().over(Window.partitionBy("hash").orderBy(KEY, "idx")))
               .withColumn("_count", F.count(F.lit(1)).over(Window.partitionBy("hash"))))
    repeated = F.col("_n") > 1 if after_first else F.col("_count") > max_count
    removals = flagged.where(repeated).groupBy(KEY).agg(F.collect_list("idx").alias("remove_idx"))
    joined = live.join(removals, KEY, "left")
    schema = spark_io.arrow_schema(joined)
    out_schema = schema.remove(schema.get_field_index("remove_idx"))
    return joined.mapInArrow(_batches(remove), spark_io.spark_schema(out_schema))


def _verified_exact(edges, live, mh):
    """Keep candidate pairs whose exact shingle Jaccard reaches the threshold (texts joined to both ends)."""
    from pyspark.sql import functions as F

    from data_platform.dedup.hashing import exact_jaccard

    a = live.select(F.col(KEY).alias("src"), F.col(S.TEXT).alias("text_a"), F.col(S.LANG).alias("lang_a"))
    b = live.select(F.col(KEY).alias("dst"), F.col(S.TEXT).alias("text_b"), F.col(S.LANG).alias("lang_b"))

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for bt in batches:
            c = bt.to_pydict()
            sims = [exact_jaccard(ta, tb, la, lb, mh)
                    for ta, tb, la, lb in zip(c["text_a"], c["text_b"], c["lang_a"], c["lang_b"])]
            yield pa.RecordBatch.from_pydict({"src": c["src"], "dst": c["dst"], "similarity": sims})

    pairs = edges.join(a, "src").join(b, "dst")
    return (pairs.mapInArrow(score, "src string, dst string, similarity double")
            .where(F.col("similarity") >= mh.threshold).select("src", "dst"))


def paragraph_dedup(live, cfg: DedupConfig):
    """cc_net-style: repeated lines removed; documents that lose too large a share are dropped."""
    pc = cfg.paragraphs
    return _repeated_units(live, lambda b: ST.paragraph_hashes(b, pc),
                           lambda b: ST.remove_units(b, "paragraphs", 1, pc.max_removed_share, "duplicate_paragraphs"),
                           pc.mode == "after_first", pc.max_count)


def sentence_dedup(live, cfg: DedupConfig):
    """C4-style: spans of ``span`` sentences seen earlier in the corpus removed; heavy losers dropped."""
    sc = cfg.sentences
    return _repeated_units(live, lambda b: ST.sentence_span_hashes(b, sc),
                           lambda b: ST.remove_units(b, "sentences", sc.span, sc.max_removed_share,
                                                     "duplicate_sentences"),
                           True, 0)


STAGE_REASONS = ["duplicate_exact", "duplicate_minhash", "duplicate_paragraphs", "duplicate_sentences"]


def run_dedup(spark, inputs: list[str], output: str, cfg: DedupConfig, fmt: str = "auto",
              source: str | None = None, overwrite: bool = True) -> dict[str, Any]:
    """Run the enabled stages over the inputs and write kept/, dropped/, clusters/, stats.json."""
    from pyspark.sql import functions as F

    from data_platform.report import stats as RS

    started = time.time()
    writers.prepare_output(spark, output, overwrite)
    out = output.rstrip("/")
    writers.use_checkpoints(spark, out)
    docs, input_count = load_documents(spark, inputs, fmt, source)
    # materialized once: every stage reads the same rows with the same keys
    docs = docs.withColumn(DUP_OF, F.lit(None).cast("string")).checkpoint(eager=True)
    input_chars = docs.agg(F.sum(S.N_CHARS)).first()[0] or 0
    live = docs.where(F.col(S.DROP_REASON).isNull())
    verdicts, clusters = [], None
    if cfg.exact.enabled:
        exact = exact_duplicates(live, cfg).checkpoint()
        verdicts.append(exact)
        live = live.join(exact.select(KEY), KEY, "left_anti")
    if cfg.minhash.enabled:
        near, clusters = minhash_duplicates(spark, live, cfg)
        near = near.checkpoint()
        verdicts.append(near)
        live = live.join(near.select(KEY), KEY, "left_anti")
    final = docs.where(F.col(S.DROP_REASON).isNotNull())
    for enabled, stage in ((cfg.paragraphs.enabled, paragraph_dedup), (cfg.sentences.enabled, sentence_dedup)):
        if enabled:  # documents a stage drops leave; the survivors (with text cut) go on to the next stage
            staged = stage(live, cfg).checkpoint()
            final = final.unionByName(staged.where(F.col(S.DROP_REASON).isNotNull()))
            live = staged.where(F.col(S.DROP_REASON).isNull())
    final = final.unionByName(live)
    if verdicts:
        marks = verdicts[0]
        for v in verdicts[1:]:
            marks = marks.unionByName(v)
        duplicates = (docs.drop(DUP_OF).join(marks, KEY)
                      .withColumn(S.DROP_REASON, F.col("_reason")).withColumn(S.DROP_DETAIL, F.col("_detail"))
                      .drop("_reason", "_detail").select(*docs.columns))
        final = final.unionByName(duplicates)
    writers.write_partitioned(final.drop(KEY), spark, output)
    histogram = _write_clusters(clusters, out) if clusters is not None else {}
    stats = RS.build_stats(RS.aggregate(spark, out), [*S.PRE_RULE_REASONS, *STAGE_REASONS], input_count)
    output_chars = stats["kept"]["characters"] + stats["dropped"]["characters"]
    stats["dedup"] = {"config": cfg.model_dump(), "lsh_bands_rows": list(lsh_params(cfg.minhash)),
                      "cluster_size_histogram": histogram,
                      "paragraph_characters_removed": input_chars - output_chars}
    stats["run"] = {"inputs": inputs, "output": output, "elapsed_s": round(time.time() - started, 2)}
    writers.finish(spark, output, stats, {"input_documents": input_count})
    return stats


def _write_clusters(clusters, out: str) -> dict[str, int]:
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
