"""Crawl-like noise put INTO clean pages (the dev corpus, ``build_dev_corpus.py``), next to ``noise.py``'s junk pages.

Every function is pure given its ``random.Random``: the same text, language and generator state give the same
output. Insertions keep the page and add lines or strings to it; they return what they added, for the labels.

* ``insert_boilerplate``  navigation / cookie-banner lines on top, footer lines at the bottom (templates from YAML);
* ``insert_base64``       a base64 blob of random bytes (76-character lines) at a random line break;
* ``pii_items`` / ``insert_pii``  e-mail addresses, phone numbers and IPv4 addresses (from reserved, fictional
  ranges: ``example.*`` domains, 555-01xx and +44 20 7946 0xxx numbers, the documentation IPv4 blocks) put between
  words of random lines;
* ``near_duplicate``      a few words replaced by other words of the page, a few lines dropped or added;
* ``copy_count``          how many copies a duplicated record gets: Pareto or Zipf, capped (heavy-tailed).
"""

from __future__ import annotations

import hashlib
import random
import re

import numpy as np
from noise import _join, _words, base64_block

from data_platform.text import UNSPACED_LANGS

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
_NAMES = ("anna", "li.wei", "j.smith", "mueller", "dupont", "tanaka", "ivanova", "garcia", "rossi", "info", "kontakt")
_DOC_IP_BLOCKS = ("192.0.2", "198.51.100", "203.0.113")


def _fill(template: str, words: list[str], rng: random.Random, lang: str) -> str:
    """A template with ``{site} {year} {year2} {menu} {n}`` filled from the page's words and ``rng``."""
    ascii_words = [w.lower() for w in words if w.isascii()]
    year = rng.randint(2008, 2024)
    values = {"site": rng.choice(ascii_words or ["site"]), "year": str(year), "year2": str(year + rng.randint(1, 3)),
              "n": str(rng.randint(0, 99))}

    def menu() -> str:
        entries = [_join(rng.sample(words, min(len(words), rng.randint(1, 2))), lang).capitalize()
                   for _ in range(rng.randint(3, 6))] if words else ["Home", "About", "Contact"]
        return " | ".join(entries)

    return _PLACEHOLDER.sub(lambda m: menu() if m.group(1) == "menu" else values[m.group(1)], template)


def boilerplate_lines(text: str, lang: str, rng: random.Random, templates: list[str], n: int) -> list[str]:
    """``n`` lines from ``templates`` filled with the page's words."""
    words = sorted(set(_words(text, lang)))
    return [_fill(rng.choice(templates), words, rng, lang) for _ in range(n)]


def insert_boilerplate(text: str, lang: str, rng: random.Random, top: list[str], bottom: list[str],
                       n: int) -> tuple[str, list[str]]:
    """The page with ``n`` boilerplate lines: some from ``top`` before it, the rest from ``bottom`` after it."""
    n_top = rng.randint(0, n)
    head = boilerplate_lines(text, lang, rng, top, n_top)
    tail = boilerplate_lines(text, lang, rng, bottom, n - n_top)
    return "\n".join([*head, text, *tail]), head + tail


def insert_at_line_break(text: str, block: str, rng: random.Random) -> str:
    """``block`` as lines of its own after a random line of ``text`` (or before the first)."""
    lines = text.split("\n")
    at = rng.randint(0, len(lines))
    return "\n".join(lines[:at] + [block] + lines[at:])


def insert_base64(text: str, rng: random.Random, min_bytes: int, max_bytes: int) -> tuple[str, str]:
    """The page with a base64 blob at a random line break, and the blob."""
    block = base64_block(rng, min_bytes, max_bytes)
    return insert_at_line_break(text, block, rng), block


def pii_item(rng: random.Random) -> str:
    """One e-mail address, phone number (international or North American) or IPv4 address, fictional."""
    kind = rng.randrange(4)
    if kind == 0:
        return f"{rng.choice(_NAMES)}{rng.randint(1, 99)}@{rng.choice(_DOMAINS)}"
    if kind == 1:
        return f"+44 20 7946 0{rng.randint(0, 999):03d}"
    if kind == 2:
        return f"({rng.randint(201, 989)}) 555-01{rng.randint(0, 99):02d}"
    return f"{rng.choice(_DOC_IP_BLOCKS)}.{rng.randint(1, 254)}"


def pii_items(rng: random.Random, n: int) -> list[str]:
    return [pii_item(rng) for _ in range(n)]


def insert_pii(text: str, items: list[str], rng: random.Random) -> str:
    """Each item put, space-separated, after a random word (a random space, or the end) of a random line."""
    lines = text.split("\n")
    for item in items:
        i = rng.randrange(len(lines))
        spaces = [m.start() for m in re.finditer(" ", lines[i])]
        at = rng.choice(spaces) if spaces else len(lines[i])
        lines[i] = f"{lines[i][:at]} {item} {lines[i][at:].lstrip(' ')}".rstrip(" ")
    return "\n".join(lines)


def _replace_words(text: str, lang: str, rng: random.Random, n: int) -> str:
    """``n`` words (characters for zh/ja) at random places replaced by other words of the page."""
    unspaced = lang in UNSPACED_LANGS
    spans = [m.span() for m in re.finditer(r"\w" if unspaced else r"\S+", text)]
    pool = [text[a:b] for a, b in spans]
    if len(set(pool)) < 2:
        return text
    out = text
    for a, b in sorted(rng.sample(spans, min(n, len(spans))), reverse=True):
        new = rng.choice([w for w in pool if w != text[a:b]] or pool)
        out = out[:a] + new + out[b:]
    return out


def near_duplicate(text: str, lang: str, rng: random.Random, n_words: int, n_lines: int, extra: list[str]) -> str:
    """The page with ``n_words`` words replaced and ``n_lines`` lines each dropped or added (from ``extra``)."""
    out = _replace_words(text, lang, rng, n_words)
    for _ in range(n_lines):
        lines = out.split("\n")
        if len(lines) > 3 and rng.random() < 0.5:
            del lines[rng.randrange(len(lines))]
            out = "\n".join(lines)
        else:
            out = insert_at_line_break(out, rng.choice(extra), rng)
    return out


def copy_count(seed: str, distribution: str, alpha: float, cap: int) -> int:
    """Copies of one duplicated record (>= 1): ``floor(Pareto(alpha))`` or ``Zipf(alpha)``, at most ``cap``."""
    if distribution == "zipf":
        gen = np.random.default_rng(int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "big"))
        return int(min(cap, gen.zipf(alpha)))
    return int(min(cap, int(random.Random(seed).paretovariate(alpha))))
