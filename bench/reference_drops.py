"""What a rule file drops of clean reference text and of labelled junk, per language and per enforced rule.

Run from the repository root with the project's interpreter, after ``scripts/build_reference.py``:

    .venv/bin/python bench/reference_drops.py                    # rules/default.yaml, the holdout split
    .venv/bin/python bench/reference_drops.py --rules R.yaml --split calib --out /tmp/x

Method
------
1. Inputs: the reference corpus (clean documents with ``lang`` and ``meta.split``) and a junk corpus built from
   the same split (``meta.junk`` names the kind of junk), both JSON Lines (``.gz`` too) as
   ``scripts/build_reference.py`` writes them. Only documents of ``--split`` are used: thresholds calibrated on
   ``calib`` are reported on ``holdout``.
2. Every document goes through ``data_platform.funnel.process_batch`` with the rule file, in batches of 500, as
   the filter job runs it (text records: no HTML extraction).
3. Per declared language (normalised: ``nb`` is ``no``): the share of reference documents dropped (by anything:
   a cleaning stage or an enforced rule), and for every enforced rule the share of reference documents that FAIL
   it, whether or not an earlier rule already dropped them (a rule's own false-positive rate; the defaults
   issue's goal is <= 2% for each), over all of them and over those langid gives the declared language or a
   language of its group (``langid.groups``): the packages hold untranslated pages, which a Swedish corpus
   should not keep as Swedish. Junk: the share caught (dropped), per language and per kind.
4. Rules in tag mode: the share of reference documents each would fail, and the share of junk that nothing
   enforced drops but the rule would, per language (which of them would help if enforced).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from _machine import git_state, hardware  # (bench/ is the script folder)
from funnel import to_batches

from data_platform import schema as S
from data_platform.config import load_rules
from data_platform.funnel import process_batch
from data_platform.langcodes import normalize_lang
from data_platform.rules.langid import group_index, group_members

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache/data-platform/reference"
GOAL = 0.02  # the most any enforced rule may drop of a language's clean reference documents
SMALL_LANG = 100  # fewer documents: one of them is more than 1%


def read_split(path: Path, split: str) -> list[dict]:
    """Records of ``split`` (all records when they carry no split), as text records for ``to_batches``."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    return [{"id": d["id"], "text": d["text"], "lang": d["lang"], "source": d.get("source") or "reference",
             "junk": (d.get("meta") or {}).get("junk")}
            for d in docs if (d.get("meta") or {}).get("split", split) == split]


def run(docs: list[dict], rules_path: Path) -> list[dict]:
    """Per document: its language as given, the drop reason (None = kept) and the enforced rules it fails."""
    ruleset = load_rules(rules_path)
    out = []
    for batch in to_batches(docs):
        for r in process_batch(batch, ruleset).to_pylist():
            failed = [x["name"] for x in r[S.RULES] or [] if x["enforced"] and not x["passed"]]
            tagged = [x["name"] for x in r[S.RULES] or [] if not x["enforced"] and not x["passed"]]
            out.append({"reason": r[S.DROP_REASON], "failed": failed, "tag_failed": tagged, "detected": r[S.LANG]})
    groups = group_index(dict(ruleset.resolve("en", "").rules)["langid"].groups)
    return [{**o, "lang": (lang := normalize_lang(d["lang"])), "junk": d["junk"],
             "other_lang": group_members(o["detected"], groups) != group_members(lang, groups)}
            for d, o in zip(docs, out, strict=True)]


