"""Text normalization for hashing, content hashes, shingles and MinHash signatures over whole batches."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_platform.dedup.config import MinHashConfig, TextNormalization
from data_platform.langcodes import normalize_lang
from data_platform.text import CHAR_TOKEN_LANGS

_WORD = re.compile(r"\w+", re.UNICODE)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant (golden ratio) for folding a band into one key


def normalize_for_hash(texts: pa.Array, cfg: TextNormalization) -> pa.Array:
    """Apply the configured normalization (pyarrow compute, whole array at once)."""
    texts = texts.fill_null("")
    if cfg.lowercase:
        texts = pc.utf8_lower(texts)
    if cfg.digits_to_zero:
        texts = pc.replace_substring_regex(texts, r"\d", "0")
    if cfg.strip_punctuation:
        texts = pc.replace_substring_regex(texts, r"[\p{P}\p{S}]+", "")
    if cfg.collapse_whitespace:  # every run of Unicode whitespace -> one space, none at the ends
        texts = pc.binary_join(pc.utf8_split_whitespace(pc.utf8_trim_whitespace(texts)), " ")
    return texts


def content_hashes(texts: pa.Array) -> list[bytes]:
    """A 128-bit BLAKE2b digest per text."""
    return [hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest() for t in texts.to_pylist()]


def shingles(text: str, lang: str | None, cfg: MinHashConfig) -> list[bytes]:
    """Word n-grams (lower-cased word tokens) or, for zh/ja/ko, character n-grams of the text without spaces.

    A text shorter than n yields its whole token sequence as a single shingle; an empty text yields none."""
    if normalize_lang(lang) in CHAR_TOKEN_LANGS:  # "zh-Hans", "ZH", "zh_TW" too
        chars = "".join(text.split())
        n = cfg.cjk_ngram
        grams = [chars[i : i + n] for i in range(len(chars) - n + 1)] or ([chars] if chars else [])
    else:
        words = _WORD.findall(text.lower())
        n = cfg.ngram
        grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)] or ([" ".join(words)] if words else [])
    return [g.encode("utf-8") for g in set(grams)]


def signatures(texts: list[str | None] | pa.Array, langs: list[str | None], cfg: MinHashConfig
               ) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (n_docs x num_perm, uint64 holding 32-bit values) of the ``shingles`` of each text, and a
    mask of the documents that had any shingle (the others get all zeros and take no part in LSH).

    ``cfg.hash``: ``multiply_shift`` runs the compiled kernel (``minhash_kernel``); ``datasketch`` hashes with
    datasketch's own scheme (its bulk API), so the values equal datasketch's ``MinHash``."""
    if cfg.hash == "multiply_shift":
        from data_platform.dedup import minhash_kernel

        cjk = np.array([normalize_lang(lang) in CHAR_TOKEN_LANGS for lang in langs], dtype=bool)
        return minhash_kernel.signatures(texts, cjk, cfg.ngram, cfg.cjk_ngram, cfg.num_perm, cfg.seed)
    from datasketch import MinHash

    values = texts.to_pylist() if isinstance(texts, pa.Array) else texts
    sets = [shingles(t or "", lang, cfg) for t, lang in zip(values, langs, strict=True)]
    has = np.array([bool(s) for s in sets], dtype=bool)
    sig = np.zeros((len(sets), cfg.num_perm), dtype=np.uint64)
    nonempty = [s for s in sets if s]
    if nonempty:
        sig[has] = np.stack([m.hashvalues for m in MinHash.bulk(nonempty, num_perm=cfg.num_perm, seed=cfg.seed)])
    return sig, has


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (document, band): the band's ``rows`` values folded with a wrapping multiply-add.

    Hand-written because it must run vectorized over a whole batch; equal bands give equal keys, and different
    bands collide with probability about 2^-64."""
    keys = np.zeros((sig.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            for r in range(rows):
                keys[:, b] = keys[:, b] * _MIX + sig[:, b * rows + r] + np.uint64(1)
    return keys.view(np.int64)


def lsh_params(cfg: MinHashConfig) -> tuple[int, int]:
    """(bands, rows): as configured, or datasketch's optimum for the threshold and the false-negative weight."""
    if cfg.bands and cfg.rows:  # both or neither (validated)
        return cfg.bands, cfg.rows
    from datasketch.lsh import _optimal_param

    return _optimal_param(cfg.threshold, cfg.num_perm, 1 - cfg.false_negative_weight, cfg.false_negative_weight)


def exact_jaccard(a: str, b: str, lang_a: str | None, lang_b: str | None, cfg: MinHashConfig) -> float:
    """Jaccard similarity of the two texts' shingle sets."""
    sa, sb = set(shingles(a, lang_a, cfg)), set(shingles(b, lang_b, cfg))
    return len(sa & sb) / len(sa | sb) if sa or sb else 0.0


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of equal signature positions, row by row."""
    return (a == b).mean(axis=1)
