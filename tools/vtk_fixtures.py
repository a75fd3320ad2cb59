"""VTK XML ImageData fixtures for crates/neuvis-volume/tests/vtk_xml.rs, written by VTK itself.

Run once with PyPI vtk 9 (`pip install vtk numpy`) from the repository root:

    python3 tools/vtk_fixtures.py

It writes into crates/neuvis-volume/tests/fixtures/vtk/:
- wavelet_<mode>_<compression>_<header>.vti: VTK's Wavelet source (vtkRTAnalyticSource, extent
  -6..6 x -5..5 x -4..4, spacing 0.5 x 1 x 2) as vtkXMLImageDataWriter writes it in each data
  mode (appended raw, appended base64, inline binary, ascii), zlib-compressed or not, with UInt32
  and UInt64 headers; plus extra arrays: a 3-component gradient (vtkImageGradient), an Int16, a
  UInt8 and a Float64 copy, so `--array`/`--component` have something to pick;
- wavelet_cells.vti: the wavelet as cell data only;
- wavelet_fields.vtk: the legacy writer's output of the multi-array image: SCALARS for the active
  array, the others as FIELD arrays; wavelet_fieldonly.vtk without active scalars;
- series/wave_t_{2,10,1}.vti and series/wave.pvd: three time steps (Maximum 255, 200, 150) with
  the timesteps 0.0, 0.5, 1.25 in the .pvd (ParaView's collection format);
- reference.json: what VTK reads back from each file (dims, origin, spacing, sum/min/max and
  samples of each array, vector magnitudes), and vtkFlyingEdges3D's point and triangle counts
  at isovalue 150 for the wavelet and each series step.
The Rust tests read the files with neuvis and compare with reference.json; they never run VTK.
"""
import json
import os

import numpy as np
import vtk
from vtk.util import numpy_support as ns

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "neuvis-volume", "tests", "fixtures", "vtk")
EXTENT = (-6, 6, -5, 5, -4, 4)
SPACING = (0.5, 1.0, 2.0)
ISO = 150.0


def wavelet(maximum=255.0):
    src = vtk.vtkRTAnalyticSource()
    src.SetWholeExtent(*EXTENT)
    src.SetMaximum(maximum)
    src.Update()
    img = vtk.vtkImageData()
    img.DeepCopy(src.GetOutput())
    img.SetSpacing(*SPACING)
    img.SetOrigin(1.0, -2.0, 0.25)
    return img


def multi_array(img):
    g = vtk.vtkImageGradient()
    g.SetInputData(img)
    g.SetDimensionality(3)
    g.Update()
    grad = ns.vtk_to_numpy(g.GetOutput().GetPointData().GetScalars()).astype(np.float32)
    rt = ns.vtk_to_numpy(img.GetPointData().GetArray("RTData"))
    pd = img.GetPointData()
    a = ns.numpy_to_vtk(grad.copy(), deep=True)
    a.SetName("gradient")
    pd.AddArray(a)
    a = ns.numpy_to_vtk(np.round(rt * 10 - 1000).astype(np.int16), deep=True)
    a.SetName("rt_int16")
    pd.AddArray(a)
    a = ns.numpy_to_vtk(np.clip(rt, 0, 255).astype(np.uint8), deep=True)
    a.SetName("rt_uint8")
    pd.AddArray(a)
    a = ns.numpy_to_vtk(rt.astype(np.float64) / 3.0, deep=True)
    a.SetName("rt_float64")
    pd.AddArray(a)
    pd.SetActiveScalars("RTData")
    return img


def write_vti(img, path, mode, zlib, header64):
    w = vtk.vtkXMLImageDataWriter()
    w.SetInputData(img)
    w.SetFileName(path)
    if mode == "appended_raw":
        w.SetDataModeToAppended()
        w.EncodeAppendedDataOff()
    elif mode == "appended_base64":
        w.SetDataModeToAppended()
        w.EncodeAppendedDataOn()
    elif mode == "binary":
        w.SetDataModeToBinary()
    else:
        w.SetDataModeToAscii()
    if zlib:
        w.SetCompressorTypeToZLib()
        w.SetBlockSize(4096)  # several blocks per array
    else:
        w.SetCompressorTypeToNone()
    w.SetHeaderTypeToUInt64() if header64 else w.SetHeaderTypeToUInt32()
    assert w.Write() == 1, path


