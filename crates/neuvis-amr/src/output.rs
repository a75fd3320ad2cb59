//! The writers of an AMR run's files: the mesh as VTU (4-D time slices listed in a `.pvd`) and
//! PNG slices; the history is [`crate::job`]'s.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use vtkio::model::{
    Attribute, Attributes, ByteOrder, CellType, Cells, DataArrayBase, DataSet, ElementType, IOBuffer,
    UnstructuredGridPiece, Version, VertexNumbers, Vtk,
};

use crate::amr::AmrRun;
use crate::inr::Mlp;
use crate::tree::Key;
use crate::{atomic, AmrError, Result};

/// Corner order of VTK's quad / hexahedron / line cells in our corner numbering (bit a = upper
/// side on axis a).
fn vtk_order(dim: usize) -> (&'static [usize], CellType) {
    match dim {
        1 => (&[0, 1], CellType::Line),
        2 => (&[0, 1, 3, 2], CellType::Quad),
        _ => (&[0, 1, 3, 2, 4, 5, 7, 6], CellType::Hexahedron),
    }
}

/// The mesh of a 1-, 2- or 3-D run as a VTK unstructured grid: one line/quad/hexahedron per
/// leaf, the INR's values at the vertices (`value`), and per cell its `level`.
pub fn mesh_vtk(run: &AmrRun) -> Vtk {
    let tree = &run.tree;
    let d = tree.dim.min(3);
    let (order, ctype) = vtk_order(d);
    let mut index: HashMap<Key, u64> = HashMap::new();
    let mut points = Vec::new();
    let mut values = Vec::new();
    let mut conn = Vec::new();
    let mut offsets = Vec::new();
    let mut levels = Vec::new();
    for l in tree.leaves() {
        let corners = tree.corners(l);
        for &c in order {
            let k = corners[c];
            let id = *index.entry(k).or_insert_with(|| {
                let p = tree.position(&k);
                points.extend_from_slice(&[p[0], p[1], p[2]]);
                values.push(run.values[&k]);
                (values.len() - 1) as u64
            });
            conn.push(id);
        }
        offsets.push(conn.len() as u64);
        levels.push(tree.nodes[l].level as i32);
    }
    grid(points, conn, offsets, vec![ctype; levels.len()], values, levels)
}

