"""Rebuild rules/wordlists/flagged/<lang>/<category>.txt from openly licensed sources.

Sources: LDNOOBW ("List of Dirty, Naughty, Obscene and Otherwise Bad Words", CC BY 4.0) as published in the npm
package naughty-words, better-profanity's English word list (PyPI, MIT), and the project's own terms in
scripts/flagged/terms.yaml, which also holds the categorisation (porn stems, explicit assignments), the hygiene
settings and the exclusions. Run: python scripts/build_flagged.py [--ldnoobw DIR] [--better-profanity WHEEL]
(without them, ``npm pack`` and ``pip download`` fetch the pinned versions into a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TERMS = REPO / "scripts" / "flagged" / "terms.yaml"
OUT = REPO / "rules" / "wordlists" / "flagged"
NAUGHTY_WORDS = "naughty-words@1.2.0"
BETTER_PROFANITY = "better-profanity==0.7.0"
WORDFREQ_CODE = {"no": "nb", "hr": "sh"}  # the project's language code -> wordfreq's
CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
LATIN_ONLY = re.compile(r"^[a-z0-9\u00c0-\u024f\s.'-]+$")
BP_PLAIN = re.compile(r"^[a-z][a-z ]*[a-z]$")  # better-profanity entries without leetspeak or symbols
Lists = dict[str, dict[str, set[str]]]


def norm(entry: str) -> str:
    """NFC, lower case, single spaces: the form the rule compares against."""
    return " ".join(unicodedata.normalize("NFC", entry).lower().split())


def load_terms(path: Path) -> dict:
    """terms.yaml, every list entry checked to be a string (YAML reads 13. as a number: quote it)."""
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))

    def check(node: object, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                check(value, f"{where}.{key}" if where else str(key))
        elif isinstance(node, list) and not all(isinstance(v, str) for v in node):
            bad = next(v for v in node if not isinstance(v, str))
            raise SystemExit(f"error: {path}: {where}: entry {bad!r} is not a string (quote it)")

    check(cfg, "")
    return cfg


def fetch_ldnoobw(tmp: Path) -> Path:
    subprocess.run(["npm", "pack", NAUGHTY_WORDS, "--pack-destination", str(tmp)], check=True, capture_output=True)
    tgz = next(tmp.glob("naughty-words-*.tgz"))
    subprocess.run(["tar", "xzf", str(tgz), "-C", str(tmp)], check=True)
    return tmp / "package"


def fetch_better_profanity(tmp: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp), BETTER_PROFANITY],
                   check=True)
    return next(tmp.glob("better_profanity-*.whl"))


def read_ldnoobw(folder: Path, langs: set[str]) -> dict[str, list[str]]:
    """``{lang: entries}`` of the package's ``<lang>.json`` files for the supported languages."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))
            if p.stem in langs}


def read_better_profanity(wheel: Path, cfg: dict) -> list[str]:
    """The list's plain-letter entries that contain a ``better_profanity_stems`` or porn stem."""
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read("better_profanity/profanity_wordlist.txt").decode("utf-8")
    stems = [norm(s) for s in cfg["better_profanity_stems"] + cfg["porn_stems"]["*"]]
    return [w for w in map(norm, text.splitlines()) if BP_PLAIN.match(w) and any(s in w for s in stems)]


def too_short(entry: str, min_latin: int) -> bool:
    """A Latin-script entry of fewer than ``min_latin`` characters, or a single CJK character."""
    if CJK_CHAR.search(entry):
        return len(entry) < 2
    return bool(LATIN_ONLY.match(entry)) and len(entry.replace(" ", "")) < min_latin


def too_common(entry: str, lang: str, max_zipf: float) -> bool:
    """Whether wordfreq rates the entry as frequent in ordinary text (False where wordfreq cannot say)."""
    import wordfreq

    try:
        return wordfreq.zipf_frequency(entry, WORDFREQ_CODE.get(lang, lang)) >= max_zipf
    except (LookupError, ImportError, ValueError):
        return False  # zh/ja need jieba/MeCab inside wordfreq: the explicit exclusions cover them


def imported_category(entry: str, lang: str, cfg: dict) -> str:
    """porn when an explicit assignment says so or a porn stem occurs in the entry, else vulgar."""
    assigned = {norm(k): v for k, v in (cfg["assign"].get(lang) or {}).items()}
    if entry in assigned:
        return assigned[entry]
    stems = [norm(s) for s in cfg["porn_stems"].get("*", []) + cfg["porn_stems"].get(lang, [])]
    return "porn" if any(s in entry for s in stems) else "vulgar"