def describe(path, reader):
    reader.SetFileName(path)
    reader.Update()
    img = reader.GetOutput()
    out = {
        "dims": list(img.GetDimensions()),
        "origin": list(img.GetOrigin()),
        "spacing": list(img.GetSpacing()),
        "extent": list(img.GetExtent()),
        "arrays": {},
        "cell_arrays": {},
    }
    for kind, data in (("arrays", img.GetPointData()), ("cell_arrays", img.GetCellData())):
        for i in range(data.GetNumberOfArrays()):
            arr = data.GetArray(i)
            v = ns.vtk_to_numpy(arr).astype(np.float64)
            if v.ndim == 2:
                v = np.sqrt((v * v).sum(axis=1)) if v.shape[1] > 1 else v[:, 0]
                comp0 = ns.vtk_to_numpy(arr)[:, 0].astype(np.float64)
            else:
                comp0 = None
            e = {
                "type": arr.GetDataTypeAsString(),
                "components": arr.GetNumberOfComponents(),
                "tuples": arr.GetNumberOfTuples(),
                "sum": float(v.sum()),
                "min": float(v.min()),
                "max": float(v.max()),
                "samples": {str(k): float(v[k]) for k in (0, 1, 17, len(v) // 2, len(v) - 1)},
            }
            if comp0 is not None:
                e["component0_sum"] = float(comp0.sum())
            out[kind][arr.GetName()] = e
    return out


def flying_edges(img):
    fe = vtk.vtkFlyingEdges3D()
    fe.SetInputData(img)
    fe.SetValue(0, ISO)
    fe.Update()
    p = fe.GetOutput()
    return {"iso": ISO, "points": p.GetNumberOfPoints(), "triangles": p.GetNumberOfCells()}


def main():
    os.makedirs(os.path.join(OUT, "series"), exist_ok=True)
    ref = {"files": {}, "vtk_version": vtk.vtkVersion.GetVTKVersion()}
    base = wavelet()
    ref["flying_edges"] = flying_edges(base)
    img = multi_array(wavelet())
    xml = vtk.vtkXMLImageDataReader()
    for mode in ("appended_raw", "appended_base64", "binary", "ascii"):
        for zlib in (False, True):
            if mode == "ascii" and zlib:
                continue  # VTK does not compress ascii arrays
            for header64 in (False, True):
                name = f"wavelet_{mode}_{'zlib' if zlib else 'none'}_{'u64' if header64 else 'u32'}.vti"
                path = os.path.join(OUT, name)
                write_vti(img, path, mode, zlib, header64)
                ref["files"][name] = describe(path, xml)
    # cell data only
    cells = vtk.vtkImageData()
    cells.SetExtent(*EXTENT)
    cells.SetSpacing(*SPACING)
    cells.SetOrigin(1.0, -2.0, 0.25)
    p2c = vtk.vtkPointDataToCellData()
    p2c.SetInputData(base)
    p2c.Update()
    c = p2c.GetOutput().GetCellData().GetArray("RTData")
    cells.GetCellData().SetScalars(c)
    write_vti(cells, os.path.join(OUT, "wavelet_cells.vti"), "appended_raw", True, False)
    ref["files"]["wavelet_cells.vti"] = describe(os.path.join(OUT, "wavelet_cells.vti"), xml)
    # legacy: SCALARS + FIELD, and FIELD only
    sp = vtk.vtkStructuredPoints()
    sp.DeepCopy(img)
    w = vtk.vtkStructuredPointsWriter()
    w.SetInputData(sp)
    w.SetFileTypeToBinary()
    w.SetFileName(os.path.join(OUT, "wavelet_fields.vtk"))
    w.Write()
    legacy = vtk.vtkStructuredPointsReader()
    legacy.ReadAllScalarsOn()
    legacy.ReadAllVectorsOn()
    legacy.ReadAllFieldsOn()
    ref["files"]["wavelet_fields.vtk"] = describe(os.path.join(OUT, "wavelet_fields.vtk"), legacy)
    fo = vtk.vtkStructuredPoints()
    fo.DeepCopy(img)
    fo.GetPointData().SetActiveScalars(None)
    w.SetInputData(fo)
    w.SetFileTypeToASCII()
    w.SetFileName(os.path.join(OUT, "wavelet_fieldonly.vtk"))
    w.Write()
    ref["files"]["wavelet_fieldonly.vtk"] = describe(os.path.join(OUT, "wavelet_fieldonly.vtk"), legacy)
    # a .pvd series whose file names sort wrongly as strings (t_10 before t_2)
    steps = [("wave_t_1.vti", 0.0, 255.0), ("wave_t_2.vti", 0.5, 200.0), ("wave_t_10.vti", 1.25, 150.0)]
    lines = ['<?xml version="1.0"?>',
             '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">',
             "  <Collection>"]
    ref["series"] = []
    for name, t, maximum in steps:
        s = wavelet(maximum)
        write_vti(s, os.path.join(OUT, "series", name), "appended_raw", True, False)
        lines.append(f'    <DataSet timestep="{t}" group="" part="0" file="{name}"/>')
        d = describe(os.path.join(OUT, "series", name), xml)
        ref["series"].append({"file": name, "time": t, "sum": d["arrays"]["RTData"]["sum"],
                              "flying_edges": flying_edges(s)})
    lines += ["  </Collection>", "</VTKFile>", ""]
    with open(os.path.join(OUT, "series", "wave.pvd"), "w") as f:
        f.write("\n".join(lines))
    # ParaView reads it back as a time series with these times
    pvd = vtk.vtkPVDReader() if hasattr(vtk, "vtkPVDReader") else None
    if pvd is not None:
        pvd.SetFileName(os.path.join(OUT, "series", "wave.pvd"))
        pvd.UpdateInformation()
        ref["pvd_times"] = [pvd.GetTimeStep(i) for i in range(pvd.GetNumberOfTimeSteps())]
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
