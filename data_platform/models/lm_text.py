"""Text normalisation and tokenisation for the KenLM models, shared by training and scoring (cc_net style).

Per line: Unicode NFKC (full-width ASCII and half-width kana to their usual forms, ``…`` to ``...``), lowercase,
control and zero-width characters removed, every decimal digit to ``0``, the remaining Unicode punctuation
(``。、「」【】《》“”‘’«» — –`` ...) to ASCII equivalents, whitespace collapsed. Accents are kept (no NFD
stripping): de/fr/es/it text is trained and scored with its diacritics, so text that lost them reads as less
fluent, which is what a perplexity filter should say.

Tokens: runs of letters, marks and digits are words; every other non-space character (punctuation, symbols,
emoji, ``_``) is a token of its own, which also keeps KenLM's ``<s>``, ``</s>`` and ``<unk>`` out of the text.
In zh, ja and ko (``text.CHAR_TOKEN_LANGS``) every Han, kana and Hangul character (``text.CJK_CHARS_EXTENDED``)
is a token; Latin and digit runs inside them stay words.
"""

from __future__ import annotations

import re
import unicodedata

from data_platform.langcodes import normalize_lang
from data_platform.text import CHAR_TOKEN_LANGS, CJK_CHARS_EXTENDED

# Left after NFKC (which already maps full-width ，！？：；（）～ and … to ASCII).
_PUNCT = str.maketrans({
    "。": ".", "、": ",",
    "“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"', "「": '"', "」": '"', "『": '"', "』": '"',
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "‹": "'", "›": "'",
    "【": "[", "】": "]", "〔": "[", "〕": "]", "〖": "[", "〗": "]",
    "《": "<", "》": ">", "〈": "<", "〉": ">",
    "—": "-", "–": "-", "‐": "-", "‒": "-", "―": "-", "−": "-", "〜": "~",
    "・": "·", "•": "·", "∶": ":",
})
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_DIGIT = re.compile(r"\d")
_CHAR_TOKENS = re.compile(rf"[{CJK_CHARS_EXTENDED}]|[^\W_{CJK_CHARS_EXTENDED}]+|\S")
_WORD_TOKENS = re.compile(r"[^\W_]+|\S")


def normalize_line(line: str) -> str:
    """One line, normalised as described in the module docstring (whitespace not yet collapsed)."""
    text = unicodedata.normalize("NFKC", line).lower()
    text = _INVISIBLE.sub("", text)
    return _DIGIT.sub("0", text).translate(_PUNCT)


def lm_tokens(line: str, lang: str) -> list[str]:
    """The tokens of one line as the language model sees them."""
    pattern = _CHAR_TOKENS if normalize_lang(lang) in CHAR_TOKEN_LANGS else _WORD_TOKENS
    return pattern.findall(normalize_line(line))


def lm_line(line: str, lang: str) -> str:
    """Tokens joined by single spaces (KenLM's sentence format); ``""`` for a line without tokens."""
    return " ".join(lm_tokens(line, lang))
