#!/usr/bin/env python3
"""Copies measured robustness from strong-suite results (`vaeguard evaluate --suite strong`
writes strong.json) into a classifier's model file, so that `GET /v1/models` and the model card
(scripts/model-cards.py) state what was measured. A claim replaces an earlier one for the same
(norm, ε, defense, attacker). Only cells for this classifier are taken (checked by name and
version in the results' model line).

    python3 scripts/record-robustness.py models/mnist-robust.json runs/strong/mnist-robust/strong.json [...]
"""
import json, os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import model_file

def suite_text(suite):
    members = ", ".join(suite["members"])
    parts = [f"{members}; APGD {suite['iterations']} iterations × {suite['restarts']} restart(s)"]
    if "apgd-t" in suite["members"]:
        parts.append(f"{suite['targets']} targets")
    if "square" in suite["members"]:
        parts.append(f"Square {suite['squareQueries']} queries")
    parts.append(f"EOT {suite['eotSamples']}")
    parts.append("per-image worst case" + (" (cascade)" if suite.get("cascade") else ""))
    return "; ".join(parts)

def claims(results, name, version):
    if not re.search(rf"classifier {re.escape(name)}@{re.escape(version)} ", results["models"] + " "):
        sys.exit(f"results were measured on another classifier: {results['models']}")
    for cell in results["cells"]:
        yield {
            "norm": "linf",
            "epsilon": round(cell["epsilon"], 6),
            "defense": cell["defense"],
            "attacker": cell["threat"],
            "suite": suite_text(results["suite"]),
            "images": cell["images"],
            "cleanAccuracy": cell["cleanCorrect"] / cell["images"],
            "robustAccuracy": cell["robust"] / cell["images"],
            "command": results["command"],
        }

def main(model_path, result_paths):
    model = json.load(open(model_path))
    kept = {(c["norm"], c["epsilon"], c["defense"], c["attacker"]): c for c in model.get("robustness", [])}
    for path in result_paths:
        for c in claims(json.load(open(path)), model["name"], model["version"]):
            kept[(c["norm"], c["epsilon"], c["defense"], c["attacker"])] = c
    model["robustness"] = sorted(kept.values(), key=lambda c: (c["defense"], c["attacker"], c["epsilon"]))
    model_file.save(model_path, model)
    print(f"{model_path}: {len(model['robustness'])} robustness claims")

if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
