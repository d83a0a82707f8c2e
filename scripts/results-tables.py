#!/usr/bin/env python3
"""Markdown tables for docs/RESULTS.md that combine several `vaeguard evaluate` output folders.

`vaeguard evaluate` writes one summary.md per folder; these tables put side by side what
came from different folders (a fine-tuned VAE, a β sweep, clean and attacked runs), always
from the stored per-seed results, never from copied numbers.

  robustness  rows = defenses, columns = clean, then (oblivious, adaptive) per ε:
      scripts/results-tables.py robustness --attack pgd --eps 0.1,0.3 \
          --clean runs/eval/mnist-clean --row 'runs/eval/mnist-adaptive:vae=VAE' ...
      A row is DIR[+DIR…]:DEFENSE[=LABEL][@CLEANDIR]; clean accuracy comes from CLEANDIR
      (default --clean) for the same defense name. The adaptive column takes the strongest adaptive
      threat stored for the cell (lowest accuracy) and names it.

  section  a folder's summary.md for docs/RESULTS.md: its plots are copied to
      docs/plots/NAME/ and the links rewritten; headings go one level down.
      scripts/results-tables.py section runs/eval/mnist-paper mnist-paper
"""
import argparse, csv, math, os, shutil, sys
from collections import defaultdict


def load(path, name):
    f = os.path.join(path, name)
    if not os.path.exists(f):
        return []
    with open(f) as h:
        return list(csv.DictReader(h))


def stats(values):
    if not values:
        return None
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return m, sd, len(values)


def fmt(s, digits=1):
    if s is None:
        return "—"
    m, sd, n = s
    return f"{100 * m:.{digits}f}" + (f" ± {100 * sd:.{digits}f}" if n > 1 else "")


def parse_row(text, default_clean):
    clean = default_clean
    if "@" in text:
        text, clean = text.rsplit("@", 1)
    path, spec = text.split(":", 1)
    label = None
    if "=" in spec and not spec.split("=", 1)[0].endswith(("k", "stride")):
        spec, label = spec.split("=", 1)
    return path, spec, label or spec, clean


def robustness(args):
    eps_list = [float(e) for e in args.eps.split(",")]
    head = ["defense", "clean"]
    for e in eps_list:
        shown = args.eps_labels.split(",")[eps_list.index(e)] if args.eps_labels else f"{e:g}"
        head += [f"ε = {shown} oblivious", f"ε = {shown} adaptive"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    images = set()
    for text in args.row:
        path, defense, label, clean_dir = parse_row(text, args.clean)
        cells = [label]
        clean_rows = [r for r in load(clean_dir, "clean.csv") if r["defense"] == defense] if clean_dir else []
        cells.append(fmt(stats([float(r["accuracy"]) for r in clean_rows]), digits=2))
        rows = [r for d in path.split("+") for r in load(d, "results.csv")
                if r["attack"] == args.attack and r["defense"] == defense]
        for e in eps_list:
            at = [r for r in rows if abs(float(r["epsilon"]) - e) < 1e-6]
            images.update(r["images"] for r in at)
            obl = stats([float(r["accuracy"]) for r in at if r["threat"] == "oblivious"])
            by_threat = defaultdict(list)
            for r in at:
                if r["threat"] != "oblivious":
                    by_threat[r["threat"]].append(float(r["accuracy"]))
            adaptive = "—" if defense != "none" else "= oblivious"
            if by_threat:
                threat, values = min(by_threat.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))
                adaptive = f"{fmt(stats(values))} ({threat.replace('adaptive-', '').upper()})"
            cells += [fmt(obl), adaptive]
        lines.append("| " + " | ".join(cells) + " |")
    note = f"Top-1 accuracy (%); images per attacked cell: {', '.join(sorted(images))}; clean: all test images." if images else ""
    print("\n".join(lines))
    if note:
        print("\n" + note)


def section(args):
    src = os.path.join(args.dir, "summary.md")
    text = open(src).read()
    plots = os.path.join(args.dir, "plots")
    dest = os.path.join(args.docs, "plots", args.name)
    if os.path.isdir(plots):
        os.makedirs(dest, exist_ok=True)
        for f in sorted(os.listdir(plots)):
            if f.endswith(".svg"):
                shutil.copyfile(os.path.join(plots, f), os.path.join(dest, f))
    text = text.replace("](plots/", f"](plots/{args.name}/")
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            line = "#" + line
        out.append(line)
    print("\n".join(out).strip())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("robustness")
    r.add_argument("--attack", default="pgd")
    r.add_argument("--eps", required=True)
    r.add_argument("--eps-labels", help="how to print each ε (e.g. 8/255)")
    r.add_argument("--clean", help="folder with clean.csv for the clean column")
    r.add_argument("--row", action="append", required=True)
    sc = sub.add_parser("section")
    sc.add_argument("dir")
    sc.add_argument("name")
    sc.add_argument("--docs", default="docs")
    a = p.parse_args()
    if a.cmd == "robustness":
        robustness(a)
    elif a.cmd == "section":
        section(a)


if __name__ == "__main__":
    sys.exit(main())
