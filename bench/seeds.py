#!/usr/bin/env python3
"""Seed spread of one `neuvis compress` configuration (codec issue, BENCHMARKS.md).

Training a small NeRVI/NeRV network is noisy: on the 64² target collection two seeds of the same
command differed by 0.75 dB. This script trains the same configuration with several seeds, scores each
file with `neuvis eval GT model.nrvi`, and prints every run and mean ± sample standard deviation of
PSNR, MS-SSIM, compression ratio and CPU minutes, so that two configurations are compared by more than
one run each.

CPU time is the user+system time of each `neuvis compress` child (shared with rd_study.py).

Usage:
  python3 bench/seeds.py target/release/neuvis GT.cdb --out DIR [--seeds 0,1,2] [--jobs 2]
      [--threads 1] -- COMPRESS OPTIONS...
e.g.
  python3 bench/seeds.py target/release/neuvis t64.cdb --out s --jobs 2 --threads 1 -- \\
      --c1 15 --c0 8 --c2 15 --bits 7 --mlp-bits 8 --omega0 10 --qat-epochs 20 --lr 3e-3 \\
      --mlp-lr 0.3 --epochs 210 --batch 4
"""
import argparse
import concurrent.futures
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rd_study import compress_timed, scores  # noqa: E402


def spread(values):
    """(mean, sample standard deviation; 0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("neuvis")
    ap.add_argument("gt", help="ground-truth collection (Cinema spec D)")
    ap.add_argument("--out", required=True, help="directory for the .nrvi files")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--jobs", type=int, default=1, help="models trained at the same time")
    ap.add_argument("--threads", type=int, default=0, help="threads per neuvis process (0: all)")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = ap.parse_args(argv[:cut])
    opts = argv[cut + 1:]
    if any(o == "--seed" or o.startswith("--seed=") for o in opts):
        ap.error("pass the seeds with --seeds, not --seed in the compress options")
    if not os.path.exists(os.path.join(a.gt, "data.csv")):
        ap.error(f"{a.gt}: not a collection (no data.csv)")
    seeds = [int(s) for s in a.seeds.split(",")]
    os.makedirs(a.out, exist_ok=True)
    thr = ["--threads", str(a.threads)] if a.threads else []
    jobs = []
    for s in seeds:
        model = os.path.join(a.out, f"seed{s}.nrvi")
        jobs.append((s, model, [a.neuvis, *thr, "compress", a.gt, "-o", model, "--seed", str(s),
                                "--checkpoint-every", "0", "-q", *opts]))
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        cpus = list(pool.map(lambda j: compress_timed(j[2]), jobs))
    rows = []
    print("| seed | bytes | ratio | PSNR (dB) | MS-SSIM | CPU-min |")
    print("|---:|---:|---:|---:|---:|---:|")
    for (s, model, _), cpu in zip(jobs, cpus):
        psnr, ms, cr = scores(a.neuvis, a.gt, model)
        size = os.path.getsize(model)
        rows.append((size, cr, psnr, ms, cpu / 60))
        print(f"| {s} | {size:,} | {cr:.1f} | {psnr:.2f} | {ms:.4f} | {cpu / 60:.1f} |", flush=True)
    cols = list(zip(*rows))
    (bm, bs), (rm, rs), (pm, ps), (mm, msd), (cm, cs) = (spread(c) for c in cols)
    print(f"| mean ± sd ({len(rows)}) | {bm:,.0f} ± {bs:,.0f} | {rm:.1f} ± {rs:.1f} | {pm:.2f} ± {ps:.2f} "
          f"| {mm:.4f} ± {msd:.4f} | {cm:.1f} ± {cs:.1f} |")


if __name__ == "__main__":
    main()
