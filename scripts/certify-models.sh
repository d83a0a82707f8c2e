#!/usr/bin/env bash
# Certified accuracy runs of docs/RESULTS.md, "Certified robustness" (issue #18), with the exact
# commands recorded there. Long (minutes to hours each on 2 cores): run in the background; every
# run appends one row per image to its certify.tsv and resumes (`--resume`) where it stopped.
#
#   scripts/certify-models.sh [run...]   runs: mnist-noise-{0.25,0.5,1.0} mnist-denoiser-{0.25,0.5,1.0}
#                                              mnist-noise-denoiser-0.5 mnist-noise-0.5-n100k
#                                              cifar10-noise-{0.25,0.5} cifar10-noise-0.25-n100k
#                                              cifar10-resnet20-noise-{0.25,0.5}
# The models come from scripts/train-models.sh (steps of the same names) in runs/noise, runs/denoiser.
set -euo pipefail
cd "$(dirname "$0")/.."
VG=${VAEGUARD_BIN:-.build/release/vaeguard}
source scripts/lib/binary.sh
BIN=$(private_binary "$VG" certify); trap 'rm -f "$BIN"' EXIT
mkdir -p runs/certify

certify() {
  local name=$1; shift
  echo "== $name: vaeguard evaluate certify $*" | tee -a "runs/certify/$name.log"
  "$BIN" evaluate certify --dataset "${name%%-*}" --n0 100 --alpha 0.001 --output "runs/certify/$name" --resume "$@" \
    >>"runs/certify/$name.log" 2>&1
}

runs=("$@")
[ ${#runs[@]} -eq 0 ] && runs=(mnist-noise-0.5 mnist-noise-0.25 mnist-noise-1.0 mnist-denoiser-0.5 mnist-denoiser-0.25 mnist-denoiser-1.0 mnist-noise-denoiser-0.5)
for run in "${runs[@]}"; do
  case $run in
    # 1. Gaussian-noise-trained classifiers (Cohen et al.), no denoiser: 500 images (every 20th), n = 10,000.
    *-noise-*-n100k)     ds=${run%%-*}; s=${run#*-noise-}; s=${s%-n100k}
                         certify "$run" --model "runs/noise/$ds-classifier-noise-$s.json" --denoiser none --sigma "$s" \
                           --n 100000 --limit 100 --skip 100 ;;
    cifar10-resnet20-noise-*) s=${run#cifar10-resnet20-noise-}
                         certify "$run" --model "runs/noise/$run.json" --denoiser none --sigma "$s" \
                           --n 10000 --limit 500 --skip 20 ;;
    mnist-noise-denoiser-*) s=${run#mnist-noise-denoiser-}
                         certify "$run" --model "runs/noise/mnist-classifier-noise-$s.json" \
                           --vae "runs/denoiser/mnist-vae-denoiser-$s.json" --denoiser vae --sigma "$s" \
                           --n 10000 --limit 500 --skip 20 ;;
    *-noise-*)           ds=${run%%-*}; s=${run#*-noise-}
                         certify "$run" --model "runs/noise/$ds-classifier-noise-$s.json" --denoiser none --sigma "$s" \
                           --n 10000 --limit 500 --skip 20 ;;
    # 2. The shipped classifier behind the VAE fine-tuned to denoise (Salman et al. 2020).
    mnist-denoiser-*)    s=${run#mnist-denoiser-}
                         certify "$run" --model models/mnist-classifier.json --vae "runs/denoiser/mnist-vae-denoiser-$s.json" \
                           --denoiser vae --sigma "$s" --n 10000 --limit 500 --skip 20 ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
done
