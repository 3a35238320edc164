"""Seeded generators that turn a clean document into crawl-like junk of the same language.

Every generator is a pure function ``(text, lang, rng) -> str``: the same text, language and
``random.Random`` state give the same junk. The junk keeps the document's own words (so it stays in the
document's language and script) and adds only language-neutral structure (symbols, URLs, numbers, base64).

Kinds (``KINDS``, the value written to ``meta.junk``):

* ``word_shuffle``      the document's tokens in random order, in lines of the original lengths (word salad);
* ``repeated_lines``    a few of its lines repeated over and over, in random order (template spam);
* ``paragraph_spam``    one paragraph repeated many times;
* ``nav_menu``          a navigation page: only short menu entries of one to three words, some with ``»``/``|``;
* ``boilerplate``       one short sentence drowned in footer/cookie-banner structure (©, links, e-mail, phone);
* ``keyword_spam``      SEO stuffing: a handful of the document's words repeated in comma lists;
* ``symbol_soup``       runs of symbols and punctuation with a few words in between;
* ``mojibake``          the text's UTF-8 bytes read as Windows-1252 (encoding garbage);
* ``base64_blob``       a short line followed by a long base64 blob (an inlined image or attachment);
* ``short_fragment``    the first few words only (a fragment far below any useful length).

``junk_set(docs, seed)`` makes one junk document per input document, the kinds dealt round-robin within
each language, so that every language gets every kind.
"""

from __future__ import annotations

import base64
import random
import re
from collections import Counter, defaultdict
from typing import Callable

from data_platform.text import UNSPACED_LANGS, raw_tokens

Generator = Callable[[str, str, random.Random], str]
_WORD = re.compile(r"\w", re.UNICODE)
_SYMBOLS = "#*~^|<>{}[]=+_@$%&§¶•★☆►◄■□▲▼○●◆◇※→←↑↓…¤°±×÷"
_SEPARATORS = (" | ", " · ", " » ", " / ", " - ")
_PUNCT = "\"'()[]{}<>.,;:!?«»„“”‘’‚*_/\\|=+-–—…。，、；：！？「」『』（）《》"


def _tokens(text: str, lang: str) -> list[str]:
    """Word-like tokens of ``text`` (jieba/MeCab for zh/ja, whitespace elsewhere) that hold a letter or digit."""
    return [t for t in raw_tokens(text, lang) if _WORD.search(t)]


def _words(text: str, lang: str) -> list[str]:
    """Tokens with surrounding punctuation stripped, kept when only letters remain (menu and keyword material)."""
    stripped = (t.strip(_PUNCT) for t in _tokens(text, lang))
    return [w for w in stripped if w.isalpha()]


def _join(tokens: list[str], lang: str) -> str:
    return ("" if lang in UNSPACED_LANGS else " ").join(tokens)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def word_shuffle(text: str, lang: str, rng: random.Random) -> str:
    """All tokens of the text (``raw_tokens``) shuffled, laid out in lines holding as many tokens as before."""
    per_line = [len(raw_tokens(line, lang)) for line in _lines(text)]
    tokens = [t for line in _lines(text) for t in raw_tokens(line, lang)]
    rng.shuffle(tokens)
    out, start = [], 0
    for n in per_line:
        out.append(_join(tokens[start:start + n], lang))
        start += n
    return "\n".join(line for line in out if line)


def repeated_lines(text: str, lang: str, rng: random.Random) -> str:
    """Two to four of the text's lines, each repeated 10-30 times, in random order."""
    lines = _lines(text)
    chosen = rng.sample(lines, min(len(lines), rng.randint(2, 4)))
    out = [line for line in chosen for _ in range(rng.randint(10, 30))]
    rng.shuffle(out)
    return "\n".join(out)


def paragraph_spam(text: str, lang: str, rng: random.Random) -> str:
    """One paragraph (blank-line separated; else the first lines) repeated 8-20 times."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) >= 80]
    paragraph = rng.choice(paragraphs) if paragraphs else "\n".join(_lines(text)[:3])
    return "\n\n".join([paragraph] * rng.randint(8, 20))


def nav_menu(text: str, lang: str, rng: random.Random) -> str:
    """20-60 menu entries of one to three of the text's words, as lines or separator-joined rows."""
    words = sorted(set(_words(text, lang))) or ["menu"]
    entries = [_join(rng.sample(words, min(len(words), rng.randint(1, 3))), lang).capitalize()
               for _ in range(rng.randint(20, 60))]
    rows, i = [], 0
    while i < len(entries):
        n = rng.choice((1, 1, 4, 6))
        rows.append(rng.choice(_SEPARATORS).join(entries[i:i + n]))
        i += n
    return "\n".join(rows)


