#!/usr/bin/env python3
"""Checks the collector's layering: a folder includes only its own and earlier layers.

    base < bpf < model < symbolize < filter < render < sources < pipeline < flows < registry
    < tools < doctor < collect

Scans every #include "..." under collector/ (the order is collector/CMakeLists.txt's). An
include of a folder not in the list (probes' headers, skeletons, generated files) is not a
layer and is allowed. A file of a folder not in the list is an error: a new folder takes a
place in the order first. Usage: layering_test.py [COLLECTOR_DIR]
"""
import pathlib
import re
import sys

LAYERS = ["base", "bpf", "model", "symbolize", "filter", "render", "sources", "pipeline", "flows", "registry",
          "tools", "doctor", "collect"]
RANK = {name: i for i, name in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SOURCES = {".h", ".hpp", ".cpp", ".cc", ".inc"}


def check(root: pathlib.Path) -> list[str]:
    errors = []
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SOURCES)
    if not files:
        return [f"{root}: no sources found"]
    for path in files:
        rel = path.relative_to(root)
        if len(rel.parts) < 2:
            errors.append(f"{rel}: a file outside every layer folder")
            continue
        layer = rel.parts[0]
        if layer not in RANK:
            errors.append(f"{rel}: folder {layer}/ is not in the layer order {' < '.join(LAYERS)}")
            continue
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1).split("/")
            if len(target) < 2 or target[0] not in RANK:
                continue
            if RANK[target[0]] > RANK[layer]:
                errors.append(f"{rel}:{lineno}: {layer}/ includes \"{m.group(1)}\" of the later "
                              f"layer {target[0]}/")
    return errors


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                        pathlib.Path(__file__).resolve().parents[2] / "collector")
    errors = check(root)
    for e in errors:
        print(f"layering: {e}", file=sys.stderr)
    if errors:
        print(f"layering: {len(errors)} violation(s); order: {' < '.join(LAYERS)}", file=sys.stderr)
        return 1
    print(f"layering: ok ({' < '.join(LAYERS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
