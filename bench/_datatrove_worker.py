"""Timing worker for datatrove's heuristic filter chain; started by ``bench/funnel.py``, not meant to be run by hand.

Runs under the separate datatrove virtual environment (``/work/bench-venv``), so it imports nothing from
``data_platform``. For every corpus file given (JSON lines ``{"id", "text", "lang", "source"}``, already
replicated by the caller) it applies

    GopherRepetitionFilter() -> GopherQualityFilter() -> C4QualityFilter() -> FineWebQualityFilter()

with default parameters, document by document through each filter's ``filter(doc)`` method; a document that a
filter drops does not reach the next filter, and ``C4QualityFilter`` rewrites ``doc.text`` (it removes lines) for
the filters after it, as in a datatrove pipeline. ``Document`` objects are built before the clock starts (fresh
ones for every pass, since C4 mutates them). The first ``--warmup`` documents are run once untimed (this also
loads spaCy's blank English tokenizer), then the whole corpus is timed. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

from datatrove.data import Document  # noqa: E402
from datatrove.pipeline.filters import (  # noqa: E402
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.pipeline.filters.base_filter import BaseFilter, get_filter_result  # noqa: E402

FILTER_NAMES = ("GopherRepetitionFilter", "GopherQualityFilter", "C4QualityFilter", "FineWebQualityFilter")


def make_chain() -> list[BaseFilter]:
    """The four filters with their default (English) parameters."""
    return [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter()]


def read_corpus(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def to_documents(records: list[dict]) -> list[Document]:
    return [Document(text=r["text"], id=r["id"], metadata={"lang": r["lang"], "source": r["source"]}) for r in records]


def run_chain(docs: list[Document], chain: list[BaseFilter]) -> tuple[Counter, list[float]]:
    """Filter every document; returns the outcome counts (None = kept) and the seconds spent in each filter."""
    outcomes: Counter = Counter()
    spent = [0.0] * len(chain)
    clock = time.perf_counter
    for doc in docs:
        outcome = None
        for i, flt in enumerate(chain):
            t0 = clock()
            keep, reason = get_filter_result(flt.filter(doc))
            spent[i] += clock() - t0
            if not keep:
                outcome = f"{FILTER_NAMES[i]}:{reason}"
                break
        outcomes[outcome] += 1
    return outcomes, spent


def bench_corpus(path: str, warmup: int, repeats: int) -> dict:
    records = read_corpus(path)
    n_bytes = sum(len(r["text"].encode("utf-8")) for r in records)
    chain = make_chain()
    run_chain(to_documents(records[:warmup]), chain)
    passes = []
    for _ in range(repeats):
        docs = to_documents(records)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        outcomes, spent = run_chain(docs, chain)
        passes.append({"wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0,
                       "per_filter_s": dict(zip(FILTER_NAMES, spent, strict=True))})
    return {
        "docs": len(records),
        "bytes": n_bytes,
        "passes": passes,
        "kept": outcomes[None],
        "drops": {k: v for k, v in outcomes.most_common() if k is not None},
    }


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("datatrove", "spacy", "pyarrow", "numpy")} | {"python": sys.version.split()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="+", help="NAME=PATH of a replicated corpus (JSON lines)")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    results = {}
    for spec in args.corpus:
        name, path = spec.split("=", 1)
        results[name] = bench_corpus(path, args.warmup, args.repeats)
    json.dump({"versions": versions(), "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
