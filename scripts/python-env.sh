#!/usr/bin/env bash
# The Python environment of the client suite and the fuzz run: the reference Open Inference Protocol
# clients (tritonclient, kserve), pytest and schemathesis, at the versions tests/python/requirements.txt
# and tests/python/constraints.txt pin, in .venv-oip at the repository root (git ignores it).
#
#   bash scripts/python-env.sh    create or update the environment; prints one line
#
# Idempotent: a stamp in the environment holds the hash of the two files, and while it matches and
# the interpreter still runs, nothing is installed. A changed pin reinstalls into the same environment.
#
# Environment (all optional):
#   DRIFTGATE_PYTHON               the interpreter that makes the environment (python3)
#   DRIFTGATE_PYTHON_ENV           where the environment goes (<repository>/.venv-oip)
#   DRIFTGATE_PYTHON_REQUIREMENTS  the requirements file, with a constraints.txt beside it
#                                  (<repository>/tests/python/requirements.txt); scripts/peers-env.sh
#                                  makes the benchmark's environment with it
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${DRIFTGATE_PYTHON:-python3}"
VENV="${DRIFTGATE_PYTHON_ENV:-$ROOT/.venv-oip}"
REQUIREMENTS="${DRIFTGATE_PYTHON_REQUIREMENTS:-$ROOT/tests/python/requirements.txt}"
CONSTRAINTS="$(dirname "$REQUIREMENTS")/constraints.txt"
# What the messages call the script: peers-env.sh passes its own name.
NAME="${DRIFTGATE_PYTHON_ENV_NAME:-python-env}"
STAMP="$VENV/.driftgate-requirements.sha256"

wanted="$(cat "$REQUIREMENTS" "$CONSTRAINTS" | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  echo "$NAME: $VENV is up to date"
  exit 0
fi

if ! command -v "$PYTHON" >/dev/null; then
  echo "$NAME: $PYTHON not found (set DRIFTGATE_PYTHON to a Python 3.10+ interpreter)" >&2
  exit 1
fi
# An environment whose interpreter no longer runs (Python upgraded or removed under it) is made anew.
if [[ -d "$VENV" ]] && ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi

started=$SECONDS
log="$VENV/pip-install.log"
# Output goes to a log, shown only when the install fails.
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -r "$REQUIREMENTS" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "$NAME: pip install failed (full log: $log)" >&2
  exit 1
fi
echo "$wanted" >"$STAMP"
echo "$NAME: installed ${REQUIREMENTS#"$ROOT"/} into $VENV in $((SECONDS - started)) s"
