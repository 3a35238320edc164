#!/usr/bin/env python3
"""Build the ablation DEV CORPUS (issue 17): real multilingual text from Debian with crawl-like noise, labelled.

Usage (Debian 12; packages already in the reference corpus's cache are not downloaded again)::

    python scripts/build_dev_corpus.py              # full build -> out/dev_corpus/
    python scripts/build_dev_corpus.py --small      # the committed few-MB version -> data/dev_corpus/
    python scripts/build_dev_corpus.py --config scripts/dev_corpus.yaml --out DIR --cache DIR

Clean documents come from every file of the reference corpus's sources (``build_reference.sources``: man pages,
LibreOffice help, GNOME help, Debian documentation; none of the text ``data/sample`` uses), not a sample of them:
one page, or one section of a long page, per document. The families named under ``heldout`` in the YAML are kept
out of the corpus entirely and written, clean, to ``heldout.jsonl.gz`` (the ablation's common evaluation set).
Noise is then injected at the YAML's rates (junk pages, boilerplate / base64 / PII insertions, exact and near
duplicates with heavy-tailed copy counts; ``dev_noise.py`` and ``noise.py``), and the raw records are written in
a seeded order to ``raw/part-NNNNN.jsonl.gz``.

Every record is ``{id, text, lang, source, meta}``; ``meta`` holds the provenance (``package``, ``version``,
``licence``, ``path``, ``format``) and the labels: ``noise`` (``clean``, or the injected kinds joined by ``,`` in
the order applied), ``dup_of`` (the id of the record a copy was made from), ``copy`` (its number), ``copies`` (on
a duplicated record: how many copies it has), ``pii`` (the strings inserted), ``boilerplate_lines``.
Also written: ``packages.json`` (provenance and licences), ``stats.json`` (counts per language and noise kind).
Extracted texts are cached per package under ``<cache>/dev_text/`` (delete it to extract again).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_reference as br  # noqa: E402  (scripts/ is not a package)
import dev_noise as dn  # noqa: E402
import noise  # noqa: E402
from build_sample import INSTALL_GUIDE_LANG_DIRS, english_share  # noqa: E402
from build_sample import PACKAGES as SAMPLE_PACKAGES
from debian_text import DebPackage, fetch_packages, sections, squeeze_rules  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = Path(__file__).resolve().parent / "dev_corpus.yaml"
DEFAULT_OUT = REPO_ROOT / "out" / "dev_corpus"
DEFAULT_CACHE = Path.home() / ".cache" / "data-platform" / "reference"
SMALL_OUT = REPO_ROOT / "data" / "dev_corpus"
# Beyond the reference corpus's sources: the development man pages (sections 2, 3) in English and 12 translations,
# the man-page languages and LibreOffice help languages the reference does not take, every other GNOME help
# language, and two large English manuals.
DEV_MAN_LANGS = ("cs", "da", "de", "es", "fr", "it", "ja", "nl", "pl", "pt-br", "ru", "uk")
EXTRA_MAN_LANGS = ("fi", "hu", "mk", "sr")
EXTRA_LO_LANGS = ("et", "eu", "fi", "gl", "hu", "pt-br", "sl")
EXTRA_LO_DIRS = {"pt-br": "pt-BR"}
EXTRA_GNOME_DIRS = ("as", "fi", "gl", "gu", "he", "hi", "hu", "kn", "lt", "lv", "mr", "pa", "pt_BR", "sl", "sr", "ta",
                    "te")
LICENCES = {**br.LICENCES,
            "manpages-dev": "each page's own licence notice (Linux man-pages project; DFSG-free)",
            "manpages-ja-dev": br.LICENCES["manpages-ja"],
            "python3.11-doc": "PSF-2.0"}
PAGE_KINDS = {"keyword_spam": noise.keyword_spam, "word_shuffle": noise.word_shuffle, "menu_only": noise.nav_menu,
              "mojibake": noise.mojibake}


# --------------------------------------------------------------------------------------------- configuration

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Documents(_Strict):
    min_chars: int = Field(gt=0)
    max_chars: int = Field(gt=0)
    section_chars: int = Field(gt=0)
    max_english_share: float = Field(ge=0, le=1)


class Heldout(_Strict):
    families: list[str] = Field(min_length=1)


class Boilerplate(_Strict):
    rate: float = Field(ge=0, le=1)
    min_lines: int = Field(ge=1)
    max_lines: int = Field(ge=1)


class Base64(_Strict):
    rate: float = Field(ge=0, le=1)
    min_bytes: int = Field(ge=1)
    max_bytes: int = Field(ge=1)


class Pii(_Strict):
    rate: float = Field(ge=0, le=1)
    min_items: int = Field(ge=1)
    max_items: int = Field(ge=1)


class Insertions(_Strict):
    boilerplate: Boilerplate
    base64: Base64
    pii: Pii


class Copies(_Strict):
    distribution: Literal["pareto", "zipf"]
    alpha: float = Field(gt=0)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _zipf_alpha(self) -> Copies:
        if self.distribution == "zipf" and self.alpha <= 1:
            raise ValueError("zipf needs alpha > 1")
        return self


class Duplicates(_Strict):
    exact_rate: float = Field(ge=0, le=1)
    near_rate: float = Field(ge=0, le=1)
    near_words: tuple[int, int]
    near_lines: tuple[int, int]
    copies: Copies


class Output(_Strict):
    shard_records: int = Field(ge=1)


class Small(_Strict):
    files_per_source: int = Field(ge=1)


class BoilerplateLines(_Strict):
    top: list[str] = Field(min_length=1)
    bottom: list[str] = Field(min_length=1)


class Config(_Strict):
    seed: int
    documents: Documents
    heldout: Heldout
    pages: dict[Literal["keyword_spam", "word_shuffle", "menu_only", "mojibake"], float]
    insertions: Insertions
    duplicates: Duplicates
    output: Output
    small: Small
    boilerplate: BoilerplateLines

    @model_validator(mode="after")
    def _shares(self) -> Config:
        if any(r < 0 for r in self.pages.values()) or sum(self.pages.values()) >= 1:
            raise ValueError("pages: rates must be >= 0 and sum to less than 1")
        if self.duplicates.exact_rate + self.duplicates.near_rate > 1:
            raise ValueError("duplicates: exact_rate + near_rate must be at most 1")
        return self


def load_config(path: Path, replace: dict | None = None) -> Config:
    """The YAML at ``path`` validated, its top-level sections replaced by those of ``replace`` when given; a bad
    file raises ``ValueError`` with a one-line reason (naming ``path``)."""
    try:
        return Config.model_validate({**yaml.safe_load(path.read_text(encoding="utf-8")), **(replace or {})})
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not YAML ({err})".replace("\n", " ")) from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ValueError(f"{path}: {where}: {first['msg']}") from None


# --------------------------------------------------------------------------------------------- sources

def used_by_sample(src: br.Source) -> bool:
    """Whether ``data/sample`` takes text from this (package, language)."""
    if src.package != "installation-guide-amd64":
        return src.package in SAMPLE_PACKAGES
    return src.folder.rsplit("/", 1)[-1] in INSTALL_GUIDE_LANG_DIRS


def extra_sources() -> list[br.Source]:
    """The sources this corpus adds to the reference corpus's."""
    lang = br.LANG_OF.get
    out = [br.Source("manpages-dev", "manpages", "en", "usr/share/man", "man*/*", "man")]
    out += [br.Source(f"manpages-{s}-dev", "manpages", lang(s, s), f"usr/share/man/{br.MAN_DIRS.get(s, s)}",
                      "man*/*", "man") for s in DEV_MAN_LANGS]
    out += [br.Source(f"manpages-{s}", "manpages", s, f"usr/share/man/{s}", "man*/*", "man") for s in EXTRA_MAN_LANGS]
    out += [br.Source(f"libreoffice-help-{s}", "libreoffice-help", lang(s, s),
                      f"usr/share/libreoffice/help/{EXTRA_LO_DIRS.get(s, s)}", "text/**/*.html", "html")
            for s in EXTRA_LO_LANGS]
    out += [br.Source("gnome-user-docs", "gnome-user-docs", lang(d, d), f"usr/share/help/{d}", "*/*.page", "mallard")
            for d in EXTRA_GNOME_DIRS]
    out += [br.Source("python3.11-doc", "python-doc", "en", "usr/share/doc/python3.11/html", "**/*.html", "html"),
            br.Source("postgresql-doc-15", "postgresql-doc", "en", "usr/share/doc/postgresql-doc-15/html", "*.html",
                      "html")]
    return out


