#!/usr/bin/env python3
"""Recalibrate a rule file's ``languages:`` section from ``dp-rules calibrate`` output, keeping its hand-set lines.

The section mixes calibrated bounds (``    rule: {min: 0.57}``, no comment) with hand-set ones, which always carry a
comment saying why (``mean_word_length: {min: null, max: null}  # Gopher's 3..10 is for English``) or other keys
(``char_repetition: {max: 0.41, n: 3}`` keeps ``n``). Three steps, so that a recalibration starts from the
published global values and not from the previous calibration (``never_tighten`` would only ever loosen)::

    python scripts/apply_calibration.py strip rules/default.yaml > /tmp/base.yaml
    python -m data_platform.rules calibrate /tmp/base.yaml --reference REF --junk JUNK --out /tmp/cal.yaml ...
    python scripts/apply_calibration.py apply rules/default.yaml /tmp/cal.yaml     # rewrites the file in place

``strip`` drops the ``min`` / ``max`` of every enforced rule's uncommented line (the line when nothing else is
left); ``apply`` writes each calibrated bound that differs from the base value into its language (beside the line's
other keys when there are some, never over a commented line) and refreshes each language's ``calibrated, on its
reference: ...`` summary.
Plain text editing, because PyYAML drops comments and the comments are the file's documentation.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_platform.calibrate import BOUNDS, yaml_key  # noqa: E402  (run as a script from the checkout)
from data_platform.config import load_rules  # noqa: E402

LANG_LINE = re.compile(r"^  (['\"]?)([a-z]{2,3})\1:( \{\})?(\s*#\s*(.*))?$")
RULE_LINE = re.compile(r"^    ([a-z0-9_]+): (\{.*?\})(\s*#.*)?$")
SUMMARY = re.compile(r"# all bounds below together: drop ([\d.]+% \(\d+ of \d+\)) of reference, "
                     r"catch ([\d.]+% \(\d+ of \d+\)) of junk")
CALIBRATED = "calibrated, on its reference:"


def section(lines: list[str]) -> tuple[int, int]:
    """First and one-past-last line index of the ``languages:`` section."""
    start = lines.index("languages:") + 1
    end = next((i for i in range(start, len(lines)) if lines[i] and not lines[i].startswith(" ")), len(lines))
    while end > start and not lines[end - 1].strip():
        end -= 1
    return start, end


def stripped_line(line: str, enforced: set[str]) -> str | None:
    """An enforced rule's uncommented line without its ``min`` / ``max`` (written by ``apply``): ``None`` when
    nothing else is left, the other keys (``n: 3``) otherwise; any other line as it is."""
    m = RULE_LINE.match(line)
    if not m or m.group(1) not in enforced or m.group(3):
        return line
    rest = {k: v for k, v in yaml.safe_load(m.group(2)).items() if k not in BOUNDS}
    return f"    {m.group(1)}: {flow(rest)}" if rest else None


def strip(text: str, enforced: dict[str, set[str]]) -> str:
    """``text`` without the calibrated bounds; ``enforced``: per language, the rules it enforces."""
    lines = text.split("\n")
    start, end = section(lines)
    kept, lang, head = [], "", 0
    for line in lines[start:end] + ["  end:"]:
        if m := LANG_LINE.match(line):
            if lang and head == len(kept) - 1 and "{}" not in kept[head]:  # nothing left: an empty mapping
                kept[head] = kept[head].replace(":", ": {}", 1)
            lang, head = m.group(2), len(kept)
        if (new := stripped_line(line, enforced.get(lang, set()))) is not None:
            kept.append(new)
    return "\n".join(lines[:start] + kept[:-1] + lines[end:])


def enforced_rules(rules_path: Path) -> dict[str, set[str]]:
    """Per language of the file's ``languages:`` section, the rules in drop mode (any source)."""
    ruleset = load_rules(rules_path)
    return {lang: {name for name, p in ruleset.resolve(lang, "").rules if p.mode == "drop"}
            for lang in ruleset.config.languages}


def summaries(calibration: str) -> dict[str, str]:
    """Per language, ``drops 4.1% (8 of 194), catches 87.4% (610 of 698) junk`` from the calibration comments."""
    out, lang = {}, None
    for line in calibration.split("\n"):
        if m := LANG_LINE.match(line):
            lang = m.group(2)
        elif lang and (s := SUMMARY.search(line)):
            out[lang] = f"drops {s.group(1)}, catches {s.group(2)} junk"
    return out


