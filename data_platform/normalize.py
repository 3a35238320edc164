"""Text normalization over whole Arrow arrays (pyarrow compute: RE2 regexes run in C++, no Python loop)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from data_platform.config import NormalizeConfig
from data_platform.text import CJK_SCRIPTS_RE2

# Control, format, private-use and surrogate code points, except newline, tab and the emoji zero-width joiner.
_NON_PRINTABLE = r"[\p{Co}\p{Cs}]|[^\P{Cc}\n\t]|[^\P{Cf}\x{200D}]"
# Full-width ASCII punctuation (U+FF01..U+FF5E minus letters and digits) and the ideographic space.
_FULLWIDTH_PUNCT = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F) if not chr(c - 0xFEE0).isalnum()}
_FULLWIDTH_PUNCT["\u3000"] = " "
_NON_CJK_NON_SPACE = rf"[^\s{CJK_SCRIPTS_RE2}]"


def _at_least(char_class: str, n: int) -> str:
    """RE2 caps a repeat count at 1000, so a run of >= n is written as 1000-blocks plus a tail."""
    blocks, rest = divmod(n, 1000)
    return (f"(?:{char_class}{{1000}}){{{blocks}}}" if blocks else "") + f"{char_class}{{{rest},}}"


def normalize_texts(texts: pa.Array, cfg: NormalizeConfig) -> pa.Array:
    """Apply the configured normalization steps to every text of the array."""
    texts = pc.replace_substring(texts, "\r\n", "\n")
    texts = pc.replace_substring(texts, "\r", "\n")
    if cfg.remove_non_printable:
        texts = pc.replace_substring_regex(texts, _NON_PRINTABLE, "")
    if cfg.unify_punctuation:
        for full, half in _FULLWIDTH_PUNCT.items():
            texts = pc.replace_substring(texts, full, half)
    if cfg.junk_word_pattern:
        texts = pc.replace_substring_regex(texts, rf"(^|[ \t])(?:{cfg.junk_word_pattern})", r"\1")
    if cfg.max_word_chars:
        # Long runs without spaces are junk in space-separated scripts; CJK runs are left alone.
        texts = pc.replace_substring_regex(texts, _at_least(_NON_CJK_NON_SPACE, cfg.max_word_chars + 1), "")
    if cfg.collapse_spaces:
        texts = pc.replace_substring_regex(texts, r"[ \t\x{A0}\x{3000}]+", " ")
        texts = pc.replace_substring_regex(texts, r"(?m) +$|^ +", "")
        texts = pc.replace_substring_regex(texts, r"\n{3,}", "\n\n")
    return pc.utf8_trim_whitespace(texts)