/// The mesh of a run as ParaView shows it right: the conforming interpolant, on cells whose
/// faces match their neighbours' exactly, so Contour, Slice and Clip show no cracks.
///
/// Point data `value` holds the conforming order-1 interpolant ([`crate::tree::Tree::conforming_values`]:
/// hanging vertices constrained by the coarse edge or face, as MFEM does when saving), `inr` the
/// INR's own value at each point; cell data `level` and `element` (the element each cell belongs
/// to). In 1-D lines; in 2-D a quad with hanging vertices on its edges becomes a fan of triangles
/// from its centre through them (counter-clockwise), so neighbouring cells share every edge; in
/// 3-D every element
/// is split into tetrahedra ([`conforming_tets_vtk`]), because VTK contours hexahedra and
/// polyhedra face by face in ways that do not meet where a coarse face borders finer ones.
pub fn conforming_mesh_vtk(run: &AmrRun, net: &Mlp) -> Vtk {
    if run.tree.dim == 3 {
        return conforming_tets_vtk(run, net);
    }
    let tree = &run.tree;
    let d = tree.dim.min(3);
    let cvals = tree.conforming_values(&run.values);
    let (order, ctype) = vtk_order(d);
    // 2-D: the vertices on each horizontal line (by y) and vertical line (by x), sorted
    let mut rows: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut cols: HashMap<u32, Vec<u32>> = HashMap::new();
    if d == 2 {
        for v in tree.vertices() {
            rows.entry(v[1]).or_default().push(v[0]);
            cols.entry(v[0]).or_default().push(v[1]);
        }
        rows.values_mut().for_each(|r| r.sort_unstable());
        cols.values_mut().for_each(|c| c.sort_unstable());
    }
    let between = |line: &HashMap<u32, Vec<u32>>, at: u32, a: u32, b: u32| -> Vec<u32> {
        let Some(v) = line.get(&at) else { return Vec::new() };
        let (lo, hi) = (a.min(b), a.max(b));
        let s = v.partition_point(|&x| x <= lo);
        let e = v.partition_point(|&x| x < hi);
        let mut r = v[s..e].to_vec();
        if a > b {
            r.reverse();
        }
        r
    };
    let mut index: HashMap<Key, u64> = HashMap::new();
    let (mut points, mut values, mut inr) = (Vec::new(), Vec::new(), Vec::new());
    let mut centres: Vec<u64> = Vec::new();
    let (mut conn, mut offsets, mut levels, mut types) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut elements: Vec<i64> = Vec::new();
    for (e, l) in tree.leaves().into_iter().enumerate() {
        let corners = tree.corners(l);
        let mut ring: Vec<Key> = Vec::new();
        if d == 2 {
            let (lo, hi) = tree.lattice_box(l);
            // counter-clockwise: bottom (y = lo) left → right, right side up, top right → left, left side down
            ring.push([lo[0], lo[1], 0, 0]);
            ring.extend(
                between(&rows, lo[1], lo[0], hi[0])
                    .into_iter()
                    .map(|x| [x, lo[1], 0, 0]),
            );
            ring.push([hi[0], lo[1], 0, 0]);
            ring.extend(
                between(&cols, hi[0], lo[1], hi[1])
                    .into_iter()
                    .map(|y| [hi[0], y, 0, 0]),
            );
            ring.push([hi[0], hi[1], 0, 0]);
            ring.extend(
                between(&rows, hi[1], hi[0], lo[0])
                    .into_iter()
                    .map(|x| [x, hi[1], 0, 0]),
            );
            ring.push([lo[0], hi[1], 0, 0]);
            ring.extend(
                between(&cols, lo[0], hi[1], lo[1])
                    .into_iter()
                    .map(|y| [lo[0], y, 0, 0]),
            );
        } else {
            ring = order.iter().map(|&c| corners[c]).collect();
        }
        let mut id_of = |k: Key, value: f64| -> u64 {
            *index.entry(k).or_insert_with(|| {
                let p = tree.position(&k);
                points.extend_from_slice(&[p[0], p[1], p[2]]);
                values.push(value);
                inr.push(run.values.get(&k).copied().unwrap_or(f64::NAN));
                (values.len() - 1) as u64
            })
        };
        if d == 2 && ring.len() > 4 {
            // a fan of triangles from the element's centre (the bilinear value there, the mean
            // of its corners) through its corners and hanging vertices: VTK interpolates a polygon
            // with mean-value coordinates, 8 % off the conforming field's error on the benchmark
            let (lo, hi) = tree.lattice_box(l);
            let centre: Key = [lo[0] + (hi[0] - lo[0]) / 2, lo[1] + (hi[1] - lo[1]) / 2, 0, 0];
            let c = id_of(centre, corners.iter().map(|k| cvals[k]).sum::<f64>() / 4.0);
            centres.push(c);
            let ids: Vec<u64> = ring.iter().map(|k| id_of(*k, cvals[k])).collect();
            for k in 0..ids.len() {
                conn.extend_from_slice(&[c, ids[k], ids[(k + 1) % ids.len()]]);
                offsets.push(conn.len() as u64);
                levels.push(tree.nodes[l].level as i32);
                types.push(CellType::Triangle);
                elements.push(e as i64);
            }
            continue;
        }
        for k in ring {
            let id = id_of(k, cvals[&k]);
            conn.push(id);
        }
        offsets.push(conn.len() as u64);
        levels.push(tree.nodes[l].level as i32);
        types.push(ctype);
        elements.push(e as i64);
    }
    // the INR at the elements' centres
    let at: Vec<f64> = centres
        .iter()
        .flat_map(|&c| [points[3 * c as usize], points[3 * c as usize + 1]])
        .collect();
    for (&c, v) in centres.iter().zip(net.eval(&at)) {
        inr[c as usize] = v;
    }
    let mut vtk = grid(points, conn, offsets, types, values, levels);
    push_array(&mut vtk, true, "inr", IOBuffer::F64(inr));
    push_array(&mut vtk, false, "element", IOBuffer::I64(elements));
    vtk
}

