# Sourced by install.sh and build_kenlm.sh. `step LABEL COMMAND...` runs COMMAND with its output appended to
# $STEP_LOG and prints one line, "LABEL ... 12 s"; when COMMAND fails it prints the log's tail and exits with
# COMMAND's status (a step inside a step, e.g. build_kenlm.sh under install.sh, leaves the tail to the outer one).
# COMMAND runs where `set -e` is off (as in any `||` list), so a shell function passed in chains its commands with
# && or `|| return`.
step() {
  local label=$1 start=$SECONDS rc=0
  shift
  printf '%s ... ' "$label"
  printf '\n== %s: %s\n' "$label" "$*" >>"$STEP_LOG"
  STEP_INNER=1 "$@" >>"$STEP_LOG" 2>&1 </dev/null || rc=$?
  if ((rc == 0)); then
    echo "$((SECONDS - start)) s"
    return 0
  fi
  echo "failed (exit $rc)"
  if [[ -z ${STEP_INNER:-} ]]; then
    echo "error: '$label' failed; the end of $STEP_LOG (full output there):" >&2
    tail -n 25 "$STEP_LOG" | sed 's/^/  /' >&2
  fi
  exit "$rc"
}
