#!/usr/bin/env bash
# Abuse replay (issue 16; docs/SECURITY.md, docs/RELIABILITY.md): starts a private copy of the
# release build on 127.0.0.1 with the shipped configuration and replays each abuse class
# (scripts/lib/abuse.py): the cost of one request, decoded-pixel memory, large OIP JSON and
# multipart bodies, silent connections, unread pipelined responses, partial bodies, and
# SIGTERM under load. Per run it prints RSS before/peak/after, descriptors before/after and
# the slowest /healthz answer during the run; it fails if /healthz took 1 s or more, answered
# anything but 200, or RSS went above 1 GB. Bounded: about 3 minutes, local traffic only.
#
#   swift build -c release --product vaeguard && scripts/abuse.sh [runs=cost,memory,...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"; cd "$root"
runs=${1:-cost,memory,oip-json,multipart,slots,pipeline,bodies,sigterm}
source scripts/lib/serve.sh
out="runs/reliability"; mkdir -p "$out"; stamp=$(date -u +%Y%m%dT%H%M%SZ)
ulimit -n 4096 2>/dev/null || true   # 1040 silent client sockets plus the server's own
vaeguard_start
echo "== vaeguard pid $VG_PID on port $VG_PORT; runs: $runs"
python3 scripts/lib/abuse.py --port "$VG_PORT" --pid "$VG_PID" --runs "$runs" --json "$out/abuse-$stamp.json"
echo "report: $out/abuse-$stamp.json"
