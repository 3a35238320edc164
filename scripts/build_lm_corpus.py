#!/usr/bin/env python3
"""Build per-language training text for the shipped KenLM models (``models/kenlm/``) from Debian documentation.

The text comes from the same Debian documentation packages as the sample corpus (``scripts/build_sample.py``,
whose download, unpack and page-language functions are reused) plus Debian Reference, the aptitude
manual and the Debian Administrator's Handbook, but never from the sample: every page whose id is in
``data/sample/pages.jsonl.gz`` is skipped, and so is every line that also occurs (after ``lm_line``
normalisation) in a sample page's extracted text, because one-page editions and other manuals repeat some.
Pages are extracted with trafilatura exactly as the filter job does (``data_platform.extract.extract_html``
with the default ``ExtractConfig``). Link lists are left out, and so are lines of a translation that are
mostly untranslated English (the sample's English-sentence test, ``build_sample.english_share``); each
normalised line is kept once per language.

Output (a working folder, not committed): ``<out>/<lang>.txt.gz``, one document per blank-line separated
block, and ``<out>/summary.json`` with pages, lines and characters per language.

Usage (Debian, as root or with apt-get download rights; needs the Debian archive)::

    python scripts/build_lm_corpus.py                   # writes /tmp/lm_corpus
    python scripts/build_lm_corpus.py --deb-dir D       # reuse .deb files already downloaded into D
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Iterator

from data_platform.config import ExtractConfig
from data_platform.extract import extract_html
from data_platform.io.records import decode_html
from data_platform.models.lm_text import lm_line

SCRIPTS = Path(__file__).resolve().parent
REPO_ROOT = SCRIPTS.parent
SAMPLE_PAGES = REPO_ROOT / "data" / "sample" / "pages.jsonl.gz"
DEFAULT_OUT = Path("/tmp/lm_corpus")
MIN_TEXT_BYTES = 200
MAX_HTML_BYTES = 3_000_000  # one-page editions of the manuals; trafilatura needs seconds for the largest
EXTRACT_TIMEOUT_S = 60.0
MAX_ENGLISH_SHARE = 0.5  # of a line in untranslated English sentences (translations keep English paragraphs)


def load_build_sample() -> ModuleType:
    """``scripts/build_sample.py`` as a module (the scripts folder is not a package)."""
    spec = importlib.util.spec_from_file_location("build_sample", SCRIPTS / "build_sample.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


bs = load_build_sample()

# Documentation not used by the sample at all, in the sample's languages (package name -> family).
EXTRA_PACKAGES: dict[str, str] = {
    **{f"debian-reference-{s}": "debian-reference" for s in ("en", "de", "es", "fr", "it", "ja", "zh-cn")},
    **{f"aptitude-doc-{s}": "aptitude-doc" for s in ("en", "es", "fr", "it", "ja", "ru")},
    "debian-handbook": "debian-handbook",
}
# The Debian Administrator's Handbook ships every translation in its own folder.
HANDBOOK_LANG_DIRS = {"de-DE": "de", "en-US": "en", "es-ES": "es", "fr-FR": "fr", "it-IT": "it", "ja-JP": "ja",
                      "ru-RU": "ru", "zh-CN": "zh", "zh-TW": "zh"}


@dataclass
class LangStats:
    pages: int = 0
    lines: int = 0
    chars: int = 0
    sample_pages_skipped: int = 0
    sample_lines_skipped: int = 0
    english_lines_skipped: int = 0
    duplicate_lines_skipped: int = 0
    packages: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class SampleGuard:
    ids: frozenset[str]
    lines: frozenset[tuple[str, str]]  # (lang, lm_line)


def sample_guard(path: Path) -> SampleGuard:
    """Ids of the sample pages and the normalised lines of their extracted text."""
    ids, lines = set(), set()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for record in map(json.loads, f):
            ids.add(record["id"])
            text = extract_html(record["html"], record["url"], ExtractConfig(), EXTRACT_TIMEOUT_S).text or ""
            lang = record["lang"]
            lines.update((lang, norm) for line in text.splitlines() if (norm := lm_line(line, lang)))
    return SampleGuard(frozenset(ids), frozenset(lines))


def wanted(html: str) -> bool:
    """Some text and not a link list (the sample's link criterion, no size window)."""
    text, link_ratio = bs.visible_text(html)
    return len(text.encode("utf-8")) >= MIN_TEXT_BYTES and link_ratio < bs.MAX_LINK_RATIO


def page_lang(pkg: bs.PackageInfo, rel: Path) -> str | None:
    """The sample's page language (``build_sample.page_lang``), plus the handbook's language folders."""
    if pkg.family == "debian-handbook":
        return HANDBOOK_LANG_DIRS.get(rel.parts[0])
    return bs.page_lang(pkg, rel)


def prepare_packages(packages: dict[str, str], deb_dir: Path | None, work: Path) -> list[bs.PackageInfo]:
    """Download (unless ``deb_dir`` holds the .debs) and unpack the packages apt knows about."""
    names = bs.available_packages(packages)
    if deb_dir is None:
        deb_dir = work / "debs"
        deb_dir.mkdir()
        bs.download_debs(names, deb_dir)
    return [bs.unpack_package(bs.find_deb(deb_dir, name), name, packages[name], work / "root") for name in names]


def package_pages(pkg: bs.PackageInfo, guard: SampleGuard, stats: dict[str, LangStats]) -> Iterator[tuple[str, str]]:
    """(lang, html) of every wanted page of one package in a language of ``stats`` that is not in the sample."""
    files = bs.html_files(pkg)
    if not files:
        return
    html_root = Path(os.path.commonpath([f.parent for f in files]))
    for path in files:
        rel = path.relative_to(html_root)
        lang, page_id = page_lang(pkg, rel), f"{pkg.name}/{rel.as_posix()}"
        if lang not in stats or path.stat().st_size > MAX_HTML_BYTES:
            continue
        if page_id in guard.ids:
            stats[lang].sample_pages_skipped += 1
            continue
        html, _ = decode_html(path.read_bytes())
        if wanted(html):
            yield lang, html


def page_lines(text: str, lang: str, guard: SampleGuard, seen: set[str], stats: LangStats) -> list[str]:
    """Lines of one page that are neither in the sample nor already in the corpus."""
    kept = []
    for line in text.splitlines():
        norm = lm_line(line, lang)
        if not norm:
            continue
        if bs.english_share(line, lang) > MAX_ENGLISH_SHARE:
            stats.english_lines_skipped += 1
        elif (lang, norm) in guard.lines:
            stats.sample_lines_skipped += 1
        elif norm in seen:
            stats.duplicate_lines_skipped += 1
        else:
            seen.add(norm)
            kept.append(line.strip())
    return kept


def build(out: Path, deb_dir: Path | None, langs: tuple[str, ...]) -> dict[str, LangStats]:
    guard = sample_guard(SAMPLE_PAGES)
    stats = {lang: LangStats() for lang in langs}
    seen: dict[str, set[str]] = {lang: set() for lang in langs}
    out.mkdir(parents=True, exist_ok=True)
    writers = {lang: gzip.open(out / f"{lang}.txt.gz", "wt", encoding="utf-8") for lang in langs}
    with tempfile.TemporaryDirectory(prefix="build_lm_corpus_") as tmp:
        for pkg in prepare_packages({**bs.PACKAGES, **EXTRA_PACKAGES}, deb_dir, Path(tmp)):
            for lang, html in package_pages(pkg, guard, stats):
                text = extract_html(html, None, ExtractConfig(), EXTRACT_TIMEOUT_S).text or ""
                lines = page_lines(text, lang, guard, seen[lang], stats[lang])
                if lines:
                    writers[lang].write("\n".join(lines) + "\n\n")
                    stats[lang].pages += 1
                    stats[lang].lines += len(lines)
                    stats[lang].chars += sum(map(len, lines))
                    stats[lang].packages[pkg.name] += 1
    for writer in writers.values():
        writer.close()
    return stats


def write_summary(out: Path, stats: dict[str, LangStats]) -> None:
    summary = {lang: {**vars(s), "packages": dict(sorted(s.packages.items())),
                      "file_bytes": (out / f"{lang}.txt.gz").stat().st_size} for lang, s in stats.items()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("lang  pages   lines      chars   lines skipped: sample  duplicate  English   (+ sample pages)")
    for lang, s in stats.items():
        print(f"{lang:4} {s.pages:6,} {s.lines:7,} {s.chars:10,}  {s.sample_lines_skipped:21,} "
              f"{s.duplicate_lines_skipped:10,} {s.english_lines_skipped:8,}   {s.sample_pages_skipped:14,}")
    print(f"written to {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--deb-dir", type=Path, help="use .deb files already in this folder instead of downloading")
    parser.add_argument("--langs", nargs="+", default=list(bs.LANGS), help="languages (default: the sample's)")
    args = parser.parse_args(argv)
    stats = build(args.out, args.deb_dir, tuple(args.langs))
    write_summary(args.out, stats)


if __name__ == "__main__":
    main()
