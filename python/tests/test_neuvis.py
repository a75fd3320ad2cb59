"""The Python package against the CLI: the same files, the same numbers.

Run from the repository root after `pip install ./python` (or `maturin develop -m python/Cargo.toml`)
and a release build of the CLI: `NEUVIS=target/release/neuvis pytest python/tests`.
"""
import json
import os
import subprocess

import numpy as np
import pytest

import neuvis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.abspath(os.environ.get("NEUVIS", os.path.join(ROOT, "target", "release", "neuvis")))
VTK = os.path.join(ROOT, "crates", "neuvis-volume", "tests", "fixtures", "vtk")
AMR = os.path.join(ROOT, "crates", "neuvis-amr", "fixtures")


def cli(*args, cwd=None):
    out = subprocess.run([CLI, *args, "--json"], cwd=cwd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def test_read_volume_matches_vtk_reference():
    ref = json.load(open(os.path.join(VTK, "reference.json")))
    f = "wavelet_binary_zlib_u32.vti"
    vol, info = neuvis.read_volume(os.path.join(VTK, f))
    r = ref["files"][f]
    assert vol.dtype == np.float32
    assert list(vol.shape) == r["dims"][::-1]
    assert info["dims"] == r["dims"]
    assert vol.sum(dtype=np.float64) == pytest.approx(r["arrays"]["RTData"]["sum"], rel=1e-6)
    grad, _ = neuvis.read_volume(os.path.join(VTK, f), array="gradient", component=0)
    assert grad.sum(dtype=np.float64) == pytest.approx(r["arrays"]["gradient"]["component0_sum"], rel=1e-5)
    with pytest.raises(ValueError, match="pressure"):
        neuvis.read_volume(os.path.join(VTK, f), array="pressure")


def test_series_reads_pvd_times():
    steps = neuvis.series([os.path.join(VTK, "series", "wave.pvd")])
    assert [t for t, _ in steps] == [0.0, 0.5, 1.25]
    assert steps[2][1].endswith("wave_t_10.vti")


ND = os.path.join(ROOT, "crates", "neuvis-volume", "tests", "fixtures", "nd")


def test_four_d_series_and_vectors_match_nibabel_and_pynrrd():
    r = json.load(open(os.path.join(ND, "reference.json")))
    for name in ("ts.nii.gz", "ts.nrrd"):
        steps = neuvis.series([os.path.join(ND, name)])
        assert [t for t, _ in steps] == r[name]["times"]
        for k in range(len(steps)):
            v, info = neuvis.read_volume(os.path.join(ND, name), step=k)
            assert info["spacing"] == pytest.approx(r[name]["spacing"])
            got = [float(v[z, y, x]) for x, y, z in r["probes"]]
            assert got == pytest.approx(r[name]["steps"][k], rel=1e-6)
    for name in ("vec.nii", "vec.nrrd"):
        v, _ = neuvis.read_volume(os.path.join(ND, name), component=1)
        assert [float(v[z, y, x]) for x, y, z in r["probes"]] == pytest.approx(r[name]["components"][1], rel=1e-6, abs=1e-6)


def test_model_decodes_what_the_cli_decodes(tmp_path):
    cli("render", "--volume", "tornado", "--dims", "24", "--size", "16", "--theta-step", "90", "--phi-step", "180",
        "--times", "0", "-o", "gt.cdb", "-q", cwd=tmp_path)
    cli("compress", "gt.cdb", "-o", "m.nrvi", "--c1", "4", "--epochs", "2", "--batch", "2", "-q", cwd=tmp_path)
    cli("decompress", "m.nrvi", "-o", "dec.cdb", "-q", cwd=tmp_path)
    m = neuvis.Model(str(tmp_path / "m.nrvi"))
    g = m.grid()
    assert g["thetas"] == [0.0, 90.0] and g["phis"] == [0.0, 180.0]
    from PIL import Image
    for (t, th, ph) in g["params"]:
        img = m.decode(t, th, ph)
        assert img.shape == (16, 16, 4) and img.dtype == np.uint8
        png = np.asarray(Image.open(tmp_path / "dec.cdb" / "t0000" / ("th%03d_ph%03d.png" % (th, ph))).convert("RGBA"))
        # the CLI writes RGB where the mask is set and the background elsewhere
        fg = png[..., 3] > 0
        assert (img[..., 3] > 0).tolist() == fg.tolist()
        assert np.abs(img[fg][:, :3].astype(int) - png[fg][:, :3].astype(int)).max() <= 1
    many = m.decode_many(g["params"])
    assert many.shape == (4, 16, 16, 4)
    with pytest.raises(ValueError):
        m.decode(0, 500, 0)


def test_inr_and_amr_match_the_cli(tmp_path):
    spec = os.path.join(AMR, "tiny_fourier_silu.json")
    inr = neuvis.Inr(spec)
    ref = json.load(open(os.path.join(AMR, "tiny_fourier_silu_reference.json")))
    got = inr(np.array(ref["points"], dtype=np.float64))
    np.testing.assert_allclose(got, ref["values"], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="inputs"):
        inr(np.zeros((2, 2)))
    spec2 = os.path.join(AMR, "sin_inv_r.json")
    run = neuvis.amr(spec2, method="pruning", p=0.09, max_it=4, total_error_samples=4096)
    out = cli("amr", spec2, "--p", "0.09", "--max-it", "4", "--total-error-samples", "4096", "-o", "a", "-q", cwd=tmp_path)
    assert [r["elements"] for r in run["history"]] == [r["elements"] for r in out["history"]]
    assert [r["total_error"] for r in run["history"]] == [r["total_error"] for r in out["history"]]
