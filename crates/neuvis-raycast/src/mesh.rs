//! The `mesh` baseline and `neuvis isosurface`: marching cubes and a CPU z-buffer rasterizer.
//!
//! The marching-cubes case table is generated at start-up rather than typed in: for each of the
//! 256 sign configurations, every cube face contributes the segments joining its sign-changing
//! edges (on a face with two diagonal positive corners, the positive corners are separated — the
//! rule depends only on the face, so neighbouring cubes agree and the surface is watertight), the
//! segments are chained into closed polygons, each polygon is oriented so its normal points to the
//! negative side, and triangulated as a fan. A sample is positive when `v ≥ iso`.
//! Vertices lie on cell edges at the linear zero crossing and carry the interpolated
//! central-difference gradient as normal. Extraction runs brick by brick from a store, so only
//! the mesh and one brick are resident.

use crate::engine::{gradient, Voxels};
use crate::error::{RaycastError, Result};
use crate::store::Store;
use neuvis_base::camera::{Camera, Phong};
use neuvis_base::MaskedImage;
use rayon::prelude::*;
use std::sync::OnceLock;

/// Cube corners: bit 0 = x, bit 1 = y, bit 2 = z.
const fn corner(i: usize) -> [usize; 3] {
    [i & 1, (i >> 1) & 1, (i >> 2) & 1]
}

/// The 12 edges as corner pairs (first corner has the smaller coordinate).
const EDGES: [(usize, usize); 12] = [
    (0, 1),
    (2, 3),
    (4, 5),
    (6, 7), // x
    (0, 2),
    (1, 3),
    (4, 6),
    (5, 7), // y
    (0, 4),
    (1, 5),
    (2, 6),
    (3, 7), // z
];

fn edge_of(a: usize, b: usize) -> usize {
    let (a, b) = (a.min(b), a.max(b));
    EDGES.iter().position(|&e| e == (a, b)).expect("adjacent corners")
}

/// Faces as cyclic corner lists.
const FACES: [[usize; 4]; 6] = [
    [0, 2, 6, 4], // x = 0
    [1, 3, 7, 5], // x = 1
    [0, 1, 5, 4], // y = 0
    [2, 3, 7, 6], // y = 1
    [0, 1, 3, 2], // z = 0
    [4, 5, 7, 6], // z = 1
];

/// Triangles (edge triples) of every configuration.
pub fn case_table() -> &'static Vec<Vec<[u8; 3]>> {
    static T: OnceLock<Vec<Vec<[u8; 3]>>> = OnceLock::new();
    T.get_or_init(|| (0..256).map(build_case).collect())
}

