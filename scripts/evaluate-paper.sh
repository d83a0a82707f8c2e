#!/usr/bin/env bash
# Runs the complete evaluation grid of docs/RESULTS.md for MNIST and CIFAR-10 (the paper's
# oblivious FGSM / I-FGSM grids with JPEG and VAE defenses, then the adaptive table), with the
# exact commands recorded there. Resumable: every step passes --resume, so the script can be
# stopped and restarted and only the missing cells run.
#
#   scripts/evaluate-paper.sh [step...]   steps: mnist-clean mnist-paper mnist-adaptive mnist-cw
#                                                cifar10-clean cifar10-paper cifar10-adaptive cifar10-cw
# Environment: IMAGES (default 1000), ADAPTIVE_IMAGES (200), SEEDS (1,2,3), OUT (runs/eval),
#              VAEGUARD_BIN (.build/release/vaeguard), WORKERS (all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
VG=${VAEGUARD_BIN:-.build/release/vaeguard}
BIN=$(mktemp /tmp/vaeguard-eval.XXXXXX); cp "$VG" "$BIN"; chmod +x "$BIN"; trap 'rm -f "$BIN"' EXIT
IMAGES=${IMAGES:-1000}
ADAPTIVE_IMAGES=${ADAPTIVE_IMAGES:-200}
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
  patch=patch-vae-gray-8; [ "$ds" = cifar10 ] && patch=patch-vae-rgb-8
  have "$ds-classifier" && have "$ds-vae" || { echo "skip $step: models/$ds-classifier.json or models/$ds-vae.json missing" >&2; continue; }
  have "$patch" && extra=(patch-vae)
  case $step in
    *-clean)
      defs=$PAPER_DEFENSES,vae:mean,vae:k=5; [ ${#extra[@]} -gt 0 ] && defs=$defs,patch-vae,patch-vae:mean
      run "$step" --dataset "$ds" --clean --defenses "$defs" --seeds "$SEEDS" --output "$OUT/$ds" ;;
    *-paper)
      run "$step" --dataset "$ds" --attack fgsm,ifgsm --eps paper --defenses "$PAPER_DEFENSES" \
        --threat oblivious --images "$IMAGES" --seeds "$SEEDS" --output "$OUT/$ds" ;;
    *-adaptive)
      eps=0.1,0.3; [ "$ds" = cifar10 ] && eps=0.0078431,0.0313725   # 2/255 and 8/255
      defs=none,jpeg:23,vae,vae:k=5; [ ${#extra[@]} -gt 0 ] && defs=$defs,patch-vae
      run "$step" --dataset "$ds" --attack pgd --eps "$eps" --defenses "$defs" --threat oblivious,adaptive,adaptive-bpda \
        --eot 10 --images "$ADAPTIVE_IMAGES" --seeds "$SEEDS" --output "$OUT/$ds" ;;
    *-cw)
      run "$step" --dataset "$ds" --attack cw --eps paper --defenses none,jpeg:23,vae --threat oblivious,adaptive \
        --eot 10 --images "$ADAPTIVE_IMAGES" --seeds "$SEEDS" --output "$OUT/$ds" ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
echo "summaries: $OUT/*/summary.md, plots in $OUT/*/plots/"
