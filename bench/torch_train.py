#!/usr/bin/env python3
"""Baseline for `neuvis bench train`: the same NeRVI network and loss in PyTorch, on the CPU or,
with "device": "gpu", on CUDA when PyTorch sees a GPU.

Usage: python3 bench/torch_train.py JOB.json
JOB: {"size": 128, "c1": 128, "c0": 256, "c2": 256, "factors": [4,4,2,2], "h0": 2, "w0": 2,
      "batch": 8, "steps": 10, "threads": 2, "device": "cpu"}
Prints one JSON object: {"torch": version, "device": "cpu"|"cuda: NAME", "ms": [per timed step],
"first_ms": the first step (cold: CUDA context, cuDNN heuristics), "params": n}. Every step ends
by reading the loss back (`loss.item()`), as neuvis does, so GPU steps are timed to completion.
Network: positional encoding (24 features) -> SIREN residual block (24->c1) -> SIREN residual block
(c1 -> c0*h0*w0) -> reshape -> upscale blocks (3x3 conv, pixel shuffle, GELU; channels c2 halving,
floor 8) -> 3x3 head to 4 channels -> sigmoid. Loss: 0.7 (|M (f-I)|_1 + |M^-M|_1) + 0.3 (1-SSIM),
SSIM with an 11x11 Gaussian depthwise conv (valid). Adam. Same as neuvis-nn / neuvis-codec.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

job = json.load(open(sys.argv[1]))
torch.set_num_threads(int(job.get("threads", 2)))
torch.manual_seed(0)


class Siren(nn.Module):
    def __init__(self, din, dout, omega=30.0):
        super().__init__()
        self.fc = nn.Linear(din, dout)
        self.skip = nn.Linear(din, dout, bias=False) if din != dout else None
        self.omega = omega

    def forward(self, x):
        y = torch.sin(self.omega * self.fc(x))
        return y + (self.skip(x) if self.skip is not None else x)


class Net(nn.Module):
    def __init__(self, j):
        super().__init__()
        self.c0, self.h0, self.w0 = j["c0"], j["h0"], j["w0"]
        self.mlp = nn.Sequential(Siren(24, j["c1"]), Siren(j["c1"], j["c0"] * j["h0"] * j["w0"]))
        ups, cin = [], j["c0"]
        for i, r in enumerate(j["factors"]):
            cout = max(j["c2"] >> i, 8)
            ups += [nn.Conv2d(cin, cout * r * r, 3, padding=1), nn.PixelShuffle(r), nn.GELU()]
            cin = cout
        self.ups = nn.Sequential(*ups)
        self.head = nn.Conv2d(cin, 4, 3, padding=1)

    def forward(self, x):
        h = self.mlp(x).view(x.shape[0], self.c0, self.h0, self.w0)
        return torch.sigmoid(self.head(self.ups(h)))


def gauss():
    g = torch.exp(-(torch.arange(11, dtype=torch.float32) - 5) ** 2 / (2 * 1.5 ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(3, 1, 11, 11).contiguous()


W = gauss()


def ssim(x, y):
    f = lambda t: F.conv2d(t, W, groups=3)
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return (((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))).mean()


dev = torch.device("cpu")
dev_name = "cpu"
if job.get("device", "cpu") != "cpu":
    if not torch.cuda.is_available():
        print(json.dumps({"error": "PyTorch sees no CUDA device"}))
        sys.exit(3)
    dev = torch.device("cuda")
    dev_name = "cuda: " + torch.cuda.get_device_name(0)
    torch.backends.cudnn.benchmark = True
W = W.to(dev)
net = Net(job).to(dev)
opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.999))
b, s = job["batch"], job["size"]
x = (torch.rand(b, 24) * 2 - 1).to(dev)
img = torch.rand(b, 3, s, s).to(dev)
mask = (torch.rand(b, 1, s, s) > 0.5).float().to(dev)
times = []
first_ms = None
for step in range(job["steps"] + 2):
    t0 = time.perf_counter()
    out = net(x)
    f, m = out[:, :3], out[:, 3:]
    loss = 0.7 * ((mask * (f - img)).abs().mean() + (m - mask).abs().mean()) + 0.3 * (1 - ssim(f, img))
    opt.zero_grad()
    loss.backward()
    opt.step()
    loss.item()
    if step == 0:
        first_ms = (time.perf_counter() - t0) * 1000
    if step >= 2:
        times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"torch": torch.__version__, "device": dev_name, "ms": times, "first_ms": first_ms,
                  "params": sum(p.numel() for p in net.parameters())}))
