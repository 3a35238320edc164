"""The compiled MinHash kernel: word (or CJK character) n-gram shingles, a hash per shingle and the minimum over
the permutations, in one numba pass over an Arrow string array's UTF-8 bytes.

Hand-written because no PyPI package does the three steps in one compiled pass: datasketch and rensa both take
shingles built in Python, which alone costs more than hashing them (bench/results/dedup_speed.md). The
shingles are those of ``hashing.shingles``: Python's ``\\w+`` on ``str.lower()`` of the text, or the characters
of the text without whitespace for zh/ja/ko; a text shorter than n is one shingle. The character classes and the
lower-case mapping are tables made from Python's own ``re`` and ``str.lower`` so that they agree code point for
code point; the two context- or length-dependent mappings of ``str.lower`` (final sigma, U+0130) are left to
``str.lower`` itself, for the documents that hold those characters.

Scheme (``hash: multiply_shift``): a word hashes to the SplitMix64 finalizer of its code points' FNV-1a hash, a
character to the finalizer of its code point, an n-gram to the top 32 bits of the finalizer of a multiply-add
over its tokens' hashes (a 32-bit shingle key, as datasketch's), and permutation p maps a key x to
``(a_p * x + b_p) mod 2^64 >> 32`` (Dietzfelbinger's multiply-add-shift, strongly universal for 32-bit keys)
with 64-bit ``a_p`` (odd) and ``b_p`` drawn from ``numpy.random.default_rng(seed)``. Values are 32-bit.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numba
import numpy as np
import pyarrow as pa

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_GRAM_MUL = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = np.uint32(0xFFFFFFFF)
WORD, SPACE = np.uint8(1), np.uint8(2)


@lru_cache(maxsize=1)
def unicode_tables() -> tuple[np.ndarray, np.ndarray]:
    """(classes, lower) per code point: classes bit 1 = Python's ``\\w``, bit 2 = ``\\s`` (what ``str.split``
    splits on); lower = ``str.lower`` of the code point. Built once per process (~0.07 s) from Python itself."""
    every = np.arange(0x110000, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    classes = np.zeros(0x110000, dtype=np.uint8)
    for pattern, bit in ((r"\w+", WORD), (r"\s+", SPACE)):
        for run in re.finditer(pattern, every):  # runs of consecutive code points of the class
            classes[run.start() : run.end()] |= bit
    lowered = every[:0x130].lower() + "\u0130" + every[0x131:].lower()  # U+0130 is handled by str.lower
    return classes, _code_points(lowered).astype(np.int32)


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The multiply-add-shift parameters (a, b) of each permutation: 64-bit integers from the seed, a odd."""
    a, b = np.random.default_rng(seed).integers(0, 2**64, size=(2, num_perm), dtype=np.uint64)
    return a | np.uint64(1), b


