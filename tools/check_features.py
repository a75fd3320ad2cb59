#!/usr/bin/env python3
"""Check that every cargo invocation of `.ci/run` and the README resolves the same features.

Cargo compiles a crate once per distinct feature set. When one invocation (the `zfp` step's
`-p neuvis-raycast -p neuvis --features neuvis/zfp`, the `mpi` step's `--features neuvis/mpi`, the
README's `--bin neuvis` without dev-dependencies) turns on one more feature of a crate that burn's
stack depends on, that crate and everything above it is compiled again: ~20 minutes on CI's two
cores. `crates/neuvis-workspace-hack` asks for the union; this script says what it misses.

It runs `cargo tree` (normal and build edges, features shown) for each invocation and reports every
crate that the reference graph (the test build: `--workspace` with dev-dependencies) and another
graph both contain with different features. Exit 1 if there is any, with the crate, both feature
lists and the invocation. Run from the repository root: `python3 tools/check_features.py`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict

# (label, cargo tree arguments): the invocations `.ci/run` and the README make.
# (`-p neuvis-codec --no-default-features`, the decoder without burn, is left out: a graph of
# small crates by design, ~20 s to compile.)
GRAPHS: list[tuple[str, list[str]]] = [
    ("test build (--workspace, dev-dependencies)", ["--workspace", "-e", "normal,build,dev"]),
    ("README build (--bin neuvis, no dev-dependencies)", ["-p", "neuvis", "-e", "normal,build"]),
    (
        "both binaries (-p neuvis -p neuvis-bench, as the README builds them for GPU machines)",
        ["-p", "neuvis", "-p", "neuvis-bench", "-e", "normal,build"],
    ),
    (
        "zfp step (-p neuvis-raycast -p neuvis --features neuvis/zfp)",
        ["-p", "neuvis-raycast", "-p", "neuvis", "--features", "neuvis/zfp", "-e", "normal,build,dev"],
    ),
    ("mpi step (--workspace --features neuvis/mpi)", ["--workspace", "--features", "neuvis/mpi", "-e", "normal,build,dev"]),
    ("Python package (maturin: -p neuvis-py)", ["-p", "neuvis-py", "-e", "normal,build"]),
]

# A registry crate: `name vX.Y.Z [features]`; the workspace's own crates (a path in parentheses)
# are left out: they differ between these builds by design and recompile in seconds.
LINE = re.compile(r"^(\S+) (v\S+) \[([^\]]*)\]")


def features(args: list[str]) -> dict[tuple[str, str], set[frozenset[str]]]:
    """Crate (name, version) -> the feature sets it is built with in this graph."""
    out = subprocess.run(
        ["cargo", "tree", "--prefix", "none", "-f", "{p} [{f}]", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    sets: dict[tuple[str, str], set[frozenset[str]]] = defaultdict(set)
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            name, version, feats = m.groups()
            sets[(name, version)].add(frozenset(f for f in feats.split(",") if f))
    return sets


def main() -> int:
    graphs = [(label, features(args)) for label, args in GRAPHS]
    ref_label, ref = graphs[0]
    bad = 0
    for label, graph in graphs[1:]:
        for key in sorted(set(ref) & set(graph)):
            # A crate may appear once as a host (build) and once as a target dependency with
            # different features; what matters is that no feature set is new to this graph.
            new = graph[key] - ref[key]
            for fs in sorted(new, key=sorted):
                bad += 1
                closest = max(ref[key], key=lambda r: len(r & fs))
                print(
                    f"{key[0]} {key[1]}: {label} adds {sorted(fs - closest)}"
                    f" (drops {sorted(closest - fs)}) against the {ref_label}",
                )
    if bad:
        print(
            f"{bad} crate(s) would compile twice; add the features to crates/neuvis-workspace-hack",
            file=sys.stderr,
        )
        return 1
    print(f"one feature set per crate across {len(graphs)} cargo invocations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
