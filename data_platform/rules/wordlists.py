"""Word-list rules: stopword ratio and flagged-word ratio with categories in priority order.

Word lists are loaded once on the driver when the rule file is read (the rules' loaders, keyed by the
``wordlist``/``wordlists`` value) and travel with the rule set to the executors, so executors never read the
driver's disk.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import Field

from data_platform.langcodes import normalize_lang
from data_platform.rules.base import DocBatch, RatioParams, Scores, rule
from data_platform.text import UNSPACED_LANGS


class StopwordParams(RatioParams):
    wordlist: str = Field(
        "stopwordsiso",
        description="'stopwordsiso' (the package's large retrieval lists) or a folder of <lang>.txt files, relative "
        "to the rule file (rules/wordlists/stopwords: closed-class lists, scripts/build_stopwords.py)",
    )


class FlaggedParams(RatioParams):
    wordlists: str = Field("wordlists/flagged",
                           description="folder of <lang>/<category>.txt, relative to the rule file")
    categories: list[str] = Field(
        default_factory=lambda: ["political", "porn", "violence", "gambling"],
        description="categories in priority order: a document is labelled with the first one it hits",
    )


def read_wordlist(path: Path) -> frozenset[str]:
    """One entry per line, lower-cased; blank lines and ``#`` comments ignored."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.lstrip().startswith("#"))


def load_stopwords(spec: str, base: Path) -> dict[str, frozenset[str]]:
    """Stopword sets per language, from the stopwordsiso package or from ``<folder>/<lang>.txt`` files."""
    if spec == "stopwordsiso":
        import stopwordsiso

        return {_code(lang): frozenset(stopwordsiso.stopwords(lang)) for lang in sorted(stopwordsiso.langs())}
    return {_code(p.stem): read_wordlist(p) for p in sorted(_folder(base, spec).glob("*.txt"))}


def _code(name: str) -> str:
    """A list's language as the project writes it: ``nb.txt`` serves Norwegian documents (``no``)."""
    return normalize_lang(name) or name


def _folder(base: Path, spec: str) -> Path:
    folder = (base / spec).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"word-list folder {folder} does not exist")
    return folder


def load_flagged(spec: str, base: Path) -> dict[str, dict[str, frozenset[str]]]:
    """``{lang: {category: words}}`` from ``<folder>/<lang>/<category>.txt``."""
    return {
        lang_dir.name: {p.stem: read_wordlist(p) for p in sorted(lang_dir.glob("*.txt"))}
        for lang_dir in sorted(_folder(base, spec).iterdir())
        if lang_dir.is_dir()
    }


def stopword_lists(params: list[StopwordParams], base: Path) -> dict[str, dict[str, frozenset[str]]]:
    """``{wordlist: {lang: stopwords}}`` for every ``wordlist`` the rule file names."""
    return {spec: load_stopwords(spec, base) for spec in {p.wordlist for p in params}}


def flagged_lists(params: list[FlaggedParams], base: Path) -> dict[str, dict[str, dict[str, frozenset[str]]]]:
    """``{wordlists: {lang: {category: words}}}`` for every ``wordlists`` folder the rule file names."""
    return {spec: load_flagged(spec, base) for spec in {p.wordlists for p in params}}


@rule("stopword_ratio", StopwordParams, load=stopword_lists)
def stopword_ratio(batch: DocBatch, params: StopwordParams) -> Scores:
    """Share of words that are stopwords of the document's language (too low = not natural prose)."""
    stop = batch.resources.get("stopword_ratio", {}).get(params.wordlist, {}).get(batch.lang)
    if stop is None:
        note = f"no stopword list for language {batch.lang!r}"
        return Scores([None] * len(batch), [note] * len(batch))
    return Scores([sum(w in stop for w in ws) / len(ws) if ws else 0.0 for ws in batch.words])


def _flag_hits(text: str, words: list[str], lists: dict[str, frozenset[str]], cjk: bool) -> Counter:
    """Flagged occurrences per (category, word): substring counts for CJK, whole-word matches elsewhere."""
    hits: Counter = Counter()
    if cjk:
        lowered = text.lower()
        for category, flagged in lists.items():
            for w in flagged:
                if (c := lowered.count(w)) > 0:
                    hits[(category, w)] += c
        return hits
    category_of = {w: cat for cat, flagged in reversed(list(lists.items())) for w in flagged}
    for w in words:
        if w in category_of:
            hits[(category_of[w], w)] += 1
    return hits


@rule("flagged_word_ratio", FlaggedParams, load=flagged_lists)
def flagged_word_ratio(batch: DocBatch, params: FlaggedParams) -> Scores:
    """Share of words on the flagged lists; the detail names the highest-priority category hit and the words."""
    by_lang = batch.resources.get("flagged_word_ratio", {}).get(params.wordlists, {})
    lists = {c: by_lang.get(batch.lang, {}).get(c, frozenset()) for c in params.categories}
    if not any(lists.values()):
        note = f"no flagged-word list for language {batch.lang!r}"
        return Scores([None] * len(batch), [note] * len(batch))
    values, details = [], []
    for text, ws in zip(batch.pytexts, batch.words, strict=True):
        hits = _flag_hits(text, ws, lists, batch.lang in UNSPACED_LANGS)
        values.append(min(1.0, sum(hits.values()) / len(ws)) if ws else 0.0)
        details.append(_describe_hits(hits, params.categories))
    return Scores(values, details)


def _describe_hits(hits: Counter, priority: list[str]) -> str | None:
    if not hits:
        return None
    top = next(c for c in priority if any(cat == c for cat, _ in hits))
    words = ", ".join(f"{w}×{n}" for (_, w), n in hits.most_common(5))
    return f"category={top}; {words}"
