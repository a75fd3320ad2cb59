//! MFEM's own nonconforming mesh and grid-function files, so GLVis and MFEM codes load an AMR
//! mesh as the nonconforming mesh it is (`glvis -m mesh.mesh -g mesh.gf`).
//!
//! The mesh is written in MFEM's `MFEM mesh v1.1` format: the leaves as elements, every vertex
//! with its coordinates, and a `vertex_parents` section giving, for each vertex a refinement
//! created, the two vertices it is the midpoint of. MFEM rebuilds its nonconforming structure
//! (which edges and faces are masters of which slaves, so which vertices hang) from those pairs,
//! and keeps the file's vertex order, so the grid function's values can be written in that order.
//! This format was chosen over MFEM's newer `MFEM NC mesh v1.0` (the refinement tree itself)
//! because that one numbers vertices by MFEM's own traversal when it loads, which a writer can
//! only match by re-implementing it.
//!
//! Parent pairs follow MFEM's `NCMesh` convention: an edge midpoint's parents are the edge's
//! ends; a face centre's are two opposite edge midpoints of that face; a hexahedron's centre's
//! are two opposite face centres. All of them are vertices of some leaf, because the corners of a
//! refined element's children are leaf vertices.
//!
//! The grid function is the order-1 H1 field (`H1_{d}D_P1`) of the conforming interpolant
//! ([`crate::tree::Tree::conforming_values`]): hanging vertices hold the values their master
//! edge or face interpolates, which is what MFEM's `GridFunction` holds on such a mesh.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use crate::amr::AmrRun;
use crate::atomic;
use crate::tree::{Key, Tree, MAX_LEVEL};
use crate::{AmrError, Result};

/// Corner order of MFEM's segment / square / cube in our corner numbering (bit a = upper side
/// on axis a); MFEM's vertex orders are VTK's.
const ORDER: [&[usize]; 3] = [&[0, 1], &[0, 1, 3, 2], &[0, 1, 3, 2, 4, 5, 7, 6]];

/// MFEM geometry codes: POINT, SEGMENT, SQUARE, CUBE.
const GEOM: [u8; 4] = [0, 1, 3, 5];

/// The boundary faces of an element of dimension d, as (axis, upper side, corners in our
/// numbering ordered so the face's normal points out), with MFEM's Cartesian boundary attribute
/// (as `Mesh::MakeCartesian` numbers the sides).
fn boundary_faces(d: usize) -> Vec<(usize, bool, Vec<usize>, u32)> {
    match d {
        1 => vec![(0, false, vec![0], 1), (0, true, vec![1], 2)],
        2 => vec![
            (1, false, vec![0, 1], 1),
            (0, true, vec![1, 3], 2),
            (1, true, vec![3, 2], 3),
            (0, false, vec![2, 0], 4),
        ],
        _ => vec![
            (2, false, vec![2, 3, 1, 0], 1),
            (1, false, vec![0, 1, 5, 4], 2),
            (0, true, vec![1, 3, 7, 5], 3),
            (1, true, vec![3, 2, 6, 7], 4),
            (0, false, vec![2, 0, 4, 6], 5),
            (2, true, vec![4, 5, 7, 6], 6),
        ],
    }
}

/// The refinement level at which lattice coordinate `c` first appears (0 for the domain's ends).
fn coord_level(c: u32) -> u32 {
    if c == 0 {
        0
    } else {
        MAX_LEVEL - c.trailing_zeros().min(MAX_LEVEL)
    }
}

/// The two vertices `v` is the midpoint of (MFEM's `NCMesh` convention, see the module doc), or
/// `None` for a corner of the domain box.
pub fn vertex_parents(tree: &Tree, v: &Key) -> Option<(Key, Key)> {
    let level = (0..tree.dim).map(|a| coord_level(v[a])).max().unwrap_or(0);
    if level == 0 {
        return None;
    }
    let s = 1u32 << (MAX_LEVEL - level);
    // axes on which v sits halfway between two level-(level-1) lattice lines
    let mid: Vec<usize> = (0..tree.dim).filter(|&a| coord_level(v[a]) == level).collect();
    let axis = *mid.last()?;
    let (mut p, mut q) = (*v, *v);
    p[axis] -= s;
    q[axis] += s;
    Some((p, q))
}

