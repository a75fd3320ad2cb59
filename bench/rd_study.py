#!/usr/bin/env python3
"""Rate-distortion study of the NeRVI codec (codec issue, BENCHMARKS.md).

For each collection (tornado IR and tornado DVR by default, 800 views of 128² at t = 0):
  1. render the ground truth with `neuvis render`;
  2. for each target ratio, train NeRVI and NeRV at the same --ratio (same c1 = C0 = c2, so the
     files come out within a few per cent of each other) with `neuvis compress`, and score the
     file with `neuvis eval GT model.nrvi` (PSNR, MS-SSIM);
  3. encode the same images as one video with libx265 and libaom-av1 (bench/video_baseline.py) over
     a CRF sweep, and read each codec's PSNR / MS-SSIM at the NeRVI file's byte count by linear
     interpolation in log(bytes) between the two CRFs that bracket it ("cannot reach" when the
     codec's smallest file is larger, "above sweep" when its largest is smaller).
Prints the raw rows as they finish and a Markdown table at the end; writes everything under --out.

CPU time is the user+system time of each `neuvis compress` child (os.wait4), so the budget is
comparable across machines with different core counts. `--jobs 2 --threads 1` trains two models at
once, one core each (the fastest use of 2 cores for small networks).

Usage:
  python3 bench/rd_study.py target/release/neuvis --out rd [--size 128] [--step 9]
      [--modes iso,dvr] [--ratios 200,500] [--epochs 40] [--lr 3e-3] [--jobs 2 --threads 1]
      [--x265 51,45,40,35] [--av1 63,55,48,40] [--compress-args "--qat-epochs 3"]
      [--nervi-args "--omega0 10 --mlp-bits 8 --mlp-lr 0.3"] [--nerv-args "..."]
Needs Debian `ffmpeg` for the video rows (--no-video skips them).
"""
import argparse
import concurrent.futures
import math
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def compress_timed(cmd):
    """Runs `neuvis compress` and returns its CPU seconds, measured by wait4 on the child."""
    with tempfile.TemporaryFile() as errf:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.strip()}")
    return ru.ru_utime + ru.ru_stime


def scores(neuvis, gt, other):
    """(PSNR, MS-SSIM, compression ratio or None) from `neuvis eval`."""
    out = run([neuvis, "eval", gt, other, "-q"])
    psnr = float(re.search(r"\| PSNR[^|]*\| ([0-9.]+)", out).group(1))
    msssim = float(re.search(r"\| MS-SSIM[^|]*\| ([0-9.]+)", out).group(1))
    m = re.search(r"\| compression ratio[^|]*\| ([0-9.]+)", out)
    return psnr, msssim, float(m.group(1)) if m else None