fn build_case(cfg: usize) -> Vec<[u8; 3]> {
    let pos = |c: usize| cfg >> c & 1 == 1;
    let mut segs: Vec<(usize, usize)> = Vec::new();
    for f in FACES {
        let e: Vec<usize> = (0..4).map(|i| edge_of(f[i], f[(i + 1) % 4])).collect();
        let cross: Vec<usize> = (0..4).filter(|&i| pos(f[i]) != pos(f[(i + 1) % 4])).collect();
        match cross.len() {
            2 => segs.push((e[cross[0]], e[cross[1]])),
            4 => {
                // separate the positive corners: cut off each positive corner f[i] by the
                // edges before and after it
                for i in 0..4 {
                    if pos(f[i]) {
                        segs.push((e[(i + 3) % 4], e[i]));
                    }
                }
            }
            _ => {}
        }
    }
    // chain segments into loops
    let mut loops: Vec<Vec<usize>> = Vec::new();
    let mut used = vec![false; segs.len()];
    for s0 in 0..segs.len() {
        if used[s0] {
            continue;
        }
        used[s0] = true;
        let mut lp = vec![segs[s0].0, segs[s0].1];
        loop {
            let last = *lp.last().expect("nonempty");
            let Some(n) = (0..segs.len()).find(|&i| !used[i] && (segs[i].0 == last || segs[i].1 == last)) else {
                break;
            };
            used[n] = true;
            let other = if segs[n].0 == last { segs[n].1 } else { segs[n].0 };
            if other == lp[0] {
                break;
            }
            lp.push(other);
        }
        loops.push(lp);
    }
    let mid = |e: usize| {
        let (a, b) = EDGES[e];
        let (pa, pb) = (corner(a), corner(b));
        [0, 1, 2].map(|k| 0.5 * (pa[k] + pb[k]) as f64)
    };
    let mut tris = Vec::new();
    for lp in loops {
        let pts: Vec<[f64; 3]> = lp.iter().map(|&e| mid(e)).collect();
        // Newell normal
        let mut n = [0f64; 3];
        for i in 0..pts.len() {
            let (p, q) = (pts[i], pts[(i + 1) % pts.len()]);
            n[0] += (p[1] - q[1]) * (p[2] + q[2]);
            n[1] += (p[2] - q[2]) * (p[0] + q[0]);
            n[2] += (p[0] - q[0]) * (p[1] + q[1]);
        }
        // gradient of the trilinear interpolant of ±1 corner signs at the centroid
        let c = [0, 1, 2].map(|k| pts.iter().map(|p| p[k]).sum::<f64>() / pts.len() as f64);
        let mut g = [0f64; 3];
        for i in 0..8 {
            let s = if pos(i) { 1.0 } else { -1.0 };
            let p = corner(i).map(|v| v as f64);
            let w = |k: usize| if p[k] == 1.0 { c[k] } else { 1.0 - c[k] };
            let dw = |k: usize| if p[k] == 1.0 { 1.0 } else { -1.0 };
            g[0] += s * dw(0) * w(1) * w(2);
            g[1] += s * w(0) * dw(1) * w(2);
            g[2] += s * w(0) * w(1) * dw(2);
        }
        let mut lp = lp;
        if n[0] * g[0] + n[1] * g[1] + n[2] * g[2] > 0.0 {
            lp.reverse();
        }
        for i in 1..lp.len() - 1 {
            tris.push([lp[0] as u8, lp[i] as u8, lp[i + 1] as u8]);
        }
    }
    tris
}

/// A triangle mesh in world coordinates with per-vertex unit normals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions.
    pub points: Vec<[f32; 3]>,
    /// Vertex normals (unit, pointing to decreasing values).
    pub normals: Vec<[f32; 3]>,
    /// Triangles.
    pub tris: Vec<[u32; 3]>,
}

impl Mesh {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.points.len() * 24 + self.tris.len() * 12
    }
}

/// Extracts the cells `lo..hi` (cell indices, per axis) of a `dims` grid through `v`, appending
/// to `mesh`; vertices are shared within this call.
#[allow(clippy::too_many_arguments)]
pub fn extract_cells<V: Voxels>(
    v: &V,
    dims: [usize; 3],
    spacing: [f32; 3],
    origin: [f32; 3],
    lo: [usize; 3],
    hi: [usize; 3],
    iso: f32,
    mesh: &mut Mesh,
) {
    let table = case_table();
    let n = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
    let mut ids: std::collections::HashMap<(usize, usize, usize, usize), u32> = std::collections::HashMap::new();
    for k in lo[2]..hi[2] {
        for j in lo[1]..hi[1] {
            for i in lo[0]..hi[0] {
                let mut val = [0f32; 8];
                let mut cfg = 0usize;
                for (c, vv) in val.iter_mut().enumerate() {
                    let p = corner(c);
                    *vv = v.at(i + p[0], j + p[1], k + p[2]);
                    if *vv >= iso {
                        cfg |= 1 << c;
                    }
                }
                if cfg == 0 || cfg == 255 {
                    continue;
                }
                for t in &table[cfg] {
                    let mut tri = [0u32; 3];
                    for (slot, &e) in tri.iter_mut().zip(t) {
                        let (a, b) = EDGES[e as usize];
                        let pa = corner(a);
                        let axis = if e < 4 {
                            0
                        } else if e < 8 {
                            1
                        } else {
                            2
                        };
                        let key = (i + pa[0], j + pa[1], k + pa[2], axis);
                        *slot = *ids.entry(key).or_insert_with(|| {
                            let (va, vb) = (val[a], val[b]);
                            let s = if vb != va {
                                ((iso - va) / (vb - va)).clamp(0.0, 1.0)
                            } else {
                                0.5
                            };
                            let mut q = [(i + pa[0]) as f32, (j + pa[1]) as f32, (k + pa[2]) as f32];
                            q[axis] += s;
                            let g = gradient(v, dims, spacing, q);
                            let gn = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
                            mesh.points.push([0, 1, 2].map(|a| origin[a] + spacing[a] * q[a]));
                            mesh.normals
                                .push(if gn > 0.0 { g.map(|x| -x / gn) } else { [0.0, 0.0, 1.0] });
                            (mesh.points.len() - 1) as u32
                        });
                    }
                    mesh.tris.push(tri);
                }
            }
        }
    }
    let _ = n;
}

