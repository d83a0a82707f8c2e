#!/usr/bin/env bash
# Creates the peer's virtual environment (default /tmp/vaeguard-peer-venv, or $PEER_VENV) with
# the pinned packages of bench/peer/requirements.txt. Idempotent: a venv that already imports
# everything at the pinned versions is kept.
#
#   bench/peer/setup.sh            then: scripts/load.sh --peer
#
# torch: requirements.txt pins the CPU-only wheel (torch==X+cpu). PyPI itself serves only
# the CUDA build for Linux x86_64 (it pulls ~3 GB of nvidia-* packages), and the CPU wheel
# index of the PyTorch project is not reachable from these machines; pip finds the +cpu wheel
# where the machine provides it through a find-links folder (pip config here: /opt/wheels).
# Without it this script installs the same version from PyPI (CUDA build; inference still
# runs on the CPU) and says so.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${PEER_VENV:-/tmp/vaeguard-peer-venv}"
req="$here/requirements.txt"
torch_pin="$(grep -E '^torch==' "$req" | head -1)"
torch_version="${torch_pin#torch==}"

check() {
  "$venv/bin/python" - "$req" <<'PY' 2>/dev/null
import sys, importlib.metadata as md
want = {}
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if "==" in line:
        name, ver = line.split("==")
        want[name.split("[")[0].lower()] = ver
for name, ver in want.items():
    have = md.version(name)
    if name == "torch":   # the +cpu local tag, or the same version without it (fallback)
        ok = have.split("+")[0] == ver.split("+")[0]
    else:
        ok = have == ver
    if not ok:
        sys.exit(f"{name} {have} != {ver}")
import torch, fastapi, uvicorn, PIL, numpy  # noqa: F401
PY
}

if [ -x "$venv/bin/python" ] && check; then
  echo "peer venv ready: $venv ($("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
  exit 0
fi

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
if "$venv/bin/pip" install --quiet -r "$req"; then
  :
else
  echo "setup.sh: $torch_pin is not available here (no local CPU wheel); installing torch==${torch_version%%+*}" \
       "from PyPI instead: the CUDA build, several GB of nvidia-* dependencies. Inference still runs on the CPU." >&2
  grep -vE '^torch==' "$req" > "$venv/requirements-no-torch.txt"
  "$venv/bin/pip" install --quiet -r "$venv/requirements-no-torch.txt" "torch==${torch_version%%+*}"
fi
check || { echo "setup.sh: the venv at $venv does not match $req" >&2; exit 1; }
"$venv/bin/python" -c 'import torch; print("peer venv ready:", "'"$venv"'", "torch", torch.__version__, "threads", torch.get_num_threads())'