def split_sources(heldout_families: list[str]) -> tuple[list[br.Source], list[br.Source]]:
    """(corpus sources, held-out sources): the reference corpus's sources, none that the sample uses."""
    srcs = [s for s in br.sources() + extra_sources() if not used_by_sample(s)]
    unknown = set(heldout_families) - {s.family for s in srcs}
    if unknown:
        raise ValueError(f"heldout.families: unknown family {sorted(unknown)[0]!r}")
    return ([s for s in srcs if s.family not in heldout_families], [s for s in srcs if s.family in heldout_families])


def _cache_file(cache: Path, pkg: DebPackage, src: br.Source) -> Path:
    """One cache file per package and folder (a package keeps at most one source per folder)."""
    return cache / "dev_text" / f"{pkg.name}_{pkg.version}_{Path(src.folder).name}.jsonl.gz"


def source_texts(pkg: DebPackage, src: br.Source, seed: int, cache: Path, limit: int | None) -> list[tuple[str, str]]:
    """(path, text) of the source's files in seeded order, the first ``limit`` of them when set.

    All files are extracted once and cached; a limited run reads the cache when it is there and otherwise
    extracts only its files (and writes no cache)."""
    files = br.source_files(pkg, src, seed)
    cached = _cache_file(cache, pkg, src)
    if cached.exists():
        with gzip.open(cached, "rt", encoding="utf-8") as f:
            texts = dict(tuple(json.loads(line)) for line in f)
    elif limit is not None:
        texts = {p.relative_to(pkg.root).as_posix(): br.extract(p, src) for p in files[:limit]}
    else:
        texts = {p.relative_to(pkg.root).as_posix(): br.extract(p, src) for p in files}
        cached.parent.mkdir(parents=True, exist_ok=True)
        br.write_jsonl_gz(cached.with_suffix(".tmp"), [[rel, t] for rel, t in sorted(texts.items())])  # type: ignore[misc]
        os.replace(cached.with_suffix(".tmp"), cached)
    rels = [p.relative_to(pkg.root).as_posix() for p in files][:limit]
    return [(rel, text) for rel in rels if (text := texts.get(rel))]


