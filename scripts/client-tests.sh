#!/usr/bin/env bash
# Drives a running VAEGuard with real third-party clients (tritonclient[http], kserve,
# prometheus_client's parser): Tests/clients, run by `make test` and so by CI.
#   scripts/client-tests.sh [pytest args]      VAEGUARD_BIN=path overrides .build/debug/vaeguard
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
scripts/python-env.sh
export VAEGUARD_BIN="${VAEGUARD_BIN:-$ROOT/.build/debug/vaeguard}"
[ -x "$VAEGUARD_BIN" ] || { echo "client-tests: $VAEGUARD_BIN not built (swift build)" >&2; exit 1; }
exec "${VAEGUARD_PY_VENV:-$ROOT/.build/py}/bin/python" -m pytest -p no:cacheprovider -q Tests/clients "$@"
