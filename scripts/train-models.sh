#!/usr/bin/env bash
# Trains every shipped model with the exact commands recorded in docs/MODELS.md.
# Long (hours on 2 cores): run in the background; each step checkpoints every epoch and
# resumes where it stopped (`--resume`), so the script can be stopped and restarted.
#
#   scripts/train-models.sh [step...]     steps: mnist-classifier mnist-vae cifar10-classifier
#                                                cifar10-classifier-finetune cifar10-vae
#                                                patch-vae-gray-8 patch-vae-rgb-8
#                                                patch-vae-gray-16 patch-vae-rgb-16
#                                                mnist-robust cifar10-robust cifar10-vae-1.2 cifar10-classifier-vae-1.2
#                                                mnist-noise-{0.25,0.5,1.0} cifar10-noise-{0.25,0.5}
#                                                cifar10-resnet20-noise-{0.25,0.5}
#                                                mnist-denoiser-{0.25,0.5,1.0}   (not in the default list)
#                                                mnist-certified cifar10-certified (ship noise-trained runs, see below)
set -euo pipefail
cd "$(dirname "$0")/.."
VG=${VAEGUARD_BIN:-.build/release/vaeguard}
# Run from a private copy so a rebuild during training cannot replace the running binary.
source scripts/lib/binary.sh
BIN=$(private_binary "$VG" train); trap 'rm -f "$BIN"' EXIT
mkdir -p runs

run() {
  local name=$1; shift
  echo "== $name: vaeguard $*" | tee -a "runs/$name.log"
  # VAEGUARD_THREADS limits engine threads (e.g. 1 when two steps train side by side); results do not depend on it.
  "$BIN" "$@" --resume ${VAEGUARD_THREADS:+--threads $VAEGUARD_THREADS} >>"runs/$name.log" 2>&1
}

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(mnist-classifier mnist-vae patch-vae-gray-8 patch-vae-rgb-8 patch-vae-gray-16 patch-vae-rgb-16 cifar10-classifier cifar10-classifier-finetune cifar10-vae
                                    cifar10-vae-1.2 cifar10-classifier-vae-1.2)