/// Adds a point (`point`) or cell array to the grid's piece.
fn push_array(vtk: &mut Vtk, point: bool, name: &str, data: IOBuffer) {
    if let DataSet::UnstructuredGrid { pieces, .. } = &mut vtk.data {
        if let Some(vtkio::model::Piece::Inline(p)) = pieces.first_mut() {
            let a = Attribute::DataArray(DataArrayBase {
                name: name.into(),
                elem: ElementType::Generic(1),
                data,
            });
            if point {
                p.data.point.push(a);
            } else {
                p.data.cell.push(a);
            }
        }
    }
}

/// The axes other than `a` (of three), increasing.
fn others(a: usize) -> [usize; 2] {
    match a {
        0 => [1, 2],
        1 => [0, 2],
        _ => [0, 1],
    }
}

/// The node at `level` with cell index `idx`, or `None` when a leaf above that level covers it.
fn node_at(tree: &crate::tree::Tree, level: u8, idx: &[u32; 4]) -> Option<usize> {
    let mut i = 0usize;
    for l in 0..level {
        let n = tree.nodes[i];
        if n.first_child == 0 {
            return None;
        }
        let shift = (level - 1 - l) as u32;
        let c: usize = (0..tree.dim).map(|a| (((idx[a] >> shift) & 1) as usize) << a).sum();
        i = n.first_child as usize + c;
    }
    Some(i)
}

/// The face of leaf `l` on side `side` (0 lower, 1 upper) of axis `ax`, as the rectangles it is
/// shared in: its own face when the neighbour across is as coarse or coarser (or it is on the
/// domain's boundary), else the faces of the finer leaves across. Each as (lower, upper) lattice
/// corner, equal on `ax`.
fn face_pieces(tree: &crate::tree::Tree, l: usize, ax: usize, side: usize) -> Vec<(Key, Key)> {
    let face_of = |leaf: usize, side: usize| {
        let (mut lo, mut hi) = tree.lattice_box(leaf);
        if side == 0 {
            hi[ax] = lo[ax];
        } else {
            lo[ax] = hi[ax];
        }
        (lo, hi)
    };
    let n = tree.nodes[l];
    let mut idx = n.idx;
    let last = (1u32 << n.level) - 1;
    match side {
        0 if idx[ax] > 0 => idx[ax] -= 1,
        1 if idx[ax] < last => idx[ax] += 1,
        _ => return vec![face_of(l, side)],
    }
    let Some(nb) = node_at(tree, n.level, &idx) else {
        return vec![face_of(l, side)];
    };
    // the leaves under the neighbour that touch the shared plane: the children on its near side
    let near = 1 - side;
    let mut out = Vec::new();
    let mut stack = vec![nb];
    while let Some(i) = stack.pop() {
        let node = tree.nodes[i];
        if node.first_child == 0 {
            out.push(face_of(i, near));
        } else {
            for c in 0..tree.arity() {
                if (c >> ax) & 1 == near {
                    stack.push(node.first_child as usize + c);
                }
            }
        }
    }
    out
}

