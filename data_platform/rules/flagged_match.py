"""Finding flagged-word entries in a document: one language's lists turned into lookup structures once.

An entry of one word (no space, no Han or Kana character) is looked up among the document's words, as ROOTS counts
flagged words; an entry of several words among the runs of consecutive words joined by a space (ROOTS' word
augmentation); an entry holding Han or Kana characters (zh, ja) as a substring of the lower-cased text, longest
match first and without overlaps, through an Aho-Corasick automaton (pyahocorasick, C: one pass over the text for
every entry, where a count per entry costs a pass each). So a Latin entry only ever matches a whole word, also in
Chinese or Japanese text, where the segmenter (jieba, MeCab) cuts each Latin run out as a word of its own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

import ahocorasick
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_platform import re2
from data_platform.text import HAN, HAN_COMPAT, KANA

FLAGGED_PRIORITY = ("political", "porn", "violence", "minors", "drugs", "gambling", "contraband", "vulgar")
_UNSPACED_CHAR = re.compile(f"[{KANA}{HAN}{HAN_COMPAT}]")


class FlaggedMatcher:
    """The entries of one language, ``{category: entries}``; an entry listed in several categories counts for the
    first in ``FLAGGED_PRIORITY`` order (other categories after those, alphabetically)."""

    def __init__(self, lists: Mapping[str, Iterable[str]]) -> None:
        order = sorted(lists, key=lambda c: (FLAGGED_PRIORITY.index(c) if c in FLAGGED_PRIORITY else 99, c))
        self.single: dict[str, str] = {}
        self.multi: dict[str, str] = {}
        unspaced: dict[str, str] = {}
        for category in order:
            for entry in lists[category]:
                table = unspaced if _UNSPACED_CHAR.search(entry) else self.multi if " " in entry else self.single
                table.setdefault(entry, category)
        self.categories = frozenset(c for c in order if lists[c])
        self.single_keys = frozenset(self.single)
        # One word per several-word entry, its longest (long words are the rare ones; a frequency lookup per entry
        # cost seconds at every rule-file load): a document holding none of these words holds none of those
        # entries, and most documents are skipped that way.
        self.anchors = frozenset(max(reversed(e.split(" ")), key=len) for e in self.multi)
        # Several-word entries padded with spaces, found in the space-joined words: every occurrence counts,
        # overlapping ones too, as ROOTS counts every run of words.
        self.runs = _automaton({f" {e} ": (c, e) for e, c in self.multi.items()}) if self.multi else None
        self.automaton = _automaton({e: (c, e) for e, c in unspaced.items()}) if unspaced else None
        # The same entries as one RE2 alternation: RE2 (a DFA, in C++) finds the few texts of a batch holding any
        # of them much faster than the automaton scans them all.
        self.unspaced_re2 = re2.alternation(unspaced) or None

    def unspaced_candidates(self, texts: pa.Array) -> np.ndarray:
        """Per text, whether it may hold a Han/Kana entry (False for all where the lists have none)."""
        if self.unspaced_re2 is None:
            return np.zeros(len(texts), dtype=bool)
        lowered = pc.utf8_lower(texts.fill_null(""))
        return pc.match_substring_regex(lowered, self.unspaced_re2).to_numpy(zero_copy_only=False)

    def hits(self, text: str, words: list[str], unspaced: bool = True) -> Counter:
        """Occurrences per ``(category, entry)`` in a document (``words``: its ROOTS words, lower-cased);
        ``unspaced=False`` skips the Han/Kana entries (``unspaced_candidates`` said the text has none).

        Set operations over the word list and ``list.count`` run in C; Python only loops over what was found."""
        hits: Counter = Counter()
        for w in self.single_keys.intersection(words):
            hits[(self.single[w], w)] = words.count(w)
        if self.runs is not None and not self.anchors.isdisjoint(words):
            hits.update(key for _, key in self.runs.iter(" " + " ".join(words) + " "))
        if self.automaton is not None and unspaced:
            hits.update(key for _, key in self.automaton.iter_long(text.lower()))
        return hits


def _automaton(entries: dict[str, tuple[str, str]]) -> ahocorasick.Automaton:
    """An Aho-Corasick automaton finding each key, reporting its ``(category, entry)``."""
    auto = ahocorasick.Automaton()
    for key, value in entries.items():
        auto.add_word(key, value)
    auto.make_automaton()
    return auto
