"""Train a KenLM n-gram model for one language with KenLM's own estimator (``lmplz``) and ``build_binary``.

    python -m data_platform.models.kenlm_train --input corpus.txt.gz --lang en --output models/kenlm \\
        [--order 3] [--prune "0 0 1"] [--text-field text]

Inputs: plain text (``.txt``, ``.txt.gz``: documents separated by blank lines, or one per line when a file has
no blank line), JSON Lines (``.jsonl``, ``.jsonl.gz``: the ``--text-field`` of every object) or parquet (its
``--text-field`` column). Every line of a document is normalised and tokenised with ``lm_text.lm_line`` (as
``kenlm_model`` scores it) into a temporary corpus, one sentence a line; ``lmplz`` estimates
``<output>/<lang>.arpa`` from it and ``build_binary`` writes ``<output>/<lang>.binary`` (8-bit quantised trie).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

from data_platform.models.lm_text import lm_tokens

TOOLS = ("lmplz", "build_binary")
BUILD_HINT = "run `bash scripts/build_kenlm.sh`"
BINARY_ARGS = ("-q", "8", "-b", "8", "-a", "255", "trie")


class TrainError(Exception):
    """A problem reported as one line and exit code 2."""


@dataclass
class CorpusStats:
    documents: int = 0
    lines: int = 0
    tokens: int = 0


def find_tool(name: str) -> Path:
    """``name`` on PATH, else next to this Python (the virtual environment's ``bin/``)."""
    found = shutil.which(name)
    if found:
        return Path(found)
    local = Path(sys.executable).parent / name
    if local.is_file():
        return local
    raise TrainError(f"KenLM's {name} was not found on PATH or in {local.parent}: {BUILD_HINT}")


def _open_text(path: Path) -> IO[str]:
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _text_documents(path: Path) -> Iterator[str]:
    """Blank-line separated blocks; in a file without a blank line every line is a document."""
    with _open_text(path) as f:
        block: list[str] = []
        paragraphs = False
        for line in f:
            if line.strip():
                block.append(line)
                continue
            paragraphs = True
            if block:
                yield "".join(block)
                block = []
    if paragraphs:
        yield from ["".join(block)] if block else []
    else:
        yield from block


def _jsonl_documents(path: Path, field: str) -> Iterator[str]:
    with _open_text(path) as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    value = json.loads(line).get(field)
                except (json.JSONDecodeError, AttributeError) as err:
                    raise TrainError(f"{path}:{number}: not a JSON object ({err})") from None
                if isinstance(value, str):
                    yield value


def _parquet_documents(path: Path, field: str) -> Iterator[str]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    if field not in file.schema_arrow.names:
        raise TrainError(f"{path}: no column {field!r} (columns: {', '.join(file.schema_arrow.names)})")
    for batch in file.iter_batches(columns=[field]):
        yield from (t for t in batch.column(0).to_pylist() if isinstance(t, str))


def read_documents(path: Path, field: str) -> Iterator[str]:
    """The documents of one input file, by its extension."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".txt"):
        return _text_documents(path)
    if name.endswith((".jsonl", ".json")):
        return _jsonl_documents(path, field)
    if name.endswith(".parquet"):
        return _parquet_documents(path, field)
    raise TrainError(f"{path}: unknown input type (expected .txt[.gz], .jsonl[.gz] or .parquet)")


def write_corpus(inputs: list[Path], lang: str, field: str, out: IO[str]) -> CorpusStats:
    """Every tokenised, non-empty line of every document, one a line; the counts."""
    stats = CorpusStats()
    for path in inputs:
        for doc in read_documents(path, field):
            stats.documents += 1
            for line in doc.splitlines():
                tokens = lm_tokens(line, lang)
                if tokens:
                    out.write(" ".join(tokens) + "\n")
                    stats.lines += 1
                    stats.tokens += len(tokens)
    return stats


def run_tool(cmd: list[str], stdin: IO[str] | None = None, stdout: IO[bytes] | None = None) -> None:
    """Run a KenLM command; its stderr becomes the one-line error when it fails."""
    result = subprocess.run(cmd, stdin=stdin, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE)
    if result.returncode != 0:
        lines = [ln for ln in result.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        raise TrainError(f"{Path(cmd[0]).name} failed (exit {result.returncode}): "
                         + (lines[-1] if lines else "no message"))


def ngram_counts(arpa: Path) -> dict[int, int]:
    """``{order: count}`` from an ARPA file's ``\\data\\`` header."""
    counts: dict[int, int] = {}
    with open(arpa, encoding="utf-8") as f:
        for line in f:
            match = re.match(r"ngram (\d+)=(\d+)", line)
            if match:
                counts[int(match.group(1))] = int(match.group(2))
            elif counts and not line.strip():
                break
    return counts


def train(inputs: list[Path], lang: str, output: Path, order: int, prune: list[int], field: str) -> dict:
    """Corpus -> ``<lang>.arpa`` -> ``<lang>.binary`` in ``output``; returns the summary."""
    lmplz, build_binary = (find_tool(name) for name in TOOLS)
    missing = [str(p) for p in inputs if not p.is_file()]
    if missing:
        raise TrainError(f"input not found: {', '.join(missing)}")
    output.mkdir(parents=True, exist_ok=True)
    arpa, binary = output / f"{lang}.arpa", output / f"{lang}.binary"
    with tempfile.TemporaryDirectory(prefix="kenlm_train_") as tmp:
        corpus = Path(tmp) / "corpus.txt"
        with open(corpus, "w", encoding="utf-8") as out:
            stats = write_corpus(inputs, lang, field, out)
        if not stats.tokens:
            raise TrainError(f"no text found in {', '.join(map(str, inputs))}")
        cmd = [str(lmplz), "-o", str(order), "--discount_fallback", "-S", "20%", "-T", tmp]
        cmd += ["--prune", *map(str, prune)] if prune else []
        with open(corpus, encoding="utf-8") as src, open(arpa, "wb") as dst:
            run_tool(cmd, stdin=src, stdout=dst)
    run_tool([str(build_binary), *BINARY_ARGS, str(arpa), str(binary)])
    return {"lang": lang, "documents": stats.documents, "lines": stats.lines, "tokens": stats.tokens,
            "order": order, "prune": prune, "ngrams": ngram_counts(arpa),
            "arpa_bytes": arpa.stat().st_size, "binary_bytes": binary.stat().st_size,
            "arpa": str(arpa), "binary": str(binary)}


def print_summary(summary: dict) -> None:
    ngrams = ", ".join(f"{n}-grams {c:,}" for n, c in summary["ngrams"].items())
    print(f"{summary['lang']}: {summary['documents']:,} documents, {summary['lines']:,} lines, "
          f"{summary['tokens']:,} tokens; order {summary['order']}, prune {summary['prune'] or 'none'}")
    print(f"  {ngrams}")
    print(f"  {summary['arpa']}  {summary['arpa_bytes']:,} bytes")
    print(f"  {summary['binary']}  {summary['binary_bytes']:,} bytes")


def parse_prune(value: str) -> list[int]:
    """``"0 0 1"`` -> ``[0, 0, 1]``."""
    try:
        return [int(v) for v in value.split()]
    except ValueError:
        raise TrainError(f'--prune takes integers, e.g. "0 0 1", not {value!r}') from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m data_platform.models.kenlm_train",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog="""\
example (dp-train-kenlm is the same command as python -m data_platform.models.kenlm_train):
  dp-train-kenlm --input corpus.txt.gz --lang en --output models/kenlm --order 3 --prune '0 0 1'""")
    parser.add_argument("--input", nargs="+", required=True, type=Path, help=".txt[.gz], .jsonl[.gz], .parquet")
    parser.add_argument("--lang", required=True, help="language code; names the model files")
    parser.add_argument("--output", required=True, type=Path, help="folder for <lang>.arpa and <lang>.binary")
    parser.add_argument("--order", type=int, default=3, help="n-gram order (default: %(default)s)")
    parser.add_argument("--prune", default="", help='count thresholds per order, e.g. "0 0 1" (lmplz --prune)')
    parser.add_argument("--text-field", default="text", help="JSON field / parquet column (default: text)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        prune = parse_prune(args.prune)
        summary = train(args.input, args.lang, args.output, args.order, prune, args.text_field)
    except TrainError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