/// The conforming interpolant of a 3-D run on tetrahedra whose faces match across every element
/// boundary: each element is split around its centre into pyramids over its faces, each face
/// into the pieces it shares with its neighbours ([`face_pieces`]), and each piece into
/// triangles: a plain quad along the diagonal from its lower lattice corner, a piece with vertices
/// on its edges (hanging ones) into a fan from its centre through all of them. A piece is split
/// the same way from both sides, so the tetrahedra form a conforming mesh and the
/// piecewise-linear field on them is continuous: VTK finds no exposed interior face and no crack in
/// a contour. The field agrees with the conforming interpolant at every vertex (hanging vertices
/// take their constraints), at each element's centre (its trilinear value, the mean of its
/// corners) and at the centre of each fanned piece (the mean of its four corners); in between it
/// is linear on each tetrahedron. An element without hanging vertices on its faces becomes 12
/// tetrahedra.
pub fn conforming_tets_vtk(run: &AmrRun, net: &Mlp) -> Vtk {
    let tree = &run.tree;
    let cvals = tree.conforming_values(&run.values);
    // the vertices on every lattice line parallel to axis a, keyed by the other two coordinates
    let mut lines: [HashMap<(u32, u32), Vec<u32>>; 3] = Default::default();
    for v in tree.vertices() {
        for (a, line) in lines.iter_mut().enumerate() {
            let [u, w] = others(a);
            line.entry((v[u], v[w])).or_default().push(v[a]);
        }
    }
    lines
        .iter_mut()
        .for_each(|m| m.values_mut().for_each(|v| v.sort_unstable()));
    // the vertices strictly between `from` and `to`, which differ on axis `a` only, in order
    let between = |a: usize, from: &Key, to: &Key| -> Vec<Key> {
        let [u, w] = others(a);
        let Some(on) = lines[a].get(&(from[u], from[w])) else {
            return Vec::new();
        };
        let (lo, hi) = (from[a].min(to[a]), from[a].max(to[a]));
        let s = on.partition_point(|&x| x <= lo);
        let e = on.partition_point(|&x| x < hi);
        let mut r: Vec<Key> = on[s..e]
            .iter()
            .map(|&x| {
                let mut k = *from;
                k[a] = x;
                k
            })
            .collect();
        if from[a] > to[a] {
            r.reverse();
        }
        r
    };
    let mut index: HashMap<Key, u64> = HashMap::new();
    let (mut points, mut values, mut lattice) = (Vec::new(), Vec::new(), Vec::new());
    let mut add = |k: Key, v: f64| -> u64 {
        *index.entry(k).or_insert_with(|| {
            let p = tree.position(&k);
            points.extend_from_slice(&[p[0], p[1], p[2]]);
            values.push(v);
            lattice.push(k);
            (values.len() - 1) as u64
        })
    };
    let (mut conn, mut levels, mut elements) = (Vec::new(), Vec::new(), Vec::new());
    let signed = |p: [&Key; 4]| -> i128 {
        let d = |a: &Key, b: &Key| -> [i128; 3] { std::array::from_fn(|i| a[i] as i128 - b[i] as i128) };
        let (x, y, z) = (d(p[1], p[0]), d(p[2], p[0]), d(p[3], p[0]));
        x[0] * (y[1] * z[2] - y[2] * z[1]) - x[1] * (y[0] * z[2] - y[2] * z[0]) + x[2] * (y[0] * z[1] - y[1] * z[0])
    };
    for (e, l) in tree.leaves().into_iter().enumerate() {
        let (lo, hi) = tree.lattice_box(l);
        let corners = tree.corners(l);
        let centre: Key = std::array::from_fn(|a| if a < 3 { lo[a] + (hi[a] - lo[a]) / 2 } else { 0 });
        let c = add(centre, corners.iter().map(|k| cvals[k]).sum::<f64>() / 8.0);
        for ax in 0..3 {
            let [u, w] = others(ax);
            for side in 0..2 {
                for (plo, phi) in face_pieces(tree, l, ax, side) {
                    let at = |a: u32, b: u32| {
                        let mut k = plo;
                        k[u] = a;
                        k[w] = b;
                        k
                    };
                    let quad = [
                        at(plo[u], plo[w]),
                        at(phi[u], plo[w]),
                        at(phi[u], phi[w]),
                        at(plo[u], phi[w]),
                    ];
                    let edge_axis = [u, w, u, w];
                    let mut ring = Vec::new();
                    for k in 0..4 {
                        ring.push(quad[k]);
                        ring.extend(between(edge_axis[k], &quad[k], &quad[(k + 1) % 4]));
                    }
                    // a plain quad: two triangles split along the diagonal from its lower corner
                    // (the same from both sides); with vertices on its edges, a fan from its centre
                    let (triangles, centre_of_piece): (Vec<[Key; 3]>, Option<(Key, f64)>) = if ring.len() == 4 {
                        (vec![[quad[0], quad[1], quad[2]], [quad[0], quad[2], quad[3]]], None)
                    } else {
                        let mid = at(plo[u] + (phi[u] - plo[u]) / 2, plo[w] + (phi[w] - plo[w]) / 2);
                        let fan = (0..ring.len()).map(|k| [mid, ring[k], ring[(k + 1) % ring.len()]]);
                        // the bilinear interpolant of the piece's corners at its centre
                        (
                            fan.collect(),
                            Some((mid, quad.iter().map(|k| cvals[k]).sum::<f64>() / 4.0)),
                        )
                    };
                    for mut tri in triangles {
                        // VTK's order: the first three points' normal points to the fourth
                        if signed([&tri[0], &tri[1], &tri[2], &centre]) < 0 {
                            tri.swap(1, 2);
                        }
                        for k in tri {
                            let v = match centre_of_piece {
                                Some((m, v)) if m == k => v,
                                _ => cvals[&k],
                            };
                            conn.push(add(k, v));
                        }
                        conn.push(c);
                        levels.push(tree.nodes[l].level as i32);
                        elements.push(e as i64);
                    }
                }
            }
        }
    }
    // the INR at every point: the vertices' values are known, the centres' are evaluated
    let extra: Vec<usize> = (0..lattice.len())
        .filter(|&i| !run.values.contains_key(&lattice[i]))
        .collect();
    let flat: Vec<f64> = extra
        .iter()
        .flat_map(|&i| [points[3 * i], points[3 * i + 1], points[3 * i + 2]])
        .collect();
    let at_centres = net.eval(&flat);
    let mut inr: Vec<f64> = lattice
        .iter()
        .map(|k| run.values.get(k).copied().unwrap_or(f64::NAN))
        .collect();
    for (&i, v) in extra.iter().zip(at_centres) {
        inr[i] = v;
    }
    let offsets: Vec<u64> = (1..=levels.len() as u64).map(|n| 4 * n).collect();
    let n = levels.len();
    let mut vtk = grid(points, conn, offsets, vec![CellType::Tetra; n], values, levels);
    push_array(&mut vtk, true, "inr", IOBuffer::F64(inr));
    push_array(&mut vtk, false, "element", IOBuffer::I64(elements));
    vtk
}

