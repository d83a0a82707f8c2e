#!/usr/bin/env python3
"""Checks that the module graph in Package.swift's header is the real one.

1. Every `import X` in Sources/<Target>/ names a direct dependency of <Target> (no module
   reached only through another one), a system module, or the target itself.
2. The header's `Target ← A, B, …` lines list exactly each library target's dependencies.
3. docs/ARCHITECTURE.md carries the same lines.

Run from the repository root (`make test` runs it); exits 1 and names every mismatch.
"""
import json
import pathlib
import re
import subprocess
import sys

SYSTEM = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Glibc", "Musl", "Darwin",
          "Synchronization", "os", "Testing", "XCTest"}
IMPORT = re.compile(r"^\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*(?:public\s+|internal\s+|package\s+)?import\s+"
                    r"(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)")
ARROW = re.compile(r"^(?://)?\s+([A-Za-z][A-Za-z0-9]*)\s+← (.*)$")


def dependencies():
    package = json.loads(subprocess.run(["swift", "package", "dump-package"], check=True, capture_output=True,
                                        text=True).stdout)
    out = {}
    for target in package["targets"]:
        names = set()
        for dep in target["dependencies"]:
            (kind, value), = dep.items()
            names.add(value[0])
        out[target["name"]] = (target["type"], target.get("path"), names)
    return out


def header_graph(lines):
    """`Target ← A, B` lines, with continuation lines (indented, ending in a comma) joined."""
    graph, current = {}, None
    for line in lines:
        m = ARROW.match(line)
        if m:
            current = m.group(1)
            graph[current] = m.group(2)
        elif current and graph[current].rstrip().endswith(","):
            graph[current] += " " + line.lstrip("/ ").strip()
        else:
            current = None
    parsed = {}
    for name, text in graph.items():
        # The dependency list ends at the first run of 2+ spaces (the description column) or "(".
        deps = re.split(r"\s{2,}|\(", text.strip())[0]
        parsed[name] = {d.strip() for d in deps.split(",") if d.strip()}
    return parsed


def main():
    root = pathlib.Path.cwd()
    targets = dependencies()
    problems = []
    for name, (kind, path, deps) in sorted(targets.items()):
        if kind not in ("regular", "executable"):
            continue
        folder = root / (path or f"Sources/{name}")
        if not str(folder.relative_to(root)).startswith("Sources/"):
            continue
        for file in sorted(folder.rglob("*.swift")):
            for number, line in enumerate(file.read_text().splitlines(), 1):
                m = IMPORT.match(line)
                if m and m.group(1) not in SYSTEM and m.group(1) != name and m.group(1) not in deps:
                    problems.append(f"{file.relative_to(root)}:{number}: imports {m.group(1)}, "
                                    f"not a dependency of {name} in Package.swift")
    library = {n: d for n, (k, p, d) in targets.items()
               if k in ("regular", "executable") and not (p or "").startswith(("Tests/", "Benchmarks/"))}
    for source in ["Package.swift", "docs/ARCHITECTURE.md"]:
        claimed = header_graph((root / source).read_text().splitlines())
        for name, deps in sorted(library.items()):
            if name not in claimed:
                problems.append(f"{source}: the module graph lacks {name} ← {', '.join(sorted(deps))}")
            elif claimed[name] != deps:
                missing, extra = sorted(deps - claimed[name]), sorted(claimed[name] - deps)
                problems.append(f"{source}: {name} ← … differs from Package.swift"
                                + (f"; missing {', '.join(missing)}" if missing else "")
                                + (f"; not a dependency: {', '.join(extra)}" if extra else ""))
        for name in sorted(set(claimed) - set(library)):
            problems.append(f"{source}: the module graph names {name}, which is not a library target")
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"imports and module graph agree ({len(library)} targets)")


if __name__ == "__main__":
    main()
