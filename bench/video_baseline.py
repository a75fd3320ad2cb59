#!/usr/bin/env python3
"""Video-codec baseline for the NeRVI rate-distortion study.

Encodes a collection's images (in data.csv order: time, then theta, then phi) as one video with
ffmpeg's libx265 or libaom-av1 in yuv444p at the given CRF values, decodes it, and scores it with
`neuvis eval` against the ground truth. Prints one line per run:
    codec crf bytes ratio psnr ms_ssim

Usage: python3 bench/video_baseline.py NEUVIS_BIN GT.cdb [x265:51,45 av1:63,55]
Needs Debian `ffmpeg` (libx265 and libaom-av1).
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile

neuvis, gt = sys.argv[1], sys.argv[2]
specs = sys.argv[3:] or ["x265:51,45,40", "av1:63,55,45"]
rows = list(csv.DictReader(open(os.path.join(gt, "data.csv"))))
raw = None
for spec in specs:
    codec, crfs = spec.split(":")
    for crf in crfs.split(","):
        with tempfile.TemporaryDirectory() as d:
            frames = os.path.join(d, "frames")
            os.makedirs(frames)
            for i, r in enumerate(rows):
                os.symlink(os.path.abspath(os.path.join(gt, r["FILE"])), os.path.join(frames, f"{i:06d}.png"))
            out = os.path.join(d, "video.mkv")
            if codec == "x265":
                enc = ["-c:v", "libx265", "-crf", crf, "-x265-params", "info=0:log-level=error"]
            else:
                enc = ["-c:v", "libaom-av1", "-crf", crf, "-b:v", "0", "-cpu-used", "6"]
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-framerate", "30", "-i", os.path.join(frames, "%06d.png"),
                            *enc, "-pix_fmt", "yuv444p", out], check=True)
            size = os.path.getsize(out)
            dec = os.path.join(d, "dec.cdb")
            os.makedirs(os.path.join(dec, "f"))
            subprocess.run(["ffmpeg", "-v", "error", "-i", out, "-pix_fmt", "rgb24",
                            os.path.join(dec, "f", "%06d.png")], check=True)
            with open(os.path.join(dec, "data.csv"), "w") as f:
                f.write("time,theta,phi,FILE\n")
                for i, r in enumerate(rows):
                    f.write(f"{r['time']},{r['theta']},{r['phi']},f/{i + 1:06d}.png\n")
            res = subprocess.run([neuvis, "eval", gt, dec, "-q"], check=True, capture_output=True, text=True).stdout
            psnr = float(re.search(r"\| PSNR[^|]*\| ([0-9.]+)", res).group(1))
            msssim = float(re.search(r"\| MS-SSIM[^|]*\| ([0-9.]+)", res).group(1))
            if raw is None:
                w, h = re.search(r"pairs of (\d+)x(\d+)", res).groups()
                raw = len(rows) * int(w) * int(h) * 3
            print(f"{codec} {crf} {size} {raw / size:.1f} {psnr:.3f} {msssim:.4f}", flush=True)
