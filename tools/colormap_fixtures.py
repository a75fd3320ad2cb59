"""Reference colours for crates/neuvis-base/tests/colormap.rs, computed by VTK itself.

Run once with PyPI vtk 9 (`pip install vtk`) from the repository root:

    python3 tools/colormap_fixtures.py

For a few colour maps (ParaView's "Cool to Warm" with its Diverging colour space, a saturated
blue-green-red map, a map with an unsaturated end) and each colour space ParaView's JSON names
(RGB, HSV, Lab, Diverging, Step), it builds a vtkColorTransferFunction from the RGBPoints,
samples GetColor at 101 evenly spaced values over the points' range and writes the colours
into crates/neuvis-base/tests/fixtures/vtk_colormaps.json. The Rust test interpolates the same
points in the same space with neuvis and compares.
"""
import json
import os

import vtk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "neuvis-base", "tests", "fixtures", "vtk_colormaps.json")
MAPS = {
    # ParaView's preset "Cool to Warm" (ColorSpace Diverging, NanColor [1, 1, 0])
    "cool-to-warm": [0.0, 0.23137254902, 0.298039215686, 0.752941176471,
                     0.5, 0.865, 0.865, 0.865,
                     1.0, 0.705882352941, 0.0156862745098, 0.149019607843],
    "blue-green-red": [-2.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 3.0, 1.0, 0.0, 0.0],
    "gray-to-orange": [0.0, 0.5, 0.5, 0.5, 10.0, 0.9, 0.45, 0.05],
}
SPACES = {"RGB": "SetColorSpaceToRGB", "HSV": "SetColorSpaceToHSV", "Lab": "SetColorSpaceToLab",
          "Diverging": "SetColorSpaceToDiverging", "Step": "SetColorSpaceToStep"}


def main():
    out = {"vtk_version": vtk.vtkVersion.GetVTKVersion(), "cases": []}
    for name, pts in MAPS.items():
        for space, setter in SPACES.items():
            ctf = vtk.vtkColorTransferFunction()
            getattr(ctf, setter)()
            for i in range(0, len(pts), 4):
                ctf.AddRGBPoint(*pts[i:i + 4])
            lo, hi = pts[0], pts[-4]
            xs = [lo + (hi - lo) * k / 100 for k in range(101)]
            out["cases"].append({
                "map": name, "space": space, "rgb_points": pts, "x": xs,
                "rgb": [list(ctf.GetColor(x)) for x in xs],
                "nan_color": list(ctf.GetNanColor()),
            })
    with open(OUT, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
