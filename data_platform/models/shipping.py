"""Model files on executors: the driver ships them with ``SparkContext.addFile``; executors open their copy.

A rule set loaded on the driver names models by driver paths. Before a job hands the rule set to executors,
``ship_models`` registers every model file with Spark and replaces its path by a ``sparkfiles:<name>`` reference;
``local_path`` turns such a reference into the executor's own copy (``SparkFiles.get``). Plain paths pass through
unchanged, so the funnel also runs without Spark (rule checks, tests).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from data_platform.config import RuleSet

SHIPPED = "sparkfiles:"


def local_path(ref: str) -> str:
    """The file a model reference points to in this process (the executor's copy for shipped models)."""
    if not ref.startswith(SHIPPED):
        return ref
    from pyspark import SparkFiles

    return SparkFiles.get(ref[len(SHIPPED):])


def ship_models(sc, ruleset: RuleSet) -> RuleSet:
    """A copy of ``ruleset`` whose fastText and KenLM model paths refer to files shipped with ``sc.addFile``."""
    resources = dict(ruleset.resources)
    if "langid" in resources:
        resources["langid"] = {**resources["langid"], "path": ship(sc, resources["langid"]["path"])}
    resources["perplexity"] = {spec: {lang: ship(sc, path) for lang, path in models.items()}
                               for spec, models in resources.get("perplexity", {}).items()}
    return replace(ruleset, resources=resources)


def ship(sc, path: str) -> str:
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
