"""Gopher quality rules (Rae et al. 2021, "Scaling Language Models", appendix A, table A1): word length, symbols
per word, bullet and ellipsis lines, alphabetic words and stopwords. Thresholds are in the rule files
(``rules/presets/gopher.yaml`` has the published ones).

Words are ``batch.words`` (the ``word_count`` words: jieba for zh, MeCab for ja, whitespace tokens elsewhere,
lower-cased and stripped of punctuation and digits at their edges), except where a rule says otherwise. Lines are
the non-empty lines (split on ``\\n``, as ``short_line_ratio`` counts them); datatrove's GopherQualityFilter also
counts blank lines, which keeps a list with blank lines between its items under 50% bullets.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow.compute as pc
from pydantic import Field, field_validator

from data_platform.langcodes import normalize_lang
from data_platform.rules.base import CountParams, DocBatch, RatioParams, Scores, rule
from data_platform.text import UNSPACED_LANGS

# An ellipsis: a run of "..." or "…" (so the Chinese "……" and "......" are one each).
_ELLIPSIS = r"(?:\.\.\.|…)+"
_HSPACE = r"[^\S\n]*"  # spaces within a line


def _per_word(counts: np.ndarray, batch: DocBatch) -> Scores:
    n_words = [len(ws) for ws in batch.words]
    return Scores([float(c / n) if n else None for c, n in zip(counts, n_words, strict=True)])


def _per_line(pattern: str, batch: DocBatch) -> Scores:
    """Share of the non-empty lines matching ``pattern`` (an RE2 pattern that matches at most once per line)."""
    _, offsets = batch.line_lengths
    hits = pc.count_substring_regex(batch.texts.fill_null(""), pattern).to_numpy(zero_copy_only=False)
    lines = np.diff(offsets)
    return Scores([float(h / n) if n else None for h, n in zip(hits, lines, strict=True)])


@rule("mean_word_length", CountParams)
def mean_word_length(batch: DocBatch, params: CountParams) -> Scores:
    """Mean length of the words in characters (Gopher keeps 3 to 10; segmented zh/ja words average under 2)."""
    return Scores([sum(map(len, ws)) / len(ws) if ws else None for ws in batch.words])


@rule("hash_word_ratio", CountParams)
def hash_word_ratio(batch: DocBatch, params: CountParams) -> Scores:
    """Number of ``#`` per word (hashtag lists; Gopher keeps at most 0.1)."""
    return _per_word(pc.count_substring(batch.texts.fill_null(""), "#").to_numpy(zero_copy_only=False), batch)


@rule("ellipsis_word_ratio", CountParams)
def ellipsis_word_ratio(batch: DocBatch, params: CountParams) -> Scores:
    """Number of ellipses (a run of ``...`` or ``…``) per word (truncated teasers; Gopher keeps at most 0.1)."""
    counts = pc.count_substring_regex(batch.texts.fill_null(""), _ELLIPSIS).to_numpy(zero_copy_only=False)
    return _per_word(counts, batch)


class BulletParams(RatioParams):
    bullets: list[str] = Field(
        ["•", "‣", "◦", "⁃", "●", "○", "■", "□", "▪", "◆", "►", "・", "-", "*"], min_length=1,
        description="a non-empty line whose first non-space character is one of these starts with a bullet",
    )


@rule("bullet_line_ratio", BulletParams)
def bullet_line_ratio(batch: DocBatch, params: BulletParams) -> Scores:
    """Share of the non-empty lines starting with a bullet (Gopher keeps at most 0.9).

    The default bullets add Unicode list marks, Markdown's ``*`` and Japanese ``・`` to datatrove's ``•`` and ``-``."""
    alternatives = "|".join(re.escape(b) for b in params.bullets)
    return _per_line(f"(?m)^{_HSPACE}(?:{alternatives})", batch)


@rule("ellipsis_line_ratio", RatioParams)
def ellipsis_line_ratio(batch: DocBatch, params: RatioParams) -> Scores:
    """Share of the non-empty lines ending with an ellipsis, ``...`` or ``…`` (Gopher keeps at most 0.3)."""
    return _per_line(f"(?m){_ELLIPSIS}{_HSPACE}$", batch)


# A whitespace-separated token, and one holding a letter (\p{L} is what str.isalpha() accepts).
_SPACE = r"\s\p{Z}\x{0b}\x{1c}-\x{1f}\x{85}"
_TOKEN = f"[^{_SPACE}]+"
_ALPHA_TOKEN = f"[^{_SPACE}]*\\p{{L}}[^{_SPACE}]*"


