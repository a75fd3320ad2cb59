#!/usr/bin/env python3
"""Writes crates/neuvis-amr/tests/fixtures/mfem_nc_{2,3}d.json: nonconforming meshes refined by
MFEM itself (PyMFEM 4.10, `pip install mfem`), and what MFEM says of them: the vertices, which of
them hang (slave DOFs of the order-1 H1 space), the number of true DOFs, and the field
f(x) = sin(3x + 1) + y^2 - 0.5 z, projected and then constrained (x = P R x: hanging values
interpolated from their master edge/face, as MFEM saves a grid function on such a mesh).

The Rust test (tests/mfem.rs) builds the same refinement with neuvis's tree, writes it with
`neuvis_amr::mfem::write_mfem`, and compares vertex by vertex.

    pip install mfem && python3 tools/mfem_fixtures.py

`python3 tools/mfem_fixtures.py --check mesh.mesh mesh.gf` instead loads a mesh + grid function
neuvis wrote (`neuvis amr ... -o out/` writes out/mesh.mesh and out/mesh.gf) and reports what MFEM
makes of it: element/vertex counts, true DOFs, and whether the grid function lies in the
conforming space (max |P R x - x|).
"""
import json
import math
import os
import sys

import mfem as _mfem_pkg
import mfem.ser as mfem
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "neuvis-amr", "tests", "fixtures")

# points whose containing leaf gets refined, in order (each a nonconforming refinement)
REFINE = {
    2: [(0.3, 0.3), (0.3, 0.3), (0.1, 0.1), (0.7, 0.2), (0.6, 0.1), (0.45, 0.45)],
    3: [(0.3, 0.3, 0.3), (0.3, 0.3, 0.3), (0.7, 0.2, 0.6), (0.1, 0.1, 0.1)],
}


def f(p):
    x, y = p[0], p[1]
    z = p[2] if len(p) > 2 else 0.0
    return math.sin(3 * x + 1) + y * y - 0.5 * z


def containing(m, p):
    for e in range(m.GetNE()):
        vs = np.array([m.GetVertexArray(v) for v in m.GetElementVertices(e)])
        if np.all(vs.min(0) < p) and np.all(p < vs.max(0)):
            return e
    raise ValueError(p)


def make(d):
    if d == 2:
        m = mfem.Mesh.MakeCartesian2D(1, 1, mfem.Element.QUADRILATERAL, False, 1.0, 1.0)
    else:
        m = mfem.Mesh.MakeCartesian3D(1, 1, 1, mfem.Element.HEXAHEDRON, 1.0, 1.0, 1.0)
    m.EnsureNCMesh()
    m.UniformRefinement()
    for p in REFINE[d]:
        m.GeneralRefinement(mfem.intArray([containing(m, np.array(p))]), 1)
    fes = mfem.FiniteElementSpace(m, mfem.H1_FECollection(1, d))
    n = fes.GetVSize()
    x = np.array([f(m.GetVertexArray(v)) for v in range(m.GetNV())])
    # order-1 H1 on a mesh: DOF i is vertex i
    R = fes.GetConformingRestriction()
    P = fes.GetConformingProlongation()
    xv = mfem.Vector(x)
    xt = mfem.Vector(fes.GetTrueVSize())
    R.Mult(xv, xt)
    y = mfem.Vector(n)
    P.Mult(xt, y)
    y = y.GetDataArray().copy()
    rows = R.GetIArray(), R.GetJArray()
    masters = set(int(j) for j in rows[1])
    verts = []
    for v in range(m.GetNV()):
        verts.append({"x": [float(c) for c in m.GetVertexArray(v)], "value": float(y[v]), "hanging": v not in masters})
    return {
        "dim": d,
        "refine_uniformly": 1,
        "refine_at": [list(p) for p in REFINE[d]],
        "elements": m.GetNE(),
        "true_dofs": fes.GetTrueVSize(),
        "vertices": verts,
    }


def check(mesh_path, gf_path):
    m = mfem.Mesh(mesh_path, 1, 1)
    gf = mfem.GridFunction(m, gf_path)
    fes = gf.FESpace()
    print(f"{mesh_path}: dim {m.Dimension()}, {m.GetNE()} elements, {m.GetNV()} vertices, "
          f"{m.GetNBE()} boundary elements, nonconforming {bool(m.Nonconforming())}")
    print(f"{gf_path}: {fes.GetVSize()} DOFs, {fes.GetTrueVSize()} true DOFs")
    P = fes.GetConformingProlongation()
    if P is not None:
        R = fes.GetConformingRestriction()
        xt = mfem.Vector(fes.GetTrueVSize())
        R.Mult(gf, xt)
        y = mfem.Vector(fes.GetVSize())
        P.Mult(xt, y)
        print("max |P R x - x| (0 when the field is conforming):",
              float(np.abs(y.GetDataArray() - gf.GetDataArray()).max()))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check":
        check(sys.argv[2], sys.argv[3])
    else:
        for d in (2, 3):
            r = make(d)
            path = os.path.join(OUT, f"mfem_nc_{d}d.json")
            with open(path, "w") as fh:
                json.dump({"made_by": f"tools/mfem_fixtures.py with PyMFEM {_mfem_pkg.__version__}", **r}, fh, indent=1)
            print(f"{path}: {r['elements']} elements, {len(r['vertices'])} vertices, "
                  f"{sum(v['hanging'] for v in r['vertices'])} hanging, {r['true_dofs']} true DOFs")
