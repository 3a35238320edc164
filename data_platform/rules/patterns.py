"""Document regex rule: matches of per-category RE2 patterns (cookie banners, placeholder text, error pages).

A category is a file ``<category>.txt`` in the rule's ``patterns`` folder: one RE2 pattern per line, blank lines
and lines starting with ``#`` ignored. Every pattern is compiled by the loader, so a bad one is a rule-file error
naming its file and line; a category's patterns are evaluated as one alternation over the whole Arrow array.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from pydantic import Field

from data_platform import re2
from data_platform.rules.base import CountParams, DocBatch, Scores, rule


class PatternParams(CountParams):
    patterns: str = Field("patterns", description="folder of <category>.txt pattern files, relative to the rule file")
    categories: list[str] | None = Field(None, min_length=1, description="categories to match; None: every file")
    ignore_case: bool = Field(True, description="match case-insensitively (a pattern may still say (?-i))")


def read_patterns(path: Path) -> str:
    """The file's patterns as one RE2 alternation, each pattern checked on its own first."""
    patterns = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        pattern = line.strip()
        if pattern and not pattern.startswith("#"):
            try:
                re2.check(pattern)
            except ValueError as err:
                raise ValueError(f"{path}:{number}: {err}") from None
            patterns.append(f"(?:{pattern})")
    if not patterns:
        raise ValueError(f"{path}: no pattern")
    return "|".join(patterns)


def load_patterns(params: list[PatternParams], base: Path) -> dict[str, dict[str, str]]:
    """``{patterns folder: {category: alternation}}`` for every folder the rule file names."""
    out = {}
    for spec in {p.patterns for p in params}:
        folder = (base / spec).resolve()
        if not folder.is_dir():
            raise FileNotFoundError(f"pattern folder {folder} does not exist")
        out[spec] = {path.stem: read_patterns(path) for path in sorted(folder.glob("*.txt"))}
        missing = {c for p in params if p.patterns == spec for c in p.categories or ()} - set(out[spec])
        if missing:
            raise FileNotFoundError(f"pattern folder {folder} has no file for categories {sorted(missing)}")
    return out


@rule("pattern_count", PatternParams, load=load_patterns)
def pattern_count(batch: DocBatch, params: PatternParams) -> Scores:
    """Matches of the categories' regular expressions (non-overlapping, per category); the detail names the
    categories hit with their counts. Patterns match characters, so they serve zh/ja as written."""
    by_category = batch.resources.get("pattern_count", {}).get(params.patterns, {})
    names = params.categories or sorted(by_category)
    texts = batch.texts.fill_null("")
    counts = np.zeros((len(names), len(batch)), dtype=np.int64)
    for row, name in enumerate(names):
        pattern = f"(?i:{by_category[name]})" if params.ignore_case else by_category[name]
        counts[row] = pc.count_substring_regex(texts, pattern).to_numpy(zero_copy_only=False)
    details = [", ".join(f"{name}×{n}" for name, n in zip(names, column, strict=True) if n) or None
               for column in counts.T]
    return Scores([float(n) for n in counts.sum(axis=0)], details)
