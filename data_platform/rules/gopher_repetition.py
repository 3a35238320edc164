"""Gopher repetition rules (Rae et al. 2021, "Scaling Language Models", appendix A, table A1): duplicate lines and
paragraphs by count and by characters, the characters of the most frequent word 2- to 4-gram and of the duplicated
word 5- to 10-grams. Thresholds are in the rule files (``rules/presets/gopher.yaml`` has the published ones).

The paper's definitions leave choices open; these follow datatrove's GopherRepetitionFilter where it is a
consistent reading, and say where they depart:

- A line, paragraph or n-gram is a duplicate when the same one occurred earlier in the document: the first
  occurrence is not counted (datatrove; RedPajama-V2 counts every occurrence, up to twice these values).
- Lines are the non-empty lines, stripped; paragraphs are separated by blank lines (datatrove splits on ``\\n+``
  and ``\\n{2,}`` without stripping). Character fractions are over the whole text, ``len(text)``.
- n-grams are over ``batch.words`` (lower-cased, punctuation stripped, segmented for zh/ja; datatrove keeps case
  and punctuation tokens), and their characters are their words' characters, without the spaces between them, so
  the measure is the same for Chinese and Japanese (no spaces) as for English. datatrove counts the spaces of the
  top n-grams (not of the duplicated ones), so its top-n-gram values are ~15% higher on English.
- Characters covered by several occurrences (overlapping n-grams) count once, for the top n-gram too; datatrove
  counts count × length there, and skips ahead by n words after a duplicated n-gram, missing some that overlap.
- The top n-gram must occur at least twice (an n-gram seen once is no repetition; RedPajama-V2); among equally
  frequent ones, the first to occur (datatrove).

The n-gram rules hash each document's words once per n (a 64-bit hash of the word ids, vectorized over the whole
batch; a collision between two distinct n-grams has a probability near 2^-64) and find repeats with
``pandas.factorize``, whose codes follow first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from data_platform.rules.base import ComputeFn, DocBatch, RatioParams, Scores, rule

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def duplicate_parts(parts: list[str]) -> tuple[int, int, int]:
    """(number of parts, parts equal to an earlier one, characters of those)."""
    seen: set[str] = set()
    dups = dup_chars = 0
    for part in parts:
        if part in seen:
            dups += 1
            dup_chars += len(part)
        else:
            seen.add(part)
    return len(parts), dups, dup_chars


def _lines(text: str) -> list[str]:
    return [s for s in (line.strip() for line in text.split("\n")) if s]


def _paragraphs(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _PARAGRAPH_BREAK.split(text)) if s]


def _line_duplicates(batch: DocBatch) -> list[tuple[int, int, int]]:
    return batch.view("gopher_line_duplicates", lambda text: duplicate_parts(_lines(text)))


def _paragraph_duplicates(batch: DocBatch) -> list[tuple[int, int, int]]:
    return batch.view("gopher_paragraph_duplicates", lambda text: duplicate_parts(_paragraphs(text)))


def _count_share(dups: list[tuple[int, int, int]]) -> Scores:
    return Scores([d / n if n else None for n, d, _ in dups])


def _char_share(dups: list[tuple[int, int, int]], batch: DocBatch) -> Scores:
    return Scores([c / len(t) if t else None for (_, _, c), t in zip(dups, batch.pytexts, strict=True)])


@rule("dup_line_ratio", RatioParams)
def dup_line_ratio(batch: DocBatch, params: RatioParams) -> Scores:
    """Share of the non-empty lines that repeat an earlier line (Gopher keeps at most 0.30)."""
    return _count_share(_line_duplicates(batch))


@rule("dup_line_char_ratio", RatioParams)
def dup_line_char_ratio(batch: DocBatch, params: RatioParams) -> Scores:
    """Share of the characters in lines that repeat an earlier line (Gopher keeps at most 0.20)."""
    return _char_share(_line_duplicates(batch), batch)


@rule("dup_para_ratio", RatioParams)
def dup_para_ratio(batch: DocBatch, params: RatioParams) -> Scores:
    """Share of the paragraphs (blocks between blank lines) that repeat an earlier one (Gopher: at most 0.30)."""
    return _count_share(_paragraph_duplicates(batch))


@rule("dup_para_char_ratio", RatioParams)
def dup_para_char_ratio(batch: DocBatch, params: RatioParams) -> Scores:
    """Share of the characters in paragraphs that repeat an earlier one (Gopher keeps at most 0.20)."""
    return _char_share(_paragraph_duplicates(batch), batch)


def _word_ids(words: list[str]) -> np.ndarray:
    """Each word's rank of first appearance in its document."""
    vocab: dict[str, int] = {}
    return np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), np.uint64, len(words))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection of uint64 that spreads small ids over all 64 bits."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


_BASE = np.uint64(0x9FB21C651E98DF25)  # odd multiplier of the polynomial n-gram hash (mod 2^64)


