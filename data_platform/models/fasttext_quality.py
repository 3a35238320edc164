"""A DCLM-style fastText quality classifier: the probability of a "high quality" label per document, and training.

    python -m data_platform.models.fasttext_quality train --positive clean/ --negative junk.jsonl.gz --out q.ftz

DCLM (Li et al. 2024, "DataComp-LM") keeps the documents a supervised fastText model with word bigrams scores
highest on ``__label__hq``; the model here is trained the same way on whatever positives and negatives are given.
A document is one fastText line: newlines and runs of whitespace become single spaces (``document_line``, the same
for training and scoring); fastText splits it into words at spaces, nothing is lowercased.

Inputs are files, folders or globs of JSON Lines (``.jsonl``, ``.jsonl.gz``: the ``--text-field`` of every object),
parquet (that column) or plain text (``.txt``, ``.txt.gz``: one document a line, or blank-line separated blocks).
A seeded share of each class is held out; precision, recall and F1 at probability 0.5 and the AUC on it are
returned and written to ``<out>.metrics.json``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import random
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from data_platform.models.kenlm_train import TrainError, read_documents
from trainer.inputs import InputError, resolve

LABEL, OTHER = "__label__hq", "__label__lq"
SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet", ".txt", ".txt.gz")
THRESHOLD = 0.5
OPTIONS = {"label": "the positives' label", "other": "the negatives' label", "held_out": "share of each class held out",
           "epoch": "passes over the training data", "lr": "learning rate",
           "word_ngrams": "longest word n-gram, DCLM: 2", "dim": "vector size", "min_count": "rarest word kept",
           "minn": "shortest character n-gram, 0 for none", "maxn": "longest character n-gram",
           "bucket": "hash buckets of the n-grams", "cutoff": "words and n-grams --quantize keeps",
           "seed": "seed of the split, the shuffle and fastText", "thread": "fastText threads (1 is reproducible)",
           "text_field": "JSON field / parquet column"}


def document_line(text: str) -> str:
    """A document as one fastText line: every run of whitespace (newlines included) one space, ends stripped."""
    return " ".join(text.split())


@lru_cache(maxsize=4)
def load_model(path: str) -> Any:
    """The fastText model at ``path`` (or a file shipped to executors), loaded once per process."""
    import fasttext

    from data_platform.models.shipping import local_path

    local = local_path(path)
    if not Path(local).is_file():
        raise FileNotFoundError(f"fastText model {path} does not exist")
    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load-time warning on stderr
    try:
        return fasttext.load_model(local)
    except ValueError as err:
        raise ValueError(f"{path}: not a fastText model ({' '.join(str(err).split())})") from None


def label_probability(model: Any, texts: list[str], label: str) -> np.ndarray:
    """The model's probability of ``label`` for every text (float32), from all its labels' probabilities.

    fastText smooths each probability by 1e-5, so a certain one reads 1.00001. fasttext-wheel's ``predict`` with a
    list repeats the top probability for every label under numpy 2, so the C++ predictor is called per text (as
    fast: the cost is reading the text).
    """
    labels = model.get_labels()
    if label not in labels:
        raise ValueError(f"label {label!r} is not one of the model's labels: {', '.join(labels)}")
    out = np.zeros(len(texts), dtype=np.float32)
    for i, text in enumerate(texts):
        for prob, name in model.f.predict(document_line(text) + "\n", len(labels), 0.0, "replace"):
            if name == label:
                out[i] = prob
    return out


def evaluate(model: Any, positives: list[str], negatives: list[str], label: str = LABEL) -> dict[str, Any]:
    """Precision, recall and F1 of ``label`` at probability 0.5, of the other class below it, and the AUC."""
    scores = label_probability(model, positives + negatives, label)
    truth = np.r_[np.ones(len(positives), bool), np.zeros(len(negatives), bool)]
    return {"positives": len(positives), "negatives": len(negatives),
            "positive": _prf(scores >= THRESHOLD, truth), "negative": _prf(scores < THRESHOLD, ~truth),
            "auc": _auc(scores, truth)}


def _prf(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int((predicted & truth).sum())
    precision = tp / max(1, int(predicted.sum()))
    recall = tp / max(1, int(truth.sum()))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _auc(scores: np.ndarray, truth: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with tied scores given their mean rank); ``None`` for one class."""
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if not n_pos or not n_neg:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2  # 1-based mean rank of each distinct score
    return float((mean_rank[inverse][truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _read(specs: list[str], text_field: str) -> list[str]:
    """Every non-blank document the inputs name, as fastText lines."""
    lines = (document_line(d) for path in resolve(specs, SUFFIXES, "JSON Lines, parquet or text file")
             for d in read_documents(path, text_field))
    return [line for line in lines if line]


def _split(docs: list[str], held_out: float, seed: int) -> tuple[list[str], list[str]]:
    """(training, held-out) documents: a seeded ``held_out`` share is held out."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n = round(len(docs) * held_out)
    return [docs[i] for i in order[n:]], [docs[i] for i in order[:n]]


def train(positives: list[str], negatives: list[str], out: Path, *, label: str = LABEL, other: str = OTHER,
          held_out: float = 0.1, epoch: int = 5, lr: float = 0.1, word_ngrams: int = 2, dim: int = 64,
          min_count: int = 1, minn: int = 0, maxn: int = 0, bucket: int = 1_000_000, quantize: bool = False,
          cutoff: int = 100_000, seed: int = 0, thread: int = 1, text_field: str = "text") -> dict[str, Any]:
    """Train ``label`` (the ``positives`` inputs) against ``other`` (the ``negatives``), save to ``out``, evaluate on
    the held-out share of each class; the report is also written to ``<out>.metrics.json``.

    Defaults: DCLM's word bigrams and fastText's lr 0.1, epoch 5, softmax loss and no character n-grams (``minn``
    to ``maxn`` characters: they help unspaced scripts and garbled text, at some speed); dim 64 and 1M hash buckets
    (not fastText's 100 and 2M): the unquantised model is (buckets + words) x dim x 4 bytes, about 300 MB.
    ``quantize`` (product quantisation, the ``cutoff`` most important words and n-grams kept, retrained) makes it a
    few MB: name ``out`` ``.ftz`` then.
    """
    import fasttext

    for name in (label, other):
        if not name.startswith("__label__") or name.split() != [name]:
            raise ValueError(f"a fastText label is __label__ and a word without spaces, not {name!r}")
    if label == other:
        raise ValueError(f"the positive and negative labels are both {label!r}")
    pos_train, pos_test = _split(_read(positives, text_field), held_out, seed)
    neg_train, neg_test = _split(_read(negatives, text_field), held_out, seed)
    if not pos_train or not neg_train:
        raise ValueError("no training documents: both the positive and the negative inputs need text")
    examples = [f"{label} {d}" for d in pos_train] + [f"{other} {d}" for d in neg_train]
    random.Random(seed).shuffle(examples)  # one thread reads the file in order: classes interleaved
    params = {"epoch": epoch, "lr": lr, "wordNgrams": word_ngrams, "dim": dim, "minCount": min_count, "minn": minn,
              "maxn": maxn, "bucket": bucket, "seed": seed, "thread": thread}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fasttext_quality_") as tmp:
        data = Path(tmp) / "train.txt"
        data.write_text("".join(f"{e}\n" for e in examples), encoding="utf-8")
        model = fasttext.train_supervised(input=str(data), loss="softmax", verbose=0, **params)
        if quantize:
            model.quantize(input=str(data), qnorm=True, retrain=True, cutoff=cutoff, thread=thread, verbose=0)
    seconds = time.monotonic() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(out))
    report = {"model": str(out), "bytes": out.stat().st_size, "label": label, "other": other,
              "train": {"positives": len(pos_train), "negatives": len(neg_train)}, "held_out_share": held_out,
              "held_out": evaluate(model, pos_test, neg_test, label) if pos_test and neg_test else None,
              "hyperparameters": {**params, "quantize": quantize, "cutoff": cutoff if quantize else None},
              "train_seconds": round(seconds, 1)}
    Path(f"{out}.metrics.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


def print_report(report: dict[str, Any]) -> None:
    """The training report as a few lines."""
    t = report["train"]
    print(f"trained {report['label']} on {t['positives']:,} positives against {report['other']} on "
          f"{t['negatives']:,} negatives in {report['train_seconds']} s")
    if (h := report["held_out"]) is not None:
        auc = "n/a" if h["auc"] is None else f"{h['auc']:.4f}"
        print(f"held out {h['positives']:,} + {h['negatives']:,}: AUC {auc}")
        for side, name in (("positive", report["label"]), ("negative", report["other"])):
            m = h[side]
            print(f"  {name}: precision {m['precision']:.4f}  recall {m['recall']:.4f}  F1 {m['f1']:.4f}")
    print(f"model written to {report['model']} ({report['bytes']:,} bytes)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    example = """\
examples (dp-train-fasttext-quality is the same command as python -m data_platform.models.fasttext_quality):
  dp-train-fasttext-quality train --positive clean/*.jsonl.gz --negative junk.parquet --out quality.bin
  dp-train-fasttext-quality train --positive wiki.txt --negative crawl/ --out q.ftz --quantize --epoch 10"""
    parser = argparse.ArgumentParser(prog="python -m data_platform.models.fasttext_quality",
                                     description=__doc__.split("\n\n")[0], epilog=example,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("train", help="train a classifier on positive and negative documents",
                            description=__doc__.split("\n\n", 2)[2], epilog=example,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--positive", nargs="+", required=True, help="files, folders or globs of high-quality documents")
    p.add_argument("--negative", nargs="+", required=True, help="files, folders or globs of low-quality documents")
    p.add_argument("--out", required=True, type=Path, help="model file to write (.bin, or .ftz with --quantize)")
    defaults = {name: q.default for name, q in inspect.signature(train).parameters.items() if q.kind == q.KEYWORD_ONLY}
    for name, text in OPTIONS.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(defaults[name]), default=defaults[name],
                       help=f"{text} (default: %(default)s)")
    p.add_argument("--quantize", action="store_true", help="product-quantise the model to a few MB")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        options = {k: v for k, v in vars(args).items() if k not in ("command", "positive", "negative", "out")}
        report = train(args.positive, args.negative, args.out, **options)
    except (InputError, TrainError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
