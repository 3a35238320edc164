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

The n-gram rules number each document's n-grams with ``ngrams.WordNgrams`` (hashes over the whole batch, shared
with the other n-gram rules) and find repeats by those numbers, which follow first occurrence.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

from data_platform.rules.base import ComputeFn, DocBatch, RatioParams, Scores, rule
from data_platform.rules.ngrams import WordNgrams

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


def _first_occurrences(codes: np.ndarray) -> np.ndarray:
    """True where an n-gram occurs for the first time (its code exceeds every earlier one)."""
    earlier_max = np.maximum.accumulate(np.concatenate(([-1], codes[:-1])))
    return codes > earlier_max


def top_ngram_share(batch: DocBatch, n: int) -> Scores:
    """Share of the text's characters inside the occurrences of its most frequent word n-gram (0 when none
    occurs twice)."""
    words = WordNgrams.of(batch)
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
    words = WordNgrams.of(batch)
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