fn grid(
    points: Vec<f64>,
    conn: Vec<u64>,
    offsets: Vec<u64>,
    types: Vec<CellType>,
    values: Vec<f64>,
    levels: Vec<i32>,
) -> Vtk {
    Vtk {
        version: Version { major: 1, minor: 0 },
        title: String::new(),
        byte_order: ByteOrder::LittleEndian,
        file_path: None,
        data: DataSet::inline(UnstructuredGridPiece {
            points: IOBuffer::F64(points),
            cells: Cells {
                cell_verts: VertexNumbers::XML {
                    connectivity: conn,
                    offsets,
                },
                types,
            },
            data: Attributes {
                point: vec![Attribute::DataArray(DataArrayBase {
                    name: "value".into(),
                    elem: ElementType::Scalars {
                        num_comp: 1,
                        lookup_table: None,
                    },
                    data: IOBuffer::F64(values),
                })],
                cell: vec![Attribute::DataArray(DataArrayBase {
                    name: "level".into(),
                    elem: ElementType::Scalars {
                        num_comp: 1,
                        lookup_table: None,
                    },
                    data: IOBuffer::I32(levels),
                })],
            },
        }),
    }
}

/// The 3-D slice `t = t0` of a 4-D run: one hexahedron per leaf whose time interval contains
/// `t0` (the lower one on a shared boundary), with the INR evaluated at the slice's vertices.
pub fn time_slice_vtk(run: &AmrRun, net: &Mlp, t0: f64) -> Result<Vtk> {
    let tree = &run.tree;
    if tree.dim != 4 {
        return Err(AmrError::Config("time slices need a 4-D INR".into()));
    }
    if !(tree.lo[3]..=tree.hi[3]).contains(&t0) {
        return Err(AmrError::Config(format!(
            "time slice {t0} is outside the domain [{}, {}]",
            tree.lo[3], tree.hi[3]
        )));
    }
    let (order, ctype) = vtk_order(3);
    let mut index: HashMap<[u32; 3], u64> = HashMap::new();
    let mut points = Vec::new();
    let mut conn = Vec::new();
    let mut offsets = Vec::new();
    let mut levels = Vec::new();
    for l in tree.leaves() {
        let (lo, hi) = tree.bounds(l);
        let top = hi[3] >= tree.hi[3];
        if !(lo[3] <= t0 && (t0 < hi[3] || (top && t0 <= hi[3]))) {
            continue;
        }
        let corners = tree.corners(l);
        for &c in order {
            let k = corners[c];
            let k3 = [k[0], k[1], k[2]];
            let id = *index.entry(k3).or_insert_with(|| {
                let p = tree.position(&k);
                points.extend_from_slice(&[p[0], p[1], p[2]]);
                (points.len() / 3 - 1) as u64
            });
            conn.push(id);
        }
        offsets.push(conn.len() as u64);
        levels.push(tree.nodes[l].level as i32);
    }
    let pts4: Vec<f64> = points.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], t0]).collect();
    let values = net.eval(&pts4);
    Ok(grid(points, conn, offsets, vec![ctype; levels.len()], values, levels))
}

