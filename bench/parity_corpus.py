"""The parity corpus: English documents of realistic size from Debian packages that ``data/sample`` does not use.

``build(cache)`` returns the documents and the packages they came from (name, version, licence, how many
documents). On the first call it runs ``apt-get download`` and ``dpkg -x`` (Debian only, network access to the
archive) into ``cache`` and writes the documents there as ``corpus-<CORPUS_VERSION>.jsonl`` with the provenance
in ``packages-<CORPUS_VERSION>.json``; later calls read those two files. Nothing is written to the repository.

Documents, in a seeded and therefore reproducible choice:

- HTML manuals (``html``): every real ``*.html`` page of the PostgreSQL 15, Python 3.11, Debian Policy, Bash and
  GNU Coding Standards manuals, decoded with the project's ``decode_html`` and extracted with its
  ``extract_html`` (trafilatura with ``favor_precision``, as FineWeb's ``Trafilatura(favour_precision=True)``).
  Pages with less than ``MIN_CHARS`` of text are skipped; a text longer than ``MAX_CHARS`` (the one-page Bash
  and GNU manuals) is cut at line boundaries into sections of about ``SECTION_CHARS``. Indexes and tables of
  contents (Python's ``genindex-*``, PostgreSQL's ``bookindex``) are kept on purpose: they are the junk-like
  part of the corpus, link lists that the filters should drop.
- Dictionary pages (``gcide``): ``GCIDE_ENTRIES`` consecutive entries of the Collaborative International
  Dictionary of English (dictd format), read through its index, from seeded start positions.
- Gloss lists (``wordnet``): ``WORDNET_SYNSETS`` consecutive noun synsets of WordNet 3.0, one line
  ``word, word: gloss`` each (list-like text without end punctuation: junk for the line-punctuation rules).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from data_platform.config import ExtractConfig
from data_platform.extract import extract_html
from data_platform.io.records import decode_html

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from build_sample import download_debs, find_deb  # noqa: E402  (scripts/ is not a package)
from debian_text import sections, unpack  # noqa: E402

CORPUS_VERSION = "1"
SEED = 20261201
HTML_PACKAGES = {  # package -> at most this many pages (seeded choice)
    "postgresql-doc-15": 520,
    "python3.11-doc": 380,
    "debian-policy": 60,
    "bash-doc": 60,
    "gnu-standards": 60,
}
GCIDE, WORDNET = "dict-gcide", "wordnet-base"
GCIDE_DOCS, GCIDE_ENTRIES = 120, 30
WORDNET_DOCS, WORDNET_SYNSETS = 60, 40
MIN_CHARS, MAX_CHARS, SECTION_CHARS = 500, 40_000, 15_000
EXTRACT = ExtractConfig(include_tables=True, include_comments=False, favor_precision=True)
EXTRACT_TIMEOUT_S = 30.0
# Licences read by hand from copyright files that ``detect_licence`` cannot name (free-form texts).
LICENCES = {"python3.11-doc": "PSF-2.0", "gnu-standards": "GFDL-1.3+", "dict-gcide": "GPL-2+"}
DICTD_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@dataclass(frozen=True)
class Package:
    """A Debian package the corpus draws on, and how many documents it gave."""

    name: str
    version: str
    licence: str
    kind: str
    docs: int


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "data-platform" / "parity"


def build(cache: Path) -> tuple[list[dict], list[Package]]:
    """The corpus ({id, text, source, lang, meta}) and its packages; built once into ``cache``, then read."""
    corpus, packages = cache / f"corpus-{CORPUS_VERSION}.jsonl", cache / f"packages-{CORPUS_VERSION}.json"
    if not (corpus.exists() and packages.exists()):
        docs, pkgs = _build_fresh(cache)
        corpus.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
        packages.write_text(json.dumps([asdict(p) for p in pkgs], indent=1), encoding="utf-8")
    with open(corpus, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    return docs, [Package(**p) for p in json.loads(packages.read_text(encoding="utf-8"))]


def _build_fresh(cache: Path) -> tuple[list[dict], list[Package]]:
    debs, unpacked = cache / "debs", cache / "root"
    names = [*HTML_PACKAGES, GCIDE, WORDNET]
    debs.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if not list(debs.glob(f"{n}_*.deb"))]
    if missing:
        download_debs(missing, debs)
    docs: list[dict] = []
    pkgs: list[Package] = []
    for name in names:
        pkg = unpack(find_deb(debs, name), name, unpacked, LICENCES.get(name))
        root, version, licence = pkg.root, pkg.version, pkg.licence
        kind = "gcide" if name == GCIDE else "wordnet" if name == WORDNET else "html"
        texts = _gcide_docs(root) if kind == "gcide" else _wordnet_docs(root) if kind == "wordnet" else \
            _html_docs(root, HTML_PACKAGES[name])
        meta = {"package": name, "version": version, "licence": licence, "kind": kind}
        docs += [{"id": f"{name}/{key}", "text": text, "source": f"debian-doc/{name}", "lang": "en", "meta": meta}
                 for key, text in texts]
        pkgs.append(Package(name, version, licence, kind, len(texts)))
        print(f"  {name} {version}: {len(texts)} documents", file=sys.stderr)
    return docs, pkgs


def _html_docs(root: Path, limit: int) -> list[tuple[str, str]]:
    """(page path[#section], extracted text) for up to ``limit`` pages of one unpacked package."""
    files = sorted(p for p in (root / "usr").rglob("*.html") if p.is_file() and not p.is_symlink())
    random.Random(f"{SEED}/{root.name}").shuffle(files)
    out: list[tuple[str, str]] = []
    for path in files:
        html, _ = decode_html(path.read_bytes())
        got = extract_html(html, None, EXTRACT, EXTRACT_TIMEOUT_S)
        if got.text is None or len(got.text) < MIN_CHARS:
            continue
        rel = path.relative_to(root / "usr/share").as_posix()
        parts = sections(got.text, MAX_CHARS, SECTION_CHARS, MIN_CHARS)
        out += [(rel if len(parts) == 1 else f"{rel}#{i}", s) for i, s in enumerate(parts)]
        if len(out) >= limit:
            break
    return sorted(out[:limit])


def _dictd_number(digits: str) -> int:
    value = 0
    for ch in digits:
        value = value * 64 + DICTD_DIGITS.index(ch)
    return value


def _gcide_docs(root: Path) -> list[tuple[str, str]]:
    """``GCIDE_DOCS`` pages of ``GCIDE_ENTRIES`` consecutive dictionary entries (the ``00-database`` ones left out)."""
    folder = root / "usr/share/dictd"
    data = gzip.decompress((folder / "gcide.dict.dz").read_bytes())
    index = []
    for line in (folder / "gcide.index").read_text(encoding="utf-8").splitlines():
        word, offset, length = line.split("\t")
        if not word.startswith("00-database"):
            index.append((word, _dictd_number(offset), _dictd_number(length)))
    index.sort(key=lambda e: e[1])
    rng = random.Random(f"{SEED}/gcide")
    starts = sorted(rng.sample(range(len(index) - GCIDE_ENTRIES), GCIDE_DOCS))
    docs = []
    for start in starts:
        entries = index[start:start + GCIDE_ENTRIES]
        text = "\n\n".join(data[o:o + n].decode("utf-8", "replace").strip() for _, o, n in entries)
        docs.append((f"gcide/{start:06d}-{entries[0][0]}", text))
    return docs


def _wordnet_docs(root: Path) -> list[tuple[str, str]]:
    """``WORDNET_DOCS`` lists of ``WORDNET_SYNSETS`` consecutive noun synsets, ``words: gloss`` per line."""
    lines = (root / "usr/share/wordnet/data.noun").read_text(encoding="utf-8").splitlines()
    synsets = [_gloss_line(ln) for ln in lines if ln[:1].isdigit()]
    rng = random.Random(f"{SEED}/wordnet")
    starts = sorted(rng.sample(range(len(synsets) - WORDNET_SYNSETS), WORDNET_DOCS))
    return [(f"wordnet/noun-{s:06d}", "\n".join(synsets[s:s + WORDNET_SYNSETS])) for s in starts]


def _gloss_line(line: str) -> str:
    """``00217499 04 n 01 disaster 0 001 ... | an act ...`` -> ``disaster: an act ...``."""
    fields, gloss = line.split(" | ", 1)
    parts = fields.split()
    n_words = int(parts[3], 16)
    words = [w.replace("_", " ") for w in parts[4:4 + 2 * n_words:2]]
    return f"{', '.join(words)}: {gloss.strip()}"


def summary(docs: list[dict]) -> dict[str, Counter]:
    """Documents and characters per package (for the results file)."""
    n, chars = Counter(), Counter()
    for d in docs:
        n[d["meta"]["package"]] += 1
        chars[d["meta"]["package"]] += len(d["text"])
    return {"docs": n, "chars": chars}
