"""FineWeb's quality filter (Penedo et al. 2024; datatrove ``FineWebQualityFilter``, whose defaults are the published
thresholds): share of lines ending in terminal punctuation (keep >= 0.12), duplicated-line character ratio
(<= 0.01) and newlines per word (<= 0.3). Its fourth statistic, lines of at most 30 characters (<= 0.67), is
``short_line_ratio`` with ``line_chars: 30, inclusive: true`` (lines.py).

Lines are FineWeb's: the text split on "\\n", blank lines (whitespace only) left out, the others as written.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from data_platform.rules.base import CountParams, DocBatch, RatioParams, Scores, rule
from data_platform.rules.gopher_repetition import duplicate_parts

# Unicode's Sentence_Terminal property (Unicode 16, generated with the `regex` module's \p{STerm}) as an RE2 class:
# . ! ? and their full-width, CJK (。！？｡) and other-script forms. datatrove's TERMINAL_PUNCTUATION is the same
# list from an older Unicode: it lacks 16 recent code points and has 3 Khmer signs (៖ ៙ ៚) that are not terminals.
SENTENCE_TERMINALS = (
    r"\x{21}\x{2E}\x{3F}\x{589}\x{61D}-\x{61F}\x{6D4}\x{700}-\x{702}\x{7F9}\x{837}\x{839}\x{83D}-\x{83E}"
    r"\x{964}-\x{965}\x{104A}-\x{104B}\x{1362}\x{1367}-\x{1368}\x{166E}\x{1735}-\x{1736}\x{17D4}-\x{17D5}\x{1803}"
    r"\x{1809}\x{1944}-\x{1945}\x{1AA8}-\x{1AAB}\x{1B4E}-\x{1B4F}\x{1B5A}-\x{1B5B}\x{1B5E}-\x{1B5F}\x{1B7D}-\x{1B7F}"
    r"\x{1C3B}-\x{1C3C}\x{1C7E}-\x{1C7F}\x{2024}\x{203C}-\x{203D}\x{2047}-\x{2049}\x{2CF9}-\x{2CFB}\x{2E2E}\x{2E3C}"
    r"\x{2E53}-\x{2E54}\x{2E60}-\x{2E61}\x{3002}\x{A4FF}\x{A60E}-\x{A60F}\x{A6F3}\x{A6F7}\x{A876}-\x{A877}"
    r"\x{A8CE}-\x{A8CF}\x{A92F}\x{A9C8}-\x{A9C9}\x{AA5D}-\x{AA5F}\x{AAF0}-\x{AAF1}\x{ABEB}\x{FE12}\x{FE15}-\x{FE16}"
    r"\x{FE52}\x{FE56}-\x{FE57}\x{FF01}\x{FF0E}\x{FF1F}\x{FF61}\x{10A56}-\x{10A57}\x{10F55}-\x{10F59}"
    r"\x{10F86}-\x{10F89}\x{11047}-\x{11048}\x{110BE}-\x{110C1}\x{11141}-\x{11143}\x{111C5}-\x{111C6}\x{111CD}"
    r"\x{111DE}-\x{111DF}\x{11238}-\x{11239}\x{1123B}-\x{1123C}\x{112A9}\x{113D4}-\x{113D5}\x{1144B}-\x{1144C}"
    r"\x{115C2}-\x{115C3}\x{115C9}-\x{115D7}\x{11641}-\x{11642}\x{1173C}-\x{1173E}\x{11944}\x{11946}"
    r"\x{11A42}-\x{11A43}\x{11A9B}-\x{11A9C}\x{11C41}-\x{11C42}\x{11EF7}-\x{11EF8}\x{11F43}-\x{11F44}"
    r"\x{16A6E}-\x{16A6F}\x{16AF5}\x{16B37}-\x{16B38}\x{16B44}\x{16D6E}-\x{16D6F}\x{16E98}\x{1BC9F}\x{1DA88}"
)
_LINE_ENDS_IN_TERMINAL = f"(?m)[{SENTENCE_TERMINALS}]$"


def _ratios(numerator: np.ndarray, denominator: np.ndarray) -> list[float | None]:
    return [float(n / d) if d else None for n, d in zip(numerator, denominator, strict=True)]


def _nonblank_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


@rule("line_punct_ratio", RatioParams)
def line_punct_ratio(batch: DocBatch, params: RatioParams) -> Scores:
    """Share of non-blank lines whose last character is a sentence terminal (FineWeb keeps >= 0.12); None: no line.

    The line is taken as written, as in FineWeb (trailing spaces, which normalization removes, hide the mark).
    Sentence terminals are Unicode's (。！？ included), so the rule applies to zh/ja as well."""
    _, offsets = batch.line_lengths  # stripped non-empty lines: FineWeb's non-blank lines
    ends = pc.count_substring_regex(batch.texts.fill_null(""), _LINE_ENDS_IN_TERMINAL)
    return Scores(_ratios(ends.to_numpy(zero_copy_only=False), np.diff(offsets)))


@rule("fineweb_dup_line_char_ratio", RatioParams)
def fineweb_dup_line_char_ratio(batch: DocBatch, params: RatioParams) -> Scores:
    """Characters of non-blank lines repeating an earlier line, over the text's characters without newlines
    (FineWeb keeps <= 0.01); None for a text with no character besides newlines.

    FineWeb's definition: lines compared as written, every repeat after the first occurrence counted, blank lines
    and whitespace counted in the denominator only (Gopher's ``dup_line_char_ratio`` differs)."""
    lines = batch.view("fineweb_lines", _nonblank_lines)
    dup = [duplicate_parts(ls)[2] for ls in lines]
    total = [len(text) - text.count("\n") for text in batch.pytexts]
    return Scores(_ratios(np.array(dup), np.array(total)))


@rule("list_ratio", CountParams)
def list_ratio(batch: DocBatch, params: CountParams) -> Scores:
    """Newlines per word (FineWeb keeps <= 0.3: lists, menus, one word per line); None for a text without words.

    Words are ``batch.words`` (jieba / MeCab for zh / ja, punctuation stripped). FineWeb counts NLTK tokens,
    punctuation included, so its value is somewhat lower for punctuated prose."""
    newlines = pc.count_substring(batch.texts.fill_null(""), "\n").to_numpy(zero_copy_only=False)
    return Scores(_ratios(newlines, np.array([len(ws) for ws in batch.words])))
