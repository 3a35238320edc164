"""The flagged-word dev set: short labelled texts from Debian fortune packages plus hand-written prose and spam.

``build(cache)`` returns documents ``{id, lang, label, source, text, half}``. ``label`` is ``clean``,
``offensive`` (a fortune from an ``-off`` package: its category is unknown) or the category of a hand-written text
(``bench/flagged/written.yaml``). ``half`` (``tune`` / ``test``) comes from a hash of the id, so it never depends on
the set's order or size. On the first call the packages are fetched with ``apt-get download`` and unpacked with
``dpkg -x`` into ``cache`` (Debian only); the texts are written there as ``dev-<DEV_VERSION>.jsonl`` with the
packages' versions and licences in ``packages-<DEV_VERSION>.json``. Nothing is written to the repository.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import random
import re
import struct
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from build_sample import detect_licence, download_debs, find_deb, run  # noqa: E402  (scripts/ is not a package)

DEV_VERSION = "2"
SEED = 20261202
WRITTEN = ROOT / "bench" / "flagged" / "written.yaml"
# package -> (language, label, folder under usr/share/games/fortunes, file names to skip)
PACKAGES = {
    "fortunes-it": ("it", "clean", "it", ()),
    "fortunes-it-off": ("it", "offensive", "off/it", ()),
    "fortunes-es": ("es", "clean", "es", ()),
    "fortunes-es-off": ("es", "offensive", "off/es", ()),
    "fortunes": ("en", "clean", ".", ()),
    "fortunes-de": ("de", "clean", "de", ()),
    "fortunes-pl": ("pl", "clean", "pl", ()),
    "fortunes-cs": ("cs", "clean", "cs", ("klasik-sk",)),  # the Slovak file
    "fortunes-ru": ("ru", "clean", "ru", ()),
    "fortunes-zh": ("zh", "clean", ".", ()),
    "fortunes-br": ("pt", "clean", ".", ()),
}
PER_PACKAGE = 400  # at most this many fortunes per package, a seeded choice
MIN_WORDS = 6
# Licences read by hand where the copyright file names none: fortune-it's COPYING-POLICY says the quotations are
# not copyrighted by the collectors; Debian's fortunes (fortune-mod) data is BSD-4-Clause / public-domain quotes.
LICENCES = {"fortunes-it": "uncopyrighted collection", "fortunes-it-off": "uncopyrighted collection",
            "fortunes": "BSD-4-Clause (fortune-mod)", "fortunes-br": "GPL-2+ (debian/copyright text)"}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STR_ROTATED = 0x4  # strfile's header flag: the file's fortunes are ROT13-encoded (the -off convention)


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "data-platform" / "flagged"


def half_of(doc_id: str) -> str:
    return "tune" if hashlib.sha1(doc_id.encode()).digest()[0] % 2 == 0 else "test"


def build(cache: Path) -> tuple[list[dict], list[dict]]:
    """The documents and the packages they came from; the fortunes built once into ``cache``, then read."""
    dev, packages = cache / f"dev-{DEV_VERSION}.jsonl", cache / f"packages-{DEV_VERSION}.json"
    if not (dev.exists() and packages.exists()):
        docs, pkgs = _fortunes_fresh(cache)
        dev.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
        packages.write_text(json.dumps(pkgs, indent=1), encoding="utf-8")
    with open(dev, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    return docs + written(), json.loads(packages.read_text(encoding="utf-8"))


def written() -> list[dict]:
    items = yaml.safe_load(WRITTEN.read_text(encoding="utf-8"))
    docs = [{"id": f"written/{i}", "lang": d["lang"], "label": d["label"], "source": f"written/{d['topic']}",
             "text": d["text"]} for i, d in enumerate(items)]
    return [{**d, "half": half_of(d["id"])} for d in docs]


def _fortunes_fresh(cache: Path) -> tuple[list[dict], list[dict]]:
    debs, unpacked = cache / "debs", cache / "root"
    debs.mkdir(parents=True, exist_ok=True)
    download_debs(sorted(PACKAGES), debs)
    docs, pkgs = [], []
    for name, (lang, label, folder, skip) in PACKAGES.items():
        deb, root = find_deb(debs, name), unpacked / name
        root.mkdir(parents=True, exist_ok=True)
        run(["dpkg", "-x", str(deb), str(root)])
        texts = _fortunes(root / "usr/share/games/fortunes" / folder, skip)
        chosen = random.Random(f"{SEED}/{name}").sample(texts, min(PER_PACKAGE, len(texts)))
        docs += [{"id": f"{name}/{i}", "lang": lang, "label": label, "source": name, "text": t,
                  "half": half_of(f"{name}/{i}")} for i, t in enumerate(chosen)]
        copyright_text = (root / "usr/share/doc" / name / "copyright").read_text(encoding="utf-8", errors="replace")
        pkgs.append({"name": name, "version": run(["dpkg-deb", "-f", str(deb), "Version"]).strip(),
                     "licence": LICENCES.get(name) or detect_licence(copyright_text), "lang": lang, "label": label,
                     "fortunes": len(texts), "docs": len(chosen)})
    return docs, pkgs


def _fortunes(folder: Path, skip: tuple[str, ...]) -> list[str]:
    """Every fortune of the folder's (recursive) fortune files with at least ``MIN_WORDS`` words, in file order."""
    out: list[str] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.suffix in (".dat", ".u8") or path.name in skip:
            continue
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        if _rotated(path):
            text = codecs.decode(text, "rot13")
        for part in re.split(r"\n%\n", ANSI.sub("", text)):
            part = part.strip().strip("%").strip()
            if len(part.split()) >= MIN_WORDS or (part and len(part) >= 3 * MIN_WORDS and not part.isascii()):
                out.append(part)
    return out


def _rotated(path: Path) -> bool:
    """Whether strfile's index next to the file (``<file>.dat``, big-endian header) marks it ROT13-encoded."""
    dat = path.with_name(path.name + ".dat")
    if not dat.exists():
        return False
    _version, _count, _longest, _shortest, flags = struct.unpack(">5I", dat.read_bytes()[:20])
    return bool(flags & STR_ROTATED)
