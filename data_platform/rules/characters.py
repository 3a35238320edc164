"""Character-class rules: special characters (emoji included) and base64-like blobs."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
from pydantic import Field

from data_platform import text as T
from data_platform.rules.base import DocBatch, RatioParams, Scores, rule


@rule("special_char_ratio", RatioParams)
def special_char_ratio(batch: DocBatch, params: RatioParams) -> Scores:
    """Share of characters that are ROOTS special characters: punctuation, digits, whitespace, symbols, emoji."""
    return Scores([T.count_special(t) / len(t) if t else None for t in batch.pytexts])


class Base64Params(RatioParams):
    min_run: int = Field(64, ge=8, description="shortest run of base64 alphabet characters counted as a blob")


@rule("base64_ratio", Base64Params)
def base64_ratio(batch: DocBatch, params: Base64Params) -> Scores:
    """Share of characters inside runs of at least ``min_run`` base64 characters (embedded binaries, data URIs)."""
    texts = batch.texts.fill_null("")
    stripped = pc.replace_substring_regex(texts, f"[A-Za-z0-9+/]{{{params.min_run},}}={{0,2}}", "")
    before = pc.utf8_length(texts).to_numpy(zero_copy_only=False).astype(np.float64)
    after = pc.utf8_length(stripped).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(before > 0, (before - after) / before, np.nan)
    return Scores([None if np.isnan(v) else float(v) for v in ratio])
