"""Paths as users write them in YAML files: URIs and absolute paths as given, relative paths against a folder."""

from __future__ import annotations

import re
from pathlib import Path

URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def resolve(base: Path, path: str) -> str:
    """``path`` as given when it is a URI (``s3a://``) or absolute, else relative to ``base`` (made absolute)."""
    if URI.match(path) or Path(path).is_absolute():
        return path
    return str((base / path).resolve())
