#!/usr/bin/env bash
# The dev-corpus ablation on one GPU (issue 17): unpack the carried versions, then ablations/dev.yaml (raw vs
# cleaned) and its negative control ablations/dev_null.yaml (two random halves of cleaned) side by side on the one
# GPU (a ~50M model leaves most of an H200 idle), then the results into RESULTS.
#
#   bash bench/ablation_dev_gpu.sh BUNDLE RESULTS [EXTRA_ABLATION_YAML...]
#
# BUNDLE: scripts/ablation_bundle.py pack's file (ablations/dev.yaml's header has the command). The null control
# starts once the main ablation has trained the shared tokenizer. Further YAMLs (e.g. a per-stage ablation) run
# after both. RESULTS gets each ablation's comparison.md and curves.png (<name>_comparison.md, ...) and runs.tar.gz:
# every comparison.json, every run's config.json, metrics.jsonl and final.json, the logs, nvidia-smi's report.
set -euo pipefail
bundle=$1 results=$2
shift 2
PYTHON=${PYTHON:-python3}
mkdir -p "$results" logs
nvidia-smi > logs/nvidia-smi.txt 2>&1 || true
start=$SECONDS
"$PYTHON" scripts/ablation_bundle.py unpack "$bundle" --out out/dev_versions
echo "unpacked in $((SECONDS - start)) s"
"$PYTHON" -m trainer.ablate --config ablations/dev.yaml > logs/dev.log 2>&1 &
main=$!
until [[ -d out/ablations/dev/tokens ]] || ! kill -0 "$main" 2>/dev/null; do sleep 2; done
echo "tokenizer trained at $((SECONDS - start)) s"
"$PYTHON" -m trainer.ablate --config ablations/dev_null.yaml > logs/dev_null.log 2>&1 &
null=$!
rc=0
wait "$main" || rc=$?
wait "$null" || rc=$?
echo "dev and dev_null done at $((SECONDS - start)) s (exit $rc)"
for extra in "$@"; do
  "$PYTHON" -m trainer.ablate --config "$extra" > "logs/$(basename "$extra" .yaml).log" 2>&1 || rc=$?
  echo "$extra done at $((SECONDS - start)) s"
done
for out in out/ablations/*/; do
  name=$(basename "$out")
  for f in comparison.md curves.png; do
    [[ -f $out/$f ]] && cp "$out/$f" "$results/${name}_$f"
  done
done
tar -czf "$results/runs.tar.gz" logs $(find out/ablations -name comparison.json -o -name config.json -o -name metrics.jsonl -o -name final.json)
tail -n 40 logs/*.log
exit "$rc"
