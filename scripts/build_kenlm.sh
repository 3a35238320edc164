#!/usr/bin/env bash
# Build KenLM's estimator (lmplz) and build_binary from the kenlm sdist on PyPI and install both into the
# repository's .venv/bin/ (where data_platform.models.kenlm_train looks for them; VENV=... for another
# environment). Idempotent: exits at once when both are there. Needs cmake, a C++ compiler and Boost
# (program_options, system, thread, test); on Debian the missing ones are installed with apt-get (as root).
# Prints one line per step; the build output goes to $STEP_LOG (default .venv/build_kenlm.log).
#
#   bash scripts/build_kenlm.sh            # KENLM_VERSION=0.3.0 JOBS=2 by default
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO/scripts/steps.sh"
BIN="${VENV:-$REPO/.venv}/bin"
KENLM_VERSION="${KENLM_VERSION:-0.3.0}"
JOBS="${JOBS:-2}"
TOOLS=(lmplz build_binary)

if [[ -x "$BIN/lmplz" && -x "$BIN/build_binary" ]]; then
  echo "lmplz and build_binary are already in $BIN"
  exit 0
fi
if [[ ! -x "$BIN/python" ]]; then
  echo "error: no virtual environment at ${BIN%/bin}: run bash scripts/install.sh first" >&2
  exit 1
fi
STEP_LOG="${STEP_LOG:-${BIN%/bin}/build_kenlm.log}"

# Debian packages for what is missing: compiler/cmake, Boost headers, compression headers (optional in KenLM,
# but then the models and corpora it reads cannot be compressed).
missing_packages() {
  command -v cmake >/dev/null || echo cmake
  command -v c++ >/dev/null || echo g++
  command -v make >/dev/null || echo make
  [[ -f /usr/include/boost/program_options.hpp ]] || echo libboost-program-options-dev
  [[ -f /usr/include/boost/system/error_code.hpp ]] || echo libboost-system-dev
  [[ -f /usr/include/boost/thread.hpp ]] || echo libboost-thread-dev
  [[ -f /usr/include/boost/test/unit_test.hpp ]] || echo libboost-test-dev
  [[ -f /usr/include/zlib.h ]] || echo zlib1g-dev
  [[ -f /usr/include/bzlib.h ]] || echo libbz2-dev
  [[ -f /usr/include/lzma.h ]] || echo liblzma-dev
}

mapfile -t PACKAGES < <(missing_packages)
if ((${#PACKAGES[@]})); then
  APT_LINE="apt-get update && apt-get install -y --no-install-recommends ${PACKAGES[*]}"
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "error: KenLM needs build dependencies; as root run: $APT_LINE" >&2
    exit 1
  fi
  apt_install() { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; }
  step "apt-get install ${PACKAGES[*]}" apt_install "${PACKAGES[@]}"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/build_kenlm.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
SRC="$WORK/kenlm-$KENLM_VERSION"

sdist() {  # --no-binary kenlm, not :all: (that would also build the build dependency cmake from source, ~10 min)
  "$BIN/python" -m pip download --disable-pip-version-check --no-deps --no-binary kenlm --dest "$WORK" \
    "kenlm==$KENLM_VERSION" && tar -xzf "$WORK/kenlm-$KENLM_VERSION.tar.gz" -C "$WORK"
}
step "kenlm $KENLM_VERSION sdist" sdist
step "cmake" cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=Release
step "make ${TOOLS[*]} (-j$JOBS)" make -C "$SRC/build" -j"$JOBS" "${TOOLS[@]}"
for tool in "${TOOLS[@]}"; do
  install -m 0755 "$SRC/build/bin/$tool" "$BIN/$tool"
done
echo "installed: $BIN/lmplz $BIN/build_binary"
