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
    out = cli("amr", spec2, "--proportion-threshold", "0.09", "--max-it", "4", "--total-error-samples", "4096", "-o", "a", "-q", cwd=tmp_path)
    assert [r["elements"] for r in run["history"]] == [r["elements"] for r in out["history"]]
    assert [r["total_error"] for r in run["history"]] == [r["total_error"] for r in out["history"]]


def test_amr_writes_the_cli_folder_under_the_output_rule(tmp_path):
    """Issue #37, item 11: `amr(output=...)` writes what `neuvis amr -o` writes, and refuses what
    the CLI refuses (nothing written on a refusal)."""
    import pathlib
    import xml.etree.ElementTree as ET

    from PIL import Image

    spec = pathlib.Path(AMR) / "sin_inv_r.json"
    run = neuvis.amr(spec, output=tmp_path / "py", p=0.09, max_it=3, total_error_samples=4096, slice_px=64)
    cli("amr", str(spec), "--proportion-threshold", "0.09", "--max-it", "3", "--total-error-samples", "4096",
        "--slice-px", "64", "-o", "cli", "-q", cwd=tmp_path)
    assert run["written"] == ["history.csv", "history.json", "mesh.vtu", "mesh.mesh", "mesh.gf", "mesh.png"]
    for f in ["mesh.vtu", "mesh.mesh", "mesh.gf", "mesh.png"]:
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f
    # the files say what the run says: the VTU holds the last iteration's elements, the MFEM
    # grid function a value per vertex, the PNG the asked size
    last = run["history"][-1]
    grid = ET.parse(tmp_path / "py" / "mesh.vtu").getroot().find("UnstructuredGrid/Piece")
    assert int(grid.get("NumberOfCells")) == last["elements"]
    gf = (tmp_path / "py" / "mesh.gf").read_text().split("\n\n", 1)[1].split()
    assert len(gf) == last["dofs"]
    assert max(Image.open(tmp_path / "py" / "mesh.png").size) >= 64
    history = json.load(open(tmp_path / "py" / "history.json"))
    assert [r["elements"] for r in history["history"]] == [r["elements"] for r in run["history"]]
    assert json.load(open(tmp_path / "py" / "meta.json"))["generator"].startswith("neuvis")

    before = sorted(p.name for p in tmp_path.iterdir())
    # an existing folder: FileExistsError naming this function's argument
    with pytest.raises(FileExistsError, match="overwrite=True"):
        neuvis.amr(spec, output=tmp_path / "py", max_it=1)
    # a user's folder is never replaced, even with overwrite=True
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="only replaces what neuvis wrote"):
        neuvis.amr(spec, output=tmp_path / "mine", overwrite=True, max_it=1)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    # the folder holding the input
    with pytest.raises(ValueError, match="holds the input"):
        neuvis.amr(spec, output=AMR, overwrite=True, max_it=1)
    # a misspelt setting, a slice a 2-D INR cannot have, a bad range: refused before the run
    with pytest.raises(ValueError, match="max_iter"):
        neuvis.amr(spec, output=tmp_path / "x", max_iter=1)
    with pytest.raises(ValueError, match="drawn whole"):
        neuvis.amr(spec, output=tmp_path / "x", slices="x=0")
    with pytest.raises(ValueError, match="LO < HI"):
        neuvis.amr(spec, output=tmp_path / "x", range=(1, 0))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + ["mine"])
    # overwrite=True replaces the folder neuvis wrote; NumPy numbers are taken as settings
    again = neuvis.amr(spec, output=tmp_path / "py", overwrite=True, max_it=np.int64(1), t=np.float32(0.1),
                       total_error_samples=4096)
    assert len(again["history"]) == 2
    assert len(json.load(open(tmp_path / "py" / "history.json"))["history"]) == 2
    # a 3-D INR: its slices by name, as the CLI names them
    tiny = pathlib.Path(AMR) / "tiny_fourier_silu.json"
    r3 = neuvis.amr(tiny, output=tmp_path / "t3", max_it=1, slices=["y=0", "z=1"], slice_px=32,
                    total_error_samples=4096)
    assert r3["dim"] == 3
    assert "slice_y=0.png" in r3["written"] and "slice_z=1.png" in r3["written"]


