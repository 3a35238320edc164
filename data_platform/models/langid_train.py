"""Train a supervised fastText language-id model and report held-out accuracy and per-language F1.

    python -m data_platform.models.langid_train --input labelled.parquet --output models/langid/my.bin

Input: parquet or JSON Lines with ``text`` and ``lang`` columns (e.g. a filter run's ``kept/``), or fastText's own
format (``__label__xx text`` per line, ``.txt``). Documents are split into training and held-out sets first
(so no document contributes to both), then cut into lines of at least 40 characters (``--min-chars``), each one example.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from data_platform.langcodes import normalize_lang


@dataclass
class Example:
    lang: str
    text: str


def read_labelled(path: Path, text_field: str = "text", lang_field: str = "lang") -> list[Example]:
    """Documents with their language from parquet, JSON Lines or fastText-format text."""
    name = path.name.lower()
    if name.endswith(".parquet") or path.is_dir():
        import pyarrow.dataset as ds

        table = ds.dataset(str(path), format="parquet").to_table(columns=[text_field, lang_field])
        rows: Iterable[tuple[Any, Any]] = zip(table.column(text_field).to_pylist(),
                                              table.column(lang_field).to_pylist(), strict=True)
    elif name.endswith((".jsonl", ".jsonl.gz", ".json")):
        import gzip

        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            recs = [json.loads(line) for line in f if line.strip()]
        rows = ((r.get(text_field), r.get(lang_field)) for r in recs)
    else:
        rows = _fasttext_lines(path)
    return [Example(code, text) for text, lang in rows if text and (code := normalize_lang(lang))]


def _fasttext_lines(path: Path):
    for line in path.read_text(encoding="utf-8").splitlines():
        label, _, text = line.partition(" ")
        if label.startswith("__label__"):
            yield text, label


def examples(doc: Example, min_chars: int) -> list[Example]:
    """One example per line of at least ``min_chars`` characters (extracted text has a paragraph per line)."""
    return [Example(doc.lang, line.strip()) for line in doc.text.splitlines() if len(line.strip()) >= min_chars]


def split(docs: list[Example], held_out: float, seed: int) -> tuple[list[Example], list[Example]]:
    docs = sorted(docs, key=lambda d: (d.lang, d.text))
    random.Random(seed).shuffle(docs)
    n = max(1, int(len(docs) * held_out))
    return docs[n:], docs[:n]


def evaluate(model, examples: list[Example]) -> dict:
    """Accuracy and per-language precision, recall and F1 of top-1 predictions."""
    labels, _ = model.predict([e.text for e in examples], k=1)
    predicted = [normalize_lang(ls[0]) for ls in labels]
    truth = [e.lang for e in examples]
    tp: Counter[str] = Counter()
    fp: Counter[str | None] = Counter()  # a prediction outside the known codes counts as None
    fn: Counter[str] = Counter()
    for t, p in zip(truth, predicted, strict=True):
        if t == p:
            tp[t] += 1
        else:
            fp[p] += 1
            fn[t] += 1
    per_lang = {}
    for lang in sorted(set(truth)):
        prec = tp[lang] / (tp[lang] + fp[lang]) if tp[lang] + fp[lang] else 0.0
        rec = tp[lang] / (tp[lang] + fn[lang]) if tp[lang] + fn[lang] else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_lang[lang] = {"precision": prec, "recall": rec, "f1": f1, "support": tp[lang] + fn[lang]}
    return {"examples": len(examples), "accuracy": sum(tp.values()) / max(1, len(examples)), "per_language": per_lang}


def train(docs: list[Example], output: Path, held_out: float = 0.2, seed: int = 0, min_chars: int = 40,
          epoch: int = 25, dim: int = 16, minn: int = 1, maxn: int = 4, lr: float = 0.5) -> dict:
    """Train on the training documents' paragraphs, save to ``output``, evaluate on the held-out ones."""
    import fasttext

    train_docs, test_docs = split(docs, held_out, seed)
    train_ex = [p for d in train_docs for p in examples(d, min_chars)]
    test_ex = [p for d in test_docs for p in examples(d, min_chars)]
    if not train_ex or not test_ex:
        raise ValueError("not enough labelled text: need text lines on both sides of the split")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.writelines(f"__label__{e.lang} {e.text}\n" for e in train_ex)
    model = fasttext.train_supervised(input=f.name, epoch=epoch, dim=dim, minn=minn, maxn=maxn, lr=lr,
                                      wordNgrams=1, seed=seed, thread=1, verbose=0)
    Path(f.name).unlink()
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(output))
    report = evaluate(model, test_ex)
    report.update({"train_examples": len(train_ex), "languages": sorted({e.lang for e in train_ex}),
                   "model": str(output)})
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m data_platform.models.langid_train",
                                description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog="""\
example (dp-train-langid is the same command as python -m data_platform.models.langid_train):
  dp-train-langid --input labelled.parquet --output models/langid/mine.bin""")
    p.add_argument("--input", required=True, type=Path, help="parquet file/folder, .jsonl[.gz] or fastText .txt")
    p.add_argument("--output", required=True, type=Path, help="model file to write (.bin)")
    p.add_argument("--held-out", type=float, default=0.2, help="share of documents kept out for evaluation")
    p.add_argument("--epoch", type=int, default=25)
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-chars", type=int, default=40, help="shortest line used as an example")
    p.add_argument("--text-field", default="text")
    p.add_argument("--lang-field", default="lang")
    args = p.parse_args(argv)
    if not args.input.exists():
        print(f"error: input not found: {args.input}", file=sys.stderr)
        return 2
    docs = read_labelled(args.input, args.text_field, args.lang_field)
    try:
        report = train(docs, args.output, args.held_out, args.seed, args.min_chars, args.epoch, args.dim)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"held-out accuracy {report['accuracy']:.3f} on {report['examples']} lines "
          f"({report['train_examples']} training lines, {len(report['languages'])} languages)")
    for lang, m in report["per_language"].items():
        print(f"  {lang:5s} F1 {m['f1']:.3f}  precision {m['precision']:.3f}  recall {m['recall']:.3f}  "
              f"n={m['support']}")
    print(f"model written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
