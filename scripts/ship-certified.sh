#!/usr/bin/env bash
# Ships a Gaussian-noise-trained classifier (issue #18, route 1: Cohen et al. 2019, no denoiser)
# as the servable certification model `<dataset>-certified`: copies
# runs/noise/<dataset>-classifier-noise-<σ>.{json,safetensors,curve.csv} to models/ under the new
# name (the weights bit-identical; only `name` and `weights` change in the JSON, and
# `trained_as` keeps the old name) and records the run runs/certify/<dataset>-noise-<σ> in the
# model file (scripts/record-certification.py), which GET /v1/models and docs/MODELS.md show,
# with runs/certify/<dataset>-noise-<σ>-n100k (100 images at n = 100,000) where it exists.
#
#   scripts/ship-certified.sh <dataset>-noise-<σ> ...     e.g. mnist-noise-0.5 cifar10-noise-0.25
#
# Called by scripts/train-models.sh (steps mnist-certified, cifar10-certified), where the σ of
# each shipped model is chosen. Needs both finished runs of the same name:
#   scripts/train-models.sh <dataset>-noise-<σ>    (when its checkpoint is complete this only
#                                                  re-emits it into runs/noise, in seconds)
#   scripts/certify-models.sh <dataset>-noise-<σ>  (500 test images at n = 10,000: 30-60 min)
# Afterwards regenerate the cards: python3 scripts/model-cards.py models/*.json (docs/MODELS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

for run in "$@"; do
  case $run in
    mnist-noise-*|cifar10-noise-*) ;;
    *) echo "ship-certified: '$run' is not <dataset>-noise-<σ>" >&2; exit 2 ;;
  esac
  ds=${run%%-*}; s=${run#*-noise-}
  src=runs/noise/$ds-classifier-noise-$s cert=runs/certify/$run name=$ds-certified
  [ -f "$src.json" ] || { echo "ship-certified: $src.json missing: run scripts/train-models.sh $run" >&2; exit 2; }
  [ -f "$cert/summary.csv" ] || { echo "ship-certified: $cert/summary.csv missing: run scripts/certify-models.sh $run" >&2; exit 2; }
  cp "$src.safetensors" "models/$name.safetensors"
  cp "$src.curve.csv" "models/$name.curve.csv"
  PYTHONPATH=scripts/lib python3 - "$src.json" "models/$name.json" "$name" <<'EOF'
import json, sys, model_file
source, target, name = sys.argv[1:]
model = json.load(open(source))
model.setdefault("metadata", {})["trained_as"] = model["name"]
model["name"], model["weights"] = name, name + ".safetensors"
model.pop("certification", None)   # claims are for the run below only
model_file.save(target, model)
EOF
  # The 100-image n = 100,000 run of the same model, where it has been run, is a second claim.
  runs=("$cert"); [ -f "$cert-n100k/summary.csv" ] && runs+=("$cert-n100k")
  python3 scripts/record-certification.py "models/$name.json" "${runs[@]}"
  echo "shipped $src as models/$name (σ = $s, certification from ${runs[*]})"
done