def documents(pkg: DebPackage, src: br.Source, texts: list[tuple[str, str]], cfg: Documents,
              seen: set[str], source: str) -> list[dict]:
    """Clean documents of one source; ``seen`` (text hashes of the language) drops exact duplicates."""
    out = []
    for rel, extracted in texts:
        text = squeeze_rules(extracted)
        if len(text) < cfg.min_chars:
            continue
        parts = sections(text, cfg.max_chars, cfg.section_chars, cfg.min_chars)
        for i, part in enumerate(parts):
            digest = hashlib.sha1(part.encode("utf-8")).hexdigest()
            if digest in seen or english_share(part, src.lang) > cfg.max_english_share:
                continue
            seen.add(digest)
            out.append({"id": f"{src.package}/{rel}" + (f"#{i}" if len(parts) > 1 else ""), "text": part,
                        "lang": src.lang, "source": f"{source}/{src.family}",
                        "meta": {"package": pkg.name, "version": pkg.version, "licence": pkg.licence, "path": rel,
                                 "format": src.kind}})
    return out


def collect(srcs: list[br.Source], pkgs: dict[str, DebPackage], cfg: Config, cache: Path, limit: int | None,
            source: str) -> list[dict]:
    """Clean documents of ``srcs``, language by language (exact duplicates within a language dropped)."""
    seen: dict[str, set[str]] = defaultdict(set)
    docs: list[dict] = []
    for src in srcs:
        start = time.monotonic()
        texts = source_texts(pkgs[src.package], src, cfg.seed, cache, limit)
        got = documents(pkgs[src.package], src, texts, cfg.documents, seen[src.lang], source)
        print(f"  {src.package} [{src.lang}]: {len(got)} documents, {sum(len(d['text']) for d in got):,} "
              f"characters ({time.monotonic() - start:.0f} s)", file=sys.stderr, flush=True)
        docs += got
    return docs


