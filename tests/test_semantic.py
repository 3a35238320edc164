"""Semantic dedup: encoder offline, k-means backends agree, SemDeDup groups paraphrases and translated
boilerplate but not distinct documents, keep choice, partition independence, eps sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from data_platform.semantic import kmeans
from data_platform.semantic import semdedup as SD
from data_platform.semantic.config import EmbedConfig, SemDedupConfig
from data_platform.semantic.encoder import embed_texts, from_arrow, to_arrow

REPO = Path(__file__).resolve().parents[1]
PAIRS = [json.loads(line) for line in (REPO / "tests" / "data" / "semantic_pairs.jsonl").open()]
EPS = 0.3  # MiniLM: paraphrase / template / translated-footer pairs >= 0.76 cosine, distinct pairs <= 0.48
EMBED = EmbedConfig(max_tokens=128, dtype="float16", device="cpu")


@pytest.fixture(scope="module")
def pair_embeddings() -> np.ndarray:
    return embed_texts([p["text"] for p in PAIRS], max_tokens=128, device="cpu")


def _groups(dup_of: dict[str, str]) -> dict[str, str]:
    """id -> the kept id of its group (itself when kept)."""
    return {p["id"]: dup_of.get(p["id"], p["id"]) for p in PAIRS}


def _expected_ok(groups: dict[str, str]) -> None:
    by_group = {p["id"]: p["group"] for p in PAIRS}
    for doc, kept in groups.items():
        assert by_group[doc] == by_group[kept], f"{doc} grouped with {kept}"
    for g in {p["group"] for p in PAIRS}:
        assert len({groups[p["id"]] for p in PAIRS if p["group"] == g}) == 1, f"group {g} not merged"


def test_bundled_model_loads_without_network():
    code = ("from data_platform.semantic.encoder import embed_texts; import numpy as np; "
            "e = embed_texts(['offline check'], device='cpu'); assert e.shape == (1, 384); "
            "assert abs(np.linalg.norm(e) - 1) < 1e-5")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_HOME": "/nonexistent-hf-home", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_embeddings_match_sentence_transformers_encode():
    from data_platform.semantic.encoder import BUNDLED, load_model

    texts = ["short", "a somewhat longer sentence about package management on Debian systems"]
    ours = embed_texts(texts, device="cpu")
    ref = load_model(BUNDLED, "cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    np.testing.assert_allclose(from_arrow(to_arrow(ours, "float16")), ours, atol=2e-3)
    np.testing.assert_array_equal(from_arrow(to_arrow(ours, "float32")), ours)


def test_kmeans_backends_agree_on_separated_data():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, 32))
    x = np.repeat(centres, 50, axis=0) + 0.05 * rng.normal(size=(300, 32))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    truth = np.repeat(np.arange(6), 50)
    results = {}
    for backend in ("torch", "faiss"):
        cents = kmeans.train(x, 6, iters=10, seed=0, backend=backend, device="cpu")
        results[backend] = kmeans.assign(x, cents, backend, "cpu")[0]
        # a partition equal to the truth, whatever the label numbering
        assert len({(t, a) for t, a in zip(truth, results[backend], strict=True)}) == 6
    np.testing.assert_array_equal(results["torch"], results["faiss"])


def test_too_few_clusters_warns():
    with pytest.warns(UserWarning, match="too small"):
        assert kmeans.check_k(1000, 1000, 2, 100) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kmeans.check_k(1000, 10, 50, 100) == 10  # clamped to the sample, mean size 100 is fine


def test_pairs_grouped_distinct_not(pair_embeddings):
    ids = [p["id"] for p in PAIRS]
    order = SD.keep_order(ids, ids, np.zeros(len(ids)), None, "closest_to_centroid")
    dup, _ = SD.greedy_duplicates(pair_embeddings, order, 1 - EPS, block=4, kept_block=3)
    _expected_ok(_groups({ids[i]: ids[d] for i, d in enumerate(dup) if d >= 0}))


def test_kept_member_follows_config(pair_embeddings):
    ids = [p["id"] for p in PAIRS]
    centroid = pair_embeddings.mean(axis=0)
    closeness = pair_embeddings @ (centroid / np.linalg.norm(centroid))
    quality = np.array([5.0 if i.endswith("b") else 1.0 for i in ids])
    for keep, want in (("best_quality", "b"), ("closest_to_centroid", None), ("farthest_from_centroid", None)):
        order = SD.keep_order(ids, ids, closeness, quality, keep)
        dup, _ = SD.greedy_duplicates(pair_embeddings, order, 1 - EPS)
        for g in ("para-1", "para-2", "para-3", "tmpl-1"):
            a, b = ids.index(f"{g}a"), ids.index(f"{g}b")
            kept = b if dup[b] < 0 else a
            if want == "b":
                assert kept == b
            else:
                pick = max if keep == "closest_to_centroid" else min
                assert kept == pick((a, b), key=lambda i: closeness[i])


def test_sweep_is_monotone_and_counts_removals(pair_embeddings):
    ids = [p["id"] for p in PAIRS]
    order = SD.keep_order(ids, ids, np.zeros(len(ids)), None, "closest_to_centroid")
    removed = SD.sweep(pair_embeddings, order, [0.01, 0.05, 0.1, 0.3, 0.6, 0.9])
    values = list(removed.values())
    assert values == sorted(values)
    assert removed[0.3] == len(PAIRS) - len({p["group"] for p in PAIRS})


def _write_input(spark, folder: Path, partitions: int, quality: bool = False) -> str:
    """The pairs as a filter-job output (kept/ parquet) in ``partitions`` files."""
    from data_platform import schema as S

    rows = [{S.ID: p["id"], S.TEXT: p["text"], S.URL: None, S.SOURCE: "test", S.LANG: "en",
             S.META: {"quality_score": "5.0" if p["id"].endswith("b") else "1.0"} if quality else {},
             S.N_CHARS: len(p["text"]), S.DROP_REASON: None, S.DROP_DETAIL: None} for p in PAIRS]
    rows.append({S.ID: "gone-1", S.TEXT: "dropped earlier", S.URL: None, S.SOURCE: "test", S.LANG: "en",
                 S.META: {}, S.N_CHARS: 15, S.DROP_REASON: "word_count", S.DROP_DETAIL: "too short"})
    schema = ("id string, text string, url string, source string, lang string, meta map<string,string>, "
              "n_chars long, drop_reason string, drop_detail string")
    spark.createDataFrame(rows, schema).repartition(partitions).write.mode("overwrite").parquet(str(folder))
    return str(folder)


def _dups(spark, out: Path) -> dict[str, str]:
    rows = spark.read.parquet(f"{out}/dropped").where("drop_reason = 'duplicate_semantic'").collect()
    return {r["id"]: r["duplicate_of"] for r in rows}


@pytest.fixture(scope="module")
def one_partition_run(spark, tmp_path_factory):
    from data_platform.semantic.run import run_semdedup

    tmp = tmp_path_factory.mktemp("semdedup")
    src = _write_input(spark, tmp / "in1", 1)
    cfg = SemDedupConfig(clusters=3, eps=EPS)
    stats = run_semdedup(spark, [src], str(tmp / "out1"), cfg, EMBED)
    return tmp, cfg, stats


def test_semdedup_job_groups_and_accounts(spark, one_partition_run):
    tmp, _, stats = one_partition_run
    out = tmp / "out1"
    assert stats["accounting"]["ok"] and (out / "_COMPLETE").exists()
    dups = _dups(spark, out)
    _expected_ok(_groups(dups))
    assert len(dups) == len(PAIRS) - len({p["group"] for p in PAIRS})
    assert stats["dropped"]["documents"] == len(dups) + 1  # + the document dropped before
    emb = spark.read.parquet(f"{out}/embeddings")
    assert emb.count() == len(PAIRS) and "gone-1" not in {r["id"] for r in emb.select("id").collect()}
    detail = spark.read.parquet(f"{out}/dropped").where("id = 'para-1b' or id = 'para-1a'").collect()
    assert any((r["drop_detail"] or "").startswith("semantic duplicate of para-1") for r in detail)


def test_semdedup_same_result_on_many_partitions(spark, one_partition_run):
    from data_platform.semantic.run import run_semdedup

    tmp, cfg, _ = one_partition_run
    src = _write_input(spark, tmp / "in4", 4)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "3")
    try:
        run_semdedup(spark, [src], str(tmp / "out4"), cfg, EMBED)  # embedded again, in batches of 3
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "500")
    assert _dups(spark, tmp / "out4") == _dups(spark, tmp / "out1")
    def clusters(name: str) -> dict[str, int]:
        return {r["id"]: r["cluster"] for r in spark.read.parquet(f"{tmp}/{name}/clusters").collect()}

    assert clusters("out4") == clusters("out1")


def test_semdedup_best_quality_and_sweep_with_split_clusters(spark, one_partition_run):
    from data_platform.semantic.run import run_semdedup

    tmp, _, _ = one_partition_run
    src = _write_input(spark, tmp / "inq", 2, quality=True)
    emb = str(tmp / "out1" / "embeddings")
    cfg = SemDedupConfig(clusters=2, eps=EPS, keep="best_quality", max_cluster_size=6)
    with pytest.warns(UserWarning, match="too small"):
        run_semdedup(spark, [src], str(tmp / "outq"), cfg, EMBED, embeddings=emb)
    dups = _dups(spark, tmp / "outq")
    pairs = {d: k for d, k in dups.items() if not d.startswith("trans")}
    # splitting clusters of at most 6 may separate a pair; those still together keep the better-scored member
    assert len(pairs) >= 2 and all(d.endswith("a") and k == d[:-1] + "b" for d, k in pairs.items())
    stats = json.loads((tmp / "outq" / "stats.json").read_text())
    assert stats["semdedup"]["clusters_split"] >= 1
    report = run_semdedup(spark, [src], str(tmp / "sweep"), cfg.model_copy(update={"max_cluster_size": 1000}),
                          EMBED, sweep=True, embeddings=emb)
    shares = [row["share_removed"] for row in report["sweep"]]
    assert shares == sorted(shares) and shares[-1] > shares[0]
    assert sorted(p.name for p in (tmp / "sweep").iterdir()) == [".sweep.json.crc", "sweep.json"] or \
        not (tmp / "sweep" / "kept").exists()


def test_semdedup_with_nothing_live_passes_documents_through(spark, tmp_path):
    from data_platform.semantic.run import run_semdedup

    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "e1", "text": ""}\n{"id": "e2", "text": "   "}\n')
    stats = run_semdedup(spark, [str(src)], str(tmp_path / "out"), SemDedupConfig(), EMBED)
    assert stats["accounting"]["ok"] and stats["kept"]["documents"] == 0 and stats["dropped"]["documents"] == 2
    assert stats["semdedup"]["documents"] == 0 and (tmp_path / "out" / "_COMPLETE").exists()