def add_imported(lists: Lists, lang: str, entries: list[str], cfg: dict, dropped: Counter) -> None:
    """LDNOOBW / better-profanity entries through hygiene, exclusions and categorisation."""
    hyg = cfg["hygiene"]
    exclude = {norm(w) for w in cfg["exclude"].get(lang) or []}
    keep = {norm(w) for w in cfg["keep"].get(lang) or []}
    for entry in map(norm, entries):
        if not entry or entry in exclude:
            dropped["excluded"] += 1
        elif too_short(entry, hyg["min_latin_chars"]):
            dropped["too short"] += 1
        elif entry not in keep and too_common(entry, lang, hyg["max_zipf"]):
            dropped["too common"] += 1
        else:
            lists[lang].setdefault(imported_category(entry, lang, cfg), set()).add(entry)


def add_terms(lists: Lists, lang: str, cfg: dict, dropped: Counter) -> None:
    """The project's own terms (shared "*" ones included), in the category they are listed under."""
    for terms in (cfg["terms"]["*"], cfg["terms"][lang]):
        for category, entries in terms.items():
            for entry in map(norm, entries):
                if too_short(entry, cfg["hygiene"]["min_latin_chars"]):
                    dropped["too short"] += 1
                else:
                    lists[lang].setdefault(category, set()).add(entry)


def deduplicate(by_cat: dict[str, set[str]], priority: list[str]) -> dict[str, list[str]]:
    """Each entry in one category only: the project's terms were added last, so the claim order is the priority."""
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for category in priority:
        entries = sorted(by_cat.get(category, set()) - seen)
        seen.update(entries)
        if entries:
            out[category] = entries
    return out


def build(cfg: dict, ldnoobw: dict[str, list[str]], bp: list[str]) -> tuple[dict[str, dict[str, list[str]]], Counter]:
    langs = sorted(k for k in cfg["terms"] if k != "*")
    imported: Lists = {lang: {} for lang in langs}
    own: Lists = {lang: {} for lang in langs}
    dropped: Counter = Counter()
    for lang in langs:
        add_imported(imported, lang, ldnoobw.get(lang, []) + (bp if lang == "en" else []), cfg, dropped)
        add_terms(own, lang, cfg, dropped)
    result = {}
    for lang in langs:
        own_entries = set().union(*own[lang].values())
        merged = {c: own[lang].get(c, set()) | (imported[lang].get(c, set()) - own_entries) for c in cfg["priority"]}
        result[lang] = deduplicate(merged, cfg["priority"])
    return result, dropped


HEADER = """# Flagged words, {lang} / {category}: {n} entries, one per line (lower case, NFC).
# Built by scripts/build_flagged.py from scripts/flagged/terms.yaml (the project's own terms and the rules that
# categorise the imported ones), LDNOOBW (CC BY 4.0, via {ldnoobw}) and better-profanity (MIT, {bp}, en only).
# Do not edit by hand: edit terms.yaml and rebuild. Licences: rules/wordlists/README.md.
"""


def write(result: dict[str, dict[str, list[str]]], out: Path) -> None:
    for old in out.glob("*/*.txt"):
        old.unlink()
    for lang, cats in result.items():
        (out / lang).mkdir(parents=True, exist_ok=True)
        for category, entries in cats.items():
            head = HEADER.format(lang=lang, category=category, n=len(entries), ldnoobw=NAUGHTY_WORDS,
                                 bp=BETTER_PROFANITY)
            (out / lang / f"{category}.txt").write_text(head + "\n".join(entries) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ldnoobw", type=Path, help="unpacked naughty-words package folder (default: npm pack)")
    ap.add_argument("--better-profanity", type=Path, help="better-profanity wheel (default: pip download)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    cfg = load_terms(TERMS)
    with tempfile.TemporaryDirectory() as tmp:
        ld_dir = args.ldnoobw or fetch_ldnoobw(Path(tmp))
        wheel = args.better_profanity or fetch_better_profanity(Path(tmp))
        ldnoobw = read_ldnoobw(ld_dir, set(cfg["terms"]))
        result, dropped = build(cfg, ldnoobw, read_better_profanity(wheel, cfg))
    write(result, args.out)
    print("lang  " + " ".join(f"{c[:7]:>7}" for c in cfg["priority"]) + "   total")
    for lang, cats in result.items():
        counts = [len(cats.get(c, [])) for c in cfg["priority"]]
        print(f"{lang:5} " + " ".join(f"{n:7d}" for n in counts) + f" {sum(counts):7d}")
    print("entries left out: " + ", ".join(f"{k} {v}" for k, v in sorted(dropped.items())))


if __name__ == "__main__":
    main()
