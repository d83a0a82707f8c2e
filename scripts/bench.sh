#!/usr/bin/env bash
# VAEGuard benchmarks (see docs/PERFORMANCE.md).
#
#   scripts/bench.sh                          # whole ordo-one suite (≈15 min on 2 cores)
#   scripts/bench.sh --filter 'layer: cifar.*'  # a subset: a regex that must match the WHOLE name "<group>: <name>"
#   scripts/bench.sh --filter '(sgemm|purification): .*' --skip '.*1024x1024 stride.*'
#   scripts/bench.sh report [--filter REGEX]  # the markdown tables of docs/PERFORMANCE.md
#   scripts/bench.sh list                     # benchmark names
#
# Groups: sgemm, layer, model, purification, codec, http. Any other arguments go to
# `swift package benchmark` (e.g. --format markdown, --metric wallClock).
# Threads: VAEGUARD_BENCH_ENGINE_THREADS (engine parallelism, default = cores),
#          VAEGUARD_BENCH_BLAS_THREADS (OpenBLAS threads per call, default 1, as the server),
#          VAEGUARD_BENCH_BLOCK_ROWS (ComputeSettings.convBlockRows override).
# Builds into .build-bench (its own scratch path; package-benchmark is only pulled in when
# VAEGUARD_BENCHMARKS is set, so normal builds are unaffected).
set -euo pipefail
cd "$(dirname "$0")/.."
export VAEGUARD_BENCHMARKS=1
scratch=${VAEGUARD_BENCH_SCRATCH:-.build-bench}

echo "# $(date -u +%FT%TZ) on $(hostname); load: $(uptime | sed 's/.*load average/load average/')"
grep -m1 'model name' /proc/cpuinfo || true

case "${1:-run}" in
  report)
    shift
    swift build -c release --scratch-path "$scratch" --product VAEGuardPerfReport
    "$scratch/release/VAEGuardPerfReport" "$@"
    ;;
  list)
    swift package --scratch-path "$scratch" benchmark list --target VAEGuardBenchmarks
    ;;
  *)
    [[ "${1:-}" == run ]] && shift
    swift package --scratch-path "$scratch" --allow-writing-to-package-directory \
      benchmark run --target VAEGuardBenchmarks --no-progress "$@"
    ;;
esac
echo "# load after: $(uptime | sed 's/.*load average/load average/')"