def test_numpy_habits_paths_sequences_and_dtypes(tmp_path):
    """Issue #37, item 11: pathlib paths, lists where tuples work, arrays of any float type, one
    point as a vector, errors that name this module's arguments."""
    import pathlib

    # pathlib.Path everywhere a path is taken; a single path for series
    f = pathlib.Path(VTK) / "wavelet_binary_zlib_u32.vti"
    vol, info = neuvis.read_volume(f)
    assert vol.shape == tuple(info["dims"][::-1])
    pvd = pathlib.Path(VTK) / "series" / "wave.pvd"
    assert neuvis.series(pvd) == neuvis.series([str(pvd)])
    # a .pvd's step k is the volume of its k-th file, like the file itself
    times = neuvis.series(pvd)
    last, _ = neuvis.read_volume(pvd, step=2)
    direct, _ = neuvis.read_volume(times[2][1])
    assert np.array_equal(last, direct)
    with pytest.raises(ValueError, match="no step 3"):
        neuvis.read_volume(pvd, step=3)
    # lists and arrays where tuples work
    raw = tmp_path / "v.raw"
    np.arange(24, dtype=np.uint8).tofile(raw)
    a, ia = neuvis.read_volume(raw, raw_dims=[4, 3, 2], spacing=[0.5, 1, 2])
    b, ib = neuvis.read_volume(str(raw), raw_dims=(4, 3, 2), spacing=np.array([0.5, 1.0, 2.0]))
    assert np.array_equal(a, b) and ia == ib and ia["spacing"] == [0.5, 1.0, 2.0]
    assert a[1, 2, 3] == 1 * 12 + 2 * 4 + 3
    # errors name the arguments, not the CLI's flags
    with pytest.raises(ValueError, match="raw_dims") as e:
        neuvis.read_volume(raw)
    assert "--raw-dims" not in str(e.value)
    # built-in volumes, at a grid size and a time step
    t0, it0 = neuvis.read_volume("tornado", dims=[16, 16, 16])
    t3, _ = neuvis.read_volume("tornado", dims=(16, 16, 16), step=3)
    assert t0.shape == (16, 16, 16) and it0["dims"] == [16, 16, 16] and not np.array_equal(t0, t3)
    ml, _ = neuvis.read_volume("marschner-lobb")
    assert ml.shape == (41, 41, 41)
    # INR: float32, lists, one point; repr
    inr = neuvis.Inr(pathlib.Path(AMR) / "tiny_fourier_silu.json")
    ref = json.load(open(os.path.join(AMR, "tiny_fourier_silu_reference.json")))
    pts = np.array(ref["points"])
    want = np.array(ref["values"])
    np.testing.assert_allclose(inr(pts.tolist()), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(inr(pts.astype(np.float32)), inr(pts.astype(np.float32).astype(np.float64)), rtol=0, atol=0)
    one = inr(pts[0])
    assert isinstance(one, float) and one == pytest.approx(want[0], abs=1e-12)
    assert "tiny_fourier_silu.json" in repr(inr) and "3 inputs" in repr(inr)
    assert "one point" in neuvis.Inr.__doc__
    with pytest.raises(ValueError, match="inputs"):
        inr([0.1, 0.2])


def test_decode_many_takes_an_array(tmp_path):
    cli("render", "--volume", "tornado", "--dims", "24", "--size", "16", "--theta-step", "90", "--phi-step", "180",
        "--times", "0", "-o", "gt.cdb", "-q", cwd=tmp_path)
    cli("compress", "gt.cdb", "-o", "m.nrvi", "--c1", "4", "--epochs", "1", "--batch", "2", "-q", cwd=tmp_path)
    import pathlib

    m = neuvis.Model(pathlib.Path(tmp_path) / "m.nrvi")
    params = np.array(m.grid()["params"], dtype=np.float32)
    a = m.decode_many(params)
    b = m.decode_many([tuple(map(float, p)) for p in params])
    assert a.shape == (4, 16, 16, 4) and np.array_equal(a, b)
