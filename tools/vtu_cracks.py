"""Counts the cracks VTK sees in an AMR mesh (`neuvis amr … -o OUT`, OUT/mesh.vtu), 2-D or 3-D.

    python3 tools/vtu_cracks.py OUT/mesh.vtu [N]

2-D: vtkFeatureEdges with only boundary edges on: an edge used by one cell is a boundary edge, so
in a nonconforming mesh every edge at a hanging vertex counts ("cracks"); in a crack-free mesh of
a box the boundary edges all lie on the box's sides. With N, the count of a uniform N x N mesh
for comparison (4 N).

3-D: vtkGeometryFilter's faces that do not lie in the box's sides (exposed faces inside the
domain: hanging interfaces), and the boundary edges inside the domain of vtkContourFilter's
surfaces of `value` at its 25 %, 50 % and 75 % quantiles (cracks in an isosurface).
"""
import sys

import numpy as np
import vtk
from vtk.util.numpy_support import vtk_to_numpy


def inside(poly, bounds):
    """Cells of `poly` that do not lie in one side of the box `bounds`."""
    lo, hi = np.array(bounds[0::2]), np.array(bounds[1::2])
    dim = 3 if hi[2] > lo[2] else 2
    n = 0
    for i in range(poly.GetNumberOfCells()):
        ids = poly.GetCell(i).GetPointIds()
        p = np.array([poly.GetPoint(ids.GetId(k)) for k in range(ids.GetNumberOfIds())])
        on = any(np.all(np.abs(p[:, a] - lo[a]) < 1e-12) or np.all(np.abs(p[:, a] - hi[a]) < 1e-12) for a in range(dim))
        n += not on
    return n


def boundary_edges(poly):
    """The edges of `poly` used by one cell only (vtkFeatureEdges, boundary edges alone)."""
    fe = vtk.vtkFeatureEdges()
    fe.SetInputData(poly)
    fe.BoundaryEdgesOn()
    fe.FeatureEdgesOff()
    fe.NonManifoldEdgesOff()
    fe.ManifoldEdgesOff()
    fe.Update()
    return fe.GetOutput()


def outer_surface(grid):
    """vtkGeometryFilter's faces of an unstructured grid: the faces used by one cell only."""
    geo = vtk.vtkGeometryFilter()
    geo.SetInputData(grid)
    geo.Update()
    return geo.GetOutput()


def contour(grid, value):
    """vtkContourFilter's isosurface of the point array `value` at `value`."""
    c = vtk.vtkContourFilter()
    c.SetInputData(grid)
    c.SetInputArrayToProcess(0, 0, 0, vtk.vtkDataObject.FIELD_ASSOCIATION_POINTS, "value")
    c.SetValue(0, float(value))
    c.Update()
    return c.GetOutput()


def read(path):
    r = vtk.vtkXMLUnstructuredGridReader()
    r.SetFileName(str(path))
    r.Update()
    return r.GetOutput()


def main():
    g = read(sys.argv[1])
    b = g.GetBounds()
    faces = outer_surface(g)
    if b[5] > b[4]:
        print(f"{sys.argv[1]}: {g.GetNumberOfCells()} cells, {faces.GetNumberOfCells()} outer faces, "
              f"{inside(faces, b)} of them inside the domain (exposed interfaces)")
        values = vtk_to_numpy(g.GetPointData().GetArray("value"))
        for q in (0.25, 0.5, 0.75):
            surface = contour(g, np.quantile(values, q))
            e = boundary_edges(surface)
            print(f"  contour at the {q:.0%} quantile: {surface.GetNumberOfCells()} triangles, "
                  f"{e.GetNumberOfCells()} boundary edges, {inside(e, b)} inside the domain (cracks)")
    else:
        e = boundary_edges(faces)
        print(f"{sys.argv[1]}: {g.GetNumberOfCells()} cells, {e.GetNumberOfCells()} boundary edges, "
              f"{inside(e, b)} interior (cracks)")
        if len(sys.argv) > 2:
            print(f"a uniform {sys.argv[2]} x {sys.argv[2]} mesh has {4 * int(sys.argv[2])}")


if __name__ == "__main__":
    main()
