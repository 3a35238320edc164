#!/usr/bin/env python3
"""Build the multilingual REFERENCE corpus (clean text) and its labelled JUNK sets, from Debian packages.

For calibrating the filter rules' thresholds per language (issue 16): thresholds are tuned on the ``calib``
split and reported on the ``holdout`` split (a stable hash of the document id, about half each).

Usage (Debian 12, with ``apt-get download`` rights and access to the Debian archive)::

    python scripts/build_reference.py            # full build -> ~/.cache/data-platform/reference/
    python scripts/build_reference.py --small    # the committed small version -> data/reference/
    python scripts/build_reference.py --out DIR --cache DIR

Writes ``reference.jsonl.gz`` (every clean document, ``meta.split`` = calib/holdout), ``junk-calib.jsonl.gz`` and
``junk-holdout.jsonl.gz`` (one junk document per clean document of that split, ``meta.junk`` = kind, see
``scripts/noise.py``), ``packages.json`` (package, version, licence, languages, documents, characters) and, for
``--small``, ``README.md``. Records are ``{id, text, lang, source, meta}``, read by the project's JSONL readers.
Downloads and unpacked trees stay in ``--cache`` (default the output folder of the full build).

Documents: one man page (``manpages``, ``manpages-<lang>``, rendered with groff), one LibreOffice help page
(``libreoffice-help-<lang>``, extracted with trafilatura), one GNOME help page (``gnome-user-docs``, Mallard), or
one chapter of the Debian Reference / FAQ / New Maintainers' Guide / Installation Guide, each ``MIN_CHARS`` or
longer; a text over ``MAX_CHARS`` is cut at line boundaries into sections of about ``SECTION_CHARS``; exact
duplicates within a language are dropped, so are documents with more than ``MAX_ENGLISH_SHARE`` of untranslated
English (from a partly translated Mallard page only its untranslated blocks are dropped first). Files are taken in
a seeded order, at most ``PER_PACKAGE`` per (language, package) and ``PER_LANG`` per language, round-robin across
a language's packages. No text used by ``data/sample`` is used here: of the packages it draws
on, only the installation guide's other languages (``INSTALL_GUIDE_LANGS``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Callable, Iterator, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_sample import english_share  # noqa: E402  (scripts/ is not a package)
from debian_text import DebPackage, fetch_packages, html_text, mallard_text, man_text, sections  # noqa: E402
from noise import junk_set  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path.home() / ".cache" / "data-platform" / "reference"
SMALL_OUT = REPO_ROOT / "data" / "reference"
SEED = 20261202
LANGS = ("zh", "en", "de", "fr", "ja", "ru", "es", "it", "pt", "nl", "pl", "sv", "da", "nb", "cs", "ro", "hr", "tr",
         "vi", "id", "ar", "fa", "ko", "el", "ca", "uk")
PER_PACKAGE, PER_LANG = 700, 1500
MIN_CHARS, MAX_CHARS, SECTION_CHARS = 300, 30_000, 10_000
MAX_ENGLISH_SHARE = 0.1
MAX_LINE_ENGLISH_SHARE = 0.5  # a Mallard line (one block) above this is an untranslated English block
SMALL_PER_SPLIT, SMALL_MAX_CHARS = 12, 8_000

MAN_LANGS = ("cs", "da", "de", "el", "es", "fr", "id", "it", "ja", "nb", "nl", "pl", "pt-br", "ro", "ru", "sv", "tr",
             "uk", "vi", "zh")
LO_LANGS = ("ca", "cs", "da", "de", "el", "en-us", "es", "fr", "id", "it", "ja", "ko", "nl", "pl", "pt", "ru", "sv",
            "tr", "vi", "zh-cn")
DEBREF_LANGS = ("en", "de", "es", "fr", "id", "it", "ja", "pt", "zh-cn")
# The installation guide's languages that data/sample does not take from it (the sample uses en de es fr it ja ru zh).
INSTALL_GUIDE_LANGS = ("ca", "cs", "da", "el", "id", "ko", "nl", "pt", "ro", "sv", "vi")
# Debian package suffixes and locale folders -> ISO 639-1 (Simplified Chinese only, Portuguese from pt / pt_BR).
LANG_OF = {"en-us": "en", "en-US": "en", "C": "en", "pt-br": "pt", "pt_BR": "pt", "zh-cn": "zh", "zh-CN": "zh",
           "zh_CN": "zh"}
MAN_DIRS = {"pt-br": "pt_BR", "zh": "zh_CN"}
LO_DIRS = {"en-us": "en-US", "zh-cn": "zh-CN"}
GNOME_DIRS = ("C", "ca", "cs", "da", "de", "el", "es", "fa", "fr", "hr", "id", "it", "ja", "ko", "nl", "pl", "pt",
              "ro", "ru", "sv", "tr", "uk", "vi", "zh_CN")
# Licences read by hand where the copyright file is free-form (detect_licence cannot name them).
LICENCES = {
    "manpages-ja": "each original page's licence (DFSG-free)",  # JM Project: "the same license as the original"
    "manpages-tr": "GPL + each original page's licence",  # Turkish: originals' notices kept, GNU GPL for the rest
}
Extractor = Callable[[bytes], "str | None"]
EXTRACTORS: dict[str, Extractor] = {"man": man_text, "html": html_text, "mallard": mallard_text}


@dataclass(frozen=True)
class Source:
    """Where one package keeps documents of one language: a folder, a glob, the format."""

    package: str
    family: str
    lang: str
    folder: str
    pattern: str
    kind: str


def sources() -> list[Source]:
    """Every (package, language) this corpus draws on."""
    out = [Source("manpages", "manpages", "en", "usr/share/man", "man*/*", "man")]
    out += [Source(f"manpages-{s}", "manpages", LANG_OF.get(s, s), f"usr/share/man/{MAN_DIRS.get(s, s)}", "man*/*",
                   "man") for s in MAN_LANGS]
    out += [Source(f"libreoffice-help-{s}", "libreoffice-help", LANG_OF.get(s, s),
                   f"usr/share/libreoffice/help/{LO_DIRS.get(s, s)}",
                   "text/**/*.html", "html") for s in LO_LANGS]
    out += [Source("gnome-user-docs", "gnome-user-docs", LANG_OF.get(d, d), f"usr/share/help/{d}", "*/*.page",
                   "mallard") for d in GNOME_DIRS]
    out += [Source(f"debian-reference-{s}", "debian-reference", LANG_OF.get(s, s), "usr/share/debian-reference",
                   f"*.{s}.html", "html") for s in DEBREF_LANGS]
    out += [Source("installation-guide-amd64", "installation-guide", d, f"usr/share/doc/installation-guide-amd64/{d}",
                   "*.html", "html") for d in INSTALL_GUIDE_LANGS]
    out += [Source("debian-faq-ko", "debian-faq", "ko", "usr/share/doc/debian/FAQ/ko", "*.ko.html", "html")]
    out += [Source(f"maint-guide-{s}", "maint-guide", s, f"usr/share/doc/maint-guide-{s}/html", f"*.{s}.html", "html")
            for s in ("ca", "vi")]
    return out


def split_of(doc_id: str) -> str:
    """``calib`` or ``holdout``, from a hash of the id: stable across runs, machines and Python versions. Documents
    pass their page's id (package and path), so that the sections of one page share a split: an index page cut
    into ten sections would otherwise sit in both halves, and the holdout would not be unseen text."""
    return "calib" if hashlib.sha256(doc_id.encode("utf-8")).digest()[0] % 2 == 0 else "holdout"


# --------------------------------------------------------------------------------------------- collection

def source_files(pkg: DebPackage, src: Source, seed: int = SEED) -> list[Path]:
    """The source's files (no links) in a seeded order."""
    folder = pkg.root / src.folder
    files = sorted(p for p in folder.glob(src.pattern) if p.is_file() and not p.is_symlink())
    random.Random(f"{seed}/{src.package}/{src.lang}").shuffle(files)
    return files


