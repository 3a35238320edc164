"""Digests of the sample's job outputs, to prove a refactoring changed no output.

    python scripts/output_digest.py run OUT            # filter job + sample pipeline into OUT, then digest.json
    python scripts/output_digest.py compare A.json B.json

``run`` writes ``OUT/digest.json``: for every parquet dataset under OUT (kept/, dropped/, clusters/, embeddings/,
shards ...) its row count, columns and a SHA-256 of its rows in a canonical order, and for every JSON file its
content without run-specific values (elapsed times, absolute paths, timestamps). ``compare`` prints what differs
and exits 1 when anything does. Parquet file names and Spark's part-file UUIDs are not compared: rows are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
# Values that differ between any two runs of the same code: timings, wall-clock stamps, and the byte hashes of
# parquet files (Spark's writer makes different bytes for the same rows in the same order; rows are compared).
VOLATILE = {"elapsed_s", "started", "finished", "created", "created_at", "timestamp", "seconds", "wall_s",
            "docs_per_s", "stage_seconds", "duration_s", "sha256"}


def run_jobs(out: Path) -> None:
    """The filter job and the full sample pipeline, as a user runs them (spark-submit entry points)."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    jobs = [["jobs/filter.py", "--output", str(out / "filter")],
            ["jobs/pipeline.py", "--config", "pipelines/sample.yaml", "--output", str(out / "pipeline")]]
    for job in jobs:
        subprocess.run([sys.executable, *job], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)


def _rows_digest(table: pa.Table) -> str:
    rows = [json.dumps(r, sort_keys=True, default=str, ensure_ascii=False) for r in table.to_pylist()]
    h = hashlib.sha256()
    for r in sorted(rows):
        h.update(r.encode())
        h.update(b"\n")
    return h.hexdigest()


def _strip(value: Any, root: str) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, root) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v, root) for v in value]
    if isinstance(value, str):
        return value.replace(root, "<OUT>").replace(str(REPO), "<REPO>")
    return value


def digest(out: Path) -> dict[str, Any]:
    """Per parquet dataset (a folder holding parquet files) and per JSON file under ``out``."""
    result: dict[str, Any] = {}
    for folder in sorted({p.parent for p in out.rglob("*.parquet")}):
        files = sorted(folder.glob("*.parquet"))
        table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
        result[str(folder.relative_to(out))] = {"rows": table.num_rows, "columns": table.column_names,
                                                "sha256": _rows_digest(table)}
    for path in sorted(out.rglob("*.json")):
        if path.name == "digest.json":
            continue
        result[str(path.relative_to(out))] = _strip(json.loads(path.read_text()), str(out.resolve()))
    return result


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Keys whose digests differ, or that exist on one side only."""
    return [f"{k}: {'missing in A' if k not in a else 'missing in B' if k not in b else 'differs'}"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/output_digest.py", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the jobs into OUT and write OUT/digest.json")
    r.add_argument("out", type=Path)
    c = sub.add_parser("compare", help="compare two digest.json files")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "run":
        run_jobs(args.out.resolve())
        (args.out / "digest.json").write_text(json.dumps(digest(args.out.resolve()), indent=1, sort_keys=True))
        print(f"wrote {args.out / 'digest.json'}")
        return 0
    diffs = compare(json.loads(args.a.read_text()), json.loads(args.b.read_text()))
    print("\n".join(diffs) if diffs else "identical")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