def at_bytes(points, target):
    """(psnr, msssim) of a codec's sweep at `target` bytes, or a reason string."""
    pts = sorted(points)
    if not pts:
        return "not run"
    if target < pts[0][0]:
        return "cannot reach"
    if target > pts[-1][0]:
        return "above sweep"
    for (b0, p0, m0), (b1, p1, m1) in zip(pts, pts[1:]):
        if b0 <= target <= b1:
            w = 0.0 if b1 == b0 else (math.log(target) - math.log(b0)) / (math.log(b1) - math.log(b0))
            return (p0 + w * (p1 - p0), m0 + w * (m1 - m0))
    return (pts[0][1], pts[0][2])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("neuvis")
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--step", default="9", help="theta and phi step in degrees (9 -> 800 views)")
    ap.add_argument("--modes", default="iso,dvr")
    ap.add_argument("--ratios", default="200,500")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch", default=None, help="images per step (default: neuvis compress's)")
    ap.add_argument("--lr", default=None, help="peak learning rate (default: neuvis compress's)")
    ap.add_argument("--archs", default="nervi,nerv")
    ap.add_argument("--jobs", type=int, default=1, help="models trained at the same time")
    ap.add_argument("--threads", type=int, default=0, help="threads per neuvis process (0: all)")
    ap.add_argument("--x265", default="51,45,40,35")
    ap.add_argument("--av1", default="63,55,48,40")
    ap.add_argument("--no-video", action="store_true")
    ap.add_argument("--compress-args", default="",
                    help="more `neuvis compress` options for every model, e.g. \"--qat-epochs 3\"")
    ap.add_argument("--nervi-args", default="",
                    help="more options for the NeRVI models only, e.g. \"--omega0 10 --mlp-bits 8 --mlp-lr 0.3\"")
    ap.add_argument("--nerv-args", default="", help="more options for the NeRV models only")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows = []
    for mode in a.modes.split(","):
        gt = os.path.join(a.out, f"tornado_{mode}_{a.size}.cdb")
        if not os.path.exists(os.path.join(gt, "data.csv")):
            extra = ["--iso", "0.17"] if mode == "iso" else []
            run([a.neuvis, "render", "--volume", "tornado", "--mode", mode, "--size", str(a.size),
                 "--theta-step", a.step, "--phi-step", a.step, "--times", "0", *extra, "-o", gt])
        video = {}
        if not a.no_video:
            for codec, crfs in (("x265", a.x265), ("av1", a.av1)):
                if not crfs:
                    continue
                out = run([sys.executable, os.path.join(HERE, "video_baseline.py"), a.neuvis, gt, f"{codec}:{crfs}"])
                for line in out.split("\n"):
                    if line.strip():
                        c, crf, size, ratio, psnr, ms = line.split()
                        video.setdefault(c, []).append((int(size), float(psnr), float(ms)))
                        print(f"{mode} {c} crf {crf}: {size} B, CR {ratio}, {psnr} dB, MS-SSIM {ms}", flush=True)
                        rows.append((mode, f"{c} crf {crf}", int(size), float(ratio), float(psnr), float(ms), None))
        thr = ["--threads", str(a.threads)] if a.threads else []
        jobs = []
        for ratio in a.ratios.split(","):
            for arch in a.archs.split(","):
                model = os.path.join(a.out, f"{mode}_{arch}_r{ratio}.nrvi")
                cmd = [a.neuvis, *thr, "compress", gt, "-o", model, "--arch", arch, "--ratio", ratio,
                       "--epochs", str(a.epochs), "--checkpoint-every", "0", "-q",
                       *(["--batch", a.batch] if a.batch else []),
                       *(["--lr", a.lr] if a.lr else []), *a.compress_args.split(),
                       *(a.nervi_args if arch == "nervi" else a.nerv_args).split()]
                jobs.append((ratio, arch, model, cmd))
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
            cpus = list(pool.map(lambda j: compress_timed(j[3]), jobs))
        for (ratio, arch, model, _), cpu in zip(jobs, cpus):
            size = os.path.getsize(model)
            psnr, ms, cr = scores(a.neuvis, gt, model)
            print(f"{mode} {arch} --ratio {ratio}: {size} B, CR {cr:.1f}, {psnr:.2f} dB, MS-SSIM {ms:.4f},"
                  f" {cpu / 60:.1f} CPU-min", flush=True)
            rows.append((mode, f"{arch} --ratio {ratio}", size, cr, psnr, ms, cpu))
            if arch == "nervi":
                for c, pts in video.items():
                    r = at_bytes(pts, size)
                    if isinstance(r, str):
                        rows.append((mode, f"{c} at {size} B", None, None, r, None, None))
                    else:
                        rows.append((mode, f"{c} at {size} B (interp.)", size, cr, r[0], r[1], None))
    print()
    print("| collection | method | bytes | ratio | PSNR (dB) | MS-SSIM | CPU-min |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for mode, name, size, cr, psnr, ms, cpu in rows:
        f = lambda v, fmt: "" if v is None else (v if isinstance(v, str) else format(v, fmt))
        print(f"| tornado {mode.upper()} {a.size}² | {name} | {f(size, ',')} | {f(cr, '.1f')} | {f(psnr, '.2f')} "
              f"| {f(ms, '.4f')} | {f(None if cpu is None else cpu / 60, '.1f')} |")


if __name__ == "__main__":
    main()
