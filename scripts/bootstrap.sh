#!/usr/bin/env bash
# Creates .venv from the committed lock file (requirements.lock) and installs this package into it.
# Needs only python3 (3.11+), pip and a C compiler (rectools-lightfm builds from source).
# Idempotent and quick when nothing changed: a stamp records the hash of the lock and pyproject.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
VENV=".venv"
STAMP="$VENV/.reco-bootstrap-stamp"
want="$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/reco" ]; then
  exit 0
fi

"$PY" - <<'PYCHECK'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"reco-pipeline needs Python 3.11 or newer; {sys.executable} is {sys.version.split()[0]}. "
             "Set PYTHON=/path/to/python3.11 and run again.")
PYCHECK

echo "[bootstrap] installing the locked dependencies into $VENV (first time: a few minutes)" >&2
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# uv installs the ~200 locked packages in seconds; pip would take minutes. It is pinned too.
"$VENV/bin/python" -m pip install --quiet "uv==0.13.9"
"$VENV/bin/python" -m uv pip install --python "$VENV/bin/python" --quiet -r requirements.lock
"$VENV/bin/python" -m uv pip install --python "$VENV/bin/python" --quiet --no-deps -e .
"$VENV/bin/python" -c "import lightfm, dagster, mlflow, great_expectations" \
  || { echo "[bootstrap] the environment is incomplete: an import failed (see above)" >&2; exit 1; }
echo "$want" > "$STAMP"
echo "[bootstrap] ready: $VENV" >&2