@numba.njit(cache=True, inline="always")
def _finalize(h: np.uint64) -> np.uint64:
    """SplitMix64's finalizer: every input bit reaches every output bit."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def _decode(data: np.ndarray, i: int) -> tuple[int, int]:
    """The code point of the UTF-8 sequence at data[i] (valid: Arrow checked it) and the index after it."""
    b0 = int(data[i])
    if b0 < 0x80:
        return b0, i + 1
    if b0 < 0xE0:
        return ((b0 & 0x1F) << 6) | (int(data[i + 1]) & 0x3F), i + 2
    if b0 < 0xF0:
        return ((b0 & 0x0F) << 12) | ((int(data[i + 1]) & 0x3F) << 6) | (int(data[i + 2]) & 0x3F), i + 3
    return (((b0 & 0x07) << 18) | ((int(data[i + 1]) & 0x3F) << 12) | ((int(data[i + 2]) & 0x3F) << 6)
            | (int(data[i + 3]) & 0x3F)), i + 4


@numba.njit(cache=True)
def _char_tokens(data: np.ndarray, start: int, end: int, classes: np.ndarray, out: np.ndarray) -> int:
    """Write the hash of each non-space character of data[start:end] into ``out``; return their count."""
    n = 0
    i = start
    while i < end:
        c, i = _decode(data, i)
        if not classes[c] & SPACE:
            out[n] = _finalize(np.uint64(c) + _FNV_OFFSET)
            n += 1
    return n


@numba.njit(cache=True)
def _word_tokens(data: np.ndarray, start: int, end: int, classes: np.ndarray, lower: np.ndarray,
                 out: np.ndarray) -> int:
    """Write the hash of each word of the lower-cased data[start:end] into ``out``; return their count, or -1
    when the text holds capital sigma (final or not by context) or U+0130 (lowers to two code points), which
    only ``str.lower`` lowers right."""
    n = 0
    h = _FNV_OFFSET
    inside = False
    i = start
    while i < end:
        c, i = _decode(data, i)
        if c == 0x3A3 or c == 0x130:
            return -1
        c = lower[c]
        if classes[c] & WORD:
            h = (h ^ np.uint64(c)) * _FNV_PRIME
            inside = True
        elif inside:
            out[n] = _finalize(h)
            n += 1
            h = _FNV_OFFSET
            inside = False
    if inside:
        out[n] = _finalize(h)
        n += 1
    return n


@numba.njit(cache=True, inline="always")
def _min_into(x: np.uint64, a: np.ndarray, b: np.ndarray, sig: np.ndarray) -> None:
    """sig = min(sig, every permutation of the 32-bit key x); LLVM vectorizes this loop."""
    for p in range(a.shape[0]):
        sig[p] = min(sig[p], np.uint32((a[p] * x + b[p]) >> np.uint64(32)))


@numba.njit(cache=True)
def _signatures(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, cjk: np.ndarray, ngram: int, cjk_ngram: int,
                classes: np.ndarray, lower: np.ndarray, a: np.ndarray, b: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_docs = starts.shape[0]
    sig = np.full((n_docs, a.shape[0]), _EMPTY, dtype=np.uint32)
    has = np.zeros(n_docs, dtype=np.bool_)
    special = np.zeros(n_docs, dtype=np.bool_)
    longest = 1
    for d in range(n_docs):
        longest = max(longest, ends[d] - starts[d])
    tokens = np.empty(longest, dtype=np.uint64)  # a token takes at least one byte
    for d in range(n_docs):
        if cjk[d]:
            count = _char_tokens(data, starts[d], ends[d], classes, tokens)
        else:
            count = _word_tokens(data, starts[d], ends[d], classes, lower, tokens)
        if count <= 0:  # -1: left to the caller (str.lower), no signature yet
            special[d] = count < 0
            sig[d, :] = 0
            continue
        has[d] = True
        n = min(cjk_ngram if cjk[d] else ngram, count)  # shorter than n: the whole sequence is one shingle
        for i in range(count - n + 1):
            h = np.uint64(n)
            for j in range(n):
                h = h * _GRAM_MUL + tokens[i + j]
            _min_into(_finalize(h) >> np.uint64(32), a, b, sig[d])
    return sig, has, special


def _arrays(texts: pa.Array | list[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The UTF-8 bytes of the texts and each text's start and end in them (a null reads as empty); an Arrow array
    is read without copying."""
    if isinstance(texts, list):  # str.encode: ~10x faster than pa.array on long non-ASCII strings
        encoded = [(t or "").encode("utf-8") for t in texts]
        lengths = np.array([len(e) for e in encoded], dtype=np.int64)
        stops = np.cumsum(lengths)
        return np.frombuffer(b"".join(encoded), dtype=np.uint8), stops - lengths, stops
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    wide = pa.types.is_large_string(texts.type)
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64 if wide else np.int32)
    offsets = offsets[texts.offset : texts.offset + len(texts) + 1].astype(np.int64)
    starts, ends = offsets[:-1], offsets[1:]
    if texts.null_count:
        ends = np.where(np.asarray(texts.is_null()), starts, ends)
    values = texts.buffers()[2]
    return (np.frombuffer(values, dtype=np.uint8) if values is not None else np.zeros(0, np.uint8)), starts, ends


def signatures(texts: pa.Array | list[str | None], cjk: np.ndarray, ngram: int, cjk_ngram: int, num_perm: int,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n_docs x num_perm signatures, uint64 holding 32-bit values; mask of documents with any shingle, the others
    all zeros); ``cjk`` marks the documents shingled by characters."""
    classes, lower = unicode_tables()
    a, b = permutations(num_perm, seed)
    cjk = cjk.astype(np.bool_)
    sig, has, special = _signatures(*_arrays(texts), cjk, ngram, cjk_ngram, classes, lower, a, b)
    if special.any():  # lower-cased by str.lower, then free of the characters the table cannot lower
        rows = np.flatnonzero(special)
        picked = [texts[i] for i in rows] if isinstance(texts, list) else texts.take(pa.array(rows)).to_pylist()
        lowered = [(t or "").lower() for t in picked]
        sig[rows], has[rows], _ = _signatures(*_arrays(lowered), cjk[rows], ngram, cjk_ngram, classes, lower, a, b)
    return sig.astype(np.uint64), has
