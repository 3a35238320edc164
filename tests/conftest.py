"""Shared fixtures: one local Spark session per test run, the repo paths, batch builders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
DEFAULT_RULES = REPO / "rules" / "default.yaml"


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from data_platform.spark import build_session

    session = build_session("tests", "local[2]", {"spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()


@pytest.fixture
def one_torch_thread():
    """The CI machine's 2 cores are shared (Spark workers too); one torch thread avoids OpenMP oversubscription."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def ruleset():
    from data_platform.config import load_rules

    return load_rules(DEFAULT_RULES)


def raw_batch(docs: list[dict]):
    """A reader batch from dicts with keys of ``records.row`` (id required)."""
    from data_platform.io import records as R

    return R.to_batch([R.row(d.pop("id"), **d) for d in [dict(x) for x in docs]])


@pytest.fixture(scope="session")
def trainer_corpus(tmp_path_factory):
    """160 pages (8 languages, 4 sources) as visible text in 3 parquet shards, and a 300-token tokenizer."""
    import lxml.html
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from trainer import tokenizer as T

    root = tmp_path_factory.mktemp("corpus")
    pages = pd.read_json(SAMPLE / "pages.jsonl.gz", lines=True)
    pages["text"] = [lxml.html.fromstring(h.encode()).text_content()[:6000] for h in pages["html"]]
    docs = pages[["id", "text", "source", "lang"]]
    (root / "kept").mkdir()
    for i in range(3):
        part = docs.iloc[i::3].reset_index(drop=True)
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), root / "kept" / f"part-{i}.parquet")
    tok_path = root / "tokenizer.json"
    T.build(docs["text"], vocab_size=300).save(str(tok_path))
    return {"root": root, "docs": docs, "tokenizer": str(tok_path)}


@pytest.fixture(scope="session")
def trainer_tokens(trainer_corpus):
    """The corpus packed by language (3 held-out documents per language)."""
    from trainer.pack import pack

    out = trainer_corpus["root"] / "tokens"
    pack([str(trainer_corpus["root"] / "kept")], trainer_corpus["tokenizer"], out, channel="lang", heldout_docs=3,
         workers=2)
    return out