struct BrickVox<'a> {
    data: &'a [f32],
    o: [i64; 3],
    s: usize,
}
impl Voxels for BrickVox<'_> {
    fn at(&self, i: usize, j: usize, k: usize) -> f32 {
        let l = [i as i64 - self.o[0], j as i64 - self.o[1], k as i64 - self.o[2]];
        self.data[l[0] as usize + self.s * (l[1] as usize + self.s * l[2] as usize)]
    }
}

/// Extracts the isosurface from a store's exact bricks, skipping bricks whose range excludes
/// `iso`; one brick is decoded at a time per thread.
pub fn extract_store(store: &Store, iso: f32) -> Result<Mesh> {
    if !store.header.kind.has_bricks() {
        return Err(RaycastError::Settings(format!(
            "{}: the mesh method needs the full-resolution bricks (--store exact|both)",
            store.path().display()
        )));
    }
    let g = *store.geometry();
    let ids: Vec<usize> = (0..g.nbricks())
        .filter(|&id| store.entries[id].min <= iso && iso <= store.entries[id].max)
        .collect();
    let parts: Vec<Mesh> = ids
        .par_iter()
        .map(|&id| {
            let b = g.coords(id);
            let data = store.read_brick(id)?;
            let v = BrickVox {
                data: &data,
                o: g.sample_origin(b),
                s: g.side(),
            };
            let (lo, hi) = g.cell_box(b);
            let mut m = Mesh::default();
            extract_cells(
                &v,
                g.dims,
                store.header.spacing,
                store.header.origin,
                lo.map(|x| x as usize),
                hi.map(|x| x as usize),
                iso,
                &mut m,
            );
            Ok(m)
        })
        .collect::<Result<_>>()?;
    let mut out = Mesh::default();
    for p in parts {
        let off = out.points.len() as u32;
        out.points.extend(p.points);
        out.normals.extend(p.normals);
        out.tris.extend(p.tris.into_iter().map(|t| t.map(|x| x + off)));
    }
    Ok(out)
}

