#!/usr/bin/env python3
"""Reference values for neuvis-metrics, computed with the implementations the field uses.

Writes image pairs into crates/neuvis-metrics/tests/fixtures/ and their reference metrics into
crates/neuvis-metrics/tests/fixtures/reference.json. The Rust tests compare against that file and
never call Python.

Pairs:
- natural renders made by our own renderer (`neuvis render`, commands below), and
- edge cases made here with a seeded generator: identical images, constant images, a one-pixel
  change, an odd-sized pair (exercises MS-SSIM's zero-padded pooling).

References:
- PSNR:    skimage.metrics.peak_signal_noise_ratio(data_range=255)
- SSIM:    skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
           use_sample_covariance=False, data_range=255, channel_axis=-1)
- MS-SSIM: pytorch_msssim.ms_ssim(data_range=255) in float64 for images with a side > 160;
           for smaller images pytorch_msssim refuses, and neuvis uses the largest number of scales
           L with side > 10 * 2^(L-1) and the first L weights renormalized: the reference for those
           runs pytorch_msssim's own per-scale function (_ssim) and pooling exactly as ms_ssim does.
- FLIP:    flip_evaluator.evaluate(ref, test, "LDR") (mean error and the error map's statistics)
- CIELUV:  skimage.color.rgb2luv for a set of colours.

Usage (Debian python3 with python3-torch and python3-skimage, plus
`pip install --no-deps pytorch-msssim flip-evaluator`):
    cargo build --release
    /usr/bin/python3 tools/metric_fixtures.py target/release/neuvis
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.color import rgb2luv
import pytorch_msssim
from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim
import flip_evaluator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "neuvis-metrics", "tests", "fixtures")
WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]

# (name, render args for side A, render args for side B, (theta, phi)); image size in the args
RENDERS = [
    ("tornado_iso_192x176", ["--volume", "tornado", "--mode", "iso", "--iso", "0.17", "--size", "192x176"],
     ["--volume", "tornado", "--mode", "iso", "--iso", "0.18", "--size", "192x176"], (60, 30)),
    ("tornado_dvr_192x176", ["--volume", "tornado", "--mode", "dvr", "--size", "192x176"],
     ["--volume", "tornado", "--mode", "dvr", "--size", "192x176", "--opacity", "0:0,0.2:0,0.6:0.4,1:0.9"], (100, 200)),
    ("ml_iso_64", ["--volume", "marschner-lobb", "--mode", "iso", "--iso", "0.5", "--size", "64"],
     ["--volume", "marschner-lobb", "--mode", "iso", "--iso", "0.52", "--size", "64"], (45, 45)),
    ("blobs_dvr_128", ["--volume", "blobs", "--dims", "64", "--mode", "dvr", "--size", "128", "--times", "0"],
     ["--volume", "blobs", "--dims", "64", "--mode", "dvr", "--size", "128", "--times", "1"], (90, 0)),
]


def render(neuvis, args, view, path):
    with tempfile.TemporaryDirectory() as d:
        cams = os.path.join(d, "cams.csv")
        with open(cams, "w") as f:
            f.write(f"{view[0]},{view[1]}\n")
        db = os.path.join(d, "x.cdb")
        extra = [] if "--times" in args else ["--times", "0"]
        subprocess.run([neuvis, "render", *args, *extra, "--cameras", cams, "-o", db, "-q"], check=True)
        with open(os.path.join(db, "data.csv")) as f:
            rel = f.read().splitlines()[1].split(",")[-1]
        Image.open(os.path.join(db, rel)).save(path)


def make_pairs(neuvis):
    os.makedirs(OUT, exist_ok=True)
    names = []
    for name, a, b, view in RENDERS:
        render(neuvis, a, view, os.path.join(OUT, f"{name}_a.png"))
        render(neuvis, b, view, os.path.join(OUT, f"{name}_b.png"))
        names.append(name)
    rng = np.random.default_rng(20261121)

    def save(name, a, b):
        Image.fromarray(a.astype(np.uint8), "RGB").save(os.path.join(OUT, f"{name}_a.png"))
        Image.fromarray(b.astype(np.uint8), "RGB").save(os.path.join(OUT, f"{name}_b.png"))
        names.append(name)

    t = np.asarray(Image.open(os.path.join(OUT, "tornado_iso_192x176_a.png")).convert("RGB"))
    save("identical_192x176", t, t)
    save("constant_same_64", np.full((64, 64, 3), 100), np.full((64, 64, 3), 100))
    save("constant_diff_64", np.full((64, 64, 3), 100), np.full((64, 64, 3), 150))
    noise = rng.integers(0, 256, (64, 64, 3))
    one = noise.copy()
    one[31, 17] = (one[31, 17] + 128) % 256
    save("one_pixel_64", noise, one)
    smooth = np.clip(128 + 60 * np.sin(np.arange(97)[None, :, None] / 7.0 + np.arange(83)[:, None, None] / 5.0)
                     + rng.normal(0, 8, (83, 97, 3)), 0, 255)
    other = np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255)
    save("odd_97x83", smooth, other)
    return names


def ms_ssim_ref(x, y):
    """x, y: HxWx3 uint8 arrays. Returns (value, scales)."""
    X = torch.from_numpy(x.astype(np.float64)).permute(2, 0, 1)[None]
    Y = torch.from_numpy(y.astype(np.float64)).permute(2, 0, 1)[None]
    side = min(x.shape[:2])
    if side > 160:
        return float(pytorch_msssim.ms_ssim(X, Y, data_range=255)), 5
    levels = max(l for l in range(1, 6) if side > 10 * 2 ** (l - 1))
    w = torch.tensor(WEIGHTS[:levels], dtype=torch.float64)
    w = w / w.sum()
    win = _fspecial_gauss_1d(11, 1.5).repeat([3, 1, 1, 1]).to(torch.float64)
    mcs = []
    for i in range(levels):
        ssim_pc, cs = _ssim(X, Y, win=win, data_range=255, size_average=False, K=(0.01, 0.03))
        if i < levels - 1:
            mcs.append(torch.relu(cs))
            padding = [s % 2 for s in X.shape[2:]]
            X = F.avg_pool2d(X, kernel_size=2, padding=padding)
            Y = F.avg_pool2d(Y, kernel_size=2, padding=padding)
    ssim_pc = torch.relu(ssim_pc)
    stack = torch.stack(mcs + [ssim_pc], dim=0)
    return float(torch.prod(stack ** w.view(-1, 1, 1), dim=0).mean()), levels


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    names = make_pairs(sys.argv[1])
    ref = {"generator": "tools/metric_fixtures.py",
           "versions": {"skimage": __import__("skimage").__version__, "torch": torch.__version__,
                        "pytorch_msssim": "1.0.0", "flip_evaluator": "1.7"},
           "pairs": {}}
    for name in names:
        a = np.asarray(Image.open(os.path.join(OUT, f"{name}_a.png")).convert("RGB"))
        b = np.asarray(Image.open(os.path.join(OUT, f"{name}_b.png")).convert("RGB"))
        e = {"width": int(a.shape[1]), "height": int(a.shape[0])}
        p = peak_signal_noise_ratio(a, b, data_range=255)
        e["psnr"] = None if np.isinf(p) else float(p)
        e["ssim"] = float(structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                                use_sample_covariance=False, data_range=255, channel_axis=-1))
        e["ms_ssim"], e["ms_ssim_scales"] = ms_ssim_ref(a, b)
        fmap, fmean, _ = flip_evaluator.evaluate(a.astype(np.float32) / 255.0, b.astype(np.float32) / 255.0,
                                                 "LDR", applyMagma=False)
        fmap = np.asarray(fmap).reshape(a.shape[0], a.shape[1])
        e["flip_mean"] = float(fmean)
        e["flip_max"] = float(fmap.max())
        e["flip_samples"] = [[int(r), int(c), float(fmap[r, c])] for r, c in
                             [(a.shape[0] // 2, a.shape[1] // 2), (a.shape[0] // 3, a.shape[1] // 4), (5, 7)]]
        ref["pairs"][name] = e
        print(name, e["psnr"], e["ssim"], e["ms_ssim"], e["ms_ssim_scales"], e["flip_mean"])
    colours = [[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 64, 200],
               [12, 200, 99], [250, 250, 5], [3, 3, 3], [90, 90, 90]]
    luv = rgb2luv(np.array(colours, dtype=np.uint8)[None])[0]
    ref["luv"] = [[c, [float(v) for v in l]] for c, l in zip(colours, luv)]
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)


if __name__ == "__main__":
    main()
