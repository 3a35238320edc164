"""Dedup with known answers: near-duplicates at set Jaccard levels, transitive chains, deterministic keeps,
paragraph boilerplate removal, accounting."""

from __future__ import annotations

import json
import random

import pyarrow.dataset as ds
import pytest

from data_platform.dedup.config import DedupConfig, MinHashConfig
from data_platform.dedup.hashing import shingles, signatures
from data_platform.dedup.run import run_dedup

VOCAB = [f"w{i}" for i in range(5000)]
_letters = random.Random(11)
WORDS = sorted({"".join(_letters.choices("abcdefghijklmnopqrstuvwxyz", k=7)) for _ in range(3000)})


def base_doc(rng: random.Random, n: int = 400) -> list[str]:
    return rng.sample(VOCAB, n)


def edit(words: list[str], k: int, rng: random.Random) -> list[str]:
    """Replace ``k`` words spread out (no two within 5 positions): each edit removes 5 word 5-grams."""
    out = list(words)
    for pos in rng.sample(range(0, len(words), 6), k):
        out[pos] = f"x{rng.randrange(10**9)}"
    return out


def jaccard(a: str, b: str) -> float:
    cfg = MinHashConfig()
    sa, sb = set(shingles(a, "en", cfg)), set(shingles(b, "en", cfg))
    return len(sa & sb) / len(sa | sb)


def test_datasketch_scheme_equals_datasketch_update_loop():
    from datasketch import MinHash

    cfg = MinHashConfig(num_perm=64, hash="datasketch")
    texts = ["one two three four five six seven", "中文文本的字符级别分片测试", ""]
    sig, has = signatures(texts, ["en", "zh", "en"], cfg)
    for text, lang, row in zip(texts[:2], ["en", "zh"], sig[:2], strict=True):
        m = MinHash(num_perm=64, seed=1)
        for s in shingles(text, lang, cfg):
            m.update(s)
        assert (row == m.hashvalues).all()
    assert has.tolist() == [True, True, False]


def test_cjk_language_codes_in_any_spelling_get_character_shingles():
    cfg = MinHashConfig(cjk_ngram=2)
    # 中文文本: character 2-grams 中文, 文文, 文本 (a word tokenizer would see one token)
    for lang in ("zh", "zh-Hans", "ZH", "zh_TW", "ko", "ja-JP"):
        assert sorted(shingles("中文 文本", lang, cfg)) == sorted(s.encode() for s in ("中文", "文文", "文本")), lang


@pytest.fixture(scope="module")
def corpus():
    rng = random.Random(7)
    a = base_doc(rng)
    chain = [a]
    for _ in range(4):  # A ~ B ~ C ~ D ~ E, each step 5 edits (Jaccard ~0.88), A vs E ~0.6
        chain.append(edit(chain[-1], 5, rng))
    docs = {f"chain-{c}": " ".join(w) for c, w in zip("abcde", chain, strict=True)}
    near = base_doc(rng)
    docs["near-1"] = " ".join(near)
    docs["near-2"] = " ".join(edit(near, 2, rng))          # Jaccard ~0.95
    docs["near-3"] = " ".join(edit(near, 3, rng)).upper()  # exact-looking after lowercasing? no: edited too
    docs["far-1"] = " ".join(near[:200] + base_doc(rng, 200))  # Jaccard ~0.33 with near-1
    for i in range(6):
        docs[f"distinct-{i}"] = " ".join(base_doc(rng))
    docs["exact-1"] = docs["distinct-0"].upper()  # equal to distinct-0 after lowercasing
    return docs


def write_jsonl(folder, docs: dict[str, str], files: int):
    folder.mkdir()
    items = sorted(docs.items())
    for f in range(files):
        with open(folder / f"part-{f}.jsonl", "w") as out:
            for doc_id, text in items[f::files]:
                out.write(json.dumps({"id": doc_id, "text": text, "lang": "en", "source": "test"}) + "\n")


def run(spark, tmp_path, docs, files=1, name="out", **minhash):
    folder = tmp_path / f"in-{name}"
    write_jsonl(folder, docs, files)
    cfg = DedupConfig(minhash=MinHashConfig(num_perm=256, **minhash))
    stats = run_dedup(spark, [str(folder)], str(tmp_path / name), cfg)
    rows = {}
    for part in ("kept", "dropped"):
        for d in ds.dataset(str(tmp_path / name / part), format="parquet").to_table().to_pylist():
            rows[d["id"]] = d
    return stats, rows


@pytest.fixture(scope="module")
def result(spark, tmp_path_factory, corpus):
    return run(spark, tmp_path_factory.mktemp("dedup"), corpus, files=1)


def test_test_data_has_the_intended_similarities(corpus):
    assert 0.85 < jaccard(corpus["chain-a"], corpus["chain-b"]) < 0.92
    assert jaccard(corpus["chain-a"], corpus["chain-e"]) < 0.7
    assert jaccard(corpus["near-1"], corpus["far-1"]) < 0.4