def flow(mapping: dict) -> str:
    """``{min: 0.5, n: 3}``: YAML flow style, as the file writes it."""
    return yaml.safe_dump(mapping, default_flow_style=True, sort_keys=False, width=1000).strip()


def apply(text: str, base: dict[str, dict[str, dict]], calibration: str) -> str:
    """``text`` with the bounds of ``calibration`` written in; ``base``: per language, each rule's bounds before."""
    proposed = (yaml.safe_load(calibration) or {}).get("languages") or {}
    notes = summaries(calibration)
    lines = text.split("\n")
    start, end = section(lines)
    blocks: dict[str, list[str]] = {}
    order: list[str] = []
    for line in lines[start:end]:
        if m := LANG_LINE.match(line):
            order.append(m.group(2))
            blocks[m.group(2)] = [line]
        elif order:
            blocks[order[-1]].append(line)
    for lang in sorted(set(proposed) - set(blocks)):
        order.append(lang)
        blocks[lang] = [f"  {yaml_key(lang)}:   # no published entry"]
    for lang, rules in proposed.items():
        blocks[lang] = update_block(blocks[lang], rules, base.get(lang, {}), notes.get(lang))
    body = [x for lang in order for x in blocks[lang]]
    return "\n".join(lines[:start] + body + lines[end:])


def update_block(block: list[str], rules: dict[str, dict], base: dict[str, dict], note: str | None) -> list[str]:
    """One language's lines with its calibrated bounds; a bound equal to the base value is left out."""
    m = LANG_LINE.match(block[0])
    comment, body, seen = m.group(5) or "", block[1:], set()
    if note:
        kept = comment.split(CALIBRATED)[0].rstrip("; ").rstrip()
        comment = f"{kept + '; ' if kept else ''}{CALIBRATED} {note}"
    for i, line in enumerate(body):
        r = RULE_LINE.match(line)
        if not r or r.group(1) not in rules:
            continue
        seen.add(r.group(1))
        if not r.group(3):  # a commented line is hand-set, with its reason
            merged = {**changed(rules[r.group(1)], base.get(r.group(1), {})), **yaml.safe_load(r.group(2))}
            body[i] = f"    {r.group(1)}: {flow(merged)}"
    added = [f"    {rule}: {flow(new)}" for rule, bounds in sorted(rules.items())
             if rule not in seen and (new := changed(bounds, base.get(rule, {})))]
    head = block[0][: block[0].index(":") + 1] + ("" if body or added else " {}")
    head += f"   # {comment}" if comment else ""
    return [head, *body, *added]


def changed(bounds: dict, base: dict) -> dict:
    return {k: v for k, v in bounds.items() if base.get(k) != v}


def base_bounds(rules_path: Path, langs: list[str]) -> dict[str, dict[str, dict]]:
    """Per language: each rule's bounds as the (stripped) file resolves them."""
    ruleset = load_rules(rules_path)
    return {lang: {name: {k: v for k in BOUNDS if (v := getattr(p, k, None)) is not None}
                   for name, p in ruleset.resolve(lang, "").rules} for lang in langs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("strip", help="the rule file without its calibrated lines, on stdout")
    s.add_argument("rules", type=Path)
    a = sub.add_parser("apply", help="write a calibration into the rule file (in place)")
    a.add_argument("rules", type=Path)
    a.add_argument("calibration", type=Path)
    args = ap.parse_args()
    text = args.rules.read_text(encoding="utf-8")
    stripped_text = strip(text, enforced_rules(args.rules))
    if args.cmd == "strip":
        sys.stdout.write(stripped_text)
        return
    calibration = args.calibration.read_text(encoding="utf-8")
    langs = sorted((yaml.safe_load(calibration) or {}).get("languages") or {})
    stripped = args.rules.with_name(f".{args.rules.stem}.stripped.yaml")  # beside it: relative paths still resolve
    stripped.write_text(stripped_text, encoding="utf-8")
    try:
        base = base_bounds(stripped, langs)
    finally:
        stripped.unlink()
    args.rules.write_text(apply(stripped_text, base, calibration), encoding="utf-8")


if __name__ == "__main__":
    main()
