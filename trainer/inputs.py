"""Finding the parquet shards a run reads, and reading their documents in batches.

An input is a parquet file, a folder (every ``*.parquet`` below it, e.g. a job's ``kept/``), a glob, or a
``manifest.json`` holding ``{"shards": [...]}`` (or a bare list) of paths relative to the manifest, or of
entries ``{"path": ...}`` as the pipeline's shards stage writes them.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class InputError(ValueError):
    """The inputs name nothing readable, or lack a column the trainer needs."""


PARQUET = (".parquet",)


def _expand(item: str, suffixes: tuple[str, ...]) -> list[Path]:
    path = Path(item)
    if path.suffix == ".json" and path.is_file():
        listed = json.loads(path.read_text(encoding="utf-8"))
        shards = listed.get("shards") if isinstance(listed, dict) else listed
        if not isinstance(shards, list):
            raise InputError(f"{item}: a manifest holds a list of shards or {{\"shards\": [...]}}")
        names = [s["path"] if isinstance(s, dict) else s for s in shards]  # pipeline manifests hold entries
        return [p for name in names for p in _expand(str(path.parent / name), suffixes)]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.name.endswith(suffixes) and not p.name.startswith(("_", ".")))
    if path.is_file():
        return [path]
    return sorted(Path(p) for p in glob.glob(item, recursive=True) if p.endswith(suffixes))


def resolve(inputs: list[str], suffixes: tuple[str, ...] = PARQUET, what: str = "parquet file") -> list[Path]:
    """Every file the inputs name (parquet, or those ending in ``suffixes``), once, in a stable order."""
    files: dict[Path, None] = {}
    for item in inputs:
        found = _expand(item, suffixes)
        if not found:
            raise InputError(f"{item}: no {what} found")
        files.update(dict.fromkeys(p.resolve() for p in found))
    return list(files)


def read_batches(path: Path, columns: list[str], batch_rows: int = 4096) -> Iterator[pa.RecordBatch]:
    """Record batches of the named columns."""
    pf = pq.ParquetFile(path)
    missing = [c for c in columns if c not in pf.schema_arrow.names]
    if missing:
        raise InputError(f"{path}: no column {', '.join(missing)} (has {', '.join(pf.schema_arrow.names)})")
    yield from pf.iter_batches(batch_size=batch_rows, columns=columns)


def read_columns(path: Path, columns: list[str], batch_rows: int = 4096) -> Iterator[dict[str, list]]:
    """Batches of the named columns as Python lists."""
    for batch in read_batches(path, columns, batch_rows):
        yield batch.to_pydict()


def read_jsonl_gz(path: Path) -> Iterator[dict]:
    """The records of a gzip JSON Lines file (blank lines skipped)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def stable_hash(text: str) -> int:
    """A 64-bit hash that is the same in every process and run (Python's ``hash`` is salted)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
