#!/usr/bin/env bash
# Executes every notebook of this folder in a fresh, pinned virtual environment, writing the executed copies to a
# temporary folder (the committed notebooks keep no outputs). Fails when a notebook raises.
#
#   bash notebooks/run.sh            # venv in notebooks/.venv (reused when requirements.txt is unchanged)
#   NOTEBOOKS_VENV=/some/dir bash notebooks/run.sh
#   NOTEBOOKS_OUT=/some/dir bash notebooks/run.sh      # keep the executed notebooks there
#   ARENAPLAN_ROOT=/other/checkout bash notebooks/run.sh   # read results/ from another checkout
#
# Needs python3 (3.11 or newer) with the venv module, and a package registry for pip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="${NOTEBOOKS_VENV:-$here/.venv}"
python="${PYTHON:-python3}"

stamp="$venv/.requirements.txt"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$here/requirements.txt" "$stamp"; then
    echo "notebooks: creating the virtual environment in $venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
    "$venv/bin/python" -m ipykernel install --prefix "$venv" --name python3
    cp "$here/requirements.txt" "$stamp"
fi

if [[ -n "${NOTEBOOKS_OUT:-}" ]]; then
    out="$NOTEBOOKS_OUT" # keep the executed copies
    mkdir -p "$out"
else
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
fi
passed=0
failed=0
for notebook in "$here"/*.ipynb; do
    name="$(basename "$notebook")"
    echo "notebooks: executing $name"
    if ARENAPLAN_ROOT="${ARENAPLAN_ROOT:-$root}" JUPYTER_PATH="$venv/share/jupyter" MPLBACKEND=module://matplotlib_inline.backend_inline \
        "$venv/bin/python" -m jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
        --ExecutePreprocessor.kernel_name=python3 --output-dir "$out" "$notebook"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "notebooks: $name FAILED"
    fi
done
echo "notebooks: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
