#!/usr/bin/env bash
# Soak test (docs/RELIABILITY.md): mixed valid and invalid traffic, open-loop, for 10 minutes
# by default, sampling the server's resident memory and open file descriptors every 5 s.
# Every reply is checked against the status its request should get; anything else is
# reported as unexpected.
#
#   scripts/soak.sh [seconds=600] [rate=200]
#   MIX=classify=40,cifar=30,large=2,... scripts/soak.sh     other request mixes (kinds: bench/loadgen.py)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"; cd "$root"
seconds=${1:-600}; rate=${2:-200}
source scripts/lib/serve.sh
out="runs/reliability"; mkdir -p "$out"; stamp=$(date -u +%Y%m%dT%H%M%SZ)
vaeguard_start
echo "== soak: $rate requests/s for ${seconds}s, mixed valid/invalid"
python3 bench/loadgen.py --port "$VG_PORT" --pid "$VG_PID" --rate "$rate" --duration "$seconds" --sample-interval 5 \
  --connections 64 --no-shedding \
  --mix "${MIX:-classify=60,purify=10,health=5,corrupt=8,badquery=7,gif=5,notfound=5}" \
  --json "$out/soak-$stamp.json" | tee "$out/soak-$stamp.txt"
python3 - "$out/soak-$stamp.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["samples"]
if s:
    n = len(s); q = max(1, n // 4)
    early = sum(x["rss_mb"] for x in s[:q]) / q; late = sum(x["rss_mb"] for x in s[-q:]) / q
    print(f"RSS first quarter mean {early:.1f} MB, last quarter mean {late:.1f} MB, max {max(x['rss_mb'] for x in s):.1f} MB")
    print(f"open fds first {s[0]['fds']}, last {s[-1]['fds']}, max {max(x['fds'] for x in s)}")
print("unexpected statuses:", r["unexpected"] or "none", "client errors:", r["client_errors"] or "none")
PY
