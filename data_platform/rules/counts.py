"""Length rules: number of words (language-aware segmentation for zh/ja)."""

from __future__ import annotations

from data_platform.rules.base import CountParams, DocBatch, Scores, rule


@rule("word_count", CountParams)
def word_count(batch: DocBatch, params: CountParams) -> Scores:
    """Number of words: jieba for zh, MeCab (IPA dictionary) for ja, whitespace tokens elsewhere (ROOTS-style
    stripping)."""
    return Scores([float(len(w)) for w in batch.words])