/// Rasterizes `mesh` through `cam` with a z-buffer (perspective-correct depth, interpolated
/// normals, Blinn–Phong with a head light, two-sided), in parallel over bands of rows.
pub fn rasterize(mesh: &Mesh, cam: &Camera, color: [f32; 3], phong: &Phong) -> MaskedImage {
    let (w, h) = (cam.width, cam.height);
    // project every vertex once: (x, y, view depth)
    let proj: Vec<Option<(f32, f32, f32)>> = mesh
        .points
        .par_iter()
        .map(|&p| {
            let rel = [0, 1, 2].map(|a| p[a] - cam.eye[a]);
            let z = rel[0] * cam.forward[0] + rel[1] * cam.forward[1] + rel[2] * cam.forward[2];
            cam.project(p).map(|(x, y)| (x, y, z))
        })
        .collect();
    const BAND: usize = 16;
    let nb = h.div_ceil(BAND);
    // bin triangles by band
    let mut bins: Vec<Vec<u32>> = vec![Vec::new(); nb];
    for (ti, t) in mesh.tris.iter().enumerate() {
        let (Some(a), Some(b), Some(c)) = (proj[t[0] as usize], proj[t[1] as usize], proj[t[2] as usize]) else {
            continue;
        };
        let y0 = a.1.min(b.1).min(c.1).floor().max(0.0) as usize;
        let y1 = (a.1.max(b.1).max(c.1).ceil().max(0.0) as usize).min(h);
        if y0 >= h || y1 == 0 {
            continue;
        }
        for bin in bins
            .iter_mut()
            .take(((y1.max(1) - 1) / BAND + 1).min(nb))
            .skip(y0 / BAND)
        {
            bin.push(ti as u32);
        }
    }
    let mut rgb = vec![255u8; w * h * 3];
    let mut mask = vec![0u8; w * h];
    rgb.par_chunks_mut(w * 3 * BAND)
        .zip(mask.par_chunks_mut(w * BAND))
        .zip(bins.par_iter())
        .enumerate()
        .for_each(|(band, ((rgb, mask), bin))| {
            let ylo = band * BAND;
            let rows = mask.len() / w;
            let mut depth = vec![f32::INFINITY; w * rows];
            let mut nrm = vec![[0f32; 3]; w * rows];
            for &ti in bin {
                let t = mesh.tris[ti as usize];
                let v = t.map(|i| proj[i as usize].expect("binned triangles are projected"));
                let area = (v[1].0 - v[0].0) * (v[2].1 - v[0].1) - (v[2].0 - v[0].0) * (v[1].1 - v[0].1);
                if area == 0.0 {
                    continue;
                }
                let x0 = v.iter().map(|p| p.0).fold(f32::INFINITY, f32::min).floor().max(0.0) as usize;
                let x1 = (v.iter().map(|p| p.0).fold(f32::NEG_INFINITY, f32::max).ceil().max(0.0) as usize).min(w);
                let y0 = (v
                    .iter()
                    .map(|p| p.1)
                    .fold(f32::INFINITY, f32::min)
                    .floor()
                    .max(ylo as f32) as usize)
                    .max(ylo);
                let y1 =
                    (v.iter().map(|p| p.1).fold(f32::NEG_INFINITY, f32::max).ceil().max(0.0) as usize).min(ylo + rows);
                for y in y0..y1 {
                    let py = y as f32 + 0.5;
                    for x in x0..x1 {
                        let px = x as f32 + 0.5;
                        let w0 = ((v[1].0 - px) * (v[2].1 - py) - (v[2].0 - px) * (v[1].1 - py)) / area;
                        let w1 = ((v[2].0 - px) * (v[0].1 - py) - (v[0].0 - px) * (v[2].1 - py)) / area;
                        let w2 = 1.0 - w0 - w1;
                        if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                            continue;
                        }
                        // perspective-correct: interpolate 1/z
                        let iz = w0 / v[0].2 + w1 / v[1].2 + w2 / v[2].2;
                        let z = 1.0 / iz;
                        let o = (y - ylo) * w + x;
                        if z < depth[o] {
                            depth[o] = z;
                            let (a, b, c) = (w0 / v[0].2 * z, w1 / v[1].2 * z, w2 / v[2].2 * z);
                            let n = [0, 1, 2].map(|k| {
                                a * mesh.normals[t[0] as usize][k]
                                    + b * mesh.normals[t[1] as usize][k]
                                    + c * mesh.normals[t[2] as usize][k]
                            });
                            nrm[o] = n;
                        }
                    }
                }
            }
            for o in 0..w * rows {
                if depth[o].is_finite() {
                    let y = ylo + o / w;
                    let x = o % w;
                    let d = cam.ray_dir(x as f32 + 0.5, y as f32 + 0.5);
                    let n = nrm[o];
                    let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt().max(1e-12);
                    let c = phong.shade(color, n.map(|v| v / l), d.map(|v| -v));
                    for k in 0..3 {
                        rgb[3 * o + k] = (c[k].clamp(0.0, 1.0) * 255.0).round() as u8;
                    }
                    mask[o] = 255;
                }
            }
        });
    MaskedImage::new(w, h, rgb, mask).expect("sizes match")
}