def test_near_duplicates_and_transitive_chains_cluster(result):
    stats, rows = result
    reasons = {i: d["drop_reason"] for i, d in rows.items()}
    assert reasons["chain-a"] is None  # smallest id of its component
    assert all(reasons[f"chain-{c}"] == "duplicate_minhash" for c in "bcde")
    assert all(rows[f"chain-{c}"]["duplicate_of"] == "chain-a" for c in "bcde")
    assert reasons["near-1"] is None and reasons["near-2"] == "duplicate_minhash"
    assert reasons["near-3"] == "duplicate_minhash" and rows["near-3"]["duplicate_of"] == "near-1"
    assert reasons["far-1"] is None
    assert all(reasons[f"distinct-{i}"] is None for i in range(6))
    assert reasons["exact-1"] == "duplicate_exact" and rows["exact-1"]["duplicate_of"] == "distinct-0"
    assert stats["accounting"]["ok"] and stats["input_documents"] == len(rows)
    assert stats["dedup"]["cluster_size_histogram"] == {"3": 1, "5": 1}


def test_clusters_are_written(result, tmp_path_factory):
    stats, _ = result
    clusters = ds.dataset(stats["run"]["output"] + "/clusters", format="parquet").to_table().to_pylist()
    by_id = {c["id"]: (c["cluster"], c["size"]) for c in clusters}
    assert by_id["chain-e"] == ("chain-a", 5) and by_id["near-2"] == ("near-1", 3)


def test_result_does_not_depend_on_partitions_or_runs(spark, tmp_path, corpus, result):
    _, one = result
    _, three = run(spark, tmp_path, corpus, files=3, name="three")
    project = lambda rows: {i: (d["drop_reason"], d["duplicate_of"]) for i, d in rows.items()}  # noqa: E731
    assert project(three) == project(one)


def test_keep_longest_text(spark, tmp_path, corpus):
    docs = {"a": corpus["near-1"], "b": corpus["near-1"] + " and a longer ending here"}
    _, rows = run(spark, tmp_path, docs, name="longest", keep="longest_text")
    assert rows["a"]["drop_reason"] == "duplicate_minhash" and rows["a"]["duplicate_of"] == "b"


def test_paragraph_dedup_removes_boilerplate_and_keeps_the_rest(spark, tmp_path):
    nav = "Home | Products | About us | Contact | Cookie settings"
    footer = "Copyright 2024 Example Corp. All rights reserved. Terms of use."
    rng = random.Random(3)
    docs, bodies = {}, {}
    for i in range(5):  # unique lines of letters (paragraph hashing maps every digit to 0)
        bodies[i] = [" ".join(rng.sample(WORDS, 12)) for _ in range(8)]
        docs[f"page-{i}"] = "\n".join([nav, *bodies[i], footer])
    docs["mostly-nav"] = "\n".join([nav, footer, "A single line of its own content, quite short."])
    _, rows = run(spark, tmp_path, docs, name="paras")
    first = rows["mostly-nav"]  # smallest key: the first occurrence of nav and footer lives here...
    assert first["drop_reason"] is None and nav in first["text"]
    for i in range(5):
        text = rows[f"page-{i}"]["text"]
        assert nav not in text and footer not in text
        assert text == "\n".join(bodies[i])
        assert dict(rows[f"page-{i}"]["meta"])["paragraphs_removed"].startswith("2 paragraphs")


def test_paragraph_heavy_duplicate_is_dropped(spark, tmp_path):
    nav = "Home | Products | About us | Contact | Cookie settings"
    footer = "Copyright 2024 Example Corp. All rights reserved. Terms of use."
    docs = {"a-first": f"{nav}\n{footer}\nOriginal article text that is long enough to keep.",
            "b-copy": f"{nav}\n{footer}\nShort."}
    stats, rows = run(spark, tmp_path, docs, name="heavy")
    assert rows["b-copy"]["drop_reason"] == "duplicate_paragraphs"
    assert rows["b-copy"]["text"] == docs["b-copy"]  # dropped whole, nothing lost
    assert stats["accounting"]["ok"]


def test_sentence_spans_seen_before_are_removed(spark, tmp_path):
    rng = random.Random(5)
    sentence = lambda: " ".join(rng.sample(WORDS, 8)).capitalize() + "."  # noqa: E731
    shared = [sentence() for _ in range(3)]  # a three-sentence span quoted by every page
    docs, own = {}, {}
    for i in range(4):
        own[i] = [sentence() for _ in range(12)]
        docs[f"doc-{i}"] = " ".join(own[i][:6] + shared + own[i][6:])
    folder = tmp_path / "in-sent"
    write_jsonl(folder, docs, 1)
    from data_platform.dedup.config import ParagraphConfig

    stats = run_dedup(spark, [str(folder)], str(tmp_path / "sent"),
                      DedupConfig(paragraphs=ParagraphConfig(enabled=False)))
    out = {d["id"]: d for part in ("kept", "dropped")
           for d in ds.dataset(str(tmp_path / "sent" / part), format="parquet").to_table().to_pylist()}
    assert all(s in out["doc-0"]["text"] for s in shared)  # the first occurrence stays
    for i in range(1, 4):
        text = out[f"doc-{i}"]["text"]
        assert out[f"doc-{i}"]["drop_reason"] is None
        assert not any(s in text for s in shared)
        assert text == " ".join(own[i])
        assert dict(out[f"doc-{i}"]["meta"])["sentences_removed"].startswith("3 sentences")
    assert stats["accounting"]["ok"]
