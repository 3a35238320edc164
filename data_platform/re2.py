"""RE2 patterns for pyarrow compute: checking one a user wrote, and building one from literal words."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")


def check(pattern: str) -> None:
    """Raise ``ValueError`` with RE2's own message (e.g. "missing ): (") when ``pattern`` does not compile."""
    try:
        pc.count_substring_regex(pa.array([""]), pattern)
    except pa.ArrowInvalid as err:
        raise ValueError(f"not a valid RE2 pattern {pattern!r}: {err}") from None


def alternation(words: Iterable[str]) -> str:
    """The words as one RE2 alternation of literals, longest first (so a word wins over its own prefix)."""
    return "|".join(_SPECIAL.sub(r"\\\1", w) for w in sorted(words, key=lambda w: (-len(w), w)))
