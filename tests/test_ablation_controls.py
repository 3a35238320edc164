"""The ablation method's controls (issue 17): scripts/ablation_controls.sh end to end, and its check on known
comparisons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import ablation_controls as ac  # noqa: E402


def _comparison(path: Path, verdicts: dict[str, dict[str, str]]) -> Path:
    deltas = {name: {"metrics": {m: {"verdict": v} for m, v in per.items()}} for name, per in verdicts.items()}
    path.write_text(json.dumps({"deltas": deltas}))
    return path


def test_check_passes_only_the_expected_verdicts(tmp_path):
    noise = {"loss": "within noise", "bits_per_byte": "within noise", "choice_accuracy": "within noise"}
    good = _comparison(tmp_path / "pos.json", {"clean": {"loss": "better", "bits_per_byte": "better"}})
    null = _comparison(tmp_path / "null.json", {"half_b": noise})
    assert ac.check(good, null) == []
    weak = _comparison(tmp_path / "weak.json", {"clean": {"loss": "within noise"}})
    assert ac.check(weak, null) == ["positive control: clean loss is 'within noise', not 'better'"]
    lucky = _comparison(tmp_path / "lucky.json", {"half_b": {**noise, "choice_accuracy": "better"}})
    assert ac.check(good, lucky) == ["negative control: half_b choice_accuracy is 'better', not 'within noise'"]
    assert ac.main(["check", str(weak), str(null)]) == 1


def test_versions_split_the_labelled_clean_documents(tmp_path):
    counts = ac.build(REPO / "data" / "dev_corpus", REPO / "scripts" / "control_noise.yaml", tmp_path)
    clean = pq.read_table(tmp_path / "clean").to_pylist()
    raw = ac.read_jsonl(sorted((REPO / "data" / "dev_corpus" / "raw").glob("*.jsonl.gz")))
    assert {r["id"] for r in clean} == {r["id"] for r in raw if r["meta"]["noise"] == "clean"}
    halves = [{r["id"] for r in pq.read_table(tmp_path / h).to_pylist()} for h in ("half_a", "half_b")]
    assert not halves[0] & halves[1] and halves[0] | halves[1] == {r["id"] for r in clean}
    assert 0.4 < len(halves[0]) / len(clean) < 0.6
    noisy = pq.read_table(tmp_path / "noisy").to_pylist()
    assert counts["noisy"] == len(noisy) > 2 * len(clean)  # copies at the heavy rates
    clean_text = {r["id"]: r["text"] for r in clean}
    changed = sum(r["id"] not in clean_text or clean_text[r["id"]] != r["text"] for r in noisy)
    assert changed / len(noisy) > 0.8  # most noisy records are junk pages, insertions or copies


@pytest.mark.e2e
def test_controls_script_positive_better_negative_within_noise():
    """The whole script: tiny models on CPU, 3 seeds, one epoch; the verdicts the issue asks for."""
    done = subprocess.run(["bash", "scripts/ablation_controls.sh"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHON": sys.executable}, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    positive = ac.verdicts(REPO / "out" / "ablations" / "control" / "comparison.json")
    assert positive["clean"]["loss"] == "better" and positive["clean"]["bits_per_byte"] == "better"
    null = ac.verdicts(REPO / "out" / "ablations" / "null" / "comparison.json")
    assert all(null["half_b"][m] == "within noise" for m in ("loss", "bits_per_byte", "choice_accuracy"))
    result = json.loads((REPO / "out" / "ablations" / "control" / "comparison.json").read_text())
    assert max(v["epochs"] for v in result["versions"].values()) <= 1.0  # one epoch at most, as planned
