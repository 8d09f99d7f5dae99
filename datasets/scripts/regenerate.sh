#!/usr/bin/env bash
# Regenerates the whole zoo: models, TFLM goldens and arena figures, model cards. Needs python3 and a package
# registry (TensorFlow is about 1.6 GB; keep the venv out of the repository). Run from anywhere:
#   bash datasets/scripts/regenerate.sh [VENV_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
datasets="$(cd "$here/.." && pwd)"
venv="${1:-$datasets/../target/zoo-venv}"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
rm -rf "$datasets/golden"
"$venv/bin/python" "$here/make_zoo.py" "$datasets/models"
"$venv/bin/python" "$here/tflm_oracle.py" "$datasets"
"$venv/bin/python" "$here/cards.py" "$datasets"
