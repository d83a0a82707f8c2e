#!/usr/bin/env bash
# The strong-suite evaluations of the adversarially trained classifiers (issue #19; docs/RESULTS.md,
# "Robust models"), with the exact commands recorded there. Long (hours on 2 cores): run in the
# background. Resumable: every step passes --resume, and the strong suite checkpoints after every
# chunk of --chunk-images images, so a stopped step continues where it was.
#
#   scripts/evaluate-robust.sh [step...]   steps: cifar10-robust-strong cifar10-robust-sweep
#                                                 cifar10-robust-purified cifar10-robust-detector
#                                                 mnist-detector mnist-robust-detector
# The classifier is the training run's output (runs/cifar10-robust/, scripts/train-models.sh
# cifar10-robust) until it ships; CLASSIFIER overrides it. Output: runs/strong/<step>.
# Environment: IMAGES (1000), SWEEP_IMAGES (200), PURIFIED_IMAGES (200), DETECTOR_IMAGES (500),
# EOT (10), VAEGUARD_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
VG=${VAEGUARD_BIN:-.build/release/vaeguard}
source scripts/lib/binary.sh
BIN=$(private_binary "$VG" strong); trap 'rm -f "$BIN"' EXIT
IMAGES=${IMAGES:-1000}
SWEEP_IMAGES=${SWEEP_IMAGES:-200}
PURIFIED_IMAGES=${PURIFIED_IMAGES:-200}
EOT=${EOT:-10}
DETECTOR_IMAGES=${DETECTOR_IMAGES:-500}
CIFAR=${CLASSIFIER:-runs/cifar10-robust/cifar10-robust.json}
mkdir -p runs/strong

run() {
  local name=$1; shift
  echo "== $name: vaeguard evaluate $*" | tee -a "runs/strong/$name.log"
  "$BIN" evaluate "$@" --seeds 1 --output "runs/strong/$name" --resume >>"runs/strong/$name.log" 2>&1
}

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(cifar10-robust-strong cifar10-robust-sweep cifar10-robust-purified cifar10-robust-detector)
for step in "${steps[@]}"; do
  case $step in
    # The full suite at the training ε (8/255) on the bare classifier: the white-box cell, with
    # the unbounded-attack sanity check.
    cifar10-robust-strong)   run $step --dataset cifar10 --classifier "$CIFAR" --suite strong --eps 0.0313725 \
                               --defenses none --threat oblivious --images "$IMAGES" ;;
    # Accuracy must fall as ε grows: 2/255, 4/255 and 16/255 beside the 8/255 cell.
    cifar10-robust-sweep)    run $step --dataset cifar10 --classifier "$CIFAR" --suite strong \
                               --eps 0.0078431,0.0156863,0.0627451 --defenses none --threat oblivious \
                               --images "$SWEEP_IMAGES" --no-sanity ;;
    # With a purifier in front, oblivious and adaptive (EOT through the VAEs, BPDA through JPEG).
    cifar10-robust-purified) run $step --dataset cifar10 --classifier "$CIFAR" --suite strong --suite-attacks apgd-ce \
                               --eps 0.0313725 --defenses vae,patch-vae,jpeg:23 --threat oblivious,adaptive --eot "$EOT" \
                               --images "$PURIFIED_IMAGES" --no-sanity ;;
    # The classifier and the reconstruction-error flag attacked together (docs/ROBUSTNESS.md).
    cifar10-robust-detector) run $step --dataset cifar10 --classifier "$CIFAR" --suite detector --eps 0.0313725 \
                               --defenses vae --pgd-steps 40 --eot "$EOT" --images "$PURIFIED_IMAGES" ;;
    # MNIST as served by default (the shipped classifier behind the VAE, with its flag) and the
    # robust MNIST model behind the same VAE: how many adversarial images pass both.
    mnist-detector)          run $step --dataset mnist --classifier models/mnist-classifier.json --suite detector \
                               --eps 0.1,0.2,0.3 --defenses vae --pgd-steps 40 --eot "$EOT" --images "$DETECTOR_IMAGES" ;;
    mnist-robust-detector)   run $step --dataset mnist --classifier models/mnist-robust.json --suite detector \
                               --eps 0.1,0.2,0.3 --defenses vae --pgd-steps 40 --eot "$EOT" --images "$DETECTOR_IMAGES" ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
