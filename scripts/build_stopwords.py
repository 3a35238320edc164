#!/usr/bin/env python3
"""Build the closed-class stopword lists ``rules/wordlists/stopwords/<lang>.txt`` (ROOTS sense: function words).

The ``stopword_ratio`` rule wants function words (articles, pronouns, prepositions, conjunctions, auxiliaries,
particles), the "closed class" lists of BigScience ROOTS, not the large retrieval stoplists that also hold single
letters, digits and common content words. Each list is derived, reproducibly and offline, from openly licensed
installed packages, with the knobs in ``rules/wordlists/stopwords/build.yaml``:

1. **Agreement of two sources**: the entries common to spaCy's ``spacy.lang.<xx>.stop_words`` (MIT) and the
   stopwords-iso package ``stopwordsiso`` (MIT). Each source alone carries its own content words ("big", "year");
   entries both curations chose are mostly function words. Where one source lacks the language, or fewer than
   ``min_agreed`` entries are common, the source with more entries passing step 3 is used alone (the header says
   so): stopwords-iso's Greek list, for one, is written without accents, which Greek text has.
2. **Form**: NFC, lower-cased; no digits, no whitespace (a rule word is one token), letters only apart from an
   inner apostrophe or hyphen; one-letter entries only when ``one_letter`` allows them (real one-letter function
   words such as en "a"/"i", fr "à"/"y"). In Han, kana and Hangul a character is a syllable or morpheme, not a
   letter: zh/ja entries must instead be one token of the project's segmenter (``data_platform.text``: jieba for zh,
   MeCab/IPA for ja), so each entry can match a word; ko is split on whitespace, so a one-syllable Korean entry
   (a particle such as 는 is never a word of its own) is kept only when ``one_letter`` lists it.
3. **Frequency**: entries rarer than ``zipf_min`` in wordfreq (data CC BY-SA 4.0; used as a filter, no wordfreq
   entry is added) are dropped: archaic or misspelt forms do not move the ratio and only add noise.
4. **Content words**: ``exclude`` removes, per language, content words that the sources list (nouns, adjectives,
   content verbs, interjections; reviewed by hand for en de fr es it pt ru zh ko, not yet for the others).

Usage (from the repository root, with it on ``PYTHONPATH`` as for the other build scripts)::

    python scripts/build_stopwords.py            # writes rules/wordlists/stopwords/<lang>.txt
    python scripts/build_stopwords.py --check    # exit 1 when a committed list differs from a fresh build
"""

from __future__ import annotations

import argparse
import importlib
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from data_platform.langcodes import normalize_lang

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "rules" / "wordlists" / "stopwords"
CJK_SEGMENTED = frozenset({"zh", "ja"})
SOURCES = {
    "spacy": "spaCy {version} spacy.lang.{lang}.stop_words (MIT licence, Explosion AI)",
    "iso": "stopwordsiso {version} (stopwords-iso, MIT licence)",
}


@dataclass(frozen=True)
class Built:
    """One language's list and how it was made."""

    lang: str
    words: list[str]
    sources: list[str]
    counts: dict[str, int]


def spacy_words(lang: str) -> set[str] | None:
    """spaCy's stop words for ``lang``, or None when spaCy has no such language."""
    try:
        module = importlib.import_module(f"spacy.lang.{lang}.stop_words")
    except ModuleNotFoundError:
        return None
    return {normal(w) for w in module.STOP_WORDS}


def iso_words(lang: str) -> set[str] | None:
    """stopwords-iso's list for ``lang`` (Norwegian Bokmål is filed there as ``no``)."""
    import stopwordsiso

    code = "no" if lang == "nb" else lang
    return {normal(w) for w in stopwordsiso.stopwords(code)} if stopwordsiso.has_lang(code) else None


def normal(word: str) -> str:
    """NFC, lower-cased; a word-final Greek sigma as the final form ς (spaCy's el list writes σ, text has ς)."""
    word = unicodedata.normalize("NFC", word.strip()).lower()
    return word[:-1] + "ς" if word.endswith("σ") else word


def candidates(lang: str, min_agreed: int, frequent_words: frozenset[str]) -> tuple[set[str], list[str]]:
    """Entries both sources agree on, or else the source with more frequent entries; plus the sources used."""
    got = {name: words for name, words in (("spacy", spacy_words(lang)), ("iso", iso_words(lang))) if words}
    if not got:
        raise ValueError(f"no stopword source (spaCy, stopwords-iso) has language {lang!r}")
    if len(got) == 2 and len(agreed := got["spacy"] & got["iso"]) >= min_agreed:
        return agreed, ["spacy", "iso"]
    name = max(got, key=lambda n: sum(w.casefold() in frequent_words for w in got[n]))
    return got[name], [name]