def extract(path: Path, src: Source) -> str | None:
    """Plain text of one file of the source (untranslated Mallard blocks dropped), ``None`` when there is none."""
    text = EXTRACTORS[src.kind](path.read_bytes())
    if text is not None and src.kind == "mallard" and src.lang != "en":
        text = drop_untranslated(text, src.lang)
    return text or None


def drop_untranslated(text: str, lang: str) -> str:
    """The lines of a Mallard page that are not untranslated English.

    itstool builds a translated page block by block and keeps the English original of every block that has no
    translation, so a partly translated page (most Persian and Romanian ones) alternates between the two.
    """
    return "\n".join(line for line in text.split("\n") if english_share(line, lang) <= MAX_LINE_ENGLISH_SHARE)


def documents(pkg: DebPackage, src: Source, seen: set[str]) -> Iterator[dict]:
    """Documents of one source in seeded order; ``seen`` (text hashes of the language) drops exact duplicates."""
    for path in source_files(pkg, src):
        text = extract(path, src)
        if text is None or len(text) < MIN_CHARS:
            continue
        rel = path.relative_to(pkg.root).as_posix()
        parts = sections(text, MAX_CHARS, SECTION_CHARS, MIN_CHARS)
        for i, part in enumerate(parts):
            digest = hashlib.sha1(part.encode("utf-8")).hexdigest()
            if digest in seen or english_share(part, src.lang) > MAX_ENGLISH_SHARE:
                continue
            seen.add(digest)
            doc_id = f"{src.package}/{rel}" + (f"#{i}" if len(parts) > 1 else "")
            yield {"id": doc_id, "text": part, "lang": src.lang, "source": f"reference/{src.family}",
                   "meta": {"package": pkg.name, "version": pkg.version, "licence": pkg.licence, "path": rel,
                            "format": src.kind, "split": split_of(f"{src.package}/{rel}")}}


