"""The shards stage of a pipeline: kept documents -> parquet training shards grouped by source and language.

Each (source, language) group gets ``ceil(text bytes / target_bytes)`` shards (or more, to stay near
``target_documents``); a document goes to shard ``xxhash64(id) mod n`` of its group, so the assignment is
parallel and depends only on the data. Spark writes one file per shard (repartitioned by shard, sorted by id
within it: reruns give byte-identical files); the driver then moves each file to
``shards/<source>/<lang>/part-NNNNN.parquet`` and describes it in ``shards.json`` (documents, characters,
bytes, sha256 hashed on the executors). ``stats.json`` follows the other stages' shape (nothing is dropped).
The files hold ``columns``, then those of ``optional_columns`` the input has, then every input column whose name
starts with one of ``optional_prefixes`` (``quality_``: the tag stage's scores and buckets, usable as trainer
channels).
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from data_platform import schema as S
from data_platform.io import hadoop_fs as HFS
from data_platform.io.job_output import JobOutput

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SHARD = "_shard"
SHARDS_DIR = "shards"
SHARD_INDEX = "shards.json"
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


class ShardsConfig(BaseModel):
    """The ``shards:`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    target_bytes: int = Field(256 * 10**6, gt=0, description="UTF-8 text bytes per shard, e.g. 256MB")
    target_documents: int | None = Field(None, gt=0, description="documents per shard (on average), if smaller")
    columns: list[str] = [S.ID, S.TEXT, S.URL, S.SOURCE, S.LANG, S.N_CHARS]
    optional_columns: list[str] = Field(["quality_score", "quality_int", "domain", "domain_confidence"],
                                        description="written when the input has them (the tag stage's columns)")
    optional_prefixes: list[str] = Field(["quality_"], description="input columns starting with one of these are "
                                                                   "written too (quality_bucket, quality_<scorer>)")

    @field_validator("target_bytes", mode="before")
    @classmethod
    def _size(cls, v: Any) -> Any:
        if isinstance(v, str):
            m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", v, re.IGNORECASE)
            if not m:
                raise ValueError("a size such as 256MB, 1GiB or 5000000")
            return int(float(m.group(1)) * _UNITS[(m.group(2) or "").upper()])
        return v

    @field_validator("columns")
    @classmethod
    def _required(cls, v: list[str]) -> list[str]:
        missing = {S.ID, S.TEXT, S.SOURCE, S.LANG} - set(v)
        if missing:
            raise ValueError(f"columns must include {', '.join(sorted(missing))}")
        return v


def safe_name(value: str | None) -> str:
    """A folder name for a source or language: other characters than [A-Za-z0-9._-] become '_', with a short
    hash of the original appended when anything changed (so 'a/b' and 'a_b' stay apart)."""
    import hashlib

    if not value:
        return "unknown"
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", value).strip(".") or "_"
    if clean == value:
        return clean
    return f"{clean[:80]}-{hashlib.sha1(value.encode('utf-8')).hexdigest()[:6]}"


def plan(groups: list[dict[str, Any]], cfg: ShardsConfig) -> list[dict[str, Any]]:
    """Shards per (source, lang) group, in a fixed order; each gets a global ``offset`` for its shard ids."""
    out, offset = [], 0
    for g in sorted(groups, key=lambda g: (g["source"] or "", g["lang"] or "")):
        n = max(1, math.ceil(g["bytes"] / cfg.target_bytes))
        if cfg.target_documents:
            n = max(n, math.ceil(g["documents"] / cfg.target_documents))
        out.append({**g, "shards": n, "offset": offset})
        offset += n
    return out


def carried(cfg: ShardsConfig, available: list[str]) -> list[str]:
    """The columns written: ``columns``, then the optional ones among ``available`` (listed, then by prefix)."""
    optional = [c for c in cfg.optional_columns if c in available]
    optional += [c for c in available if c.startswith(tuple(cfg.optional_prefixes))]
    return list(dict.fromkeys([*cfg.columns, *optional]))


def run_shards(spark: SparkSession, inputs: list[str], output: str, cfg: ShardsConfig) -> dict[str, Any]:
    """Write the shards of the kept documents in ``inputs`` (parquet) and return the stage's stats."""
    from pyspark.sql import functions as F

    from data_platform.report import stats as RS

    with JobOutput(spark, output) as job:
        HFS.remove(spark, job.file(SHARDS_DIR))
        docs = spark.read.parquet(*inputs)
        columns = carried(cfg, docs.columns)
        missing = [c for c in columns if c not in docs.columns]
        if missing:
            raise ValueError(f"shards: input has no column {', '.join(missing)}")
        keyed = docs.select(*columns, F.coalesce(S.SOURCE, F.lit("")).alias("_src"),
                            F.coalesce(S.LANG, F.lit("")).alias("_lang"))
        rows = keyed.groupBy("_src", "_lang").agg(F.count(F.lit(1)).alias("documents"),
                                                  F.sum(F.octet_length(S.TEXT)).alias("bytes")).collect()
        groups = plan([{"source": r["_src"], "lang": r["_lang"], "documents": r["documents"],
                        "bytes": r["bytes"] or 0} for r in rows], cfg)
        shards = _write(spark, keyed, groups, job.path) if groups else []
        # nothing is dropped: the funnel lists no reason
        stats = RS.build_stats([{S.DROP_REASON: None, S.SOURCE: s["source"] or None, S.LANG: s["lang"] or None,
                                 "documents": s["documents"], "characters": s["characters"]} for s in shards],
                               [], sum(g["documents"] for g in groups))
        stats["shards"] = {"config": cfg.model_dump(), "count": len(shards), "columns": columns,
                           "bytes": sum(s["bytes"] for s in shards)}
        stats["run"] = job.run_info(inputs=inputs, output=output)
        HFS.write_text(spark, job.file(SHARD_INDEX), json.dumps(shards, indent=1, ensure_ascii=False))
        return job.finish(stats, shards=len(shards))


def _write(spark: SparkSession, keyed: DataFrame, groups: list[dict[str, Any]], out: str) -> list[dict[str, Any]]:
    from pyspark.sql import functions as F

    plan_df = spark.createDataFrame([(g["source"], g["lang"], g["offset"], g["shards"]) for g in groups],
                                    "_src string, _lang string, _offset int, _n int")
    assigned = (keyed.join(F.broadcast(plan_df), ["_src", "_lang"])
                .withColumn(SHARD, F.col("_offset") + F.pmod(F.xxhash64(S.ID), F.col("_n")).cast("int"))
                .drop("_src", "_lang", "_offset", "_n"))
    total = sum(g["shards"] for g in groups)
    staging = f"{out}/_staging"
    (assigned.repartition(total, SHARD).sortWithinPartitions(SHARD, S.ID, S.TEXT)
     .write.mode("overwrite").partitionBy(SHARD).parquet(staging))
    counts = {r[SHARD]: (r["documents"], r["characters"] or 0) for r in
              spark.read.parquet(staging).groupBy(SHARD)
              .agg(F.count(F.lit(1)).alias("documents"), F.sum(F.length(S.TEXT)).alias("characters")).collect()}
    moves = []
    for g in groups:
        folder = f"{SHARDS_DIR}/{safe_name(g['source'])}/{safe_name(g['lang'])}"
        for i in range(g["shards"]):
            shard_id = g["offset"] + i
            if shard_id in counts:  # a small group can leave a hash bucket empty
                moves.append((shard_id, g, f"{folder}/part-{i:05d}.parquet"))
    files = _move(spark, staging, out, moves)
    HFS.remove(spark, staging)
    described = _describe(spark, files)
    shards = []
    for (shard_id, g, rel), (sha, size, rows) in zip(moves, described, strict=True):
        documents, characters = counts[shard_id]
        if rows != documents:
            raise RuntimeError(f"shard {rel}: {rows} rows in the file, {documents} written")
        shards.append({"path": rel, "source": g["source"], "lang": g["lang"], "documents": documents,
                       "characters": characters, "bytes": size, "sha256": sha})
    return shards


def _move(spark: SparkSession, staging: str, out: str, moves: list[tuple[int, dict, str]]) -> list[str]:
    """Move the single data file of each ``_shard=K`` folder to its shard path; returns the new full paths."""
    moved = []
    for shard_id, _, rel in moves:
        parts = [p for p in HFS.children(spark, f"{staging}/{SHARD}={shard_id}")
                 if p.rpartition("/")[2].startswith("part-")]
        if len(parts) != 1:
            raise RuntimeError(f"expected one file for shard {shard_id}, found {len(parts)}")
        moved.append(HFS.move(spark, parts[0], f"{out}/{rel}"))
    return moved


def _describe(spark: SparkSession, paths: list[str]) -> list[tuple[str, int, int]]:
    """(sha256, bytes, rows from the parquet footer) per file, computed on the executors."""
    if not paths:
        return []

    def describe(path: str) -> tuple[str, int, int]:
        import hashlib

        import pyarrow.fs as pafs
        import pyarrow.parquet as pq

        fs, local = pafs.FileSystem.from_uri(path.replace("s3a://", "s3://", 1))
        h, size = hashlib.sha256(), 0
        with fs.open_input_stream(local) as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
                size += len(chunk)
        with fs.open_input_file(local) as f:
            rows = pq.ParquetFile(f).metadata.num_rows
        return h.hexdigest(), size, rows

    return spark.sparkContext.parallelize(paths, min(len(paths), 64)).map(describe).collect()
