"""The thresholds notebook runs top to bottom against a real run (nbclient, the venv's python3 kernel)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from data_platform.filter_run import FilterRun, run_filter
from tests.conftest import REPO, SAMPLE

NOTEBOOK = REPO / "notebooks" / "thresholds.ipynb"


@pytest.fixture(scope="module")
def run_dir(spark, ruleset, tmp_path_factory):
    out = tmp_path_factory.mktemp("notebook") / "out"
    run_filter(spark, FilterRun([str(SAMPLE / "synthetic.jsonl")], str(out), ruleset))
    return out


@pytest.mark.e2e
def test_thresholds_notebook_runs(run_dir, monkeypatch):
    monkeypatch.setenv("RUN_DIR", str(run_dir))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    what_if = next(c for c in nb.cells if "what_if" in c.metadata.get("tags", []))
    printed = "".join(o.get("text", "") for o in what_if.outputs)
    assert "char_repetition" in printed and "newly dropped" in printed
