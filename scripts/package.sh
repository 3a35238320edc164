#!/usr/bin/env bash
# Package the library for spark-submit on a cluster (standalone, YARN, Kubernetes, managed Spark):
#   dist/data_platform.zip   the data_platform package, for --py-files (driver and executors import it from there)
# Model files (fastText, KenLM) need no packaging: the jobs read the ones the rule file names on the driver and
# ship them to the executors with SparkContext.addFile.
# Usage: bash scripts/package.sh [OUT_DIR]   (default: dist/)
# Third-party packages (pyarrow, trafilatura, fasttext, kenlm ...) must exist on the executors: the same
# virtual environment on every node, a container image, or a packed venv (see docs/cluster.md).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mkdir -p "${1:-$repo/dist}" && cd "${1:-$repo/dist}" && pwd)"
python="${PYTHON:-python3}"
"$python" - "$repo" "$out/data_platform.zip" <<'PY'
"""Zip data_platform/ (sources and package data, no bytecode) with paths relative to the repo root."""
import sys
import zipfile
from pathlib import Path

repo, target = Path(sys.argv[1]), Path(sys.argv[2])
files = sorted(p for p in (repo / "data_platform").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
    for path in files:
        zf.write(path, path.relative_to(repo).as_posix())
print(f"{target} ({len(files)} files)")
PY