/// Writes a VTK model as a `.vtu` XML file, atomically.
pub fn write_vtu(vtk: Vtk, path: &Path) -> Result<()> {
    let mut buf = Vec::new();
    vtk.write_xml(&mut buf)
        .map_err(|e| AmrError::io(path, std::io::Error::other(format!("VTU encoding failed: {e}"))))?;
    atomic(path, |w| w.write_all(&buf))
}

/// The viridis colour points over `range`: what slice images and their colour bars use.
pub(crate) fn viridis_over(range: (f64, f64)) -> Vec<neuvis_base::colormap::ColorPoint> {
    neuvis_base::colormap::rescale(&neuvis_base::colormap::VIRIDIS, (range.0 as f32, range.1 as f32))
}

/// Writes a ParaView data collection (`.pvd`) listing `(time, file)` pairs (file names relative
/// to the `.pvd`), so ParaView opens them as one time series with those times.
pub fn write_pvd(path: &Path, steps: &[(f64, String)]) -> Result<()> {
    let esc = |s: &str| s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    atomic(path, |w| {
        writeln!(w, "<?xml version=\"1.0\"?>")?;
        writeln!(
            w,
            "<VTKFile type=\"Collection\" version=\"0.1\" byte_order=\"LittleEndian\">"
        )?;
        writeln!(w, "  <Collection>")?;
        for (t, f) in steps {
            writeln!(
                w,
                "    <DataSet timestep=\"{t}\" group=\"\" part=\"0\" file=\"{}\"/>",
                esc(f)
            )?;
        }
        writeln!(w, "  </Collection>")?;
        writeln!(w, "</VTKFile>")
    })
}

/// A planar slice to draw: the two in-plane axes and fixed values for the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// Horizontal and vertical axis of the image.
    pub axes: [usize; 2],
    /// Fixed coordinate per axis (ignored for the in-plane axes).
    pub fixed: [f64; 4],
    /// Human-readable name (`x=0,t=1`).
    pub name: String,
}

impl Slice {
    /// Parses `x=0` (3-D) and adds `t` for 4-D; for 2-D use [`Slice::whole`].
    ///
    /// `spec` names one axis (x, y, z or t) and its value; `time` fixes t for 4-D INRs.
    pub fn parse(spec: &str, dim: usize, time: Option<f64>) -> Result<Slice> {
        let bad = |m: String| AmrError::Config(format!("slice {spec:?}: {m}"));
        let (axis, value) = spec
            .split_once('=')
            .ok_or_else(|| bad("expected AXIS=VALUE, e.g. x=0".into()))?;
        let a = match axis.trim() {
            "x" => 0,
            "y" => 1,
            "z" => 2,
            "t" => 3,
            other => return Err(bad(format!("unknown axis {other:?} (x, y, z or t)"))),
        };
        let v: f64 = value
            .trim()
            .parse()
            .map_err(|_| bad(format!("{value:?} is not a number")))?;
        if !v.is_finite() {
            return Err(bad("value must be finite".into()));
        }
        if dim < 3 {
            return Err(bad(format!("a {dim}-D INR is drawn whole; slices are for 3-D and 4-D")));
        }
        if a >= dim || (dim == 4 && a == 3) {
            return Err(bad(format!(
                "axis {axis} cannot be sliced in a {dim}-D INR (use x, y or z)"
            )));
        }
        let mut fixed = [0.0; 4];
        fixed[a] = v;
        let mut name = format!("{}={v}", axis.trim());
        if dim == 4 {
            let t = time.ok_or_else(|| bad("a 4-D INR needs a time for the slice".into()))?;
            fixed[3] = t;
            name.push_str(&format!(",t={t}"));
        }
        let axes: Vec<usize> = (0..3).filter(|&i| i != a).collect();
        Ok(Slice {
            axes: [axes[0], axes[1]],
            fixed,
            name,
        })
    }

