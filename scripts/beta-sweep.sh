#!/usr/bin/env bash
# The KL-weight (β) sweep of docs/RESULTS.md: trains one MNIST whole-image VAE per β with the
# same epoch budget, then measures each one's clean accuracy cost and its oblivious and adaptive
# robustness with the shipped classifier. Resumable (training and evaluation both --resume).
#
#   scripts/beta-sweep.sh [beta...]        default: 0.01 0.1 1 4
# Environment: EPOCHS (5), IMAGES (500), ADAPTIVE_IMAGES (100), ADAPTIVE_EPS (0.1), SEEDS (1,2,3), OUT (runs/beta),
#              THREADS (all cores), VAEGUARD_BIN (.build/release/vaeguard).
set -euo pipefail
cd "$(dirname "$0")/.."
VG=${VAEGUARD_BIN:-.build/release/vaeguard}
source scripts/lib/binary.sh
BIN=$(private_binary "$VG" beta); trap 'rm -f "$BIN"' EXIT
EPOCHS=${EPOCHS:-5}
IMAGES=${IMAGES:-500}
ADAPTIVE_IMAGES=${ADAPTIVE_IMAGES:-100}
ADAPTIVE_EPS=${ADAPTIVE_EPS:-0.1}
SEEDS=${SEEDS:-1,2,3}
OUT=${OUT:-runs/beta}
THREADS_ARG=(); [ -n "${THREADS:-}" ] && THREADS_ARG=(--threads "$THREADS")
WORKERS_ARG=(); [ -n "${THREADS:-}" ] && WORKERS_ARG=(--workers "$THREADS")
mkdir -p "$OUT/models"

betas=("$@")
[ ${#betas[@]} -eq 0 ] && betas=(0.01 0.1 1 4)
for beta in "${betas[@]}"; do
  name=mnist-vae-beta-$beta
  log=$OUT/$name.log
  echo "== $name: train vae --dataset mnist --epochs $EPOCHS --kl-weight $beta" | tee -a "$log"
  "$BIN" train vae --dataset mnist --epochs "$EPOCHS" --kl-weight "$beta" --name "$name" \
    --output "$OUT/models" --checkpoints "$OUT/checkpoints" --resume "${THREADS_ARG[@]}" >>"$log" 2>&1
  vae=$OUT/models/$name.json
  echo "== $name: evaluate clean, oblivious, adaptive" | tee -a "$log"
  "$BIN" evaluate --dataset mnist --vae "$vae" --clean --clean-images 10000 --defenses vae,vae:mean \
    --seeds "$SEEDS" --output "$OUT/eval-$beta/clean" --resume "${WORKERS_ARG[@]}" >>"$log" 2>&1
  "$BIN" evaluate --dataset mnist --vae "$vae" --attack fgsm,ifgsm --eps 0.05,0.1,0.2,0.3 --defenses vae \
    --threat oblivious --images "$IMAGES" --seeds "$SEEDS" --output "$OUT/eval-$beta/oblivious" --resume \
    "${WORKERS_ARG[@]}" >>"$log" 2>&1
  # PGD-40: oblivious at both budgets; adaptive (through the VAE, EOT-10) at ADAPTIVE_EPS.
  "$BIN" evaluate --dataset mnist --vae "$vae" --attack pgd --eps 0.1,0.3 --defenses vae --threat oblivious \
    --eot 10 --images "$ADAPTIVE_IMAGES" --seeds 1 --output "$OUT/eval-$beta/adaptive" --resume \
    "${WORKERS_ARG[@]}" >>"$log" 2>&1
  "$BIN" evaluate --dataset mnist --vae "$vae" --attack pgd --eps "$ADAPTIVE_EPS" --defenses vae --threat adaptive \
    --eot 10 --images "$ADAPTIVE_IMAGES" --seeds 1 --output "$OUT/eval-$beta/adaptive" --resume \
    "${WORKERS_ARG[@]}" >>"$log" 2>&1
done
echo "results: $OUT/eval-*/*/summary.md"
