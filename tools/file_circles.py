#!/usr/bin/env python3
"""List the file circles of each crate: source files of one crate that import each other in a loop.

A file imports another when it names an item through the other's module path (`crate::a::b`,
`use crate::{a, …}`, `super::a` from a sibling, `self::a` from a parent). The crate root
(`lib.rs`, `main.rs`), which declares the modules and re-exports their items, is left out of the
graph: everything may use what the root re-exports, and the root uses its modules. A module's
own `#[cfg(test)] mod tests` (lines after it) is left out too. Exit 1 if any crate has a circle,
printing each as `crate: a.rs -> b.rs -> a.rs`. Run from the repository root:
`python3 tools/file_circles.py`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CRATE_REF = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)(?:::([a-z_][a-z0-9_]*))?")
USE_GROUP = re.compile(r"\buse\s+crate::\{([^}]*)\}")
SUPER_REF = re.compile(r"\bsuper::([a-z_][a-z0-9_]*)")


def module_files(src: Path) -> dict[tuple[str, ...], Path]:
    """Module path (('engine', 'passes')) -> file, for every .rs file below `src` but the root."""
    mods: dict[tuple[str, ...], Path] = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts in (["lib"], ["main"]) or parts[0] == "bin":
            continue
        if parts[-1] == "mod":
            parts = parts[:-1]
        mods[tuple(parts)] = f
    return mods


def code_of(f: Path) -> str:
    """The file without its test module and without comments."""
    text = f.read_text()
    cut = text.find("#[cfg(test)]\nmod tests")
    if cut >= 0:
        text = text[:cut]
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def resolve(mods: dict[tuple[str, ...], Path], path: tuple[str, ...]) -> Path | None:
    """The longest module prefix of `path` that is a file."""
    for n in range(len(path), 0, -1):
        if path[:n] in mods:
            return mods[path[:n]]
    return None


def edges(mods: dict[tuple[str, ...], Path]) -> dict[Path, set[Path]]:
    out: dict[Path, set[Path]] = {f: set() for f in mods.values()}
    for mpath, f in mods.items():
        code = code_of(f)
        targets: list[tuple[str, ...]] = []
        for m in CRATE_REF.finditer(code):
            targets.append(tuple(x for x in m.groups() if x))
        for m in USE_GROUP.finditer(code):
            for item in m.group(1).split(","):
                name = item.strip().split("::")[0].split(" ")[0]
                if name:
                    targets.append((name,))
        for m in SUPER_REF.finditer(code):
            targets.append(mpath[:-1] + (m.group(1),))
        for t in targets:
            g = resolve(mods, t)
            if g is not None and g != f:
                out[f].add(g)
    return out


def circles(graph: dict[Path, set[Path]]) -> list[list[Path]]:
    """One cycle per strongly connected component of two or more files (Tarjan)."""
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    on: set[Path] = set()
    found: list[list[Path]] = []
    counter = [0]

    def visit(v: Path) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    bad = 0
    crates = sorted(Path("crates").glob("*/src")) + [Path("python/src")]
    for src in crates:
        if not src.is_dir():
            continue
        mods = module_files(src)
        for comp in circles(edges(mods)):
            bad += 1
            names = [str(p.relative_to(src)) for p in comp]
            print(f"{src.parent.name}: " + " <-> ".join(names))
    if bad:
        print(f"{bad} file circle(s)")
        return 1
    print(f"no file circles in {len(crates)} crates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
