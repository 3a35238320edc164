"""C4's page rules (Raffel et al. 2020, section 2.2; TFDS ``c4_utils``) and mC4's line-length rule (Xue et al. 2021).

C4 keeps a page with at least 5 sentences, no word of the "List of Dirty, Naughty, Obscene or Otherwise Bad Words"
and no curly bracket; mC4 keeps a page with at least 3 lines of at least 200 characters. C4's line rules (terminal
punctuation, words per line, citations, JavaScript, policy lines) are in ``clean/line_rules.py``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from pydantic import Field

from data_platform import re2
from data_platform.dedup.sentences import sentence_spans
from data_platform.rules.base import CountParams, DocBatch, Scores, rule
from data_platform.rules.wordlists import load_flagged
from data_platform.text import UNSPACED_LANGS


class BadWordParams(CountParams):
    wordlists: str = Field("wordlists/flagged",
                           description="folder of <lang>/<category>.txt, relative to the rule file")
    categories: list[str] = Field(default_factory=lambda: ["porn"], min_length=1,
                                  description="the categories whose words count as bad words")


class LongLineParams(CountParams):
    line_chars: int = Field(200, ge=1, description="a line of at least this many characters is long (mC4: 200)")


@rule("sentence_count", CountParams)
def sentence_count(batch: DocBatch, params: CountParams) -> Scores:
    """Number of sentences (C4 drops pages with fewer than 5).

    Sentences are ``dedup.sentences.sentence_spans``: a sentence ends at . ! ? followed by whitespace, at 。！？
    (zh/ja need no space) or at a line end. C4 counts with NLTK's punkt, which does not end a sentence after an
    abbreviation ("Dr. Smith"); after C4's line rules every line ends in a mark, so line ends add no sentence."""
    return Scores([float(len(sentence_spans(text))) for text in batch.pytexts])


@rule("curly_bracket_count", CountParams)
def curly_bracket_count(batch: DocBatch, params: CountParams) -> Scores:
    """Number of "{" characters (C4 drops every page containing one: code, templates, JSON)."""
    counts = pc.count_substring(batch.texts.fill_null(""), "{").to_numpy(zero_copy_only=False)
    return Scores([float(n) for n in counts])


@rule("long_line_count", LongLineParams)
def long_line_count(batch: DocBatch, params: LongLineParams) -> Scores:
    """Number of lines of at least ``line_chars`` characters (mC4 keeps pages with at least 3 lines of >= 200).

    Lines are the text split on "\\n", measured as written, as in mC4. The threshold is in characters for every
    script: a 200-character zh/ja line holds about three times the content of an English one."""
    lines = pc.split_pattern(batch.texts.fill_null(""), "\n")
    long_line = pc.greater_equal(pc.utf8_length(lines.flatten()), params.line_chars).to_numpy(zero_copy_only=False)
    doc_of_line = pc.list_parent_indices(lines).to_numpy(zero_copy_only=False)
    counts = np.bincount(doc_of_line, weights=long_line, minlength=len(batch))
    return Scores([float(n) for n in counts])


def bad_word_lists(params: list[BadWordParams], base: Path) -> dict[str, dict[str, dict[str, frozenset[str]]]]:
    """``{wordlists: {lang: {category: words}}}`` for every ``wordlists`` folder the rule file names."""
    return {spec: load_flagged(spec, base) for spec in {p.wordlists for p in params}}


@lru_cache(maxsize=64)
def _matchers(words: frozenset[str], unspaced: bool) -> tuple[str, re.Pattern[str]]:
    """An RE2 pattern finding the pages with a bad word (the vectorized pre-check) and a Python pattern counting
    them. Longest words first; outside zh/ja a word only matches between non-word characters, as in C4."""
    ordered = sorted(words, key=lambda w: (-len(w), w))
    python = "|".join(map(re.escape, ordered))
    if unspaced:
        return re2.alternation(words), re.compile(python)
    return (r"(?:^|[^\pL\pN_])(?:" + re2.alternation(words) + r")(?:[^\pL\pN_]|$)",
            re.compile(r"(?<!\w)(?:" + python + r")(?!\w)"))


@rule("bad_word_count", BadWordParams, load=bad_word_lists)
def bad_word_count(batch: DocBatch, params: BadWordParams) -> Scores:
    """Occurrences of listed bad words (C4 drops every page with one: ``max: 0``); the detail names the words.

    Case-insensitive; whole words outside zh/ja, substrings in zh/ja (no spaces), as C4 matches them. None for a
    language without a list."""
    by_lang = batch.resources.get("bad_word_count", {}).get(params.wordlists, {}).get(batch.lang, {})
    words = frozenset().union(*(by_lang.get(c, frozenset()) for c in params.categories))
    if not words:
        note = f"no bad-word list for language {batch.lang!r}"
        return Scores([None] * len(batch), [note] * len(batch))
    re2, counter = _matchers(words, batch.lang in UNSPACED_LANGS)
    lowered = pc.utf8_lower(batch.texts.fill_null(""))
    hit = pc.match_substring_regex(lowered, re2).to_numpy(zero_copy_only=False)
    values: list[float | None] = [0.0] * len(batch)
    details: list[str | None] = [None] * len(batch)
    for i in map(int, np.flatnonzero(hit)):
        found = counter.findall(lowered[i].as_py())
        values[i] = float(len(found))
        details[i] = ", ".join(f"{w}×{found.count(w)}" for w in sorted(set(found))[:5]) or None
    return Scores(values, details)