    /// The whole domain of a 2-D INR.
    pub fn whole() -> Slice {
        Slice {
            axes: [0, 1],
            fixed: [0.0; 4],
            name: "xy".into(),
        }
    }
}

/// Draws `slice` of the mesh: the interpolated field coloured with viridis over `range` and
/// the edges of every element the plane cuts, `px` pixels along the longer in-plane axis.
pub fn slice_image(run: &AmrRun, slice: &Slice, px: u32, range: (f64, f64)) -> Result<image::RgbImage> {
    let tree = &run.tree;
    let [ax, ay] = slice.axes;
    for a in 0..tree.dim {
        if a != ax && a != ay && !(tree.lo[a]..=tree.hi[a]).contains(&slice.fixed[a]) {
            return Err(AmrError::Config(format!(
                "slice {} lies outside the domain [{}, {}] of axis {a}",
                slice.name, tree.lo[a], tree.hi[a]
            )));
        }
    }
    let (wx, wy) = (tree.hi[ax] - tree.lo[ax], tree.hi[ay] - tree.lo[ay]);
    let px = px.clamp(16, 8192);
    let (w, h) = if wx >= wy {
        (px, ((px as f64 * wy / wx).round() as u32).max(16))
    } else {
        (((px as f64 * wx / wy).round() as u32).max(16), px)
    };
    let cmap = viridis_over(range);
    let mut img = image::RgbImage::new(w, h);
    let point = |i: u32, j: u32| {
        let mut p = slice.fixed;
        p[ax] = tree.lo[ax] + wx * (i as f64 + 0.5) / w as f64;
        p[ay] = tree.hi[ay] - wy * (j as f64 + 0.5) / h as f64;
        p
    };
    for j in 0..h {
        for i in 0..w {
            let v = run.interpolate(&point(i, j)[..tree.dim]);
            let c = neuvis_base::colormap::color_at(&cmap, v as f32);
            img.put_pixel(i, j, image::Rgb(c.map(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8)));
        }
    }
    // Element edges: every leaf whose closed box contains the plane.
    let to_px = |x: f64, y: f64| {
        (
            (((x - tree.lo[ax]) / wx) * w as f64).round() as i64,
            (((tree.hi[ay] - y) / wy) * h as f64).round() as i64,
        )
    };
    let edge = image::Rgb([25u8, 25, 25]);
    let mut put = |x: i64, y: i64| {
        let (x, y) = (x.clamp(0, w as i64 - 1) as u32, y.clamp(0, h as i64 - 1) as u32);
        img.put_pixel(x, y, edge);
    };
    for l in tree.leaves() {
        let (lo, hi) = tree.bounds(l);
        let cut = (0..tree.dim).all(|a| a == ax || a == ay || (lo[a] <= slice.fixed[a] && slice.fixed[a] <= hi[a]));
        if !cut {
            continue;
        }
        let (x0, y1) = to_px(lo[ax], lo[ay]);
        let (x1, y0) = to_px(hi[ax], hi[ay]);
        for x in x0..=x1 {
            put(x, y0);
            put(x, y1);
        }
        for y in y0..=y1 {
            put(x0, y);
            put(x1, y);
        }
    }
    Ok(img)
}

/// Writes a PNG atomically.
pub fn write_png(img: &image::RgbImage, path: &Path) -> Result<()> {
    let mut buf = Vec::new();
    let (w, h) = img.dimensions();
    neuvis_base::image::encode_png(&mut buf, img.as_raw(), w as usize, h as usize, 3)
        .map_err(|e| AmrError::io(path, std::io::Error::other(e.to_string())))?;
    atomic(path, |w| w.write_all(&buf))
}
