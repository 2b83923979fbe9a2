#!/usr/bin/env bash
# The Python environment of the serving-peers benchmark (npm run bench:peers): KServe's Python model
# server, MLServer and onnxruntime at the versions bench/peers/requirements.txt and
# bench/peers/constraints.txt pin, in .venv-peers at the repository root (git ignores it).
#
#   bash scripts/peers-env.sh    create or update the environment; prints one line
#
# scripts/python-env.sh does the work, with these files and this place: idempotent (nothing is
# installed while the stamp of the two files matches and the interpreter runs), a changed pin
# reinstalls into the same environment.
#
# Environment (all optional):
#   DRIFTGATE_PYTHON      the interpreter that makes the environment (python3; 3.11 is what is pinned)
#   DRIFTGATE_PEERS_ENV   where the environment goes (<repository>/.venv-peers)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRIFTGATE_PYTHON_ENV="${DRIFTGATE_PEERS_ENV:-$ROOT/.venv-peers}" \
  DRIFTGATE_PYTHON_REQUIREMENTS="$ROOT/bench/peers/requirements.txt" \
  DRIFTGATE_PYTHON_ENV_NAME=peers-env \
  exec bash "$ROOT/scripts/python-env.sh"