def well_formed(word: str, lang: str, one_letter: frozenset[str]) -> bool:
    """Letters only (an inner apostrophe or hyphen allowed), no digits; one letter only when allowed."""
    if not word or any(ch.isdigit() or ch.isspace() for ch in word):
        return False
    inner = word[1:-1].replace("'", "").replace("’", "").replace("-", "")
    letters = word[0] + inner + word[-1] if len(word) > 1 else word
    if not all(unicodedata.category(ch)[0] in "LM" for ch in letters):
        return False
    if lang in CJK_SEGMENTED:
        return True
    return len(word) > 1 or word in one_letter


def one_token(word: str, lang: str) -> bool:
    """For zh/ja: the project's segmenter keeps ``word`` as one word (else the rule could never match it)."""
    if lang not in CJK_SEGMENTED:
        return True
    from data_platform.text import words

    return words(word, lang) == [word]


def frequent(code: str, zipf_min: float) -> frozenset[str]:
    """wordfreq's words of ``code`` at or above ``zipf_min`` (the frequency dict, no tokenization)."""
    import wordfreq

    if code not in wordfreq.available_languages():
        raise ValueError(f"wordfreq has no language {code!r} (set languages.<lang>.wordfreq)")
    floor = 10 ** (zipf_min - 9)
    return frozenset(w for w, f in wordfreq.get_frequency_dict(code).items() if f >= floor)


def build(lang: str, spec: dict, config: dict) -> Built:
    """Apply the four steps of the module docstring to one language."""
    freq = frequent(spec.get("wordfreq", lang), config["zipf_min"])
    words, sources = candidates(lang, config["min_agreed"], freq)
    counts = {"candidates": len(words)}
    allowed = frozenset(normal(w) for w in spec.get("one_letter") or [])
    words = {w for w in words if well_formed(w, lang, allowed) and one_token(w, lang)}
    counts["well_formed"] = len(words)
    words = {w for w in words if w.casefold() in freq}  # wordfreq stores case-folded words (ς as σ, ß as ss)
    counts["frequent"] = len(words)
    words -= {normal(w) for w in spec.get("exclude") or []}
    counts["kept"] = len(words)
    return Built(lang, sorted(words), sources, counts)


def render(built: Built) -> str:
    """The list file: a header comment (sources, licences, method, counts), then one word per line."""
    import spacy
    import stopwordsiso
    import wordfreq

    versions = {"spacy": spacy.__version__, "iso": _version(stopwordsiso, "stopwordsiso")}
    used = [SOURCES[s].format(version=versions[s], lang=built.lang) for s in built.sources]
    how = "entries common to both" if len(built.sources) == 2 else "this source alone (see build.yaml min_agreed)"
    header = [
        f"# Closed-class stopwords for {built.lang!r} (function words), built by scripts/build_stopwords.py.",
        f"# Sources: {'; '.join(used)}; {how}.",
        f"# Filtered by frequency with wordfreq {_version(wordfreq, 'wordfreq')} (data CC BY-SA 4.0).",
        "# Method and licences: rules/wordlists/README.md. Do not edit by hand: change build.yaml and rebuild.",
        "# Counts: " + ", ".join(f"{k} {v}" for k, v in built.counts.items()),
    ]
    return "\n".join(header + built.words) + "\n"


def _version(module: object, dist: str) -> str:
    from importlib.metadata import version

    return getattr(module, "__version__", None) or version(dist)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed lists, write nothing")
    args = parser.parse_args(argv)
    config_path = FOLDER / "build.yaml"
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        languages = config["languages"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        print(f"error: {config_path}: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    stale = []
    for lang, spec in languages.items():
        try:
            built = build(lang, spec or {}, config)
        except (ValueError, KeyError, TypeError) as exc:
            print(f"error: {config_path}: {lang}: {exc}", file=sys.stderr)
            return 2
        path, text = FOLDER / f"{normalize_lang(lang)}.txt", render(built)  # nb -> no.txt, the project's code
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
            continue
        path.write_text(text, encoding="utf-8")
        print(f"{lang}: {built.counts}")
    if stale:
        print(f"error: out of date (rerun scripts/build_stopwords.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
