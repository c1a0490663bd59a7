#!/usr/bin/env bash
# One command to rebuild the engagement model: creates ranking/.venv if missing, installs the pinned
# requirements, simulates the impression log and trains, evaluates and exports the model (see train.py).
# Deterministic: fixed seeds, so a rerun reproduces models/ and test/fixtures/ byte for byte.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3.11}"
VENV="$HERE/.venv"

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "[train] creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

# Single-threaded BLAS and fixed hash seed: identical numbers on every run and machine.
export PYTHONHASHSEED=0 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
"$VENV/bin/python" "$HERE/simulate.py"
"$VENV/bin/python" "$HERE/train.py"