/// Writes a binary little-endian PLY (vertices with normals, triangles).
pub fn write_ply(mesh: &Mesh, w: &mut impl std::io::Write) -> std::io::Result<()> {
    write!(
        w,
        "ply\nformat binary_little_endian 1.0\ncomment neuvis isosurface\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nproperty float nx\nproperty float ny\nproperty float nz\nelement face {}\nproperty list uchar int vertex_indices\nend_header\n",
        mesh.points.len(),
        mesh.tris.len()
    )?;
    let mut buf = Vec::with_capacity(mesh.points.len() * 24);
    for (p, n) in mesh.points.iter().zip(&mesh.normals) {
        for v in p.iter().chain(n) {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    w.write_all(&buf)?;
    buf.clear();
    for t in &mesh.tris {
        buf.push(3);
        for v in t {
            buf.extend_from_slice(&(*v as i32).to_le_bytes());
        }
    }
    w.write_all(&buf)
}

/// The comment in every PLY header neuvis writes (what `--overwrite` looks for).
pub const PLY_MARK: &[u8] = b"comment neuvis";
/// The comment after the XML declaration of every VTP file neuvis writes.
pub const VTP_MARK: &[u8] = b"<!-- written by neuvis";

/// Writes VTK XML PolyData (`.vtp`, raw appended binary, UInt64 headers) with point normals.
pub fn write_vtp(mesh: &Mesh, w: &mut impl std::io::Write) -> std::io::Result<()> {
    let np = mesh.points.len();
    let nt = mesh.tris.len();
    let sizes = [np * 12, np * 12, nt * 3 * 8, nt * 8];
    let mut offs = [0usize; 4];
    for i in 1..4 {
        offs[i] = offs[i - 1] + 8 + sizes[i - 1];
    }
    write!(
        w,
        "<?xml version=\"1.0\"?>\n<!-- written by neuvis {} -->\n<VTKFile type=\"PolyData\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\">\n<PolyData>\n<Piece NumberOfPoints=\"{np}\" NumberOfVerts=\"0\" NumberOfLines=\"0\" NumberOfStrips=\"0\" NumberOfPolys=\"{nt}\">\n<PointData Normals=\"Normals\">\n<DataArray type=\"Float32\" Name=\"Normals\" NumberOfComponents=\"3\" format=\"appended\" offset=\"{}\"/>\n</PointData>\n<Points>\n<DataArray type=\"Float32\" Name=\"Points\" NumberOfComponents=\"3\" format=\"appended\" offset=\"{}\"/>\n</Points>\n<Polys>\n<DataArray type=\"Int64\" Name=\"connectivity\" format=\"appended\" offset=\"{}\"/>\n<DataArray type=\"Int64\" Name=\"offsets\" format=\"appended\" offset=\"{}\"/>\n</Polys>\n</Piece>\n</PolyData>\n<AppendedData encoding=\"raw\">\n_",
        env!("CARGO_PKG_VERSION"),
        offs[1],
        offs[0],
        offs[2],
        offs[3]
    )?;
    let mut buf: Vec<u8> = Vec::new();
    let block = |buf: &mut Vec<u8>, n: usize| buf.extend_from_slice(&(n as u64).to_le_bytes());
    block(&mut buf, sizes[0]);
    for p in &mesh.points {
        for v in p {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    block(&mut buf, sizes[1]);
    for p in &mesh.normals {
        for v in p {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    w.write_all(&buf)?;
    buf.clear();
    block(&mut buf, sizes[2]);
    for t in &mesh.tris {
        for v in t {
            buf.extend_from_slice(&(*v as i64).to_le_bytes());
        }
    }
    block(&mut buf, sizes[3]);
    for i in 0..nt {
        buf.extend_from_slice(&((3 * (i + 1)) as i64).to_le_bytes());
    }
    w.write_all(&buf)?;
    write!(w, "\n</AppendedData>\n</VTKFile>\n")
}

/// The mesh files `neuvis isosurface` writes, told apart by the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshFormat {
    /// Stanford PLY (ASCII).
    Ply,
    /// VTK XML PolyData (`.vtp`), which ParaView opens.
    Vtp,
}

impl MeshFormat {
    /// The format of a file named `path` (`.ply` or `.vtp`, any case).
    pub fn of_path(path: &std::path::Path) -> Option<MeshFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "ply" => Some(MeshFormat::Ply),
            "vtp" => Some(MeshFormat::Vtp),
            _ => None,
        }
    }

    /// What `--overwrite` may replace: a file of this format neuvis wrote (its mark).
    pub fn output_kind(self) -> neuvis_base::OutputKind {
        match self {
            MeshFormat::Ply => neuvis_base::OutputKind::FileWithMark(PLY_MARK, "a PLY mesh neuvis wrote"),
            MeshFormat::Vtp => neuvis_base::OutputKind::FileWithMark(VTP_MARK, "a VTP mesh neuvis wrote"),
        }
    }

    /// Writes `mesh` to `path` in this format (atomically).
    pub fn write(self, mesh: &Mesh, path: &std::path::Path) -> Result<()> {
        neuvis_base::write_atomic(path, |w| match self {
            MeshFormat::Ply => write_ply(mesh, w),
            MeshFormat::Vtp => write_vtp(mesh, w),
        })
        .map_err(|source| RaycastError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl Mesh {
    /// The isosurface `iso` of the whole `field` by marching cubes, in world coordinates.
    pub fn isosurface(field: &neuvis_volume::ScalarField, iso: f32) -> Mesh {
        let d = field.dims();
        let mut mesh = Mesh::default();
        let v = crate::engine::Dense {
            data: field.data(),
            dims: d,
        };
        extract_cells(
            &v,
            d,
            field.spacing(),
            field.origin(),
            [0; 3],
            d.map(|n| n.saturating_sub(1)),
            iso,
            &mut mesh,
        );
        mesh
    }
}

/// The `mesh` baseline of the paper's results (the classic pipeline): marching cubes over the
/// whole store once, then a z-buffer rasterization of the triangles for every frame, with the
/// camera and shading of the raycaster.
#[derive(Debug)]
pub struct MeshBaseline {
    /// The extracted surface.
    pub mesh: Mesh,
    /// World bounds of the volume (frames the orbit camera).
    pub bounds: ([f32; 3], [f32; 3]),
    /// Seconds the extraction took.
    pub extract_s: f64,
    /// Bytes of the store file.
    pub store_bytes: u64,
}

impl MeshBaseline {
    /// Extracts the isosurface `iso` from the store at `path`.
    pub fn open(path: &std::path::Path, iso: f32) -> crate::Result<MeshBaseline> {
        let store = crate::Store::open(path)?;
        let t = std::time::Instant::now();
        let mesh = extract_store(&store, iso)?;
        let h = &store.header;
        let hi = [0, 1, 2].map(|k| h.origin[k] + h.spacing[k] * (h.geometry.dims[k] - 1) as f32);
        Ok(MeshBaseline {
            mesh,
            bounds: (h.origin, hi),
            extract_s: t.elapsed().as_secs_f64(),
            store_bytes: store.file_len(),
        })
    }

    /// The frame at (θ, φ) with the orbit camera of [`crate::Engine::camera`].
    pub fn render(&self, opts: &crate::RenderOptions, theta: f32, phi: f32) -> MaskedImage {
        let cam = Camera::orbit(self.bounds, theta, phi, opts.fov_deg, opts.width, opts.height);
        rasterize(&self.mesh, &cam, opts.color, &opts.phong)
    }
}
