#!/usr/bin/env python3
"""Prints a markdown model card for each shipped model, from its architecture JSON (training
metadata written by `vaeguard train`), its weights file (size, sha256) and its training curve.
Used to write docs/MODELS.md, so the cards state only what the files record.

    python3 scripts/model-cards.py [models/NAME.json ...]
"""
import glob, hashlib, json, os, sys

def card(path):
    arch = json.load(open(path))
    meta = arch.get("metadata", {})
    weights = os.path.join(os.path.dirname(path), arch["weights"])
    data = open(weights, "rb").read()
    options = json.loads(meta.get("options", "{}"))
    curve_path = path.replace(".json", ".curve.csv")
    base_curve = path.replace(".json", "-base.curve.csv")
    lines = [f"### {arch['name']} (version {arch['version']})", ""]
    kind = arch["kind"]
    params = "?"
    lines.append("| | |")
    lines.append("|---|---|")
    lines.append(f"| kind | {kind}, input {'×'.join(map(str, arch['inputShape']))}" +
                 (f", latent {arch['latentDimension']}" if kind == "vae" else "") + " |")
    lines.append(f"| data | {meta.get('dataset', '?')} training set" +
                 (f" (random {arch['inputShape'][0]}×{arch['inputShape'][1]} patches)" if arch['name'].startswith('patch') else "") + " |")
    lines.append(f"| command | `{meta.get('command', '?')}` |")
    if meta.get("trained_as"):
        lines.append(f"| trained as | `{meta['trained_as']}` (renamed on shipping by scripts/ship-certified.sh; weights unchanged) |")
    if meta.get("noise_sigma"):
        lines.append(f"| noise | trained on x + N(0, σ²), σ = {meta['noise_sigma']}: the σ of `certify=true` for this model |")
    if options.get("initialWeights"):
        lines.append(f"| starts from | the weights of `{options['initialWeights']}` as they were before this run (fine-tuning; scripts/train-models.sh runs the base training first) |")
    lines.append(f"| epochs | {meta.get('epochs', '?')} |")
    secs = float(meta.get("train_seconds", "0"))
    lines.append(f"| wall time | {secs/60:.1f} min (on a 2-core machine shared with other jobs) |")
    lines.append(f"| CPU, BLAS kernel | {meta.get('cpu', '?')}, OpenBLAS {meta.get('blas_kernel', '?')} |")
    if "test_accuracy" in meta:
        lines.append(f"| final clean test accuracy | {float(meta['test_accuracy'])*100:.2f} % (10,000 test images) |")
    if "test_loss" in meta:
        lines.append(f"| final test loss | {float(meta['test_loss']):.3f} per image |")
    lines.append(f"| optimiser | {options.get('optimizer', '?')}, lr {options.get('learningRate', '?')}, batch {options.get('batchSize', '?')}" +
                 (f", milestones {options.get('milestones')}" if options.get('milestones') else "") +
                 (f", weight decay {options.get('weightDecay')}" if options.get('weightDecay') else "") +
                 (", augmentation (crop + flip)" if options.get('augment') else "") + " |")
    if kind == "vae":
        lines.append(f"| loss | {options.get('reconstructionLoss', '?')} + {options.get('klWeight', '?')} × KL ({options.get('klReduction', '?')} over latents) |")
    lines.append(f"| weights | `{arch['weights']}`, {arch.get('storage', 'F32')}, {len(data)/1e6:.1f} MB |")
    lines.append(f"| sha256 | `{hashlib.sha256(data).hexdigest()}` |")
    # The runs it descends from, oldest first: <name>-base.curve.csv, then <name>-v<version>.curve.csv.
    earlier = [base_curve] if os.path.exists(base_curve) else []
    earlier += sorted(glob.glob(path.replace(".json", "-v*.curve.csv")))
    for i, prior in enumerate(earlier):
        rows = [r.split(",") for r in open(prior).read().split("\n")[1:] if r]
        which = "the run it started from" if i == 0 else "the fine-tuning run after it"
        lines += ["", f"Curve of {which} (`{os.path.basename(prior)}`): epoch: test acc. %", "",
                  ", ".join(f"{r[0]}: {float(r[2])*100:.2f}" for r in rows)]
    if os.path.exists(curve_path):
        text = open(curve_path).read().split("\n")
        header, rows = text[0].split(","), [r.split(",") for r in text[1:] if r]
        metric = "test acc. %" if kind == "classifier" else "test loss"
        lines += ["", f"Curve (`{os.path.basename(curve_path)}`): epoch: {metric}", "",
                  ", ".join(f"{r[0]}: {float(r[2])*100:.2f}" if kind == "classifier" else f"{r[0]}: {float(r[2]):.2f}" for r in rows)]
        if "purified_accuracy" in header:
            col = header.index("purified_accuracy")
            monitored = [r for r in rows if len(r) > col and r[col]]
            if monitored:
                who = (f"this classifier on sampled reconstructions by {options.get('purifierVAE')}" if kind == "classifier"
                       else f"{options.get('monitorClassifier', 'the monitor classifier')} (as it was then) on sampled reconstructions")
                lines += ["", f"Accuracy after purification (`purified_accuracy`: {who}, 10,000 test images, seed 11): epoch: %", "",
                          ", ".join(f"{r[0]}: {float(r[col])*100:.2f}" for r in monitored)]
    if arch.get("robustness"):
        lines += ["", "Measured robustness (`robustness` in the model file, from scripts/record-robustness.py):", "",
                  "| threat | ε | defense | attacker | images | clean | robust | suite |", "|---|---|---|---|---|---|---|---|"]
        for c in arch["robustness"]:
            lines.append(f"| {c['norm']} | {c['epsilon']:g} | {c['defense']} | {c['attacker']} | {c['images']} | "
                         f"{c['cleanAccuracy']*100:.2f} % | **{c['robustAccuracy']*100:.2f} %** | {c['suite']} |")
    if arch.get("certification"):
        lines += ["", "Measured certification (`certification` in the model file, from scripts/record-certification.py): "
                  "randomized smoothing (Cohen et al. 2019), certified accuracy at L2 radius r (abstentions count as wrong):"]
        for radii in dict.fromkeys(tuple(c["radii"]) for c in arch["certification"]):
            lines += ["", "| σ | denoiser | n | n0 | α | images | abstained | " + " | ".join(f"r = {r:g}" for r in radii) + " |",
                      "|" + "---|" * (7 + len(radii))]
            for c in (c for c in arch["certification"] if tuple(c["radii"]) == radii):
                lines.append(f"| {c['sigma']:g} | {c['denoiser']} | {c['n']:,} | {c['n0']:,} | {c['alpha']:g} | {c['images']} | "
                             f"{c['abstained']} | " + " | ".join(f"{a*100:.1f} %" for a in c["certifiedAccuracy"]) + " |")
        commands = [c["command"] for c in arch["certification"]]
        lines += ["", f"Command: `{commands[0]}`"] if len(commands) == 1 else \
                 ["", "Commands, in the order of the rows:", ""] + [f"- `{c}`" for c in commands]
    return "\n".join(lines) + "\n"

paths = sys.argv[1:] or sorted(p for p in glob.glob("models/*.json"))
print("\n".join(card(p) for p in paths))
