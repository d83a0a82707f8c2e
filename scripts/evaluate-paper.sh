#!/usr/bin/env bash
# Runs the complete evaluation grid of docs/RESULTS.md for MNIST and CIFAR-10 (the paper's
# oblivious FGSM / I-FGSM grids with JPEG and VAE defenses, then the adaptive table), with the
# exact commands recorded there. Resumable: every step passes --resume, so the script can be
# stopped and restarted and only the missing cells run.
#
#   scripts/evaluate-paper.sh [step...]   steps: mnist-clean mnist-paper mnist-adaptive mnist-cw mnist-stride2 mnist-nooverlap
#                                                cifar10-clean cifar10-paper cifar10-adaptive cifar10-cw cifar10-stride2
#                                                cifar10-nooverlap
# Each step writes its own folder, $OUT/<step>: a folder's run.json pins images, models and
# attack settings, and --resume refuses to mix in cells computed with others.
# Environment: IMAGES (default 500), ADAPTIVE_IMAGES (100), CW_IMAGES (100), SEEDS (1,2,3),
#              OUT (runs/eval), VAEGUARD_BIN (.build/release/vaeguard), WORKERS (all cores),
#              PGD_STEPS (40), EOT (10), CW_THREAT (oblivious,adaptive).
set -euo pipefail
cd "$(dirname "$0")/.."
VG=${VAEGUARD_BIN:-.build/release/vaeguard}
source scripts/lib/binary.sh
BIN=$(private_binary "$VG" eval); trap 'rm -f "$BIN"' EXIT
IMAGES=${IMAGES:-500}
ADAPTIVE_IMAGES=${ADAPTIVE_IMAGES:-100}
CW_IMAGES=${CW_IMAGES:-100}
CW_THREAT=${CW_THREAT:-oblivious,adaptive}
PGD_STEPS=${PGD_STEPS:-40}
EOT=${EOT:-10}
SEEDS=${SEEDS:-1,2,3}
OUT=${OUT:-runs/eval}
WORKERS_ARG=()
[ -n "${WORKERS:-}" ] && WORKERS_ARG=(--workers "$WORKERS")
mkdir -p "$OUT"

run() {
  local name=$1; shift
  echo "== $name: vaeguard $*" | tee -a "$OUT/$name.log"
  nice -n 10 "$BIN" evaluate "$@" --resume "${WORKERS_ARG[@]}" >>"$OUT/$name.log" 2>&1
}

have() { [ -f "models/$1.json" ]; }

PAPER_DEFENSES=none,jpeg:10,jpeg:23,jpeg:50,jpeg:70,vae

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(mnist-clean mnist-paper mnist-adaptive mnist-cw cifar10-clean cifar10-paper cifar10-adaptive cifar10-cw)
for step in "${steps[@]}"; do
  ds=${step%%-*}
  extra=()
  patch=patch-vae-gray-16; [ "$ds" = cifar10 ] && patch=patch-vae-rgb-8
  have "$ds-classifier" && have "$ds-vae" || { echo "skip $step: models/$ds-classifier.json or models/$ds-vae.json missing" >&2; continue; }
  patchdefs=""; have "$patch" && patchdefs=,patch-vae
  case $step in
    *-clean)
      # All 10,000 test images. (K-sample averaging, vae:k=5, only on MNIST: 5× the VAE cost.)
      defs=$PAPER_DEFENSES,vae:mean; [ "$ds" = mnist ] && defs=$defs,vae:k=5
      [ -n "$patchdefs" ] && defs=$defs,patch-vae,patch-vae:mean
      run "$step" --dataset "$ds" --clean --defenses "$defs" --seeds "$SEEDS" --output "$OUT/$step" ;;
    *-stride2)
      # The patch VAE at stride = patch/4 (4x the patches): compute traded for clean accuracy.
      stride=4; [ "$ds" = cifar10 ] && stride=2
      run "$step" --dataset "$ds" --clean --defenses "patch-vae:stride=$stride" --seeds 1 --output "$OUT/$step" ;;
    *-nooverlap)
      # The patch VAE at stride = patch (no overlap: a quarter of the patches of the default
      # stride = patch/2, 4x less compute on large images), the default beside it in the same run.
      stride=16; [ "$ds" = cifar10 ] && stride=8
      run "$step" --dataset "$ds" --clean --defenses "patch-vae,patch-vae:stride=$stride" --seeds 1 --output "$OUT/$step" ;;
    *-paper)
      run "$step" --dataset "$ds" --attack fgsm,ifgsm --eps paper --defenses "$PAPER_DEFENSES$patchdefs" \
        --threat oblivious --images "$IMAGES" --seeds "$SEEDS" --output "$OUT/$step" ;;
    *-adaptive)
      # The standard budgets: MNIST ε = 0.1 and 0.3, CIFAR-10 ε = 8/255. `adaptive` = through
      # each VAE with EOT, BPDA through JPEG.
      eps=0.1,0.3; [ "$ds" = cifar10 ] && eps=0.0313725
      run "$step" --dataset "$ds" --attack pgd --eps "$eps" --defenses "none,jpeg:23,vae$patchdefs" \
        --threat oblivious,adaptive --pgd-steps "$PGD_STEPS" --eot "$EOT" --images "$ADAPTIVE_IMAGES" --seeds 1 \
        --output "$OUT/$step" ;;
    *-cw)
      # CW-L2 (3 binary-search steps × 50 Adam steps; adaptive: EOT through the VAEs, BPDA for JPEG).
      run "$step" --dataset "$ds" --attack cw --eps paper --defenses "none,jpeg:23,vae$patchdefs" \
        --threat "$CW_THREAT" --cw-binary-steps 3 --cw-steps 50 --eot "$EOT" --images "$CW_IMAGES" --seeds 1 \
        --output "$OUT/$step" ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
echo "summaries: $OUT/*/summary.md, plots in $OUT/*/plots/"
