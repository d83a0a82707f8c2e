#!/usr/bin/env bash
# Regenerates the pictures and tables of docs/GALLERY.md from the shipped models:
# starts vaeguard, then runs scripts/make-figures.py against it (needs numpy and Pillow).
#   scripts/make-figures.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"; cd "$root"
source scripts/lib/serve.sh
vaeguard_start
python3 scripts/make-figures.py --base "$VG_BASE" --out docs/figures --markdown docs/GALLERY.md
