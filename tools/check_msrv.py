#!/usr/bin/env python3
"""Check the declared minimum Rust version (`rust-version` in the workspace's Cargo.toml).

Every workspace crate must inherit it (`rust-version.workspace = true`), so one number is
declared, and the toolchain that builds and tests the project must be at least that version.
This does not prove that the declared version still compiles the project: that needs that
toolchain installed, which CI (no network but the package registries) cannot download. It does
catch a crate that declares nothing or another number, and a CI toolchain older than the
declaration. Run from the repository root: `python3 tools/check_msrv.py` (~1 s, nothing built).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys


def version(text: str) -> tuple[int, ...]:
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        raise SystemExit(f"cannot read a version in {text!r}")
    return tuple(int(g or 0) for g in m.groups())


def main() -> int:
    with open("Cargo.toml", encoding="utf-8") as f:
        m = re.search(r'^\s*rust-version\s*=\s*"([^"]+)"', f.read(), re.M)
    if not m:
        print("Cargo.toml: [workspace.package] declares no rust-version")
        return 1
    declared = m.group(1)
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    bad = [
        f"{p['name']} ({p['manifest_path']}): rust-version {p.get('rust_version')!r}"
        for p in meta["packages"]
        if p.get("rust_version") != declared
    ]
    for line in bad:
        print(f"{line}, not the workspace's {declared!r}: add `rust-version.workspace = true`")
    rustc = subprocess.run(["rustc", "--version"], check=True, capture_output=True, text=True).stdout
    if version(rustc) < version(declared):
        print(f"{rustc.strip()} is older than the declared rust-version {declared}")
        bad.append(rustc)
    if bad:
        return 1
    print(f"{len(meta['packages'])} crates declare rust-version {declared}; {rustc.strip()} builds them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
