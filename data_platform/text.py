"""Language-aware text primitives shared by the rules: scripts, words, lines, character classes."""

from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache

import emoji
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_platform.langcodes import normalize_lang

# Languages written without spaces between words: words come from a segmenter (jieba, MeCab, see ``raw_tokens``),
# and word lists match them as substrings. Korean separates words with spaces, so it is not one of them.
UNSPACED_LANGS = frozenset({"zh", "ja"})
# Languages whose text is cut into characters, not words, for MinHash shingles and KenLM tokens: the unspaced
# ones and Korean (its space-separated words carry particles and endings, so word n-grams rarely repeat).
CHAR_TOKEN_LANGS = frozenset({"zh", "ja", "ko"})

# CJK code points as ranges for a Python regex character class (``f"[{CJK_CHARS}]"``), by Unicode block.
KANA = "\u3040-\u30ff"  # Hiragana, Katakana
HAN = "\u3400-\u4dbf\u4e00-\u9fff"  # CJK Unified Ideographs Extension A and the main block
HAN_COMPAT = "\uf900-\ufaff"  # CJK Compatibility Ideographs
HANGUL = "\uac00-\ud7af"  # Hangul Syllables
HAN_MARKS = "\u3005-\u3007"  # 々 〆 〇 (iteration mark, closing mark, ideographic zero)
KANA_EXT = "\u31f0-\u31ff"  # Katakana Phonetic Extensions (small Ainu katakana)
HANGUL_JAMO = "\u1100-\u11ff\u3130-\u318f"  # Hangul Jamo, Hangul Compatibility Jamo
HAN_SUPPLEMENTARY = "\U00020000-\U0003134f"  # CJK Unified Ideographs Extensions B to H (planes 2 and 3)

# Two compositions, kept apart because each user's output depends on its own (unifying them changes results):
# the letters of zh/ja/ko text, which line cleaning's phrases treat as CJK at their edges,
CJK_CHARS = KANA + HAN + HAN_COMPAT + HANGUL
# and the characters a token holds one of, for KenLM (``models/lm_text.py``) and decontamination, the widest: the
# shipped models were trained on text tokenized with it, while in CJK_CHARS it would let a phrase match next to 々
# or a Hangul jamo.
CJK_CHARS_EXTENDED = CJK_CHARS + HAN_MARKS + KANA_EXT + HANGUL_JAMO + HAN_SUPPLEMENTARY
# CJK in RE2's syntax (pyarrow compute), by Unicode Script property rather than by block: it also holds the Han
# marks, half-width katakana, Hangul Jamo, CJK radicals and the supplementary ideographs, but not ー or ・ (script
# Common). Normalization's ``max_word_chars`` has always spared runs of these; block ranges would change that.
CJK_SCRIPTS_RE2 = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"

# Characters the ROOTS filters treat as "special" (BigScience data-preparation, special_characters_default):
# ASCII punctuation, digits and whitespace, the typographic characters below (the ROOTS list, as published),
# and every single-code-point emoji (multi-code-point sequences can never match a per-character test).
_ROOTS_EXTRA = (
    "\x92\u2009\x93\x97\u200a\x9d\x99\u202f\x96\u2005\x95\x91\x9c\u3000\u2002\xa0\u2008\x98\x81\u2003\x82\ufffc"
    "\x83\x84\u2019\u201c\u201d\u2013\u30fc\u4e00\u25ac\u2026\u2726\ufffd\xad\xa3\u200b\u2022\u20ac\xab\xbb\xb0"
    "\xb7\u2550\xd7\u58eb\uff3e\u02d8\u21d3\u2193\u2191\u2190\u2192\uff08\uff09\xa7\u2033\u2032\xb4\xbf\u2212"
    "\xb1\u2208\ufeff\xa2\xf8\u201a\u201e\xbd\xbc\xbe\xb9\xb2\xb3\u2015\u2043\uff0c\u02cc\xb8\u2039\u203a\u02ba"
    "\u02c8\u02bb\xa6\u2010\u2800\u2030\x85\u2011\u2264\u2265\u2016\u25c6\u25cf\u25a0\u25ba\u25bc\u25b2\u25b4"
    "\u2206\u25bb\xa1\u2605\u2606\u2731\u02d0\xba\u3002\xaf\u02dc\xa5\u026a\u2248\u2020\u4e0a\u30f3\uff1a\u223c"
    "\u2044\u30fb\u2661\u2713\u2295\u2024\uff0e\u22c5\xf7\uff11\u201f\uff1b\u060c\u3001\xa8\u093e\u09be\u0940"
    "\u094d\u0947\u25e6\u02da\u309c\u02bc\u2256\xa4\u30c3\u30c4\u30b7\u2103\u221a\uff01\u3010\u3011\u203f\u221e"
    "\u27a4\uff5e\u03c0\u0647\u06e9\u261b\u20a8\u27a9\u263b\u0e51\u066a\u2665\u0131\u097d\u300a\u2018\xa9\ufd3f"
    "\u066c\uff1f\u25b7\u0413\u266b\u221f\u2122\xaa\u20aa\xae\u300c\u2014\u2756\u300d\ufd3e\u300b"
)
SPECIAL_CHARS: frozenset[str] = frozenset(
    string.punctuation + string.digits + string.whitespace + _ROOTS_EXTRA
    + "".join(e for e in emoji.EMOJI_DATA if len(e) == 1)
)
_DELETE_SPECIAL = {ord(c): None for c in SPECIAL_CHARS}
# What ``words`` strips from token edges: the special characters except letters and combining marks. ROOTS'
# list holds some (一 上 士 ン ッ ツ シ ー, ø ı π Г ه, Devanagari and Bengali vowel signs), and stripping them cut
# words of zh, ja, da/no, tr, ru, fa and hi ("一个" -> "个", "altı" -> "alt"); special_char_ratio still counts them.
_STRIP_CHARS = "".join(sorted(c for c in SPECIAL_CHARS if unicodedata.category(c)[0] not in "LM"))