def boilerplate(text: str, lang: str, rng: random.Random) -> str:
    """One short line of the text inside 15-30 lines of footer and cookie-banner structure."""
    words = sorted(set(_words(text, lang))) or ["info"]
    short = [line for line in _lines(text) if len(line) <= 160] or [_lines(text)[0][:160]]
    year = rng.randint(2008, 2024)
    slug = rng.choice([w for w in words if w.isascii() and w.isalpha()] or ["site"]).lower()

    def label() -> str:
        return _join(rng.sample(words, min(len(words), rng.randint(1, 2))), lang).capitalize()

    templates = [
        lambda: f"© {year}–{year + rng.randint(1, 3)} {label()}. {label()}.",
        lambda: " | ".join(label() for _ in range(rng.randint(3, 6))),
        lambda: f"https://www.{slug}.example/{slug}/{rng.randint(1, 999)}",
        lambda: f"{slug}@{slug}.example · +{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        lambda: f"[ {label()} ]  [ {label()} ]  [ OK ]",
        lambda: f"{label()} ›",
    ]
    out = [rng.choice(templates)() for _ in range(rng.randint(15, 30))]
    out.insert(rng.randrange(len(out) + 1), rng.choice(short))
    return "\n".join(out)


def keyword_spam(text: str, lang: str, rng: random.Random) -> str:
    """Three to six of the text's most frequent long words, repeated in 10-25 comma-separated lines."""
    counts = Counter(w.lower() for w in _words(text, lang) if len(w) >= (2 if lang in UNSPACED_LANGS else 4))
    keywords = [w for w, _ in counts.most_common(rng.randint(3, 6))] or _tokens(text, lang)[:3] or ["spam"]
    lines = []
    for _ in range(rng.randint(10, 25)):
        picks = [rng.choice(keywords) for _ in range(rng.randint(4, 10))]
        lines.append(", ".join(_join([p, rng.choice(keywords)], lang) for p in picks))
    return "\n".join(lines)


def symbol_soup(text: str, lang: str, rng: random.Random) -> str:
    """20-40 lines mostly of symbol runs, with one of the text's words now and then."""
    words = _tokens(text, lang)
    lines = []
    for _ in range(rng.randint(20, 40)):
        parts = ["".join(rng.choice(_SYMBOLS) for _ in range(rng.randint(2, 8))) for _ in range(rng.randint(3, 8))]
        if words and rng.random() < 0.5:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(words))
        lines.append(" ".join(parts))
    return "\n".join(lines)


def mojibake(text: str, lang: str, rng: random.Random) -> str:
    """The text's UTF-8 bytes decoded as Windows-1252 (its five unassigned bytes as Latin-1), e.g. é -> Ã©."""
    raw = text.encode("utf-8")
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in raw)


def base64_blob(text: str, lang: str, rng: random.Random) -> str:
    """One line of the text, then 3-12 KB of random bytes as base64 in 76-character lines."""
    block = base64_block(rng, 3_000, 12_000)
    return "\n".join([rng.choice(_lines(text))[:200], block])


def base64_block(rng: random.Random, min_bytes: int, max_bytes: int) -> str:
    """Random bytes (``min_bytes``..``max_bytes``) as base64 in 76-character lines."""
    blob = base64.b64encode(rng.randbytes(rng.randint(min_bytes, max_bytes))).decode("ascii")
    return "\n".join(blob[i:i + 76] for i in range(0, len(blob), 76))


def short_fragment(text: str, lang: str, rng: random.Random) -> str:
    """The first three to eight tokens of the text (for zh/ja: 5-20 characters)."""
    if lang in UNSPACED_LANGS:
        return "".join(text.split())[: rng.randint(5, 20)]
    return " ".join(text.split()[: rng.randint(3, 8)])


KINDS: dict[str, Generator] = {
    "word_shuffle": word_shuffle,
    "repeated_lines": repeated_lines,
    "paragraph_spam": paragraph_spam,
    "nav_menu": nav_menu,
    "boilerplate": boilerplate,
    "keyword_spam": keyword_spam,
    "symbol_soup": symbol_soup,
    "mojibake": mojibake,
    "base64_blob": base64_blob,
    "short_fragment": short_fragment,
}


def junk_set(docs: list[dict], seed: int) -> list[dict]:
    """One junk document per document (same ``lang``), kinds dealt round-robin per language; labelled.

    A junk document has the id ``junk/<kind>/<original id>``, ``source`` ``<original source>/junk``, and
    ``meta`` of the original plus ``junk`` (the kind) and ``from`` (the original id).
    """
    by_lang: dict[str, list[dict]] = defaultdict(list)
    for doc in sorted(docs, key=lambda d: d["id"]):
        by_lang[doc["lang"]].append(doc)
    out = []
    for lang, group in sorted(by_lang.items()):
        kinds = sorted(KINDS)
        random.Random(f"{seed}/{lang}").shuffle(kinds)
        for i, doc in enumerate(group):
            kind = kinds[i % len(kinds)]
            text = KINDS[kind](doc["text"], lang, random.Random(f"{seed}/{doc['id']}"))
            meta = {**doc["meta"], "junk": kind, "from": doc["id"]}
            out.append({"id": f"junk/{kind}/{doc['id']}", "text": text, "lang": lang,
                        "source": f"{doc['source']}/junk", "meta": meta})
    return out
