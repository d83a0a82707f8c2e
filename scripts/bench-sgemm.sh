#!/usr/bin/env bash
# sgemm GFLOPS of a plain C program on OpenBLAS, for each kernel this CPU can run, next to
# what `vaeguard info` reports: the check that VAEGuard's kernel choice is the best safe one.
#   scripts/bench-sgemm.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-2}
out=$(mktemp -d)
cc -O2 bench/sgemm.c $(pkg-config --cflags --libs openblas) -o "$out/sgemm"
flags=$(grep -m1 '^flags' /proc/cpuinfo)
kernels=("")                                  # the library's own detection
[[ $flags == *avx2* ]] && kernels+=(Haswell)
[[ $flags == *avx2* && $(grep -m1 vendor_id /proc/cpuinfo) == *AMD* ]] && kernels+=(Zen)
[[ $flags == *avx512f* && $flags == *avx512bw* && $flags == *avx512vl* ]] && kernels+=(SkylakeX Cooperlake)
for k in "${kernels[@]}"; do
  for threads in 1 2; do
    if [ -z "$k" ]; then env -u OPENBLAS_CORETYPE "$out/sgemm" 1024 "$secs" "$threads" | sed 's/^/library default: /'
    else OPENBLAS_CORETYPE=$k "$out/sgemm" 1024 "$secs" "$threads" | sed "s/^/OPENBLAS_CORETYPE=$k: /"; fi
  done
done
echo "--- vaeguard info (same machine, same run)"
"${VAEGUARD_BIN:-.build/release/vaeguard}" info --seconds "$((secs * 2))" | grep -E "blas kernel|sgemm"
rm -rf "$out"
