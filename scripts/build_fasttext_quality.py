#!/usr/bin/env python3
"""Build the shipped fastText quality classifier (``models/quality/fasttext/``) from the reference corpus.

Usage::

    python scripts/build_reference.py                 # the full reference corpus -> ~/.cache/data-platform/reference
    python scripts/build_fasttext_quality.py          # trains on its calib split, reports on its holdout split
    python scripts/build_fasttext_quality.py --reference data/reference --out /tmp/fq   # the committed small build

``__label__hq``: the clean documents of the calib split (``reference.jsonl.gz``, ``meta.split`` = calib);
``__label__lq``: the labelled junk made from them (``junk-calib.jsonl.gz``, ``scripts/noise.py``). The model is
trained with ``fasttext_quality.train`` (its own 10% of the calib split held out, ``quality.ftz.metrics.json``),
then evaluated once on the holdout split (clean holdout documents against ``junk-holdout.jsonl.gz``) overall, per
language and per junk kind, and on ``models/quality/labelled.parquet`` (the quality head's set, other text: the
sample's pages with junk sentences mixed in). Writes ``quality.ftz``, ``quality.ftz.metrics.json`` and
``holdout.json``, and prints the holdout tables in Markdown (the model card quotes them).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from collections import defaultdict
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))
import build_reference as br  # noqa: E402  (scripts/ is not a package)
from debian_text import fetch_packages  # noqa: E402

from bench._machine import git_state, hardware  # noqa: E402
from data_platform.models import fasttext_quality as fq  # noqa: E402
from trainer.inputs import read_jsonl_gz  # noqa: E402

DEFAULT_REFERENCE = Path.home() / ".cache" / "data-platform" / "reference"
DEFAULT_OUT = REPO / "models" / "quality" / "fasttext"
LABELLED = REPO / "models" / "quality" / "labelled.parquet"
# Chosen on the calib split alone (a fifth of its pages, with their junk, held out from the rest): dim 16, 10 epochs
# at lr 0.2 and character 2-4-grams beat DCLM's dim/epoch/lr here (a few thousand documents, not millions).
HYPERPARAMETERS: dict[str, Any] = {"epoch": 10, "lr": 0.2, "word_ngrams": 2, "dim": 16, "min_count": 3, "minn": 2,
                                   "maxn": 4, "bucket": 1_000_000, "quantize": True, "cutoff": 100_000, "seed": 0,
                                   "thread": 1, "held_out": 0.0}
# Junk an average of word and n-gram vectors cannot tell from its source (a paragraph repeated ten times averages
# to the paragraph): as negatives they only teach distrust of clean text. Left to the funnel's repetition rules;
# still in the holdout report.
NOT_TRAINED = ("paragraph_spam", "repeated_lines")


def collect(folder: Path, cache: Path, per_language: int) -> None:
    """A reference build as ``build_reference.py`` makes it (same sources, order, splits and junk), with the first
    ``per_language`` documents of each language: the full build's first documents."""
    sources = br.sources()
    pkgs = fetch_packages(sorted({s.package for s in sources}), cache, br.LICENCES)
    docs: list[dict] = []
    for lang in br.LANGS:
        seen: set[str] = set()
        streams = [islice(br.documents(pkgs[s.package], s, seen), br.PER_PACKAGE) for s in sources if s.lang == lang]
        docs += br.round_robin(streams, per_language)
    br.write_outputs(folder, docs, pkgs)


def split_docs(reference: Path, split: str) -> tuple[list[dict], list[dict]]:
    """(clean documents, junk documents) of one split of a reference build."""
    clean = [d for d in read_jsonl_gz(reference / "reference.jsonl.gz") if d["meta"]["split"] == split]
    return clean, list(read_jsonl_gz(reference / f"junk-{split}.jsonl.gz"))


