#!/usr/bin/env bash
# Serves the peer (bench/peer/app.py) with uvicorn on 127.0.0.1:$1 (default 8090) from the venv
# that bench/peer/setup.sh made. scripts/load.sh --peer starts it this way.
#
#   PEER_WORKERS=$(nproc) PEER_TORCH_THREADS= PEER_INFER_CONCURRENCY=1 bench/peer/run.sh [port]
#
# PEER_WORKERS (default: the number of cores, as a Python deployment would run it) uvicorn worker
# processes; each gets cores/PEER_WORKERS torch threads
# unless PEER_TORCH_THREADS says otherwise. uvloop + httptools (uvicorn[standard]), no access log.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${PEER_VENV:-/tmp/vaeguard-peer-venv}"
[ -x "$venv/bin/uvicorn" ] || { echo "no peer venv at $venv: run bench/peer/setup.sh" >&2; exit 1; }
export PEER_WORKERS="${PEER_WORKERS:-$(nproc)}"
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the work tree
cd "$here"
exec "$venv/bin/uvicorn" app:app --host 127.0.0.1 --port "${1:-8090}" --workers "$PEER_WORKERS" \
  --loop uvloop --http httptools --no-access-log --log-level warning
