#!/usr/bin/env python3
"""Writes crates/neuvis-volume/tests/fixtures/nd/: time series and vector volumes as nibabel and
pynrrd write them, and reference.json with the values those libraries read back.

- ts.nii.gz   4-D NIfTI, int16 with scl_slope 0.25 / scl_inter 1, pixdim[4] = 0.5 s, toffset = 1:
              steps at t = 1, 1.5, 2
- vec.nii     5-D NIfTI, intent VECTOR, 3 float32 components per voxel (dim[5]); vec.nii.gz the same
- ts.nrrd     4-D NRRD, kinds "domain domain domain time", axis mins / spacings of the time axis
              10 and 0.25: steps at t = 10, 10.25, 10.5; ts_gzip.nrrd the same gzip-compressed,
              ts_timefirst.nrrd with kinds "time domain domain domain"
- vec.nrrd    4-D NRRD, kinds "vector domain domain domain" (components fastest), gzip, space
              directions

    pip install nibabel pynrrd && python3 tools/nd_fixtures.py
"""
import json
import os

import nibabel as nib
import nrrd
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "neuvis-volume", "tests", "fixtures", "nd")
NX, NY, NZ, NT = 6, 5, 4, 3
PROBES = [(0, 0, 0), (5, 4, 3), (2, 3, 1), (4, 1, 2)]

x, y, z = np.meshgrid(np.arange(NX), np.arange(NY), np.arange(NZ), indexing="ij")


def scalar(t):
    return x + 10 * y + 100 * z + 1000 * t


def vector():
    return np.stack([np.sin(x + 0.5 * y), 0.5 * y - z, z - 2.0 + 0.1 * x], axis=-1).astype(np.float32)


def probes(vol):
    return [float(vol[p]) for p in PROBES]


def main():
    os.makedirs(OUT, exist_ok=True)
    ref = {"probes": PROBES, "dims": [NX, NY, NZ]}

    # 4-D NIfTI time series, stored scaled int16
    data = np.stack([scalar(t) for t in range(NT)], axis=-1).astype(np.float64)
    img = nib.Nifti1Image(data, np.diag([0.8, 0.8, 2.0, 1.0]))
    h = img.header
    h.set_data_dtype(np.int16)
    h.set_slope_inter(0.25, 1.0)
    h.set_xyzt_units("mm", "sec")
    h["pixdim"][4] = 0.5
    h["toffset"] = 1.0
    p = os.path.join(OUT, "ts.nii.gz")
    nib.save(img, p)
    back = nib.load(p)
    arr = back.get_fdata()
    hb = back.header
    ref["ts.nii.gz"] = {
        "times": [float(hb["toffset"]) + k * float(hb["pixdim"][4]) for k in range(NT)],
        "spacing": [float(v) for v in hb["pixdim"][1:4]],
        "steps": [probes(arr[..., k]) for k in range(NT)],
    }

    # 5-D NIfTI vector volume
    vec = vector()
    img = nib.Nifti1Image(vec[:, :, :, None, :], np.eye(4))
    img.header.set_intent("vector")
    p = os.path.join(OUT, "vec.nii")
    nib.save(img, p)
    arr = nib.load(p).get_fdata()[:, :, :, 0, :]
    ref["vec.nii"] = {
        "components": [probes(arr[..., c]) for c in range(3)],
        "magnitude": probes(np.sqrt((arr.astype(np.float64) ** 2).sum(-1))),
    }
    nib.save(img, os.path.join(OUT, "vec.nii.gz"))  # the same, gzip: components read in one pass
    ref["vec.nii.gz"] = ref["vec.nii"]

    # 4-D NRRD with a time axis
    data = np.stack([scalar(t) for t in range(NT)], axis=-1).astype(np.float32)
    p = os.path.join(OUT, "ts.nrrd")
    nrrd.write(p, data, {
        "kinds": ["domain", "domain", "domain", "time"],
        "spacings": [0.5, 0.5, 2.0, 0.25],
        "axis mins": [0.0, 0.0, 0.0, 10.0],
        "encoding": "raw",
    })
    arr, hb = nrrd.read(p)
    ref["ts.nrrd"] = {
        "times": [float(hb["axis mins"][3]) + k * float(hb["spacings"][3]) for k in range(NT)],
        "spacing": [float(v) for v in hb["spacings"][:3]],
        "steps": [probes(arr[..., k]) for k in range(NT)],
    }

    # the same series gzip-compressed (a step reads the stream up to its block), and with the
    # time axis first (a step gathers its samples from the whole file)
    p = os.path.join(OUT, "ts_gzip.nrrd")
    nrrd.write(p, data, {
        "kinds": ["domain", "domain", "domain", "time"],
        "spacings": [0.5, 0.5, 2.0, 0.25],
        "axis mins": [0.0, 0.0, 0.0, 10.0],
        "encoding": "gzip",
    })
    arr, hb = nrrd.read(p)
    ref["ts_gzip.nrrd"] = dict(ref["ts.nrrd"], steps=[probes(arr[..., k]) for k in range(NT)])
    p = os.path.join(OUT, "ts_timefirst.nrrd")
    nrrd.write(p, np.moveaxis(data, -1, 0), {
        "kinds": ["time", "domain", "domain", "domain"],
        "spacings": [0.25, 0.5, 0.5, 2.0],
        "axis mins": [10.0, 0.0, 0.0, 0.0],
        "encoding": "raw",
    })
    arr, hb = nrrd.read(p)
    ref["ts_timefirst.nrrd"] = dict(ref["ts.nrrd"], steps=[probes(arr[k]) for k in range(NT)])

    # 4-D NRRD vector volume, components fastest
    p = os.path.join(OUT, "vec.nrrd")
    nrrd.write(p, np.moveaxis(vec, -1, 0), {
        "kinds": ["vector", "domain", "domain", "domain"],
        "space": "right-anterior-superior",
        "space directions": [[np.nan] * 3, [0.5, 0, 0], [0, 0.5, 0], [0, 0, 2.0]],
        "encoding": "gzip",
    })
    arr, hb = nrrd.read(p)
    arr = np.moveaxis(arr, 0, -1)
    ref["vec.nrrd"] = {
        "spacing": [0.5, 0.5, 2.0],
        "components": [probes(arr[..., c]) for c in range(3)],
        "magnitude": probes(np.sqrt((arr.astype(np.float64) ** 2).sum(-1))),
    }
    ref["made_by"] = f"tools/nd_fixtures.py with nibabel {nib.__version__}, pynrrd {nrrd.__version__}"
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
