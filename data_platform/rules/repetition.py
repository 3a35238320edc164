"""Repetition rules with the BigScience ROOTS definitions (character 10-grams, word 5-grams), counted over the
whole batch with ``ngrams`` (no Python object per n-gram)."""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from data_platform.rules.base import DocBatch, RatioParams, Scores, rule
from data_platform.rules.ngrams import CharNgrams, Ngrams, WordNgrams


class CharRepetitionParams(RatioParams):
    n: int = Field(10, ge=1, le=100, description="character n-gram length")


class WordRepetitionParams(RatioParams):
    n: int = Field(5, ge=1, le=50, description="word n-gram length")


def char_repetition_values(grams: Ngrams, n: int) -> list[float]:
    """ROOTS character repetition ratio of every document.

    Count every overlapping character n-gram; take the k most frequent, k = min(floor(sqrt(#distinct n-grams)),
    #n-grams occurring more than once); the ratio is their summed frequency over the total number of n-grams
    (0 without n-grams). This is the data-preparation code after its 2022-07-19 fix; the earlier code took
    #n-grams occurring exactly once, which scores a fully repetitive document 0.
    """
    out = []
    for counts in grams.doc_counts(n):
        repeated = np.sort(counts[counts > 1])[::-1]  # the k most frequent all occur more than once: k <= #repeated
        k = min(math.isqrt(len(counts)), len(repeated))
        out.append(_share(repeated[:k].sum(), counts.sum()))
    return out


def word_repetition_values(grams: Ngrams, n: int) -> list[float]:
    """ROOTS word repetition ratio of every document: share of word n-gram occurrences whose n-gram occurs more
    than once (0 without n-grams)."""
    return [_share(counts[counts > 1].sum(), counts.sum()) for counts in grams.doc_counts(n)]


def _share(part: int, total: int) -> float:
    return float(part / total) if total else 0.0


@rule("char_repetition", CharRepetitionParams)
def char_repetition(batch: DocBatch, params: CharRepetitionParams) -> Scores:
    """ROOTS character n-gram repetition ratio (n = 10 by default)."""
    return Scores(char_repetition_values(CharNgrams.of(batch), params.n))


@rule("word_repetition", WordRepetitionParams)
def word_repetition(batch: DocBatch, params: WordRepetitionParams) -> Scores:
    """ROOTS word n-gram repetition ratio (n = 5 by default)."""
    return Scores(word_repetition_values(WordNgrams.of(batch), params.n))