# --------------------------------------------------------------------------------------------- noise

def _rng(cfg: Config, step: str, doc_id: str) -> random.Random:
    return random.Random(f"{cfg.seed}/{step}/{doc_id}")


def _labelled(doc: dict, kind: str, text: str, **meta: object) -> dict:
    """``doc`` with ``text`` and ``kind`` appended to ``meta.noise``."""
    before = doc["meta"]["noise"]
    labels = kind if before == "clean" else f"{before},{kind}"
    return {**doc, "text": text, "meta": {**doc["meta"], **meta, "noise": labels}}


def page_kind(doc: dict, cfg: Config) -> str | None:
    """The junk-page kind this document is turned into, or ``None`` (one draw against the cumulative rates)."""
    draw, total = _rng(cfg, "page", doc["id"]).random(), 0.0
    for kind, rate in cfg.pages.items():
        total += rate
        if draw < total:
            return kind
    return None


def make_page(doc: dict, cfg: Config) -> dict:
    """The document, or the junk page made from it (mojibake only where it changes the text)."""
    kind = page_kind(doc, cfg)
    if kind is None:
        return doc
    text = PAGE_KINDS[kind](doc["text"], doc["lang"], _rng(cfg, kind, doc["id"]))
    return doc if text == doc["text"] or not text.strip() else _labelled(doc, kind, text)


def insert_noise(doc: dict, cfg: Config) -> dict:
    """Boilerplate, base64 and PII insertions, each at its own rate (text pages only)."""
    if doc["meta"]["noise"] != "clean":
        return doc
    ins, text, lang = cfg.insertions, doc["text"], doc["lang"]
    if (rng := _rng(cfg, "boilerplate", doc["id"])).random() < ins.boilerplate.rate:
        n = rng.randint(ins.boilerplate.min_lines, ins.boilerplate.max_lines)
        text, added = dn.insert_boilerplate(text, lang, rng, cfg.boilerplate.top, cfg.boilerplate.bottom, n)
        doc = _labelled(doc, "boilerplate", text, boilerplate_lines=len(added))
    if (rng := _rng(cfg, "base64", doc["id"])).random() < ins.base64.rate:
        doc = _labelled(doc, "base64", dn.insert_base64(doc["text"], rng, ins.base64.min_bytes,
                                                        ins.base64.max_bytes)[0])
    if (rng := _rng(cfg, "pii", doc["id"])).random() < ins.pii.rate:
        items = dn.pii_items(rng, rng.randint(ins.pii.min_items, ins.pii.max_items))
        doc = _labelled(doc, "pii", dn.insert_pii(doc["text"], items, rng), pii=items)
    return doc


def dup_kind(doc: dict, cfg: Config) -> str | None:
    """``exact_dup``, ``near_dup`` or ``None`` for one record."""
    draw = _rng(cfg, "dup", doc["id"]).random()
    dup = cfg.duplicates
    return "exact_dup" if draw < dup.exact_rate else "near_dup" if draw < dup.exact_rate + dup.near_rate else None


def copies_of(doc: dict, cfg: Config) -> list[dict]:
    """``doc`` (with ``meta.copies`` when it is duplicated) followed by its copies."""
    kind = dup_kind(doc, cfg)
    if kind is None:
        return [doc]
    dup = cfg.duplicates
    n = dn.copy_count(f"{cfg.seed}/copies/{doc['id']}", dup.copies.distribution, dup.copies.alpha, dup.copies.max)
    out = [{**doc, "meta": {**doc["meta"], "copies": n}}]
    for k in range(1, n + 1):
        text = doc["text"]
        if kind == "near_dup":
            rng = _rng(cfg, f"near/{k}", doc["id"])
            text = dn.near_duplicate(text, doc["lang"], rng, rng.randint(*dup.near_words), rng.randint(*dup.near_lines),
                                     cfg.boilerplate.top + cfg.boilerplate.bottom)
        copy = _labelled(doc, kind, text, dup_of=doc["id"], copy=k)
        out.append({**copy, "id": f"{doc['id']}~{kind}{k}"})
    return out