def round_robin(streams: Sequence[Iterator[dict]], limit: int) -> list[dict]:
    """Up to ``limit`` items taken one from each stream in turn until all are exhausted."""
    out: list[dict] = []
    active = list(streams)
    while active and len(out) < limit:
        for stream in list(active):
            item = next(stream, None)
            if item is None:
                active.remove(stream)
            elif len(out) < limit:
                out.append(item)
    return out


def collect(cache: Path) -> tuple[list[dict], dict[str, DebPackage]]:
    """Every clean document of every language, and the packages used."""
    srcs = sources()
    pkgs = fetch_packages(sorted({s.package for s in srcs}), cache, LICENCES)
    docs: list[dict] = []
    for lang in LANGS:
        start, seen = time.monotonic(), set[str]()
        streams = [islice(documents(pkgs[s.package], s, seen), PER_PACKAGE) for s in srcs if s.lang == lang]
        got = round_robin(streams, PER_LANG)
        print(f"  {lang}: {len(got)} documents, {sum(len(d['text']) for d in got):,} characters "
              f"({time.monotonic() - start:.0f} s)", file=sys.stderr)
        docs += got
    return docs, pkgs


# --------------------------------------------------------------------------------------------- output

def small_subset(docs: list[dict]) -> list[dict]:
    """``SMALL_PER_SPLIT`` documents per language and split (seeded), preferring ones under ``SMALL_MAX_CHARS``."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for d in docs:
        groups[(d["lang"], d["meta"]["split"])].append(d)
    out = []
    for key, group in sorted(groups.items()):
        group = sorted(group, key=lambda d: d["id"])
        random.Random(f"{SEED}/small/{key}").shuffle(group)
        group.sort(key=lambda d: len(d["text"]) > SMALL_MAX_CHARS)  # stable: short ones first, seeded order kept
        out += group[:SMALL_PER_SPLIT]
    return sorted(out, key=lambda d: (d["lang"], d["id"]))


def package_table(docs: list[dict], pkgs: dict[str, DebPackage]) -> list[dict]:
    """Provenance per package that gave documents: version, licence, languages, documents, characters."""
    n, chars, langs = Counter[str](), Counter[str](), defaultdict[str, set[str]](set)
    for d in docs:
        name = d["meta"]["package"]
        n[name] += 1
        chars[name] += len(d["text"])
        langs[name].add(d["lang"])
    return [{"package": name, "version": pkgs[name].version, "licence": pkgs[name].licence,
             "languages": sorted(langs[name]), "documents": n[name], "characters": chars[name]}
            for name in sorted(n)]


def write_jsonl_gz(path: Path, records: list[dict]) -> None:
    """Records one JSON object a line, gzip with a fixed mtime (byte-for-byte reproducible)."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        for r in records:
            f.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))


