"""Small valid volume files for the fuzz corpus, written from the format specifications with the
standard library only (so the corpus builds without nibabel or VTK): NRRD (raw, gzip, ASCII,
detached), NIfTI-1 (.nii, .nii.gz), VTK legacy STRUCTURED_POINTS (ASCII, binary) and VTK XML
ImageData (.vti: appended raw zlib, inline base64, ASCII).
Usage: python3 tools/fuzz_corpus.py OUT_DIR"""
import gzip
import os
import struct
import sys

out = sys.argv[1]
n = 4
vals = [float((x - 1.5) ** 2 + (y - 1.5) ** 2 + (z - 1.5) ** 2) for z in range(n) for y in range(n) for x in range(n)]
f32 = struct.pack("<%df" % len(vals), *vals)


def w(rel, data):
    p = os.path.join(out, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)


head = "NRRD0004\ntype: float\ndimension: 3\nsizes: 4 4 4\nspacings: 1 1 2\nendian: little\n"
w("nrrd/raw.nrrd", (head + "encoding: raw\n\n").encode() + f32)
shorts = struct.pack("<64h", *[int(v * 10) for v in vals])
w(
    "nrrd/gzip.nrrd",
    b"NRRD0004\ntype: short\ndimension: 3\nsizes: 4 4 4\nendian: little\nencoding: gzip\n\n"
    + gzip.compress(shorts, mtime=0),
)
w("nrrd/ascii.nrrd", (head + "encoding: ascii\nline skip: 1\n\n# skipped\n" + " ".join("%g" % v for v in vals) + "\n").encode())
w("nrrd/detached.nhdr", (head + "encoding: raw\ndata file: detached.raw\n\n").encode())
w("nrrd/detached.raw", f32)

# NIfTI-1 single file: 348-byte header, 4 bytes of extension flags, data at vox_offset 352
hdr = bytearray(348)
struct.pack_into("<i", hdr, 0, 348)
struct.pack_into("<8h", hdr, 40, 3, n, n, n, 1, 1, 1, 1)  # dim
struct.pack_into("<hh", hdr, 70, 16, 32)  # datatype float32, bitpix
struct.pack_into("<8f", hdr, 76, 1.0, 1.0, 1.0, 2.0, 1, 1, 1, 1)  # pixdim (qfac, dx, dy, dz)
struct.pack_into("<f", hdr, 108, 352.0)  # vox_offset
struct.pack_into("<ff", hdr, 112, 1.0, 0.0)  # scl_slope, scl_inter
hdr[123] = 2  # xyzt_units: mm
struct.pack_into("<h", hdr, 254, 1)  # sform_code
struct.pack_into("<4f", hdr, 280, 1, 0, 0, 0)
struct.pack_into("<4f", hdr, 296, 0, 1, 0, 0)
struct.pack_into("<4f", hdr, 312, 0, 0, 2, 0)
hdr[344:348] = b"n+1\0"
nii = bytes(hdr) + b"\0\0\0\0" + f32
w("nifti/vol.nii", nii)
w("nifti/vol.nii.gz", gzip.compress(nii, mtime=0))

vtk_head = "# vtk DataFile Version 3.0\nfuzz seed\n%s\nDATASET STRUCTURED_POINTS\nDIMENSIONS 4 4 4\nORIGIN 0 0 0\nSPACING 1 1 2\nPOINT_DATA 64\nSCALARS s float 1\nLOOKUP_TABLE default\n"
w("vtk/ascii.vtk", (vtk_head % "ASCII" + " ".join("%g" % v for v in vals) + "\nFIELD extra 1\nweights 1 64 float\n" + " ".join("1" for _ in vals) + "\n").encode())
w("vtk/binary.vtk", (vtk_head % "BINARY").encode() + struct.pack(">64f", *vals) + b"\n")

# VTK XML ImageData, as vtkXMLImageDataWriter lays it out: appended raw zlib (UInt32 header: blocks,
# block size, last block size, compressed sizes), inline base64 uncompressed (UInt64 byte count,
# header and data encoded separately), and ASCII with a 3-component array
import base64
import zlib


def vti(arrays, compressor="", header="UInt32", appended=b"", encoding="raw"):
    comp = ' compressor="%s"' % compressor if compressor else ""
    head = ('<?xml version="1.0"?>\n<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" '
            'header_type="%s"%s>\n<ImageData WholeExtent="0 3 0 3 0 3" Origin="0 0 0" Spacing="1 1 2" '
            'Direction="1 0 0 0 1 0 0 0 1">\n<Piece Extent="0 3 0 3 0 3">\n<PointData Scalars="s">\n%s</PointData>\n'
            '<CellData>\n</CellData>\n</Piece>\n</ImageData>\n' % (header, comp, arrays))
    if appended:
        return (head + '<AppendedData encoding="%s">\n   _' % encoding).encode() + appended + b"\n</AppendedData>\n</VTKFile>\n"
    return (head + "</VTKFile>\n").encode()


z = zlib.compress(f32)
w("vti/appended_raw_zlib.vti", vti('<DataArray type="Float32" Name="s" format="appended" offset="0"/>\n',
                                   "vtkZLibDataCompressor", "UInt32",
                                   struct.pack("<4I", 1, len(f32), len(f32), len(z)) + z))
b64 = base64.b64encode(struct.pack("<Q", len(f32))).decode() + base64.b64encode(f32).decode()
w("vti/binary_base64.vti", vti('<DataArray type="Float32" Name="s" format="binary">\n%s\n</DataArray>\n' % b64,
                               header="UInt64"))
vec = " ".join("%g %g %g" % (v, -v, 1) for v in vals)
w("vti/ascii_vector.vti", vti('<DataArray type="Float32" Name="s" format="ascii">\n%s\n</DataArray>\n'
                              '<DataArray type="Float64" Name="v" NumberOfComponents="3" format="ascii">\n%s\n</DataArray>\n'
                              % (" ".join("%g" % v for v in vals), vec)))
