#!/usr/bin/env bash
# The Python environment of the training benchmark's PyTorch comparison (npm run bench:train --
# --torch): torch at the version bench/torch/requirements.txt and bench/torch/constraints.txt pin, in
# .venv-torch at the repository root (git ignores it). Only for the benchmark: driftgate never runs
# Python.
#
#   bash scripts/torch-env.sh    create or update the environment; prints one line
#
# scripts/python-env.sh does the work, with these files and this place: idempotent (nothing is
# installed while the stamp of the two files matches and the interpreter runs), a changed pin
# reinstalls into the same environment. The first install downloads about 2.5 GB: PyPI's Linux wheel
# of torch is the CUDA build and brings the nvidia-* runtime packages with it.
#
# Environment (all optional):
#   DRIFTGATE_PYTHON      the interpreter that makes the environment (python3; 3.11 is what is pinned)
#   DRIFTGATE_TORCH_ENV   where the environment goes (<repository>/.venv-torch)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRIFTGATE_PYTHON_ENV="${DRIFTGATE_TORCH_ENV:-$ROOT/.venv-torch}" \
  DRIFTGATE_PYTHON_REQUIREMENTS="$ROOT/bench/torch/requirements.txt" \
  DRIFTGATE_PYTHON_ENV_NAME=torch-env \
  exec bash "$ROOT/scripts/python-env.sh"
