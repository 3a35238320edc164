"""What each pipeline stage removed from the ablation dev corpus, by the labels the noise injection left.

    python bench/dev_cleaning.py [--corpus out/dev_corpus] [--pipeline out/pipeline/dev] \\
        [--out bench/results/dev_cleaning.md]

Reads the raw records' ``meta.noise`` labels (``scripts/build_dev_corpus.py``) and, per stage of the pipeline run
(``pipelines/dev.yaml``), the ids in its ``dropped/`` folder; the final kept ids from the manifest. Each record gets
one class: a copy (``exact_dup``/``near_dup``: removing it is right), a junk page (``keyword_spam``,
``word_shuffle``, ``menu_only``, ``mojibake``: removing it is right), a text page with insertions only
(``boilerplate``/``base64``/``pii``: the page is real, line cleaning is the right fix), or clean. Duplicate
groups (an original and its copies) are counted kept once when exactly one member survives.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from trainer.inputs import read_columns, read_jsonl_gz, resolve  # noqa: E402

PAGES = ("keyword_spam", "word_shuffle", "menu_only", "mojibake")
COPIES = ("exact_dup", "near_dup")
CLASSES = ("clean", "text + insertions", *PAGES, *(f"copy ({c})" for c in COPIES))


def record_class(labels: str) -> str:
    """The one class of a record from its ``meta.noise`` labels."""
    kinds = labels.split(",")
    for c in COPIES:
        if c in kinds:
            return f"copy ({c})"
    for page in PAGES:
        if page in kinds:
            return page
    return "clean" if kinds == ["clean"] else "text + insertions"


def labels(corpus: Path) -> dict[str, dict]:
    """id -> {class, group} of every raw record (group: the original's id for an original and its copies)."""
    out = {}
    for path in sorted((corpus / "raw").glob("part-*.jsonl.gz")):
        for r in read_jsonl_gz(path):
            meta = r["meta"]
            group = meta.get("dup_of") or (r["id"] if meta.get("copies") else None)
            out[r["id"]] = {"class": record_class(meta["noise"]), "group": group}
    return out


def ids(inputs: list[str]) -> set[str]:
    return {str(i) for path in resolve(inputs) for batch in read_columns(path, ["id"]) for i in batch["id"]}


def stage_drops(pipeline: Path) -> dict[str, set[str]]:
    """Stage name -> ids it dropped, in stage order."""
    return {d.name.split("-", 1)[1]: ids([str(d / "dropped")]) for d in sorted((pipeline / "stages").iterdir())
            if (d / "dropped").is_dir()}


def table(corpus: Path, pipeline: Path) -> str:
    labelled = labels(corpus)
    drops = stage_drops(pipeline)
    kept = ids([str(pipeline / "manifest.json")])
    counts = Counter(v["class"] for v in labelled.values())
    by_stage = {s: Counter(labelled[i]["class"] for i in dropped if i in labelled) for s, dropped in drops.items()}
    kept_by_class = Counter(labelled[i]["class"] for i in kept if i in labelled)
    head = ["| class | records | " + " | ".join(f"dropped by {s}" for s in drops) + " | kept | kept % |",
            "|---|---:|" + "---:|" * len(drops) + "---:|---:|"]
    rows = []
    for c in CLASSES:
        n, k = counts[c], kept_by_class[c]
        rows.append(f"| {c} | {n:,} | " + " | ".join(f"{by_stage[s][c]:,}" for s in drops)
                    + f" | {k:,} | {k / n:.1%} |" if n else f"| {c} | 0 |" + " - |" * (len(drops) + 2))
    groups: dict[str, int] = defaultdict(int)
    for i, v in labelled.items():
        if v["group"] is not None:
            groups[v["group"]] += i in kept
    survivors = Counter(min(n, 2) for n in groups.values())
    summary = (f"\nDuplicate groups (an original and its copies): {len(groups):,}; exactly one member kept in "
               f"{survivors[1]:,} ({survivors[1] / len(groups):.1%}), none in {survivors[0]:,}, two or more in "
               f"{survivors[2]:,}.\n" if groups else "")
    total = len(labelled)
    return (f"# What the dev pipeline removed, by injected label\n\nCorpus `{corpus}` ({total:,} raw records), "
            f"pipeline `{pipeline}` ({len(kept):,} kept). Command: `python bench/dev_cleaning.py --corpus {corpus} "
            f"--pipeline {pipeline}`.\n\n" + "\n".join(head + rows) + "\n" + summary)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=ROOT / "out" / "dev_corpus")
    p.add_argument("--pipeline", type=Path, default=ROOT / "out" / "pipeline" / "dev")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "dev_cleaning.md")
    args = p.parse_args(argv)
    text = table(args.corpus, args.pipeline)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
