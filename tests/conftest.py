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
