#!/usr/bin/env bash
# Creates (or refreshes) the Python environment the client tests use: a venv at .build/py
# with the pinned packages of Tests/clients/requirements.txt (tritonclient[http], kserve,
# prometheus_client, pytest, schemathesis). Reinstalls only when that file changes.
# Called by `scripts/install-deps.sh --test`; prints the venv's python on its last line.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VAEGUARD_PY_VENV:-$ROOT/.build/py}"
REQ="$ROOT/Tests/clients/requirements.txt"
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"

if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "python-env: $VENV up to date"
  exit 0
fi
PYTHON="${PYTHON:-$(command -v python3 || true)}"
[ -n "$PYTHON" ] || { echo "python-env: no python3 (scripts/install-deps.sh --test installs it)" >&2; exit 1; }
echo "python-env: installing $(grep -cv '^\s*\(#\|$\)' "$REQ") pinned packages into $VENV (first time: several minutes)"
start=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ"
echo "$want" > "$stamp"
echo "python-env: ready in $(( $(date +%s) - start )) s"
