#!/usr/bin/env bash
# Overload test (docs/RELIABILITY.md): measures the MNIST classify capacity C with wrk, then
# offers 4 x C requests/s open-loop (bench/loadgen.py) and checks that the excess is shed
# with fast 503s, that accepted requests keep a bounded p99, that memory stays bounded, and
# that the service recovers: a run at C/2 afterwards must see only 200s.
#
#   scripts/overload.sh [factor=4] [seconds=30]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"; cd "$root"
factor=${1:-4}; seconds=${2:-30}
source scripts/lib/serve.sh
out="runs/reliability"; mkdir -p "$out"; stamp=$(date -u +%Y%m%dT%H%M%SZ)
vaeguard_start

lua=$(mktemp /tmp/overload.XXXXXX.lua)
cat >"$lua" <<LUA
local f = io.open("$root/docs/examples/digit.png", "rb"); local png = f:read("*all"); f:close()
wrk.method = "POST"; wrk.body = png; wrk.headers["Content-Type"] = "image/png"
LUA
echo "== capacity: wrk -c 16, 15 s, POST /v1/classify?model=mnist"
cap=$(wrk -t 2 -c 16 -d 15s -s "$lua" "$VG_BASE/v1/classify?model=mnist" | awk '/Requests\/sec/ {print int($2)}')
rm -f "$lua"
echo "capacity ≈ $cap requests/s"
rate=$((cap * factor))

echo "== overload: $rate requests/s offered (${factor}x) for ${seconds}s"
python3 bench/loadgen.py --port "$VG_PORT" --pid "$VG_PID" --rate "$rate" --duration "$seconds" \
  --connections 256 --processes 2 --mix classify=1 --json "$out/overload-$stamp.json" | tee "$out/overload-$stamp.txt"
sleep 5
echo "== recovery: $((cap / 2)) requests/s for 15 s (503 is unexpected here)"
python3 bench/loadgen.py --port "$VG_PORT" --pid "$VG_PID" --rate "$((cap / 2))" --duration 15 \
  --connections 64 --mix classify=1 --no-shedding --json "$out/recovery-$stamp.json" | tee "$out/recovery-$stamp.txt"
echo "capacity=$cap factor=$factor reports: $out/overload-$stamp.json $out/recovery-$stamp.json"
