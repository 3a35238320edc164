#!/usr/bin/env bash
# The ablation method's positive and negative controls on the small dev corpus (issue 17): CPU, about 4 minutes.
#
#   bash scripts/ablation_controls.sh
#
# 1. scripts/ablation_controls.py versions: from data/dev_corpus (committed), the clean documents, the same under
#    heavy noise (scripts/control_noise.yaml), two random halves of the clean ones, the held-out set.
# 2. python -m trainer.ablate --config ablations/control.yaml: noisy vs clean, tiny model, 3 seeds, one epoch
#    -> out/ablations/control/comparison.json (clean must be "better" on held-out loss)
# 3. python -m trainer.ablate --config ablations/null.yaml: half_a vs half_b, the same settings
#    -> out/ablations/null/comparison.json (must be "within noise" on loss, bits per byte, choice accuracy)
# 4. scripts/ablation_controls.py check: exit 1 when a control did not come out so.
# Each run starts from scratch (earlier outputs of these three folders are removed: a control checks the code as it
# is now). PYTHON picks the interpreter (default: .venv's).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # one torch thread per process is faster on a small shared CPU
rm -rf out/ablations/controls_data out/ablations/control out/ablations/null
"$PYTHON" scripts/ablation_controls.py versions
"$PYTHON" -m trainer.ablate --config ablations/control.yaml
"$PYTHON" -m trainer.ablate --config ablations/null.yaml
"$PYTHON" scripts/ablation_controls.py check out/ablations/control/comparison.json out/ablations/null/comparison.json
