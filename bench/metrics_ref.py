#!/usr/bin/env python3
"""Baseline for `neuvis bench metrics`: the reference implementations, timed per image.

Usage: python3 bench/metrics_ref.py LIST.txt
LIST.txt holds lines "reference.png test.png". Prints one JSON object with milliseconds per image
for PSNR (skimage), SSIM (skimage, Gaussian), MS-SSIM (pytorch_msssim, float64 on images with a side
> 160, else skipped) and FLIP (flip_evaluator, LDR), single image at a time, torch threads = 2.
"""
import json
import sys
import time

import numpy as np
from PIL import Image

pairs = [l.split() for l in open(sys.argv[1]) if l.strip()]
imgs = [(np.asarray(Image.open(a).convert("RGB")), np.asarray(Image.open(b).convert("RGB"))) for a, b in pairs]
out = {"images": len(imgs)}


def timed(name, fn):
    t0 = time.perf_counter()
    for a, b in imgs:
        fn(a, b)
    out[name] = (time.perf_counter() - t0) * 1000.0 / len(imgs)


from skimage.metrics import peak_signal_noise_ratio, structural_similarity
timed("psnr", lambda a, b: peak_signal_noise_ratio(a, b, data_range=255))
timed("ssim", lambda a, b: structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                                 use_sample_covariance=False, data_range=255, channel_axis=-1))
try:
    import torch
    import pytorch_msssim
    torch.set_num_threads(2)
    if min(imgs[0][0].shape[:2]) > 160:
        def ms(a, b):
            x = torch.from_numpy(a.astype(np.float64)).permute(2, 0, 1)[None]
            y = torch.from_numpy(b.astype(np.float64)).permute(2, 0, 1)[None]
            return float(pytorch_msssim.ms_ssim(x, y, data_range=255))
        timed("ms_ssim", ms)
except ImportError:
    pass
try:
    import flip_evaluator
    timed("flip", lambda a, b: flip_evaluator.evaluate(a.astype(np.float32) / 255, b.astype(np.float32) / 255, "LDR",
                                                       applyMagma=False))
except ImportError:
    pass
print(json.dumps(out))