def lang_table(docs: list[dict]) -> dict[str, dict[str, int]]:
    """Per language: documents, characters, calib and holdout documents."""
    table: dict[str, dict[str, int]] = {}
    for lang in LANGS:
        group = [d for d in docs if d["lang"] == lang]
        table[lang] = {"documents": len(group), "characters": sum(len(d["text"]) for d in group),
                       "calib": sum(d["meta"]["split"] == "calib" for d in group),
                       "holdout": sum(d["meta"]["split"] == "holdout" for d in group)}
    return table


def write_outputs(out: Path, docs: list[dict], pkgs: dict[str, DebPackage]) -> dict[str, dict[str, int]]:
    """The corpus files under ``out``; returns the per-language table."""
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl_gz(out / "reference.jsonl.gz", docs)
    for split in ("calib", "holdout"):
        write_jsonl_gz(out / f"junk-{split}.jsonl.gz", junk_set([d for d in docs if d["meta"]["split"] == split], SEED))
    (out / "packages.json").write_text(json.dumps(package_table(docs, pkgs), indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    table = lang_table(docs)
    (out / "languages.json").write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    return table


def readme(docs: list[dict], pkgs: dict[str, DebPackage], table: dict[str, dict[str, int]]) -> str:
    """``data/reference/README.md``: what the files are, counts per language, every package with its licence."""
    missing = [lang for lang, row in table.items() if not row["documents"]]
    rows = "\n".join(f"| {lang} | {r['documents']} | {r['calib']} | {r['holdout']} | {r['characters']:,} |"
                     for lang, r in table.items())
    packages = "\n".join(f"| `{p['package']}` | {p['version']} | {p['licence']} | {' '.join(p['languages'])} | "
                         f"{p['documents']} |" for p in package_table(docs, pkgs))
    return f"""# Reference corpus (small version)

Clean documentation text in {len(LANGS) - len(missing)} languages and labelled junk made from it, for calibrating
the filter rules' thresholds per language (issue 16). Built by

    python scripts/build_reference.py --small     # this folder
    python scripts/build_reference.py             # the full corpus, ~/.cache/data-platform/reference/

(Debian 12 only: `apt-get download` and `dpkg -x`; the output is deterministic.) See the script's docstring for
how documents are chosen.

- `reference.jsonl.gz` — {len(docs)} clean documents, one JSON object a line: `id` (`<package>/<path>[#section]`),
  `text`, `lang` (ISO 639-1; `nb` is Norwegian Bokmål, which the funnel reads as `no`), `source`
  (`reference/<family>`), `meta` (`package`, `version`, `licence`, `path`, `format` = man / html / mallard,
  `split` = `calib` or `holdout`, from a hash of the id). {SMALL_PER_SPLIT} documents per language and split.
- `junk-calib.jsonl.gz`, `junk-holdout.jsonl.gz` — one junk document per clean document of that split, made by
  `scripts/noise.py` (the kinds are described there), labelled `meta.junk` = kind, `meta.from` = the clean id;
  `source` is the clean source plus `/junk`. Calibrate on `calib`, report on `holdout`.
- `packages.json` — provenance per package; `languages.json` — counts per language.
{"" if not missing else chr(10) + "Languages without a source in Debian 12: " + ", ".join(missing) + "." + chr(10)}
| lang | documents | calib | holdout | characters |
| --- | --- | --- | --- | --- |
{rows}

## Debian packages used

From Debian GNU/Linux 12 (bookworm); licences read from each package's `/usr/share/doc/<package>/copyright`.

| package | version | licence | languages | documents |
| --- | --- | --- | --- | --- |
{packages}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--small", action="store_true", help=f"write the committed small version ({SMALL_OUT})")
    parser.add_argument("--out", type=Path, help=f"output folder (default {DEFAULT_OUT}, or {SMALL_OUT} with --small)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_OUT, help="downloaded and unpacked packages")
    args = parser.parse_args(argv)
    out = args.out or (SMALL_OUT if args.small else DEFAULT_OUT)
    start = time.monotonic()
    docs, pkgs = collect(args.cache)
    if args.small:
        docs = small_subset(docs)
    table = write_outputs(out, docs, pkgs)
    if args.small:
        (out / "README.md").write_text(readme(docs, pkgs, table), encoding="utf-8")
    print(f"{len(docs)} documents in {out} ({time.monotonic() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
