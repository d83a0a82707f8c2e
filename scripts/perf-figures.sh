#!/usr/bin/env bash
# The quiet-machine figures of docs/PERFORMANCE.md (issue 21): `vaeguard info`, the benchmark
# rows with their share of 2-thread sgemm, server-side batch-1 latency, and the load test
# against the two-worker PyTorch peer. Run it on an idle machine (pause training jobs first:
# kill -STOP <pid>, then kill -CONT); every figure is only as good as the machine's quiet.
#
#   scripts/perf-figures.sh [OUT]     (default runs/perf-figures/<UTC time>)
# Needs: a release build (swift build -c release --product vaeguard), scripts/install-deps.sh
# --bench (wrk) and bench/peer/setup.sh (the peer's venv). Takes about 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/perf-figures/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
{ date -u; uptime; .build/release/vaeguard info; } > "$out/info.txt" 2>&1
scripts/bench.sh report --filter 'sgemm 1024x1024x1024|model: (mnist|cifar) classify vae b(1|32)$|purification: patch VAE (299x299|1024x1024) stride (4|8)$|model: (mnist|cifar) smoothing none n(100|1000) b100' \
  --repeats 5 --seconds 1 > "$out/perf-report.md" 2>&1
python3 scripts/batch1-latency.py .build/release/vaeguard 500 > "$out/batch1.md" 2>&1
uptime >> "$out/batch1.md"
DURATION=${DURATION:-10} OUT_DIR="$out/load" scripts/load.sh --peer > "$out/load.txt" 2>&1 || true
echo "figures in $out: info.txt, perf-report.md, batch1.md, load/*.md"