def by_language(results: list[dict]) -> list[tuple[str, list[dict]]]:
    """The results grouped by language, languages sorted."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        groups[r["lang"]].append(r)
    return sorted(groups.items())


def summarize_reference(results: list[dict]) -> dict[str, dict]:
    out = {}
    for lang, rows in by_language(results):
        n = len(rows)
        fails = Counter(name for r in rows for name in r["failed"])
        tag_fails = Counter(name for r in rows for name in r["tag_failed"])
        same = [r for r in rows if not r["other_lang"]]
        same_fails = Counter(name for r in same for name in r["failed"])
        out[lang] = {"docs": n, "dropped": sum(r["reason"] is not None for r in rows) / n,
                     "reasons": dict(Counter(r["reason"] or "kept" for r in rows).most_common()),
                     "rule_fail_share": {k: v / n for k, v in fails.most_common()},
                     "other_lang_docs": n - len(same),
                     "rule_fail_share_same_lang": {k: v / len(same) for k, v in same_fails.most_common()},
                     "tag_rule_fail_share": {k: v / n for k, v in sorted(tag_fails.items())}}
    return out


def summarize_junk(results: list[dict]) -> dict[str, dict]:
    out = {}
    for lang, rows in by_language(results):
        kinds: dict[str, list[bool]] = defaultdict(list)
        for r in rows:
            kinds[r["junk"] or "?"].append(r["reason"] is not None)
        missed = [r for r in rows if r["reason"] is None]
        extra = Counter(name for r in missed for name in r["tag_failed"])
        out[lang] = {"docs": len(rows), "caught": sum(r["reason"] is not None for r in rows) / len(rows),
                     "by_kind": {k: sum(v) / len(v) for k, v in sorted(kinds.items())},
                     "tag_rule_extra_catch": {k: v / len(rows) for k, v in sorted(extra.items())}}
    return out


def over_goal(ref: dict[str, dict], key: str) -> tuple[dict[str, dict[str, float]], str]:
    """Per language, the enforced rules whose fail share (``key``) exceeds the goal; and them as one line."""
    over = {lang: {k: v for k, v in s[key].items() if v > GOAL} for lang, s in ref.items()}
    return over, ", ".join(f"{lang}: {', '.join(f'`{k}` {v:.1%}' for k, v in o.items())}"
                           for lang, o in over.items() if o)


def write_markdown(path: Path, report: dict) -> None:
    ref, junk = report["reference"], report["junk"]
    over, listed = over_goal(ref, "rule_fail_share")
    over_same, listed_same = over_goal(ref, "rule_fail_share_same_lang")
    small = ", ".join(f"{lang} {s['docs']}" for lang, s in ref.items() if s["docs"] < SMALL_LANG)
    md = [f"# Clean reference and junk through `{report['rules']}` ({report['split']} split)", "",
          f"Machine: {report['machine']['cpu']}; commit `{report['machine']['commit']}`. Method in "
          "`bench/reference_drops.py`'s docstring. Command: `" + report["command"] + "`.", "",
          f"**Enforced rules failing more than {GOAL:.0%} of a language's clean documents: "
          f"{sum(map(len, over.values()))}** ({listed or 'none'}).", "",
          f"Over the documents langid gives their declared language (or its group) only, leaving out untranslated "
          f"pages of the packages (column `other lang`): **{sum(map(len, over_same.values()))}** "
          f"({listed_same or 'none'}). Languages with fewer than {SMALL_LANG} documents ({small or 'none'}): one "
          "document is more than 1%.",
          "", "| lang | reference docs | other lang | dropped | worst enforced rule (share failing it) | junk docs "
          "| junk caught |", "| --- | ---: | ---: | ---: | --- | ---: | ---: |"]
    for lang, s in ref.items():
        worst = max(s["rule_fail_share"].items(), key=lambda kv: kv[1], default=None)
        j = junk.get(lang)
        junk_cells = f"{j['docs']:,} | {j['caught']:.1%}" if j else "- | -"
        md.append(f"| {lang} | {s['docs']:,} | {s['other_lang_docs']} | {s['dropped']:.1%} | "
                  f"{f'`{worst[0]}` {worst[1]:.1%}' if worst else '-'} | {junk_cells} |")
    kinds = sorted({k for j in junk.values() for k in j["by_kind"]})
    if kinds:
        md += ["", "## Junk caught, per kind", "", "| lang | " + " | ".join(kinds) + " |",
               "| --- |" + " ---: |" * len(kinds)]
        md += [f"| {lang} | " + " | ".join(f"{j['by_kind'][k]:.0%}" if k in j["by_kind"] else "-" for k in kinds)
               + " |" for lang, j in junk.items()]
    tag_rules = sorted({k for lang in ref.values() for k in lang["tag_rule_fail_share"]}
                       | {k for j in junk.values() for k in j["tag_rule_extra_catch"]})
    if tag_rules:
        md += ["", "## Rules in tag mode: clean documents they would drop / junk they would add", "",
               "Per language, `fail% / +catch%`: the share of clean documents failing the rule, and the share of "
               "junk that nothing enforced drops but the rule would.", "",
               "| rule | " + " | ".join(ref) + " |", "| --- |" + " ---: |" * len(ref)]
        for rule in tag_rules:
            cells = [f"{ref[lang]['tag_rule_fail_share'].get(rule, 0):.0%} / "
                     f"+{junk.get(lang, {}).get('tag_rule_extra_catch', {}).get(rule, 0):.0%}" for lang in ref]
            md.append(f"| `{rule}` | " + " | ".join(cells) + " |")
    md += ["", "## Drop reasons of clean documents, per language", ""]
    md += [f"- {lang}: " + ", ".join(f"`{r}` {n}" for r, n in s["reasons"].items() if r != "kept")
           for lang, s in ref.items() if s["dropped"]]
    path.write_text("\n".join(md).rstrip() + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=ROOT / "rules/default.yaml")
    parser.add_argument("--reference", type=Path, default=CACHE / "reference.jsonl.gz")
    parser.add_argument("--junk", type=Path, help="junk of the same split (default: junk-<split>.jsonl.gz)")
    parser.add_argument("--split", default="holdout", help="the reference split to report on")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results", help="folder for the results")
    args = parser.parse_args()
    junk_path = args.junk or args.reference.parent / f"junk-{args.split}.jsonl.gz"
    for p in (args.rules, args.reference, junk_path):
        if not p.is_file():
            sys.exit(f"error: {p} does not exist (build the corpus with scripts/build_reference.py)")
    ref_docs, junk_docs = read_split(args.reference, args.split), read_split(junk_path, args.split)
    print(f"{len(ref_docs):,} reference and {len(junk_docs):,} junk documents of split {args.split}")
    rules = args.rules.resolve()
    rules = rules.relative_to(ROOT) if rules.is_relative_to(ROOT) else rules
    report = {"machine": {**hardware(), "commit": git_state()}, "rules": str(rules), "split": args.split,
              "command": " ".join(["bench/reference_drops.py", *sys.argv[1:]]),
              "reference": summarize_reference(run(ref_docs, args.rules)),
              "junk": summarize_junk(run(junk_docs, args.rules))}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reference_drops.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    write_markdown(args.out / "reference_drops.md", report)
    print(f"wrote {args.out / 'reference_drops.md'} and reference_drops.json")


if __name__ == "__main__":
    main()
