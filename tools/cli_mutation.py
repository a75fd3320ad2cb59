#!/usr/bin/env python3
"""Runs the neuvis command-line tool on seeded mutants of every format it reads, as a user would,
and reports panics, signals, hangs and leftovers.

The mutants come from the fuzz harness (crates/neuvis-fuzz: the same seeded, structure-aware
mutator, with CRCs repaired), written to disk with NEUVIS_FUZZ_EMIT. Each input runs the command a
user runs on that format; a run passes when it exits 0, 1 (a clear error) or 2 (refused flags) without
"panicked", within the time bound, and leaves nothing behind: no output when it failed, no
`.neuvis-tmp*` or `.*.partial` anywhere.

Usage: tools/cli_mutation.py [--inputs 3000] [--seed 24] [--jobs 2] [--targets nrvi,nvb,...]
       (builds the release binary and the harness first: cargo build --release --workspace --tests)
"""
import argparse
import concurrent.futures as cf
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "neuvis")
FIX = os.path.join(ROOT, "crates", "neuvis-amr", "fixtures")


def harness():
    cands = [p for p in glob.glob(os.path.join(ROOT, "target", "release", "deps", "fuzz-*")) if not p.endswith(".d")]
    if not cands:
        sys.exit("build the harness first: cargo build --release --workspace --tests")
    return max(cands, key=os.path.getmtime)


def command(target, path, out):
    """The command a user runs on a file of this format, writing into `out`."""
    if target == "nrvi":
        return [BIN, "decompress", path, "-o", os.path.join(out, "d.cdb"), "-q"]
    if target == "nvb":
        return [BIN, "raycast", "render", path, "--iso", "0", "--size", "32", "-o", os.path.join(out, "f.png")]
    if target in ("nrrd", "nifti", "vtk"):
        return [BIN, "isosurface", path, "--iso", "1", "-o", os.path.join(out, "m.vtp")]
    if target == "weights":
        spec = "tiny_fourier_silu.json" if path.endswith(".pt") else "sin_inv_r.json"
        return [BIN, "amr", os.path.join(FIX, spec), "--weights", path, "--max-it", "1", "-o", os.path.join(out, "amr")]
    if target == "cinema":
        return [BIN, "eval", path, path, "-q", "--csv", os.path.join(out, "s.csv")]
    raise ValueError(target)


def leftovers(dirs):
    bad = []
    for d in dirs:
        for root, subdirs, files in os.walk(d):
            for n in files + subdirs:
                if n.startswith(".neuvis-tmp") or n.endswith(".partial"):
                    bad.append(os.path.join(root, n))
    return bad


def run_one(target, path, timeout):
    out = tempfile.mkdtemp(prefix="neuvis-cli-")
    before = set(os.listdir(os.path.dirname(path)))
    t0 = time.time()
    try:
        p = subprocess.run(command(target, path, out), capture_output=True, timeout=timeout, text=True, errors="replace")
        rc, err = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        rc, err = "hang", ""
    dt = time.time() - t0
    problems = []
    if rc == "hang":
        problems.append("hang")
    elif rc < 0:
        problems.append(f"signal {-rc}")
    elif rc not in (0, 1, 2):
        problems.append(f"exit {rc}")
    if "panicked" in err:
        problems.append("panic")
    left = leftovers([out, os.path.dirname(path)])
    if rc not in (0, "hang") and os.listdir(out):
        left += [os.path.join(out, n) for n in os.listdir(out)]
    new_beside = set(os.listdir(os.path.dirname(path))) - before
    left += sorted(new_beside)
    if left:
        problems.append("leftovers: " + ", ".join(left[:3]))
    shutil.rmtree(out, ignore_errors=True)
    return rc, problems, dt, err.strip().splitlines()[-1:] if err.strip() else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--targets", default="nrvi,nvb,nrrd,nifti,vtk,weights,cinema")
    a = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit("build the CLI first: cargo build --release")
    work = tempfile.mkdtemp(prefix="neuvis-mutants-")
    env = dict(os.environ, NEUVIS_FUZZ_EMIT=work, NEUVIS_FUZZ_INPUTS=str(a.inputs), NEUVIS_FUZZ_SEED=str(a.seed),
               NEUVIS_FUZZ_TARGETS=a.targets)
    listing = subprocess.run([harness()], env=env, capture_output=True, text=True, check=True).stdout.split("\n")
    jobs = [line.split(" ", 1) for line in listing if " " in line]
    print(f"{len(jobs)} inputs ({a.inputs} per format, seed {a.seed}) through {BIN}, {a.jobs} at a time")
    stats = {}
    findings = []
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        futs = {ex.submit(run_one, t, p, a.timeout): (t, p) for t, p in jobs}
        for f in cf.as_completed(futs):
            t, p = futs[f]
            rc, problems, dt, last = f.result()
            s = stats.setdefault(t, {"inputs": 0, "ok": 0, "refused": 0, "problems": 0, "slowest": 0.0, "time": 0.0})
            s["inputs"] += 1
            s["ok" if rc == 0 else "refused"] += 1
            s["slowest"] = max(s["slowest"], dt)
            s["time"] += dt
            if problems:
                s["problems"] += 1
                findings.append((t, p, problems, last))
    cmd = "tools/cli_mutation.py --inputs %d --seed %d" % (a.inputs, a.seed)
    print(f"\n`{cmd}`\n")
    print("| format | command | inputs | exit 0 | clear error (1/2) | panics, signals, hangs or leftovers | slowest s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for t in a.targets.split(","):
        if t not in stats:
            continue
        s = stats[t]
        c = " ".join(x if not x.startswith(ROOT) else os.path.relpath(x, ROOT) for x in command(t, "IN", "OUT")[1:3])
        print(f"| {t} | `neuvis {c} …` | {s['inputs']} | {s['ok']} | {s['refused']} | {s['problems']} | {s['slowest']:.2f} |")
    for t, p, problems, last in findings[:20]:
        print(f"FINDING {t}: {p}: {'; '.join(problems)} {last}")
    if findings:
        print(f"{len(findings)} findings; inputs kept under {work}")
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
