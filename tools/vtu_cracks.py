"""Counts the boundary edges VTK sees in an AMR mesh (`neuvis amr … -o OUT`, OUT/mesh.vtu).

    python3 tools/vtu_cracks.py OUT/mesh.vtu [N]

vtkFeatureEdges with only boundary edges on: an edge used by one cell is a boundary edge, so in
a nonconforming mesh every edge at a hanging vertex counts ("cracks"); in a crack-free 2-D mesh
of the unit square the boundary edges all lie on the square's sides. Prints the count, how many
of them are interior, and (with N) the count of a uniform N x N mesh for comparison (4 N).
"""
import sys

import vtk

r = vtk.vtkXMLUnstructuredGridReader()
r.SetFileName(sys.argv[1])
r.Update()
g = r.GetOutput()
geo = vtk.vtkGeometryFilter()
geo.SetInputData(g)
fe = vtk.vtkFeatureEdges()
fe.SetInputConnection(geo.GetOutputPort())
fe.BoundaryEdgesOn()
fe.FeatureEdgesOff()
fe.NonManifoldEdgesOff()
fe.ManifoldEdgesOff()
fe.Update()
e = fe.GetOutput()
b = g.GetBounds()
interior = 0
for i in range(e.GetNumberOfCells()):
    ids = e.GetCell(i).GetPointIds()
    p = [e.GetPoint(ids.GetId(k)) for k in range(2)]
    on = lambda q: min(abs(q[0] - b[0]), abs(q[0] - b[1]), abs(q[1] - b[2]), abs(q[1] - b[3])) < 1e-12
    if not (on(p[0]) and on(p[1])):
        interior += 1
print(f"{sys.argv[1]}: {g.GetNumberOfCells()} cells, {e.GetNumberOfCells()} boundary edges, {interior} interior (cracks)")
if len(sys.argv) > 2:
    print(f"a uniform {sys.argv[2]} x {sys.argv[2]} mesh has {4 * int(sys.argv[2])}")
