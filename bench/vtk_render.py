#!/usr/bin/env python3
"""Baseline for `neuvis bench render`: VTK's CPU ray caster (vtkFixedPointVolumeRayCastMapper).

Reads a job JSON written by neuvis (volume as raw little-endian float32, x fastest; cameras; mode;
transfer function) and renders every camera off-screen, timing each Render() call. Prints one JSON
object on stdout: {"vtk_version", "threads", "mode", "ms": [...per frame...], "first_ms"}.
The first frame is timed separately: it includes VTK's one-off gradient and min-max table builds.

Usage: python3 bench/vtk_render.py JOB.json [--save-png DIR]
Needs PyPI `vtk` (pip install vtk); renders through EGL without a display.
"""
import json
import sys
import time

import numpy as np
import vtk
from vtk.util import numpy_support


def main():
    job = json.load(open(sys.argv[1]))
    save = sys.argv[sys.argv.index("--save-png") + 1] if "--save-png" in sys.argv else None
    threads = int(job.get("threads", 2))
    vtk.vtkMultiThreader.SetGlobalMaximumNumberOfThreads(threads)
    nx, ny, nz = job["dims"]
    data = np.fromfile(job["raw"], dtype="<f4")
    assert data.size == nx * ny * nz, "raw size does not match dims"
    img = vtk.vtkImageData()
    img.SetDimensions(nx, ny, nz)
    img.SetSpacing(*job["spacing"])
    img.SetOrigin(*job["origin"])
    arr = numpy_support.numpy_to_vtk(data, deep=True, array_type=vtk.VTK_FLOAT)
    arr.SetName("scalar")
    img.GetPointData().SetScalars(arr)

    mapper = vtk.vtkFixedPointVolumeRayCastMapper()
    mapper.SetInputData(img)
    mapper.SetAutoAdjustSampleDistances(0)
    mapper.SetSampleDistance(job["sample_distance"])
    mapper.SetImageSampleDistance(1.0)
    mapper.SetNumberOfThreads(threads)

    prop = vtk.vtkVolumeProperty()
    prop.SetInterpolationTypeToLinear()
    color = vtk.vtkColorTransferFunction()
    opacity = vtk.vtkPiecewiseFunction()
    if job["mode"] == "iso":
        # vtkFixedPointVolumeRayCastMapper has no isosurface blend mode (it renders nothing), so
        # the CPU ray caster's isosurface is the usual composite with an opacity step at the
        # isovalue, shaded: rays stop at the first sample past the isovalue.
        c = job["color"]
        lo, hi = job["range"]
        iso = job["iso"]
        eps = 1e-6 * (hi - lo)
        color.AddRGBPoint(lo, *c)
        color.AddRGBPoint(hi, *c)
        opacity.AddPoint(lo, 0.0)
        opacity.AddPoint(iso - eps, 0.0)
        opacity.AddPoint(iso, 1.0)
        opacity.AddPoint(hi, 1.0)
        prop.SetScalarOpacityUnitDistance(job["unit_distance"])
        prop.ShadeOn()
    else:
        for x, r, g, b in job["tf_color"]:
            color.AddRGBPoint(x, r, g, b)
        for x, o in job["tf_opacity"]:
            opacity.AddPoint(x, o)
        prop.SetScalarOpacityUnitDistance(job["unit_distance"])
        prop.SetShade(1 if job.get("shade") else 0)
    prop.SetAmbient(job["phong"][0])
    prop.SetDiffuse(job["phong"][1])
    prop.SetSpecular(job["phong"][2])
    prop.SetSpecularPower(job["phong"][3])
    prop.SetColor(color)
    prop.SetScalarOpacity(opacity)

    volume = vtk.vtkVolume()
    volume.SetMapper(mapper)
    volume.SetProperty(prop)
    ren = vtk.vtkRenderer()
    ren.SetBackground(1, 1, 1)
    ren.AddVolume(volume)
    ren.LightFollowCameraOn()
    win = vtk.vtkRenderWindow()
    win.SetOffScreenRendering(1)
    win.AddRenderer(ren)
    w, h = job["size"]
    win.SetSize(w, h)

    times = []
    first_ms = None
    for i, cam in enumerate(job["cameras"]):
        c = ren.GetActiveCamera()
        c.SetPosition(*cam["eye"])
        c.SetFocalPoint(*cam["focal"])
        c.SetViewUp(*cam["up"])
        c.SetViewAngle(cam["fov"])
        ren.ResetCameraClippingRange()
        t0 = time.perf_counter()
        win.Render()
        ms = (time.perf_counter() - t0) * 1000.0
        if first_ms is None:
            first_ms = ms
            # render the first view again so every timed frame has warm caches
            t0 = time.perf_counter()
            win.Render()
            ms = (time.perf_counter() - t0) * 1000.0
        times.append(ms)
        if save and i == 0:
            w2i = vtk.vtkWindowToImageFilter()
            w2i.SetInput(win)
            w2i.Update()
            wr = vtk.vtkPNGWriter()
            wr.SetFileName(f"{save}/vtk_{job['mode']}.png")
            wr.SetInputConnection(w2i.GetOutputPort())
            wr.Write()
    print(json.dumps({
        "vtk_version": vtk.vtkVersion.GetVTKVersion(),
        "threads": threads,
        "mode": job["mode"],
        "ms": times,
        "first_ms": first_ms,
    }))


if __name__ == "__main__":
    main()
