"""Sentence spans for C4-style dedup: sentence boundaries, hashed spans of k sentences, and their removal."""

from __future__ import annotations

import re

# A sentence ends at . ! ? (with closing quotes/brackets) followed by whitespace, at CJK 。！？, or at a newline.
_END = re.compile(r"""[.!?]+["'”’)\]]*(?=\s)|[。！？]+[」』”）]*|\n""")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the sentences of ``text``; whitespace between them belongs to none."""
    spans, start = [], 0
    for end in [*(m.end() for m in _END.finditer(text)), len(text)]:
        body = text[start:end].lstrip()  # str methods trim in C: a per-character loop here cost half the step
        if body:
            first = end - len(body)
            spans.append((first, first + len(body.rstrip())))
        start = end
    return spans


def remove_sentences(text: str, spans: list[tuple[int, int]], drop: set[int]) -> str:
    """``text`` without the sentences whose indices are in ``drop``; the spacing they leave behind is tidied."""
    out, cursor = [], 0
    for i, (start, end) in enumerate(spans):
        if i in drop:
            out.append(text[cursor:start])
            cursor = end
    out.append(text[cursor:])
    result = re.sub(r"[ \t]+\n", "\n", re.sub(r"[ \t]{2,}", " ", "".join(out)))
    return re.sub(r"\n{3,}", "\n\n", result).strip()
