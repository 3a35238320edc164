"""Word-list rules: stopword ratio and flagged-word ratio with categories in priority order.

Word lists are loaded once on the driver when the rule file is read (the rules' loaders, keyed by the
``wordlist``/``wordlists`` value) and travel with the rule set to the executors, so executors never read the
driver's disk.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

from pydantic import Field

from data_platform.langcodes import normalize_lang
from data_platform.rules.base import DocBatch, RatioParams, Scores, rule
from data_platform.rules.flagged_match import FLAGGED_PRIORITY, FlaggedMatcher


class StopwordParams(RatioParams):
    wordlist: str = Field(
        "stopwordsiso",
        description="'stopwordsiso' (the package's large retrieval lists) or a folder of <lang>.txt files, relative "
        "to the rule file (rules/wordlists/stopwords: closed-class lists, scripts/build_stopwords.py)",
    )


class FlaggedParams(RatioParams):
    """``max`` bounds the share of all flagged words (the selected categories together, ROOTS' value);
    ``max_by_category`` bounds each category's own share (a failure drops the document through ``Scores.failed``)."""

    wordlists: str = Field("wordlists/flagged",
                           description="folder of <lang>/<category>.txt, relative to the rule file")
    categories: list[str] = Field(
        default_factory=lambda: list(FLAGGED_PRIORITY),
        description="categories counted, in priority order: the detail names the first failing (else hit) one",
    )
    max_by_category: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="the highest share of words of one category a document may have")


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
        _code(lang_dir.name): {p.stem: read_wordlist(p) for p in sorted(lang_dir.glob("*.txt"))}
        for lang_dir in sorted(_folder(base, spec).iterdir())
        if lang_dir.is_dir()
    }


def stopword_lists(params: list[StopwordParams], base: Path) -> dict[str, dict[str, frozenset[str]]]:
    """``{wordlist: {lang: stopwords}}`` for every ``wordlist`` the rule file names."""
    return {spec: load_stopwords(spec, base) for spec in {p.wordlist for p in params}}


def flagged_lists(params: list[FlaggedParams], base: Path) -> dict[str, dict[str, FlaggedMatcher]]:
    """``{wordlists: {lang: matcher}}`` for every ``wordlists`` folder the rule file names: the lookup structures
    are built once here, on the driver, and travel to the executors with the rule set."""
    return {spec: {lang: FlaggedMatcher(lists) for lang, lists in load_flagged(spec, base).items()}
            for spec in {p.wordlists for p in params}}


@rule("stopword_ratio", StopwordParams, load=stopword_lists)
def stopword_ratio(batch: DocBatch, params: StopwordParams) -> Scores:
    """Share of words that are stopwords of the document's language (too low = not natural prose)."""
    stop = batch.resources.get("stopword_ratio", {}).get(params.wordlist, {}).get(batch.lang)
    if stop is None:
        note = f"no stopword list for language {batch.lang!r}"
        return Scores([None] * len(batch), [note] * len(batch))
    return Scores([sum(w in stop for w in ws) / len(ws) if ws else 0.0 for ws in batch.words])


@rule("flagged_word_ratio", FlaggedParams, load=flagged_lists)
def flagged_word_ratio(batch: DocBatch, params: FlaggedParams) -> Scores:
    """Share of words on the flagged lists (ROOTS' flagged-word ratio) with per-category bounds; the detail names
    the highest-priority failing category, else the highest-priority one hit, and the words."""
    found = batch.resources.get("flagged_word_ratio", {}).get(params.wordlists, {}).get(batch.lang)
    matcher = FlaggedMatcher(found) if isinstance(found, dict) else found  # plain lists (tests)
    if matcher is None or not set(params.categories) & matcher.categories:
        note = f"no flagged-word list for language {batch.lang!r}"
        return Scores([None] * len(batch), [note] * len(batch))
    wanted = frozenset(params.categories)
    values: list[float | None] = []
    details: list[str | None] = []
    failed: list[bool] = []
    unspaced = matcher.unspaced_candidates(batch.texts)
    for text, ws, maybe in zip(batch.pytexts, batch.words, unspaced, strict=True):
        hits = _flag_hits(matcher, text, ws, bool(maybe), wanted)
        by_cat = _per_category(hits)
        values.append(min(1.0, sum(hits.values()) / len(ws)) if ws else 0.0)
        over = _failing(by_cat, len(ws), params)
        failed.append(bool(over))
        details.append(_describe_hits(hits, by_cat, params, over, len(ws)))
    return Scores(values, details, failed)


def _flag_hits(matcher: FlaggedMatcher, text: str, words: list[str], unspaced: bool,
               wanted: frozenset[str]) -> Counter:
    """Flagged occurrences per (category, entry), only of the ``wanted`` categories."""
    return Counter({k: n for k, n in matcher.hits(text, words, unspaced).items() if k[0] in wanted})


def _failing(by_cat: Counter, n_words: int, params: FlaggedParams) -> list[str]:
    """The categories whose share of the words exceeds their ``max_by_category``, in priority order."""
    bounds = params.max_by_category
    return [c for c in params.categories if c in bounds and n_words and by_cat[c] / n_words > bounds[c]]


def _per_category(hits: Counter) -> Counter:
    by_cat: Counter = Counter()
    for (category, _), n in hits.items():
        by_cat[category] += n
    return by_cat


def _describe_hits(hits: Counter, by_cat: Counter, params: FlaggedParams, over: list[str],
                   n_words: int) -> str | None:
    """``category=porn; xxx×2, porn×1; porn 0.0300 > 0.005``: the first failing category (else the first hit in
    priority order), up to five words with that category's first, and each failing category's share."""
    if not hits:
        return None
    rank = {c: i for i, c in enumerate(params.categories)}
    top = over[0] if over else min((cat for cat, _ in hits), key=rank.__getitem__)
    ordered = sorted(hits.items(), key=lambda kv: (kv[0][0] != top, rank[kv[0][0]], -kv[1], kv[0][1]))
    words = ", ".join(f"{w}×{n}" for (_, w), n in ordered[:5])
    shares = "; ".join(f"{c} {by_cat[c] / n_words:.4f} > {params.max_by_category[c]}" for c in over)
    return f"category={top}; {words}" + (f"; {shares}" if shares else "")
