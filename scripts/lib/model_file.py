"""Writes a model file (architecture JSON) in the layout Swift's JSONEncoder(.prettyPrinted,
.sortedKeys) produces, so that files edited by the scripts diff cleanly against ones the
engine wrote. Used by scripts/record-robustness.py, record-certification.py, ship-certified.sh."""
import json

def save(path, model):
    with open(path, "w") as f:
        f.write(json.dumps(model, indent=2, sort_keys=True, separators=(",", " : "), ensure_ascii=False))