/// Writes the mesh of a 1-, 2- or 3-D run as MFEM mesh v1.1 (`mesh`) and its conforming
/// order-1 field as an MFEM grid function (`gf`), both atomically.
pub fn write_mfem(run: &AmrRun, mesh: &Path, gf: &Path) -> Result<()> {
    write_mfem_tree(&run.tree, &run.values, mesh, gf)
}

/// [`write_mfem`] for any tree and values at its leaf corners.
///
/// # Panics
/// If `values` lacks a leaf corner.
pub fn write_mfem_tree(tree: &Tree, values: &HashMap<Key, f64>, mesh: &Path, gf: &Path) -> Result<()> {
    let d = tree.dim;
    if !(1..=3).contains(&d) {
        return Err(AmrError::Config(format!("MFEM meshes need 1-3 dimensions, not {d}")));
    }
    let order = ORDER[d - 1];
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut verts: Vec<Key> = Vec::new();
    let mut elements: Vec<Vec<usize>> = Vec::new();
    let mut boundary: Vec<(u32, Vec<usize>)> = Vec::new();
    let faces = boundary_faces(d);
    let top = 1u32 << MAX_LEVEL;
    for l in tree.leaves() {
        let corners = tree.corners(l);
        let mut id = |k: Key| {
            *index.entry(k).or_insert_with(|| {
                verts.push(k);
                verts.len() - 1
            })
        };
        elements.push(order.iter().map(|&c| id(corners[c])).collect());
        let (lo, hi) = tree.lattice_box(l);
        for (axis, upper, fc, attr) in &faces {
            let on = if *upper { hi[*axis] == top } else { lo[*axis] == 0 };
            if on {
                boundary.push((*attr, fc.iter().map(|&c| index[&corners[c]]).collect()));
            }
        }
    }
    let mut parents = Vec::new();
    for (i, v) in verts.iter().enumerate() {
        if let Some((p, q)) = vertex_parents(tree, v) {
            match (index.get(&p), index.get(&q)) {
                (Some(&a), Some(&b)) => parents.push((i, a, b)),
                _ => {
                    return Err(AmrError::Config(format!(
                        "internal: the parents of vertex {v:?} are not mesh vertices"
                    )))
                }
            }
        }
    }
    let geom = GEOM[d];
    let bgeom = GEOM[d - 1];
    atomic(mesh, |w| {
        // 1-D meshes have no hanging vertices: plain v1.0
        writeln!(w, "MFEM mesh v1.{}\n", u8::from(d > 1))?;
        writeln!(
            w,
            "# written by neuvis {} (pruning-guided AMR)\n",
            env!("CARGO_PKG_VERSION")
        )?;
        writeln!(w, "dimension\n{d}\n")?;
        writeln!(w, "elements\n{}", elements.len())?;
        for e in &elements {
            write!(w, "1 {geom}")?;
            for v in e {
                write!(w, " {v}")?;
            }
            writeln!(w)?;
        }
        writeln!(w, "\nboundary\n{}", boundary.len())?;
        for (attr, f) in &boundary {
            write!(w, "{attr} {bgeom}")?;
            for v in f {
                write!(w, " {v}")?;
            }
            writeln!(w)?;
        }
        if d > 1 {
            writeln!(w, "\nvertex_parents\n{}", parents.len())?;
            for (v, a, b) in &parents {
                writeln!(w, "{v} {a} {b}")?;
            }
        }
        writeln!(w, "\nvertices\n{}\n{d}", verts.len())?;
        for k in &verts {
            let p = tree.position(k);
            let line: Vec<String> = p[..d].iter().map(|x| format!("{x}")).collect();
            writeln!(w, "{}", line.join(" "))?;
        }
        Ok(())
    })?;
    let cvals = tree.conforming_values(values);
    atomic(gf, |w| {
        writeln!(w, "FiniteElementSpace")?;
        writeln!(w, "FiniteElementCollection: H1_{d}D_P1")?;
        writeln!(w, "VDim: 1")?;
        writeln!(w, "Ordering: 0\n")?;
        for k in &verts {
            writeln!(w, "{}", cvals[k])?;
        }
        Ok(())
    })
}