@dataclass
class _Words:
    """The batch's words, flattened in document order."""

    keys: np.ndarray  # uint64 hash of (document, word)
    chars: np.ndarray  # characters of each word
    doc: np.ndarray  # document of each word
    doc_end: np.ndarray  # end of that document's words (exclusive), per word
    text_chars: list[int]  # len(text) per document
    _last: tuple[int, np.ndarray] = field(init=False)  # the latest n-gram size hashed, and its hashes

    def __post_init__(self) -> None:
        self._last = (1, self.keys)  # a word's 1-gram hash is its key

    @classmethod
    def of(cls, batch: DocBatch) -> "_Words":
        words_of = dict(zip(batch.pytexts, batch.words, strict=True))  # equal texts have equal words
        ids = batch.view("gopher_word_ids", lambda text: _word_ids(words_of[text]))
        counts = np.array([len(i) for i in ids], dtype=np.int64)
        doc = np.repeat(np.arange(len(ids), dtype=np.int64), counts)
        flat = np.concatenate(ids) if len(ids) else np.zeros(0, np.uint64)
        chars = np.fromiter((len(w) for ws in batch.words for w in ws), np.int64, len(flat))
        ends = np.cumsum(counts)
        return cls(_mix(flat ^ (doc.astype(np.uint64) << np.uint64(32))), chars, doc, ends[doc],
                   [len(t) for t in batch.pytexts])

    def ngrams(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Start of every word n-gram inside one document, and its code (codes number n-grams in order of
        first occurrence, so an n-gram repeats an earlier one exactly when its code is not a new maximum)."""
        m = len(self.keys) - n + 1
        if m <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        starts = np.flatnonzero(np.arange(m) + n <= self.doc_end[:m])
        codes, _ = pd.factorize(self._hashes(n)[starts])
        return starts, codes.astype(np.int64)

    def _hashes(self, n: int) -> np.ndarray:
        """The polynomial hash of the n words from each position, extended from the (n-1)-gram hashes when the
        rules ask for n in increasing order (as the funnel does), so each extra n costs one pass."""
        k, h = self._last if self._last[0] <= n else (1, self.keys)
        for j in range(k, n):
            h = h[: len(self.keys) - j] * _BASE + self.keys[j:]
        self._last = (n, h)
        return h

    def covered_share(self, starts: np.ndarray, n: int) -> Scores:
        """Per document: characters of the words inside the n-grams starting at ``starts`` (each word once),
        over the characters of the text."""
        total = len(self.keys)
        depth = np.cumsum(np.bincount(starts, minlength=total + 1) - np.bincount(starts + n, minlength=total + 1))
        covered = np.bincount(self.doc, weights=self.chars * (depth[:total] > 0), minlength=len(self.text_chars))
        return Scores([float(c / t) if t else None for c, t in zip(covered, self.text_chars, strict=True)])


def _first_occurrences(codes: np.ndarray) -> np.ndarray:
    """True where an n-gram occurs for the first time (its code exceeds every earlier one)."""
    earlier_max = np.maximum.accumulate(np.concatenate(([-1], codes[:-1])))
    return codes > earlier_max


def top_ngram_share(batch: DocBatch, n: int) -> Scores:
    """Share of the text's characters inside the occurrences of its most frequent word n-gram (0 when none
    occurs twice)."""
    words = batch.shared("gopher_words", _Words.of)
    starts, codes = words.ngrams(n)
    if not len(codes):
        return words.covered_share(starts, n)
    counts = np.bincount(codes)
    code_doc = words.doc[starts[_first_occurrences(codes)]]  # codes of a document are consecutive
    u = len(counts)
    score = counts * (u + 1) + (u - 1 - np.arange(u))  # most frequent first, then the earliest
    groups = np.flatnonzero(np.concatenate(([True], code_doc[1:] != code_doc[:-1])))
    best = np.maximum.reduceat(score, groups)
    best_code, best_count = u - 1 - best % (u + 1), best // (u + 1)
    chosen = np.zeros(u, dtype=bool)
    chosen[best_code[best_count >= 2]] = True
    return words.covered_share(starts[chosen[codes]], n)


def dup_ngram_share(batch: DocBatch, n: int) -> Scores:
    """Share of the text's characters inside word n-grams that repeat an earlier one (overlaps counted once)."""
    words = batch.shared("gopher_words", _Words.of)
    starts, codes = words.ngrams(n)
    return words.covered_share(starts[~_first_occurrences(codes)], n)


# Table A1's n-gram rows: the top n-gram for n = 2..4, the duplicated n-grams for n = 5..10.
TOP_NGRAM_SIZES = (2, 3, 4)
DUP_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)


def _ngram_rule(share: Callable[[DocBatch, int], Scores], n: int, doc: str) -> ComputeFn:
    def compute(batch: DocBatch, params: RatioParams) -> Scores:
        return share(batch, n)

    compute.__doc__ = doc
    return compute


for _n in TOP_NGRAM_SIZES:
    rule(f"top_{_n}gram_char_ratio", RatioParams)(_ngram_rule(
        top_ngram_share, _n, f"Share of the characters in the most frequent word {_n}-gram (Gopher table A1)."))
for _n in DUP_NGRAM_SIZES:
    rule(f"dup_{_n}gram_char_ratio", RatioParams)(_ngram_rule(
        dup_ngram_share, _n, f"Share of the characters in duplicated word {_n}-grams (Gopher table A1)."))
