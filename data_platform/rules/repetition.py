"""Repetition rules with the BigScience ROOTS definitions (character 10-grams, word 5-grams)."""

from __future__ import annotations

import math
from collections import Counter

from pydantic import Field

from data_platform.rules.base import DocBatch, RatioParams, Scores, rule


class CharRepetitionParams(RatioParams):
    n: int = Field(10, ge=1, le=100, description="character n-gram length")


class WordRepetitionParams(RatioParams):
    n: int = Field(5, ge=1, le=50, description="word n-gram length")


def char_repetition_value(text: str, n: int) -> float:
    """ROOTS character repetition ratio.

    Count every overlapping character n-gram; take the k most frequent, k = min(floor(sqrt(#distinct n-grams)),
    #n-grams occurring more than once); the ratio is their summed frequency over the total number of n-grams.
    This is the data-preparation code after its 2022-07-19 fix; the earlier code took #n-grams occurring
    exactly once, which scores a fully repetitive document 0.
    """
    counts = Counter(text[i : i + n] for i in range(len(text) - n + 1))
    if not counts:
        return 0.0
    freqs = sorted(counts.values(), reverse=True)
    repeated = sum(1 for f in freqs if f > 1)
    k = min(int(math.sqrt(len(freqs))), repeated)
    return sum(freqs[:k]) / sum(freqs)


def word_repetition_value(words: list[str], n: int) -> float:
    """ROOTS word repetition ratio: share of word n-gram occurrences whose n-gram occurs more than once."""
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    if not counts:
        return 0.0
    total = sum(counts.values())
    return sum(f for f in counts.values() if f > 1) / total


@rule("char_repetition", CharRepetitionParams)
def char_repetition(batch: DocBatch, params: CharRepetitionParams) -> Scores:
    """ROOTS character n-gram repetition ratio (n = 10 by default)."""
    return Scores([char_repetition_value(t, params.n) for t in batch.pytexts])


@rule("word_repetition", WordRepetitionParams)
def word_repetition(batch: DocBatch, params: WordRepetitionParams) -> Scores:
    """ROOTS word n-gram repetition ratio (n = 5 by default)."""
    return Scores([word_repetition_value(w, params.n) for w in batch.words])
