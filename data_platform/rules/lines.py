"""Line-shape rules: short lines, digit/punctuation-only lines, line lengths (code-style checks)."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
from pydantic import Field

from data_platform import text as T
from data_platform.rules.base import CountParams, DocBatch, RatioParams, Scores, rule


class ShortLineParams(RatioParams):
    line_chars: int = Field(20, ge=1, description="a non-empty line shorter than this many characters is short")
    inclusive: bool = Field(False, description="a line of exactly line_chars characters is short too (FineWeb's <=)")


def _nan_to_none(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values]


@rule("short_line_ratio", ShortLineParams)
def short_line_ratio(batch: DocBatch, params: ShortLineParams) -> Scores:
    """Share of non-empty lines shorter than ``line_chars`` characters (after stripping); with ``inclusive``, of at
    most ``line_chars`` (FineWeb: lines of <= 30 characters, keep <= 0.67). FineWeb measures lines as written, which
    is the same once normalization's ``collapse_spaces`` has stripped them."""
    lengths, offsets = batch.line_lengths
    limit = params.line_chars + 1 if params.inclusive else params.line_chars
    short = T.per_doc(np.add, (lengths < limit).astype(np.float64), offsets)
    total = np.diff(offsets).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return Scores(_nan_to_none(np.where(total > 0, short / total, np.nan)))


# A line with no letter at all: digits, punctuation, symbols and spaces only (tables of numbers, separators).
_NO_LETTER_LINE = r"(?m)^[^\p{L}\n]*[^\p{L}\s][^\p{L}\n]*$"


@rule("digit_punct_line_ratio", RatioParams)
def digit_punct_line_ratio(batch: DocBatch, params: RatioParams) -> Scores:
    """Share of non-empty lines made only of digits, punctuation and symbols (no letter in any script)."""
    _, offsets = batch.line_lengths
    hits = pc.count_substring_regex(batch.texts.fill_null(""), _NO_LETTER_LINE).to_numpy(zero_copy_only=False)
    total = np.diff(offsets).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return Scores(_nan_to_none(np.where(total > 0, hits / total, np.nan)))


@rule("max_line_length", CountParams)
def max_line_length(batch: DocBatch, params: CountParams) -> Scores:
    """Length in characters of the longest line (minified code, blobs, unbroken junk)."""
    lengths, offsets = batch.line_lengths
    return Scores(_nan_to_none(T.per_doc(np.maximum, lengths, offsets)))


@rule("mean_line_length", CountParams)
def mean_line_length(batch: DocBatch, params: CountParams) -> Scores:
    """Mean length in characters of the non-empty lines."""
    lengths, offsets = batch.line_lengths
    total = np.diff(offsets).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return Scores(_nan_to_none(T.per_doc(np.add, lengths, offsets) / total))


