"""Files on executors: the driver ships them with ``SparkContext.addFile``; executors open their copy.

A rule set loaded on the driver names the files its rules need on executors (models) by driver paths, each
wrapped in ``ExecutorFile`` by the rule's loader. Before a job hands the rule set to executors, ``ship_files``
registers every such file with Spark and replaces its path by a ``sparkfiles:<name>`` reference; ``local_path``
turns such a reference into the executor's own copy (``SparkFiles.get``). Plain paths pass through unchanged, so
the funnel also runs without Spark (rule checks, tests).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark import SparkContext

    from data_platform.config import RuleSet

SHIPPED = "sparkfiles:"


class ExecutorFile(str):
    """A path in a rule's resources that executors open themselves: ``ship_files`` sends the file with the job."""


def local_path(ref: str) -> str:
    """The file a reference points to in this process (the executor's copy for shipped files)."""
    if not ref.startswith(SHIPPED):
        return ref
    from pyspark import SparkFiles

    return SparkFiles.get(ref[len(SHIPPED):])


def ship_files(sc: SparkContext, ruleset: RuleSet) -> RuleSet:
    """A copy of ``ruleset`` whose ``ExecutorFile`` paths refer to files shipped with ``sc.addFile``."""
    return replace(ruleset, resources=_shipped(sc, ruleset.resources))


def _shipped(sc: SparkContext, value: Any) -> Any:
    """``value`` with every ``ExecutorFile`` inside it (in dicts, lists and tuples) shipped."""
    if isinstance(value, ExecutorFile):
        return ExecutorFile(ship(sc, value))
    if isinstance(value, dict):
        return {k: _shipped(sc, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_shipped(sc, v) for v in value)
    return value


def ship(sc: SparkContext, path: str) -> str:
    """Register one file with Spark; returns the reference executors resolve with ``local_path``."""
    link = _unique_alias(path)
    sc.addFile(link.as_uri())  # a file:// URI: Spark keeps the link's name instead of resolving it
    return SHIPPED + link.name


def _unique_alias(path: str) -> Path:
    """A symlink to ``path`` named after a hash of its real path, size and mtime. Spark ships files by name and
    ignores a name added twice, so two models called ``en.binary``, or one retrained in place, must not share
    a name within a long-lived session."""
    real = os.path.realpath(path)
    st = os.stat(real)
    digest = hashlib.sha1(f"{real}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / "data_platform-models"
    folder.mkdir(exist_ok=True)
    link = folder / f"{digest}-{Path(real).name}"
    if not link.exists():
        try:
            link.symlink_to(real)
        except FileExistsError:  # another job made the same link meanwhile
            pass
    return link
