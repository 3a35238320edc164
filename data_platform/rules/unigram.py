"""Unigram log-probability: how common a document's words are in its language, from the ``wordfreq`` package.

Natural prose is made mostly of frequent words; keyword spam, code, tables, mojibake and shuffled junk are not.
wordfreq (Speer 2022; CC BY-SA 4.0 data, MIT code) ships frequency lists of 42 languages built from Wikipedia,
subtitles, news, books, web text and social media; they are installed with the package and read once per process.
"""

from __future__ import annotations

import math
from functools import lru_cache

from pydantic import Field

from data_platform.langcodes import normalize_lang
from data_platform.rules.base import DocBatch, RuleParams, Scores, rule


class UnigramParams(RuleParams):
    floor: float = Field(-9.0, le=0, description="log10 frequency of a word not in the list "
                                                 "(-9: one in a billion, below the lists' 1e-8 cut-off)")
    wordlist: str = Field("best", description="wordfreq list: 'best' (the largest for the language), 'large', 'small'")


@lru_cache(maxsize=None)
def _log_frequencies(lang: str, wordlist: str) -> dict[str, float] | None:
    """``{word: log10 frequency}`` of ``lang``'s wordfreq list; None when wordfreq has no such list."""
    import wordfreq

    codes = {normalize_lang(c): c for c in wordfreq.available_languages(wordlist)}  # wordfreq's "nb" is "no" here
    code = codes.get(lang)
    if code is None:
        return None
    return {w: math.log10(f) for w, f in wordfreq.get_frequency_dict(code, wordlist).items()}


@rule("unigram_logprob", UnigramParams)
def unigram_logprob(batch: DocBatch, params: UnigramParams) -> Scores:
    """Mean log10 frequency of the document's words in wordfreq's list for its language (unknown words at
    ``floor``); None for a text without words or a language wordfreq lacks.

    Words are ``batch.words`` (jieba for zh, MeCab for ja, whitespace elsewhere; lower-cased, punctuation
    stripped), looked up as they are: wordfreq's own tokenizer is not used, so traditional Chinese characters
    (which wordfreq maps to simplified ones first) and numbers (which it folds) count as unknown."""
    table = _log_frequencies(batch.lang, params.wordlist)
    if table is None:
        note = f"wordfreq has no {params.wordlist!r} list for language {batch.lang!r}"
        return Scores([None] * len(batch), [note] * len(batch))
    get, floor = table.get, params.floor
    return Scores([sum(get(w, floor) for w in ws) / len(ws) if ws else None for ws in batch.words])
