"""scripts/ablation_bundle.py: versions packed into one xz stream come back row for row."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import ablation_bundle as ab  # noqa: E402


def _rows(folder: Path) -> set[tuple]:
    return {tuple(r[c] for c in ab.COLUMNS) for r in pq.read_table(folder).to_pylist()}


def test_pack_unpack_roundtrip_with_halves(tmp_path):
    docs = [{"id": f"d{i}", "text": f"page {i} " * 50, "lang": "en", "source": "dev/x"} for i in range(40)]
    cleaned = [{**d, "text": d["text"][:100]} if i % 3 == 0 else d for i, d in enumerate(docs[:30])]
    for name, version in (("raw", docs), ("cleaned", cleaned)):
        (tmp_path / name).mkdir()
        pq.write_table(pa.Table.from_pylist(version), tmp_path / name / "part-0.parquet")
    held = tmp_path / "heldout.jsonl.gz"
    with gzip.open(held, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "h1", "text": "held out", "lang": "de", "source": "heldout/y", "meta": {}}) + "\n")
    bundle = tmp_path / "b.jsonl.xz"
    counts = ab.pack({"raw": str(tmp_path / "raw"), "cleaned": str(tmp_path / "cleaned"), "heldout": str(held)},
                     ["cleaned"], bundle)
    assert counts["raw"] == 40 and counts["cleaned"] == 30 and counts["cleaned_half_a"] + counts["cleaned_half_b"] == 30
    assert ab.unpack(bundle, tmp_path / "out") == counts
    out = tmp_path / "out"
    assert _rows(out / "raw") == _rows(tmp_path / "raw") and _rows(out / "cleaned") == _rows(tmp_path / "cleaned")
    assert _rows(out / "heldout") == {("h1", "held out", "de", "heldout/y")}
    a, b = _rows(out / "cleaned_half_a"), _rows(out / "cleaned_half_b")
    assert a and b and not a & b and a | b == _rows(tmp_path / "cleaned")
    assert bundle.stat().st_size < sum(len(d["text"]) for d in docs) / 10  # shared and repeated text compressed away


def test_halves_of_an_unknown_version_are_refused(tmp_path, capsys):
    assert ab.main(["pack", "--version", f"raw={tmp_path}", "--halves", "cleaned", "--out", str(tmp_path / "b")]) == 2
    assert capsys.readouterr().err == "error: --halves cleaned: not a --version\n"
