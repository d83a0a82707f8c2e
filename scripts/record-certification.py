#!/usr/bin/env python3
"""Copies a measured certification (a `vaeguard evaluate certify` run directory: settings.json,
certify.tsv, summary.csv, summary.md) into a classifier's model file, so that `GET /v1/models`
and the model card (scripts/model-cards.py) state the certified accuracy that was measured. A
claim replaces an earlier one for the same (σ, denoiser, n, n0, α).

The run must have certified this classifier: the weights' sha256 in settings.json's models line
must be the model file's (names may differ: a run certifies `<dataset>-classifier-noise-<σ>`,
which ships as `<dataset>-certified`). summary.csv is checked against the per-image rows.

    python3 scripts/record-certification.py models/mnist-certified.json runs/certify/mnist-noise-0.5 [...]
"""
import hashlib, json, os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import model_file

def fail(message):
    sys.exit(f"record-certification: {message}")

def rows(path):
    lines = [l.split("\t") for l in open(path).read().splitlines() if l]
    header, body = lines[0], lines[1:]
    if header[:5] != ["idx", "label", "predict", "radius", "correct"]:
        fail(f"{path}: unexpected columns {header}")
    return [(int(r[2]), float(r[3]), r[4] == "1") for r in body]

def claim(run, model, weights_sha):
    settings = json.load(open(os.path.join(run, "settings.json")))
    m = re.search(r"(?:^|; )classifier (\S+)@(\S+) sha256:([0-9a-f]{64})", settings["models"])
    if not m:
        fail(f"{run}/settings.json names no classifier: {settings['models']}")
    if m.group(3) != weights_sha:
        fail(f"{run} certified {m.group(1)}@{m.group(2)} sha256:{m.group(3)}, not these weights (sha256:{weights_sha})")
    dataset = model.get("metadata", {}).get("dataset")
    if dataset and settings["dataset"] != dataset:
        fail(f"{run} is on {settings['dataset']}, the model on {dataset}")
    certified = rows(os.path.join(run, "certify.tsv"))
    summary = [l.split(",") for l in open(os.path.join(run, "summary.csv")).read().splitlines()[1:] if l]
    radii = [float(r) for r, _ in summary]
    accuracy = [float(a) for _, a in summary]
    # Cohen et al.'s certified accuracy: correct and radius ≥ r; abstentions (predict -1) count as wrong.
    recomputed = [sum(1 for _, radius, correct in certified if correct and radius >= r) / len(certified) for r in radii]
    if any(abs(a - b) > 1e-6 for a, b in zip(accuracy, recomputed)):
        fail(f"{run}/summary.csv {accuracy} does not match certify.tsv {recomputed}: rerun the certification to finish it")
    command = next((l[len("- command: "):] for l in open(os.path.join(run, "summary.md")).read().splitlines()
                    if l.startswith("- command: ")), None)
    if not command:
        fail(f"{run}/summary.md records no command")
    return {
        "sigma": float(settings["sigma"]),
        "n": int(settings["n"]),
        "n0": int(settings["n0"]),
        "alpha": float(settings["alpha"]),
        "denoiser": settings["denoiser"],
        "images": len(certified),
        "abstained": sum(1 for predict, _, _ in certified if predict < 0),
        "radii": radii,
        "certifiedAccuracy": [round(a, 6) for a in accuracy],
        "command": command,
    }

def key(c):
    return (c["denoiser"], c["sigma"], c["n"], c["n0"], c["alpha"])

def main(model_path, runs):
    model = json.load(open(model_path))
    weights = os.path.join(os.path.dirname(model_path), model["weights"])
    weights_sha = hashlib.sha256(open(weights, "rb").read()).hexdigest()
    if model.get("sha256") and model["sha256"] != weights_sha:
        fail(f"{weights} does not match the sha256 in {model_path}")
    kept = {key(c): c for c in model.get("certification", [])}
    for run in runs:
        c = claim(run, model, weights_sha)
        kept[key(c)] = c
    model["certification"] = sorted(kept.values(), key=key)
    model_file.save(model_path, model)
    print(f"{model_path}: {len(model['certification'])} certification claim(s)")

if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