for step in "${steps[@]}"; do
  case $step in
    mnist-classifier)   run $step train classifier --dataset mnist --epochs 12 --milestones 8 ;;
    mnist-vae)          run $step train vae --dataset mnist --epochs 20 ;;
    cifar10-classifier) run $step train classifier --dataset cifar10 --epochs 16 --batch-size 128 --augment \
                          --weight-decay 1e-4 --milestones 11,14 ;;
    # Fine-tunes the 16-epoch classifier above in place (7 more epochs, lower learning rate).
    cifar10-classifier-finetune)
                        run $step train classifier --dataset cifar10 --epochs 7 --batch-size 128 --augment \
                          --weight-decay 1e-4 --learning-rate 2e-4 --milestones 3 \
                          --initial-weights models/cifar10-classifier.json --name cifar10-classifier \
                          --checkpoints checkpoints/cifar-ft --model-version 1.1.0 ;;
    cifar10-vae)        run $step train vae --dataset cifar10 --epochs 9 --half --model-version 1.1.0 ;;
    # Patch VAEs follow the paper's patch loss: BCE summed over the patch + 0.01 x KL averaged over latents.
    patch-vae-gray-8)   run $step train patch-vae --dataset mnist --patch 8 --latent 64 --width 2 --epochs 10 \
                          --reconstruction bce --kl-reduction mean ;;
    patch-vae-rgb-8)    run $step train patch-vae --dataset cifar10 --patch 8 --latent 128 --width 2 --epochs 10 \
                          --reconstruction bce --kl-reduction mean ;;
    # 16x16 patches: the bottleneck (64 / 128 latents for 256 / 768 values) removes more of an
    # attack than 8x8 patches do (docs/MODELS.md, "Patch size").
    patch-vae-gray-16)  run $step train patch-vae --dataset mnist --patch 16 --latent 64 --width 2 --epochs 2 \
                          --reconstruction bce --kl-reduction mean ;;
    patch-vae-rgb-16)   run $step train patch-vae --dataset cifar10 --patch 16 --latent 128 --width 2 --epochs 2 \
                          --reconstruction bce --kl-reduction mean ;;
    # Madry-style PGD training at eps 0.3 (issue #19): PGD-10, step 0.04 (0.4 of travel, as
    # Madry's 40 x 0.01), eps ramped up over the first epoch. Written to runs/ until evaluated.
    mnist-robust)       run $step train classifier --dataset mnist --adversarial pgd --eps 0.3 --steps 10 --step-size 0.04 \
                          --eps-warmup 1 --optimizer adam --learning-rate 0.001 --milestones 8,11 --gamma 0.1 \
                          --batch-size 100 --epochs 12 --robust-test-images 500 --robust-test-steps 10 --collapse-drop 0.2 \
                          --name mnist-robust --output runs/mnist-robust --checkpoints checkpoints --model-version 1.0.0 ;;
    # FGSM with random start at eps 8/255 (Wong, Rice & Kolter 2020: step 1.25 eps, one-cycle
    # learning rate peaking at 0.2, 15 epochs) on PreActResNet-18 at half width (issue #19;
    # about 2.1 h on 2 free cores). Held-out PGD-10 on the last 500 test images every epoch guards
    # against catastrophic overfitting. Written to runs/ until evaluated.
    cifar10-robust)     run $step train classifier --dataset cifar10 --arch preact18-w32 --adversarial fgsm-rs --eps 0.0313725 \
                          --schedule cyclic --optimizer sgd --learning-rate 0.2 --weight-decay 5e-4 --augment \
                          --batch-size 128 --epochs 15 --robust-test-images 500 --robust-test-steps 10 --collapse-drop 0.2 \
                          --name cifar10-robust --output runs/cifar10-robust --checkpoints checkpoints --model-version 1.0.0 ;;
    # Continues the shipped 9-epoch CIFAR-10 VAE (issue #20) until its test loss flattens: its
    # curve continues at epoch 10 (--prior-curve), the classifier's accuracy on reconstructions
    # is logged every 2 epochs, and the learning rate is lower than the first run's (a fresh
    # Adam state at 1e-3 undid much of the first run's progress in its first steps).
    cifar10-vae-1.2)    run $step train vae --dataset cifar10 --epochs 40 --half --initial-weights models/cifar10-vae.json \
                          --prior-curve models/cifar10-vae.curve.csv --monitor-classifier models/cifar10-classifier.json \
                          --learning-rate 5e-4 --milestones 30 --gamma 0.2 \
                          --name cifar10-vae --checkpoints checkpoints/cifar10-vae-1.2 --output runs/cifar10-vae-1.2 \
                          --model-version 1.2.0
                        mkdir -p checkpoints/cifar10-vae-1.2.final
                        cp runs/cifar10-vae-1.2/cifar10-vae.{json,safetensors,curve.csv} checkpoints/cifar10-vae-1.2.final/ ;;
    # Purifier-aware fine-tuning of the CIFAR-10 classifier (issue #20): half of every batch is
    # replaced by the continued VAE's sampled reconstructions, so the classifier learns its blur.
    # The VAE is the cifar10-vae-1.2 step's final model, kept (committed) in
    # checkpoints/cifar10-vae-1.2.final. Both 1.2 steps start from the 1.1.0 files in models/, so
    # they run once, in this order, after cifar10-vae and cifar10-classifier-finetune: run again
    # on the shipped 1.2.0 files (without their checkpoints) they would train those further.
    cifar10-classifier-vae-1.2)
                        run $step train classifier --dataset cifar10 --initial-weights models/cifar10-classifier.json \
                          --purifier-vae checkpoints/cifar10-vae-1.2.final/cifar10-vae.json --purified-fraction 0.5 --augment \
                          --epochs 6 --batch-size 128 --learning-rate 2e-4 --milestones 4 --weight-decay 1e-4 \
                          --name cifar10-classifier --checkpoints checkpoints/cifar10-classifier-1.2 \
                          --output runs/cifar10-classifier-1.2 --model-version 1.2.0
                        # Ship both as version 1.2.0 (docs/MODELS.md); the 1.1 fine-tune's curve is kept beside.
                        [ -f models/cifar10-classifier-v1.1.curve.csv ] || cp models/cifar10-classifier.curve.csv models/cifar10-classifier-v1.1.curve.csv
                        cp runs/cifar10-classifier-1.2/cifar10-classifier.{json,safetensors,curve.csv} models/
                        cp checkpoints/cifar10-vae-1.2.final/cifar10-vae.{json,safetensors,curve.csv} models/ ;;
    # Randomized smoothing (issue #18), route 1: the paper's MNIST classifier trained on x + N(0, σ²)
    # (Cohen et al. 2019). Route 2: the shipped VAE fine-tuned into a denoiser for the shipped
    # classifier (MSE + stability loss, Salman et al. 2020). Both written to runs/ until certified
    # (scripts/certify-models.sh).
    mnist-noise-*)      s=${step#mnist-noise-}
                        run $step train classifier --dataset mnist --noise-sigma $s --epochs 10 --milestones 7 \
                          --name mnist-classifier-noise-$s --output runs/noise --checkpoints checkpoints/noise \
                          --model-version 1.0.0 ;;
    # CIFAR-10 route 1: the shipped classifier fine-tuned on x + N(0, σ²) (10 epochs, about 3.5 min each).
    cifar10-noise-*)    s=${step#cifar10-noise-}
                        run $step train classifier --dataset cifar10 --initial-weights models/cifar10-classifier.json \
                          --noise-sigma $s --augment --epochs 10 --batch-size 128 --learning-rate 2e-4 --milestones 7 \
                          --weight-decay 1e-4 --name cifar10-classifier-noise-$s --output runs/noise \
                          --checkpoints checkpoints/noise --model-version 1.0.0 ;;
    # CIFAR-10 route 1 on a ResNet-20 trained from scratch with noise, the size of the
    # Gaussian-trained ResNet-20 anchor of issue 18 (0.27 M parameters): one-cycle SGD, 30 epochs
    # of about 2 min each on 2 free cores (390 img/s measured on 4,096 images).
    cifar10-resnet20-noise-*)
                        s=${step#cifar10-resnet20-noise-}
                        run $step train classifier --dataset cifar10 --arch resnet20-w16 --noise-sigma $s --augment \
                          --schedule cyclic --optimizer sgd --learning-rate 0.2 --weight-decay 5e-4 --batch-size 128 \
                          --epochs 30 --name cifar10-resnet20-noise-$s --output runs/noise --checkpoints checkpoints/noise \
                          --model-version 1.0.0 ;;
    mnist-denoiser-*)   s=${step#mnist-denoiser-}
                        run $step train denoiser --dataset mnist --initial-weights models/mnist-vae.json \
                          --classifier models/mnist-classifier.json --noise-sigma $s --epochs 5 \
                          --name mnist-vae-denoiser-$s --output runs/denoiser --checkpoints checkpoints/denoiser \
                          --model-version 1.0.0 ;;
    # Route 1 shipped (issue #18): the noise-trained classifier and its certification run
    # (scripts/certify-models.sh of the same name) copied into models/ as <dataset>-certified,
    # with the measured certified accuracy in the model file. The argument picks the σ shipped.
    mnist-certified)    scripts/ship-certified.sh mnist-noise-0.5 ;;
    cifar10-certified)  scripts/ship-certified.sh cifar10-noise-0.25 ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
