"""What ParaView shows of a 3-D AMR mesh, checked with VTK itself (issue #34): `neuvis amr`'s
`mesh.vtu` has no exposed faces inside the domain (vtkGeometryFilter), no cracks in a contour
(boundary edges of vtkContourFilter's surface inside the domain), and the written field takes the
conforming interpolant's values: at every point of an element's closed box, the trilinear
interpolant of that element's corner values (so hanging vertices equal their constraints).

The VTK wheel (`pip install vtk`) is required in CI (`NEUVIS_REQUIRE_VTK=1`) and skipped elsewhere
without it. Run from the repository root: `NEUVIS=target/release/neuvis pytest python/tests`.
"""
import json
import os
import subprocess

import numpy as np
import pytest

if os.environ.get("NEUVIS_REQUIRE_VTK") == "1":
    import vtk
else:
    vtk = pytest.importorskip("vtk")
from vtk.util.numpy_support import numpy_to_vtk, vtk_to_numpy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_tool():
    """tools/vtu_cracks.py, the command BENCHMARKS.md measures cracks with."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("vtu_cracks", os.path.join(ROOT, "tools", "vtu_cracks.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cracks = _load_tool()
CLI = os.path.abspath(os.environ.get("NEUVIS", os.path.join(ROOT, "target", "release", "neuvis")))


def neuvis(*args, cwd, result=True):
    extra = ["--json"] if result else []
    out = subprocess.run([CLI, *args, *extra], cwd=cwd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout) if result else None


read = cracks.read


@pytest.fixture(scope="module")
def run3d(tmp_path_factory):
    """A 3-D INR refined adaptively over 6 iterations: elements on four levels or more."""
    d = tmp_path_factory.mktemp("amr3d")
    neuvis("inr", "fit", "--volume", "marschner-lobb", "--steps", "300", "--hidden", "32,32", "-o", "ml.json",
           "-q", cwd=d, result=False)
    run = neuvis("amr", "ml.json", "--max-it", "6", "--max-dofs", "200000", "--error-threshold", "0.02",
                 "--proportion-threshold", "0.3", "-o", "a3", "-q", cwd=d)
    return d, run


def test_the_mesh_has_no_exposed_interior_faces_and_no_contour_cracks(run3d):
    d, run = run3d
    g = read(d / "a3" / "mesh.vtu")
    levels = vtk_to_numpy(g.GetCellData().GetArray("level"))
    assert levels.max() - levels.min() >= 3, "the test needs hanging faces on three levels"
    assert run["history"][-1]["dofs"] > run["history"][-1]["conforming_dofs"], "no hanging vertices"
    bounds = g.GetBounds()
    faces = cracks.outer_surface(g)
    assert faces.GetNumberOfCells() > 0
    assert cracks.inside(faces, bounds) == 0, "exposed faces inside the domain"
    values = vtk_to_numpy(g.GetPointData().GetArray("value"))
    for q in (0.3, 0.5, 0.7):
        surface = cracks.contour(g, np.quantile(values, q))
        assert surface.GetNumberOfCells() > 100
        assert cracks.inside(cracks.boundary_edges(surface), bounds) == 0, f"cracks in the contour at quantile {q}"


def test_points_take_the_conforming_interpolant_of_every_element_holding_them(run3d):
    d, _ = run3d
    g = read(d / "a3" / "mesh.vtu")
    pts = vtk_to_numpy(g.GetPoints().GetData())
    values = vtk_to_numpy(g.GetPointData().GetArray("value"))
    element = vtk_to_numpy(g.GetCellData().GetArray("element"))
    conn = vtk_to_numpy(g.GetCells().GetConnectivityArray()).reshape(-1, 4)
    # each element's box from its tetrahedra
    order = np.argsort(element, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(element[order]) != 0])
    ends = np.r_[starts[1:], len(order)]
    key = lambda p: tuple(np.round(p, 9))
    at = {key(p): i for i, p in enumerate(pts)}
    checked_hanging = 0
    for s, e in zip(starts, ends):
        ids = np.unique(conn[order[s:e]])
        box = pts[ids]
        lo, hi = box.min(axis=0), box.max(axis=0)
        corner = lambda c: values[at[key(np.where(c, hi, lo))]]
        cv = np.array([[[corner((i, j, k)) for k in (0, 1)] for j in (0, 1)] for i in (0, 1)])
        # every written point inside or on this element's box, hanging vertices of finer
        # neighbours included
        inside = np.all((pts >= lo - 1e-12) & (pts <= hi + 1e-12), axis=1)
        x = (pts[inside] - lo) / (hi - lo)
        w = [np.stack([1 - x[:, a], x[:, a]]) for a in range(3)]
        tri = np.einsum("ijk,in,jn,kn->n", cv, w[0], w[1], w[2])
        np.testing.assert_allclose(values[inside], tri, rtol=0, atol=1e-9 * max(1.0, np.abs(values).max()))
        # an element without hanging vertices on its faces has 9 points: 8 corners and its centre
        checked_hanging += len(ids) - 9
    assert checked_hanging > 0, "no element has a finer neighbour's vertex on its faces"


def probe_rmse(grid, spec, dim, n=200_000, seed=7):
    """RMSE against the INR of the field VTK interpolates from `grid`'s `value` at n seeded
    uniform points of its box (vtkProbeFilter), with the INR evaluated by `neuvis.Inr`."""
    import neuvis

    b = np.array(grid.GetBounds()).reshape(3, 2)
    rng = np.random.default_rng(seed)
    pts = np.zeros((n, 3))
    for a in range(dim):
        pts[:, a] = rng.uniform(b[a, 0], b[a, 1], n)
    poly = vtk.vtkPolyData()
    vp = vtk.vtkPoints()
    vp.SetData(numpy_to_vtk(pts, deep=True))
    poly.SetPoints(vp)
    probe = vtk.vtkProbeFilter()
    probe.SetInputData(poly)
    probe.SetSourceData(grid)
    # the default (static) locator misses ~0.4 % of points inside the thin tetrahedra of a 3-D mesh
    # (each lies in exactly one, checked with barycentric coordinates); vtkCellLocator finds them
    probe.SetCellLocator(vtk.vtkCellLocator())
    probe.Update()
    out = probe.GetOutput()
    valid = vtk_to_numpy(out.GetPointData().GetArray(probe.GetValidPointMaskArrayName())).astype(bool)
    assert valid.mean() > 0.999, "probe points outside the mesh"
    got = vtk_to_numpy(out.GetPointData().GetArray("value"))[valid]
    want = neuvis.Inr(spec)(pts[valid, :dim])
    return float(np.sqrt(np.mean((got - want) ** 2)))


def conforming_rmse(grid, spec, dim, n=1_000_000, seed=7):
    """RMSE against the INR of the conforming interpolant rebuilt here from what `mesh.vtu` holds,
    at n seeded uniform points: the elements' boxes (the cells of each `element`), each element's
    multilinear interpolant of the `value`s at its box corners. Independent of neuvis's own
    evaluation (its tree, point location and samples)."""
    import neuvis

    pts = vtk_to_numpy(grid.GetPoints().GetData())[:, :dim]
    values = vtk_to_numpy(grid.GetPointData().GetArray("value"))
    element = vtk_to_numpy(grid.GetCellData().GetArray("element"))
    conn = vtk_to_numpy(grid.GetCells().GetConnectivityArray())
    offs = vtk_to_numpy(grid.GetCells().GetOffsetsArray())
    cell_of_entry = np.repeat(np.arange(len(offs) - 1), np.diff(offs))
    elem_of_entry = element[cell_of_entry]
    ne = element.max() + 1
    lo = np.full((ne, dim), np.inf)
    hi = np.full((ne, dim), -np.inf)
    np.minimum.at(lo, elem_of_entry, pts[conn])
    np.maximum.at(hi, elem_of_entry, pts[conn])
    dlo, dhi = pts.min(axis=0), pts.max(axis=0)
    level = np.rint(np.log2((dhi[0] - dlo[0]) / (hi[:, 0] - lo[:, 0]))).astype(np.int64)
    idx = np.rint((lo - dlo) / (hi - lo)).astype(np.int64)
    key = lambda lv, ix: (lv << 60) + sum(ix[:, a] << (20 * a) for a in range(dim))
    keys = key(level, idx)
    order = np.argsort(keys)
    rng = np.random.default_rng(seed)
    q = np.column_stack([rng.uniform(dlo[a], dhi[a], n) for a in range(dim)])
    owner = np.full(n, -1)
    for lv in np.unique(level):
        size = (dhi - dlo) / 2.0**lv
        k = key(np.full(n, lv), np.minimum(((q - dlo) / size).astype(np.int64), 2**lv - 1))
        pos = np.clip(np.searchsorted(keys[order], k), 0, len(order) - 1)
        hit = keys[order][pos] == k
        owner[hit] = order[pos[hit]]
    assert (owner >= 0).all(), "points in no element"
    at = {tuple(np.round(p, 12)): i for i, p in enumerate(pts)}
    corner_value = np.empty((ne, 2**dim))
    for c in range(2**dim):
        upper = np.array([(c >> a) & 1 for a in range(dim)], dtype=bool)
        corners = np.where(upper, hi, lo)
        corner_value[:, c] = values[[at[tuple(np.round(p, 12))] for p in corners]]
    x = (q - lo[owner]) / (hi[owner] - lo[owner])
    f = np.zeros(n)
    for c in range(2**dim):
        w = np.ones(n)
        for a in range(dim):
            w *= x[:, a] if (c >> a) & 1 else 1 - x[:, a]
        f += w * corner_value[owner, c]
    want = neuvis.Inr(spec)(q)
    return float(np.sqrt(np.mean((f - want) ** 2)))


def test_the_reported_error_is_the_error_of_the_field_written(run3d, tmp_path):
    """The history's total_error is the RMSE of the conforming interpolant the files hold, within
    1 % of an independent evaluation from mesh.vtu's elements and values (issue #34: it was the
    discontinuous interpolant's, 6.41e-3 reported against 7.15e-3 written). VTK's own
    interpolation inside elements with hanging vertices (linear on their triangles or
    tetrahedra) is printed beside it: within 1 % in 3-D, a few per cent above in 2-D."""
    spec2 = os.path.join(ROOT, "crates", "neuvis-amr", "fixtures", "sin_inv_r.json")
    run2 = neuvis("amr", spec2, "--proportion-threshold", "0.09", "--max-it", "7", "--total-error-samples",
                  "1048576", "-o", "a2", "-q", cwd=tmp_path)
    d, run3 = run3d
    for run, folder, spec, dim in [(run2, tmp_path / "a2", spec2, 2), (run3, d / "a3", d / "ml.json", 3)]:
        last = run["history"][-1]
        assert last["dofs"] > last["conforming_dofs"], "the comparison needs hanging vertices"
        grid = read(folder / "mesh.vtu")
        rebuilt = conforming_rmse(grid, str(spec), dim)
        probed = probe_rmse(grid, str(spec), dim)
        reported = last["total_error"]
        print(f"{dim}-D: reported {reported:.4e}, rebuilt from mesh.vtu {rebuilt:.4e}, VTK's probe "
              f"{probed:.4e}, discontinuous {last['discontinuous_error']:.4e}")
        assert abs(rebuilt - reported) <= 0.01 * reported, (dim, reported, rebuilt)
        assert abs(last["discontinuous_error"] - reported) > 0.01 * reported, "no difference to test"
        if dim == 3:
            assert abs(probed - reported) <= 0.01 * reported, (dim, reported, probed)
