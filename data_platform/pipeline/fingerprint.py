"""Fingerprints: what a stage's output depends on, hashed, so a rerun can tell a stale stage from a valid one.

A stage's fingerprint hashes its kind, its validated configuration — with the *contents* of every file the
configuration references (rule file, word lists, URL lists, models) — and the previous stage's fingerprint, which
in turn starts from the input fingerprint (file names with sizes and modification times, or their contents).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from data_platform.io.hadoop_fs import filesystem, jvm

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def canonical(value: Any) -> Any:
    """A JSON-able, order-independent description of a configuration object.

    Absolute paths of existing files become their content hash, so editing a rule file or a word list changes
    the fingerprint while moving the checkout does not. Private attributes (``_cache``) are skipped.
    """
    if isinstance(value, BaseModel):
        return canonical(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted(canonical(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, re.Pattern):
        return {"pattern": value.pattern, "flags": value.flags}
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str) and os.path.isabs(value) and os.path.isfile(value):
        return {"file": os.path.basename(value), "sha256": sha256_file(value)}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "__dict__"):
        return {"type": type(value).__name__, **canonical({k: v for k, v in vars(value).items()
                                                             if not k.startswith("_")})}
    return repr(value)


def digest(value: Any) -> str:
    """sha256 of the canonical JSON of ``value``."""
    blob = json.dumps(canonical(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def input_fingerprint(spark: SparkSession, files: list[str], mode: str) -> dict[str, Any]:
    """The input files (sorted) with path, size and modification time, or — ``mode: content`` — name, size and
    content hash (the same data copied elsewhere keeps its fingerprint)."""
    entries = []
    for name in sorted(files):
        fs, path = filesystem(spark, name)
        status = fs.getFileStatus(path)
        if mode == "content":  # independent of where the files lie: name, size, content
            entry = {"name": path.getName(), "size": status.getLen(), "sha256": _hadoop_sha256(spark, name)}
        else:
            entry = {"path": name, "size": status.getLen(), "mtime": status.getModificationTime()}
        entries.append(entry)
    return {"mode": mode, "files": entries, "sha256": digest(entries)}


def _hadoop_sha256(spark: SparkSession, name: str) -> str:
    """Hash a file read through Hadoop's FileSystem (any scheme the cluster knows)."""
    fs, path = filesystem(spark, name)
    stream = fs.open(path)
    try:
        return jvm(spark).org.apache.commons.codec.digest.DigestUtils.sha256Hex(stream)
    finally:
        stream.close()
