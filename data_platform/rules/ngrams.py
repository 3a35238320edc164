"""Word and character n-grams of a whole batch, numbered, for the repetition rules (Gopher's and ROOTS').

Every unit (a word, or a character) gets a 64-bit key mixing its document and its value; the n-gram starting at a
position is the polynomial hash of n keys (mod 2^64), vectorized over the batch, and ``pandas.factorize`` numbers
the distinct n-grams in order of first occurrence. Since keys carry the document, n-grams of different documents
never share a number. Two distinct n-grams collide with a probability near 2^-64 (the rules count, they do not
look the n-grams up), which is why this beats a ``Counter`` of tuples or substrings: no Python object per n-gram.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data_platform.rules.base import DocBatch, Scores

_BASE = np.uint64(0x9FB21C651E98DF25)  # odd multiplier of the polynomial n-gram hash (mod 2^64)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection of uint64 that spreads small ids over all 64 bits."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _keys(values: np.ndarray, doc: np.ndarray) -> np.ndarray:
    return _mix(values.astype(np.uint64) ^ (doc.astype(np.uint64) << np.uint64(32)))


def _word_ids(words: list[str]) -> np.ndarray:
    """Each word's rank of first appearance in its document."""
    vocab: dict[str, int] = {}
    return np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), np.uint64, len(words))


@dataclass
class Ngrams:
    """The batch's units (words or characters), flattened in document order."""

    keys: np.ndarray  # uint64 key of (document, unit)
    doc: np.ndarray  # document of each unit
    doc_end: np.ndarray  # end of that document's units (exclusive), per unit
    n_docs: int
    _last: tuple[int, np.ndarray] = field(init=False, repr=False)  # the latest n hashed, and its hashes

    def __post_init__(self) -> None:
        self._last = (1, self.keys)  # a unit's 1-gram hash is its key

    @staticmethod
    def _layout(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        doc = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return doc, np.cumsum(counts)[doc]

    def ngrams(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Start of every n-gram inside one document, and its code (codes number n-grams in order of first
        occurrence, so an n-gram repeats an earlier one exactly when its code is not a new maximum)."""
        m = len(self.keys) - n + 1
        if m <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        starts = np.flatnonzero(np.arange(m) + n <= self.doc_end[:m])
        codes, _ = pd.factorize(self._hashes(n)[starts])
        return starts, codes.astype(np.int64)

    def _hashes(self, n: int) -> np.ndarray:
        """The polynomial hash of the n units from each position, extended from the (n-1)-gram hashes when the
        rules ask for n in increasing order (as the funnel does), so each extra n costs one pass."""
        k, h = self._last if self._last[0] <= n else (1, self.keys)
        for j in range(k, n):
            h = h[: len(self.keys) - j] * _BASE + self.keys[j:]
        self._last = (n, h)
        return h

    def doc_counts(self, n: int) -> list[np.ndarray]:
        """Per document: the number of occurrences of each of its distinct n-grams (in no particular order).

        Each document's hashes are sorted on their own and counted as runs: small sorts that stay in cache are
        several times faster than one hash table or one sort over the whole batch."""
        h = self._hashes(n) if len(self.keys) >= n else np.zeros(0, np.uint64)
        ends = np.cumsum(np.bincount(self.doc, minlength=self.n_docs))
        out = []
        for start, end in zip(np.concatenate(([0], ends[:-1])), ends, strict=True):
            grams = np.sort(h[start : max(start, end - n + 1)])
            edges = np.flatnonzero(np.concatenate(([True], grams[1:] != grams[:-1], [True])))
            out.append(np.diff(edges) if len(grams) else np.zeros(0, np.int64))
        return out


@dataclass
class WordNgrams(Ngrams):
    """``batch.words`` as units, with each word's characters (the Gopher rules weigh n-grams by them)."""

    chars: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # characters of each word
    text_chars: list[int] = field(default_factory=list)  # len(text) per document

    @classmethod
    def of(cls, batch: DocBatch) -> "WordNgrams":
        """The batch's word n-grams, built once per batch and shared by every rule that asks."""
        return batch.shared("word_ngrams", cls._build)

    @classmethod
    def _build(cls, batch: DocBatch) -> "WordNgrams":
        words_of = dict(zip(batch.pytexts, batch.words, strict=True))  # equal texts have equal words
        ids = batch.view("word_ids", lambda text: _word_ids(words_of[text]))
        doc, doc_end = cls._layout(np.array([len(i) for i in ids], dtype=np.int64))
        flat = np.concatenate(ids) if len(ids) else np.zeros(0, np.uint64)
        chars = np.fromiter((len(w) for ws in batch.words for w in ws), np.int64, len(flat))
        return cls(_keys(flat, doc), doc, doc_end, len(batch), chars, [len(t) for t in batch.pytexts])

    def covered_share(self, starts: np.ndarray, n: int) -> Scores:
        """Per document: characters of the words inside the n-grams starting at ``starts`` (each word once),
        over the characters of the text."""
        total = len(self.keys)
        depth = np.cumsum(np.bincount(starts, minlength=total + 1) - np.bincount(starts + n, minlength=total + 1))
        covered = np.bincount(self.doc, weights=self.chars * (depth[:total] > 0), minlength=self.n_docs)
        return Scores([float(c / t) if t else None for c, t in zip(covered, self.text_chars, strict=True)])


@dataclass
class CharNgrams(Ngrams):
    """The texts' characters (code points) as units."""

    @classmethod
    def of(cls, batch: DocBatch) -> "CharNgrams":
        """The batch's character n-grams, built once per batch and shared by every rule that asks."""
        return batch.shared("char_ngrams", cls._build)

    @classmethod
    def _build(cls, batch: DocBatch) -> "CharNgrams":
        texts = batch.pytexts
        points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
        doc, doc_end = cls._layout(np.array([len(t) for t in texts], dtype=np.int64))
        return cls(_keys(points, doc), doc, doc_end, len(texts))