def noised(docs: list[dict], cfg: Config) -> list[dict]:
    """The raw corpus: every clean document through page junk, insertions and duplication, in a seeded order."""
    raw: list[dict] = []
    for doc in docs:
        page = insert_noise(make_page({**doc, "meta": {**doc["meta"], "noise": "clean"}}, cfg), cfg)
        raw += copies_of(page, cfg)
    random.Random(f"{cfg.seed}/order").shuffle(raw)
    return raw


# --------------------------------------------------------------------------------------------- output

@dataclass(frozen=True)
class Built:
    raw: list[dict]
    heldout: list[dict]
    clean: list[dict]


def lang_sizes(docs: list[dict]) -> dict[str, dict[str, int]]:
    """Per language: documents, characters and UTF-8 bytes."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: {"documents": 0, "characters": 0, "bytes": 0})
    for d in docs:
        row = table[d["lang"]]
        row["documents"] += 1
        row["characters"] += len(d["text"])
        row["bytes"] += len(d["text"].encode("utf-8"))
    return dict(sorted(table.items()))


def stats(built: Built, cfg: Config) -> dict:
    """Counts: clean, raw and held-out sizes per language, raw records per noise label, the copy counts."""
    labels = Counter(label for d in built.raw for label in d["meta"]["noise"].split(","))
    copies = [d["meta"]["copies"] for d in built.raw if "copies" in d["meta"]]
    return {"seed": cfg.seed, "clean": lang_sizes(built.clean), "raw": lang_sizes(built.raw),
            "heldout": lang_sizes(built.heldout), "noise_labels": dict(sorted(labels.items())),
            "duplicated_records": len(copies), "copies": {
                "total": sum(copies), "median": statistics.median(copies) if copies else 0,
                "max": max(copies, default=0), "distribution": cfg.duplicates.copies.model_dump()}}


def write_outputs(out: Path, built: Built, pkgs: dict[str, DebPackage], cfg: Config) -> dict:
    """Raw shards, ``heldout.jsonl.gz``, ``packages.json`` and ``stats.json`` under ``out``; returns the stats."""
    raw_dir = out / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    for old in raw_dir.glob("part-*.jsonl.gz"):
        old.unlink()
    size = cfg.output.shard_records
    for i in range(0, max(1, len(built.raw)), size):
        br.write_jsonl_gz(raw_dir / f"part-{i // size:05d}.jsonl.gz", built.raw[i:i + size])
    br.write_jsonl_gz(out / "heldout.jsonl.gz", built.heldout)
    packages = {"corpus": br.package_table(built.clean, pkgs), "heldout": br.package_table(built.heldout, pkgs)}
    (out / "packages.json").write_text(json.dumps(packages, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    table = stats(built, cfg)
    (out / "stats.json").write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return table


def _size_rows(table: dict[str, dict[str, int]]) -> str:
    return "\n".join(f"| {lang} | {r['documents']:,} | {r['characters']:,} | {r['bytes']:,} |"
                     for lang, r in table.items())


def readme(table: dict, built: Built, pkgs: dict[str, DebPackage], cfg: Config, config_path: Path) -> str:
    """``data/dev_corpus/README.md``: files, labels, rates, counts, and every package with its licence."""
    rates = yaml.safe_dump({k: cfg.model_dump()[k] for k in ("pages", "insertions", "duplicates")}, sort_keys=False)
    labels = "\n".join(f"| `{k}` | {v:,} |" for k, v in table["noise_labels"].items())
    packages = "\n".join(f"| `{p['package']}` | {p['version']} | {p['licence']} | {' '.join(p['languages'])} | "
                         f"{p['documents']} | {part} |" for part, docs in (("corpus", built.clean),
                                                                          ("held out", built.heldout))
                         for p in br.package_table(docs, pkgs))
    try:
        config_name = config_path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        config_name = config_path.name
    return f"""# Dev corpus (small version)