def write_texts(path: Path, docs: list[dict]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": d["text"]}, ensure_ascii=False) + "\n" for d in docs)


def train_on_calib(reference: Path, model: Path) -> dict[str, Any]:
    """The calib split's clean documents against its junk (but ``NOT_TRAINED``); ``train``'s report."""
    clean, junk = split_docs(reference, "calib")
    with tempfile.TemporaryDirectory(prefix="fasttext_quality_build_") as tmp:
        positives, negatives = Path(tmp) / "clean.jsonl.gz", Path(tmp) / "junk.jsonl.gz"
        write_texts(positives, clean)
        write_texts(negatives, [d for d in junk if d["meta"]["junk"] not in NOT_TRAINED])
        return fq.train([str(positives)], [str(negatives)], model, **HYPERPARAMETERS)


def by_group(clean: list[dict], junk: list[dict], key: str, model: Any) -> dict[str, dict[str, Any]]:
    """``evaluate`` per language of the clean and junk documents (``key`` = lang) or per junk kind against all clean
    documents (``key`` = kind)."""
    if key == "lang":
        groups: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for d in clean:
            groups[d["lang"]][0].append(d["text"])
        for d in junk:
            groups[d["lang"]][1].append(d["text"])
        return {lang: fq.evaluate(model, *groups[lang]) for lang in sorted(groups)}
    texts = [d["text"] for d in clean]
    kinds = sorted({d["meta"]["junk"] for d in junk})
    return {k: fq.evaluate(model, texts, [d["text"] for d in junk if d["meta"]["junk"] == k]) for k in kinds}


def labelled_set(model: Any) -> dict[str, Any]:
    """On the quality head's labelled set: score 5 (clean prose) against score <= 1, and Spearman's rho of
    P(hq) with the score over all of it."""
    table = pq.read_table(LABELLED, columns=["text", "score"]).to_pandas()
    prob = pd.Series(fq.label_probability(model, table["text"].tolist(), fq.LABEL))
    rho = float(np.corrcoef(table["score"].rank(), prob.rank())[0, 1])  # ranks of ties averaged
    clean, junk = table.loc[table["score"] == 5, "text"].tolist(), table.loc[table["score"] <= 1, "text"].tolist()
    return {"documents": len(table), "score_5_vs_le_1": fq.evaluate(model, clean, junk), "spearman": rho}


def table_rows(groups: dict[str, dict[str, Any]], first: str) -> list[str]:
    """Markdown rows: group, counts, precision / recall / F1 of hq and of lq, AUC."""
    rows = [f"| {first} | clean | junk | hq precision | hq recall | hq F1 | lq precision | lq recall | lq F1 | AUC |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, m in groups.items():
        p, n = m["positive"], m["negative"]
        rows.append(f"| {name} | {m['positives']:,} | {m['negatives']:,} | {p['precision']:.3f} | {p['recall']:.3f} "
                    f"| {p['f1']:.3f} | {n['precision']:.3f} | {n['recall']:.3f} | {n['f1']:.3f} | {m['auc']:.4f} |")
    return rows


def kind_rows(kinds: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown rows: junk kind, documents, the share scored below 0.5 (caught), AUC against all clean documents."""
    rows = ["| junk kind | documents | caught | AUC against clean |", "| --- | ---: | ---: | ---: |"]
    rows += [f"| {k} | {m['negatives']:,} | {m['negative']['recall']:.3f} | {m['auc']:.4f} |" for k, m in kinds.items()]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="a build_reference.py output")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the model and its reports")
    parser.add_argument("--per-language", type=int, help="first collect a reference build with this many documents "
                                                          "a language into --reference, from Debian packages")
    parser.add_argument("--cache", type=Path, default=br.DEFAULT_OUT, help="downloaded and unpacked packages "
                                                                          "(default: build_reference.py's)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    if args.per_language:
        collect(args.reference, args.cache, args.per_language)
    if not (args.reference / "reference.jsonl.gz").is_file():
        print(f"error: no reference corpus in {args.reference}: run python scripts/build_reference.py",
              file=sys.stderr)
        return 2
    path = args.out / "quality.ftz"
    report = train_on_calib(args.reference, path)
    fq.print_report(report)
    model = fq.load_model(str(path))
    clean, junk = split_docs(args.reference, "holdout")
    trained = [d for d in junk if d["meta"]["junk"] not in NOT_TRAINED]
    texts = [d["text"] for d in clean]
    overall = {"all junk": fq.evaluate(model, texts, [d["text"] for d in junk]),
               "junk kinds trained on": fq.evaluate(model, texts, [d["text"] for d in trained])}
    langs, kinds = by_group(clean, trained, "lang", model), by_group(clean, junk, "kind", model)
    labelled = labelled_set(model)
    holdout = {"reference": str(args.reference), "overall": overall, "per_language_trained_kinds": langs,
               "per_junk_kind": kinds, "labelled_set": labelled, "machine": hardware(),
               "commit": git_state(), "seconds": round(time.monotonic() - start)}
    (args.out / "holdout.json").write_text(json.dumps(holdout, indent=1) + "\n", encoding="utf-8")
    print("\n".join(["", *table_rows(overall, "holdout"), "", *table_rows(langs, "lang"), "",
                     *kind_rows(kinds), "",
                     *table_rows({"score 5 vs <= 1": labelled["score_5_vs_le_1"]}, "labelled set"),
                     f"Spearman {labelled['spearman']:.3f}",
                     f"{holdout['seconds']} s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