class AlphaWordParams(RatioParams):
    tokens: Literal["whitespace", "spacy"] = Field(
        "whitespace", description="whitespace tokens, or spaCy's tokenizer (punctuation tokens count as words, "
                                  "as in datatrove's GopherQualityFilter; needs the spacy package)")

    @field_validator("tokens")
    @classmethod
    def _spacy_installed(cls, v: str) -> str:
        if v == "spacy" and importlib.util.find_spec("spacy") is None:
            raise ValueError("tokens: spacy needs the spaCy package (pip install spacy)")
        return v


@lru_cache(maxsize=8)
def _spacy_tokenizer(lang: str) -> Any:
    """spaCy's rule-based tokenizer for ``lang`` (a blank pipeline: no model, nothing downloaded)."""
    import spacy

    try:
        return spacy.blank(lang).tokenizer
    except ImportError:  # spaCy has no language data for this code
        return spacy.blank("xx").tokenizer


def _alpha_share(tokens: list[str]) -> float | None:
    return sum(any(c.isalpha() for c in t) for t in tokens) / len(tokens) if tokens else None


@rule("alpha_word_ratio", AlphaWordParams)
def alpha_word_ratio(batch: DocBatch, params: AlphaWordParams) -> Scores:
    """Share of words holding at least one alphabetic character (Gopher keeps at least 0.8); spaced languages.

    ``tokens: whitespace`` (default): the words are whitespace tokens, punctuation and numbers included (the
    stripped ``batch.words`` lose exactly the symbol and number tokens this rule looks for). ``tokens: spacy``:
    spaCy's tokenizer, whose punctuation tokens (``,`` ``.`` ``(``) are words without a letter, as in datatrove's
    GopherQualityFilter (values are lower on punctuated text: command-heavy documentation falls under 0.8).
    zh/ja get no value: their segmented words hold neither."""
    if batch.lang in UNSPACED_LANGS:
        note = f"not defined for {batch.lang!r}: applies to languages written with spaces"
        return Scores([None] * len(batch), [note] * len(batch))
    if params.tokens == "spacy":
        tokenizer = _spacy_tokenizer(batch.lang)
        return Scores([_alpha_share([w for t in tokenizer(text) if (w := t.text.strip())])
                       for text in batch.pytexts])
    texts = batch.texts.fill_null("")
    alpha = pc.count_substring_regex(texts, _ALPHA_TOKEN).to_numpy(zero_copy_only=False)
    tokens = pc.count_substring_regex(texts, _TOKEN).to_numpy(zero_copy_only=False)
    return Scores([float(a / t) if t else None for a, t in zip(alpha, tokens, strict=True)])


class StopwordCountParams(CountParams):
    words: list[str] | None = Field(
        None, min_length=1,
        description="the stopwords (set per language, e.g. Gopher's English list); unset: wordfreq's top_n words",
    )
    top_n: int = Field(8, ge=1, le=1000, description="without words: that many of wordfreq's most frequent words")


@lru_cache(maxsize=4)
def wordfreq_top(n: int) -> dict[str, frozenset[str]]:
    """The ``n`` most frequent words of every wordfreq language (by the project's language code), holding a letter
    (so no '00'); wordfreq segments zh with jieba and ja with MeCab, as ``batch.words`` does, so its particles and
    function words match."""
    import wordfreq

    lists = {}
    for code in sorted(wordfreq.available_languages()):
        words = (w for w in wordfreq.iter_wordlist(code) if any(c.isalpha() for c in w))  # lazily: n are enough
        lists[normalize_lang(code) or code] = frozenset(islice(words, n))
        wordfreq.get_frequency_list.cache_clear()  # one language's full list at a time (~100 MB, not ~900 MB)
    return lists


def stopword_sets(params: list[StopwordCountParams], base: Path) -> dict[int, dict[str, frozenset[str]]]:
    """``{top_n: {lang: words}}`` from wordfreq for every parameter set without its own ``words``."""
    return {n: wordfreq_top(n) for n in {p.top_n for p in params if p.words is None}}


@rule("stopword_count", StopwordCountParams, load=stopword_sets)
def stopword_count(batch: DocBatch, params: StopwordCountParams) -> Scores:
    """Number of distinct stopwords present (Gopher: at least 2 of the, be, to, of, and, that, have, with).

    zh/ja are matched word by word on their segmented words, like wordfreq's own lists for them."""
    if params.words is not None:
        stop: frozenset[str] | None = frozenset(w.lower() for w in params.words)
    else:
        stop = batch.resources.get("stopword_count", {}).get(params.top_n, {}).get(batch.lang)
    if stop is None:
        return Scores([None] * len(batch), [f"no stopword list for language {batch.lang!r}"] * len(batch))
    return Scores([float(len(stop.intersection(ws))) for ws in batch.words])