Real documentation text from Debian in {len(table['clean'])} languages with crawl-like noise injected at known,
configured rates and labelled in `meta`, for the ablations (issue 17): the raw version is this corpus, the cleaned
version is the pipeline's output on it. Built by

    python scripts/build_dev_corpus.py --small  # this folder: {cfg.small.files_per_source} files a package and language
    python scripts/build_dev_corpus.py          # the full corpus, out/dev_corpus/ (not committed)

with the rates of `{config_name}` (Debian 12 only: `apt-get download`, `dpkg -x`; deterministic: the same inputs
give byte-identical files). How documents are chosen and labelled: the script's docstring.

- `raw/part-*.jsonl.gz` — {len(built.raw):,} raw records in a seeded order, one JSON object a line: `id`, `text`,
  `lang` (ISO 639-1), `source` (`dev/<family>`), `meta`: provenance (`package`, `version`, `licence`, `path`,
  `format`) and labels — `noise` (`clean`, or the kinds injected, comma-separated in the order applied),
  `dup_of` and `copy` on a duplicate (the id it copies, its number), `copies` on a duplicated record, `pii` (the
  strings inserted), `boilerplate_lines`. A junk page keeps the id of the page it was made from.
- `heldout.jsonl.gz` — {len(built.heldout):,} clean documents from a package family that is in no version of the
  corpus ({", ".join(cfg.heldout.families)}), never noised (`meta.noise` = `clean`): the ablations' common evaluation.
- `packages.json` — provenance per package (corpus and held out); `stats.json` — the counts below.

The project's JSONL readers read every file (`meta` values that are not strings arrive as JSON text).

## Rates

```yaml
{rates}```

## Raw records per label

A record can carry several labels (e.g. `boilerplate,pii,exact_dup`). {table['duplicated_records']} records were
duplicated, with {table['copies']['total']} copies in all (median {table['copies']['median']}, max
{table['copies']['max']} copies per record).

| label | records |
| --- | --- |
{labels}

## Sizes

Clean documents (before noise):

| lang | documents | characters | bytes |
| --- | --- | --- | --- |
{_size_rows(table['clean'])}

Held out:

| lang | documents | characters | bytes |
| --- | --- | --- | --- |
{_size_rows(table['heldout'])}

## Debian packages used

From Debian GNU/Linux 12 (bookworm); licences read from each package's `/usr/share/doc/<package>/copyright`.

| package | version | licence | languages | documents | part |
| --- | --- | --- | --- | --- | --- |
{packages}
"""


def build(cfg: Config, cache: Path, small: bool) -> tuple[Built, dict[str, DebPackage]]:
    """Collect the clean and held-out documents and noise the clean ones."""
    corpus_srcs, heldout_srcs = split_sources(cfg.heldout.families)
    pkgs = fetch_packages(sorted({s.package for s in corpus_srcs + heldout_srcs}), cache, LICENCES)
    limit = cfg.small.files_per_source if small else None
    clean = collect(corpus_srcs, pkgs, cfg, cache, limit, "dev")
    heldout = collect(heldout_srcs, pkgs, cfg, cache, limit, "heldout")
    for d in heldout:
        d["meta"]["noise"] = "clean"
    return Built(raw=noised(clean, cfg), heldout=heldout, clean=clean), pkgs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--small", action="store_true", help=f"write the committed small version ({SMALL_OUT})")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="noise rates and knobs (YAML)")
    parser.add_argument("--out", type=Path, help=f"output folder (default {DEFAULT_OUT}, or {SMALL_OUT} with --small)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="downloaded and unpacked packages, extracted texts (default: the reference corpus's)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
        out = args.out or (SMALL_OUT if args.small else DEFAULT_OUT)
        start = time.monotonic()
        built, pkgs = build(cfg, args.cache, args.small)
        table = write_outputs(out, built, pkgs, cfg)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.small:
        (out / "README.md").write_text(readme(table, built, pkgs, cfg, args.config), encoding="utf-8")
    print(f"{len(built.raw)} raw records ({sum(r['bytes'] for r in table['raw'].values()):,} bytes), "
          f"{len(built.heldout)} held-out documents in {out} ({time.monotonic() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