_HAN = re.compile(f"[{HAN}{HAN_COMPAT}]")
_KANA = re.compile(f"[{KANA}]")
_WORD_CHAR = re.compile(r"\w")


def count_special(text: str) -> int:
    """Number of ROOTS special characters in ``text`` (str.translate runs the loop in C)."""
    return len(text) - len(text.translate(_DELETE_SPECIAL))


def script_lang(text: str) -> str | None:
    """Guess zh/ja from the script when a document has no language yet; None for other scripts."""
    sample = text[:2000]
    han, kana = len(_HAN.findall(sample)), len(_KANA.findall(sample))
    letters = max(1, sum(ch.isalpha() for ch in sample))
    if kana / letters > 0.05:
        return "ja"
    if han / letters > 0.3:
        return "zh"
    return None


def word_lang(lang: str | None, text: str) -> str:
    """The language whose word segmentation applies: the document's own, else one guessed from its script."""
    return normalize_lang(lang) or script_lang(text) or "und"


@lru_cache(maxsize=1)
def _jieba():
    import rjieba  # Rust port of jieba: same dictionary, ~20x faster than the pure-Python package

    return rjieba


@lru_cache(maxsize=1)
def _mecab():
    import fugashi
    import ipadic

    # MeCab (C++) with the IPA dictionary, in "wakati" mode: space-separated surface forms, ~1 MB/s per core.
    return fugashi.GenericTagger(ipadic.MECAB_ARGS + " -Owakati")


def raw_tokens(text: str, lang: str) -> list[str]:
    """Surface tokens: jieba for Chinese, MeCab (IPA dictionary) for Japanese, whitespace elsewhere."""
    if lang == "zh":
        return _jieba().cut(text)
    if lang == "ja":
        return _mecab().parse(text).split()
    return text.split()


def words(text: str, lang: str) -> list[str]:
    """ROOTS-style words: tokens lower-cased and stripped of special characters, empty ones removed.

    For zh/ja a token counts as a word only when it holds a letter or digit (so punctuation tokens do not).
    """
    out = []
    for tok in raw_tokens(text, lang):
        w = tok.strip(_STRIP_CHARS).lower()
        if w and (lang not in UNSPACED_LANGS or _WORD_CHAR.search(w)):
            out.append(w)
    return out


def line_lengths(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Stripped length of every non-empty line, flattened, plus each document's offsets into that array."""
    lines = pc.split_pattern(texts.fill_null(""), "\n")
    flat = pc.utf8_trim_whitespace(lines.flatten())
    lengths = pc.utf8_length(flat).to_numpy(zero_copy_only=False)
    doc_of_line = pc.list_parent_indices(lines).to_numpy(zero_copy_only=False)
    keep = lengths > 0
    lengths, doc_of_line = lengths[keep], doc_of_line[keep]
    offsets = np.searchsorted(doc_of_line, np.arange(len(texts) + 1))
    return lengths, offsets


def per_doc(reduce: np.ufunc, values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Reduce a flattened per-line array per document; documents without lines get NaN."""
    out = np.full(len(offsets) - 1, np.nan)
    nonempty = offsets[1:] > offsets[:-1]
    if nonempty.any():
        out[nonempty] = reduce.reduceat(values.astype(np.float64), offsets[:-1][nonempty])
    return out
