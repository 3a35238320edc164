"""flagged_word_ratio's own cost on one 500-page batch of the sample, old code (a commit's wordlists.py) vs new.

    .venv/bin/python bench/flagged_speed.py [--old-commit 709bdf0]

The pages are ``data/sample/pages.jsonl.gz`` extracted with the project's settings, repeated to 500 and grouped by
language as the funnel groups them. Word segmentation (``DocBatch.words``) is computed before timing: the funnel
shares it between rules (its profile charges it to the first rule asking, which is this one). Timed: the old code
with the old commit's lists, the old code with the new lists, the new code with the new lists; best of 7.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
import types
from collections import defaultdict
from pathlib import Path

import pyarrow as pa

from data_platform.config import load_rules
from data_platform.extract import extract_html
from data_platform.rules import REGISTRY, DocBatch
from data_platform.rules.wordlists import FLAGGED_PRIORITY, FlaggedParams, flagged_lists, load_flagged

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench/results"
sys.path.insert(0, str(ROOT / "bench"))
from _machine import git_state, hardware  # noqa: E402  (bench/ is the script folder)


def old_module(commit: str) -> types.ModuleType:
    """The commit's wordlists.py as a module, its rules not registered (the names are taken)."""
    src = subprocess.run(["git", "show", f"{commit}:data_platform/rules/wordlists.py"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    src = src.replace('@rule("stopword_ratio", StopwordParams, load=stopword_lists)', "")
    src = src.replace('@rule("flagged_word_ratio", FlaggedParams, load=flagged_lists)', "")
    mod = types.ModuleType("old_wordlists")
    exec(compile(src, f"{commit}:wordlists.py", "exec"), mod.__dict__)  # noqa: S102  (the repository's own code)
    return mod


def batches() -> dict[str, DocBatch]:
    ruleset = load_rules(ROOT / "rules/default.yaml")
    pages = []
    with gzip.open(ROOT / "data/sample/pages.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            got = extract_html(rec["html"], rec.get("url"), ruleset.config.extract, 30)
            if got.text:
                pages.append((rec["lang"], got.text))
    groups = defaultdict(list)
    for lang, text in (pages * (500 // len(pages) + 1))[:500]:
        groups[lang].append(text)
    out = {lang: DocBatch(pa.array(texts), lang) for lang, texts in groups.items()}
    for b in out.values():
        _ = b.words
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-commit", default="709bdf0")
    args = ap.parse_args()
    old, docs = old_module(args.old_commit), batches()
    old_lists_dir = Path(subprocess.run(["mktemp", "-d"], capture_output=True, text=True).stdout.strip())
    archive = subprocess.run(["git", "archive", args.old_commit, "rules/wordlists/flagged"], capture_output=True,
                             check=True, cwd=ROOT).stdout
    subprocess.run(["tar", "x", "-C", str(old_lists_dir)], input=archive, check=True)
    new_p = FlaggedParams(max_by_category={"porn": 0.005})
    old_p = old.FlaggedParams(categories=list(FLAGGED_PRIORITY))
    spec = "wordlists/flagged"
    runs = {
        "old code, old lists": (old.flagged_word_ratio, old_p,
                                {spec: load_flagged(spec, old_lists_dir / "rules")}),
        "old code, new lists": (old.flagged_word_ratio, old_p, {spec: load_flagged(spec, ROOT / "rules")}),
        "new code, new lists": (REGISTRY["flagged_word_ratio"].compute, new_p, flagged_lists([new_p], ROOT / "rules")),
    }
    best: dict[str, float] = {}
    for _ in range(7):
        for name, (fn, params, res) in runs.items():
            start = time.perf_counter()
            for b in docs.values():
                b.resources = {"flagged_word_ratio": res}
                fn(b, params)
            best[name] = min(best.get(name, 1e9), time.perf_counter() - start)
    lines = [f"{name}: {seconds:.3f} s per 500-document batch (best of 7)" for name, seconds in best.items()]
    print("\n".join(lines))
    out = {"machine": {**hardware(), "commit": git_state()}, "command": "python bench/flagged_speed.py",
           "old_commit": args.old_commit, "best_s": best}
    (RESULTS / "flagged_speed.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    m = out["machine"]
    (RESULTS / "flagged_speed.md").write_text("\n".join([
        "# flagged_word_ratio: cost per batch, old vs new code", "",
        f"Machine: {m['cpu']}, {m['cores']} cores; {m['date_utc']}; commit `{m['commit']}`; old code and lists from "
        f"`{args.old_commit}`. Command: `{out['command']}`. Method: the script's docstring.", "",
        *[f"- {ln}" for ln in lines], ""]), encoding="utf-8")


if __name__ == "__main__":
    main()
