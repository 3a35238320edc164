"""The compiled MinHash kernel against a plain-Python statement of its scheme over ``hashing.shingles``: the same
values on a fixed multilingual corpus and on the edge cases (empty, one word, CJK, casing that depends on context,
characters of four UTF-8 bytes), for list and Arrow input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from data_platform.dedup import minhash_kernel as K
from data_platform.dedup.config import MinHashConfig
from data_platform.dedup.hashing import shingles, signatures
from data_platform.langcodes import normalize_lang
from data_platform.text import CHAR_TOKEN_LANGS

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference" / "reference.jsonl.gz"
M64 = (1 << 64) - 1
EDGE = [
    ("", "en"), ("   \n\t ", "en"), ("word", "en"), ("two words", "en"), ("!!! ??? ...", "en"), ("中", "zh"),
    ("中文 文本　测试", "zh"), ("日本語のテキストです。", "ja"), ("한국어 텍스트", "ko"),
    ("ΟΔΥΣΣΕΥΣ ΚΑΙ ΠΗΝΕΛΟΠΗ ΣΤΗΝ ΙΘΑΚΗ ΤΟΥ ΟΜΗΡΟΥ ΣΑΣ", "el"),  # final sigma: ς only at a word's end
    ("İSTANBUL İzmir DİYARBAKIR ışık ılık ırmak", "tr"),  # U+0130 lowers to two code points
    ("naïve café Ångström Œuvre straße ǅemal ﬁne", "fr"), ("नमस्ते दुनिया यह हिंदी पाठ है", "hi"),
    ("emoji 😀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝟙𝟚𝟛 and more words here", "en"), ("nul\0inside the text of words ok", "en"),
    ("snake_case_words and digits 12345 x² ½ ٣٤٥", "en"), ("中文\0文本", "zh"),
]


def _finalize(h: int) -> int:
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & M64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & M64
    return h ^ (h >> 31)


def _token_hash(token: str, cjk: bool) -> int:
    if cjk:
        return _finalize((ord(token) + 0xCBF29CE484222325) & M64)
    h = 0xCBF29CE484222325
    for c in token:
        h = ((h ^ ord(c)) * 0x100000001B3) & M64
    return _finalize(h)


def reference(text: str, lang: str, cfg: MinHashConfig) -> np.ndarray | None:
    """The documented scheme in plain Python over ``shingles``; None without shingles."""
    cjk = normalize_lang(lang) in CHAR_TOKEN_LANGS
    keys = []
    for shingle in shingles(text, lang, cfg):
        tokens = list(shingle.decode()) if cjk else shingle.decode().split(" ")
        h = len(tokens)
        for t in tokens:
            h = (h * 0x9E3779B97F4A7C15 + _token_hash(t, cjk)) & M64
        keys.append(_finalize(h) >> 32)
    if not keys:
        return None
    a, b = K.permutations(cfg.num_perm, cfg.seed)
    with np.errstate(over="ignore"):
        values = (a[None, :] * np.array(keys, dtype=np.uint64)[:, None] + b[None, :]) >> np.uint64(32)
    return values.min(axis=0)


def _check(texts: list[str], langs: list[str], cfg: MinHashConfig) -> None:
    sig, has = signatures(texts, langs, cfg)
    assert sig.shape == (len(texts), cfg.num_perm) and sig.dtype == np.uint64
    for i, (text, lang) in enumerate(zip(texts, langs, strict=True)):
        expected = reference(text, lang, cfg)
        assert has[i] == (expected is not None), (text[:40], lang)
        if expected is None:
            assert not sig[i].any()
        else:
            assert (sig[i] == expected).all(), (text[:40], lang)


def test_edge_cases_equal_the_plain_python_scheme():
    _check([t for t, _ in EDGE], [lang for _, lang in EDGE], MinHashConfig(num_perm=64))


@pytest.mark.parametrize("ngram", [1, 3, 5])
def test_reference_corpus_equals_the_plain_python_scheme(ngram):
    with gzip.open(REFERENCE, "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f][::7]
    assert len({d["lang"] for d in docs}) >= 20
    _check([d["text"] for d in docs], [d["lang"] for d in docs],
           MinHashConfig(num_perm=32, ngram=ngram, cjk_ngram=ngram, seed=ngram))


def test_arrow_input_with_nulls_and_slices_equals_list_input():
    cfg = MinHashConfig(num_perm=32)
    texts = [t for t, _ in EDGE]
    langs = [lang for _, lang in EDGE]
    whole = pa.array([None, *texts], pa.string()).slice(1)  # a slice: offsets do not start at 0
    from_list, _ = signatures(texts, langs, cfg)
    from_arrow, _ = signatures(whole, langs, cfg)
    assert (from_list == from_arrow).all()
    sig, has = signatures(pa.array([None, "one two three"]), ["en", "en"], cfg)
    assert has.tolist() == [False, True] and not sig[0].any()


def test_tables_agree_with_python_for_every_code_point():
    classes, lower = K.unicode_tables()
    rng = np.random.default_rng(0)
    for c in [*range(0x3000), *rng.integers(0x3000, 0x110000, 3000).tolist()]:
        ch = chr(c)
        assert bool(classes[c] & K.WORD) == (ch.isalnum() or ch == "_"), hex(c)
        assert bool(classes[c] & K.SPACE) == (len(("a" + ch + "a").split()) == 2), hex(c)
        if c not in (0x130,):
            assert chr(lower[c]) == ch.lower(), hex(c)


def test_similar_texts_have_similar_signatures():
    cfg = MinHashConfig(num_perm=256)
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in rng.permutation(5000)[:600]]
    edited = list(words)
    for pos in range(0, 600, 60):  # ten spread-out edits: 50 of 600 5-grams change in each text
        edited[pos] = "changed"
    sig, _ = signatures([" ".join(words), " ".join(edited)], ["en", "en"], cfg)
    a, b = set(shingles(" ".join(words), "en", cfg)), set(shingles(" ".join(edited), "en", cfg))
    assert abs((sig[0] == sig[1]).mean() - len(a & b) / len(a | b)) < 0.06
