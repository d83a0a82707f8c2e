#!/usr/bin/env bash
# Regenerates the pictures and tables of docs/GALLERY.md from the shipped models:
# starts vaeguard, then runs scripts/make-figures.py against it (needs numpy and Pillow: the test
# virtual environment of scripts/install-deps.sh --test has both; $PYTHON overrides).
#   scripts/make-figures.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"; cd "$root"
source scripts/lib/serve.sh
vaeguard_start
PY=${PYTHON:-.build/py/bin/python}; [ -x "$PY" ] || PY=python3
"$PY" scripts/make-figures.py --base "$VG_BASE" --out docs/figures --markdown docs/GALLERY.md
