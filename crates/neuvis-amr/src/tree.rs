//! Adaptive 2^d-trees (binary trees, quadtrees, octrees, and their 4-D kin) over a box.
//!
//! Leaves are the mesh's elements; neighbours may differ by any number of levels, so hanging
//! vertices are allowed. Positions are integers on the finest lattice (2^[`MAX_LEVEL`] cells per
//! axis), which makes vertex identity exact: a vertex shared by two elements has one key.

use std::collections::HashSet;

use rayon::prelude::*;

/// Deepest level a tree may reach (2^24 cells per axis).
pub const MAX_LEVEL: u32 = 24;

/// A vertex (or any lattice point) in finest-lattice units; unused axes are 0.
pub type Key = [u32; 4];

/// One tree node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// Refinement level (root = 0).
    pub level: u8,
    /// Cell index at its level along each axis.
    pub idx: [u32; 4],
    /// Index of the first of its 2^d children in [`Tree::nodes`], or 0 for a leaf.
    pub first_child: u32,
    /// Set when a refinement method decided this leaf needs no further refinement.
    pub done: bool,
}

/// A 2^d-tree over the box `[lo, hi]` (d = 1–4).
#[derive(Debug, Clone)]
pub struct Tree {
    /// Dimension d.
    pub dim: usize,
    /// Lower corner of the domain.
    pub lo: [f64; 4],
    /// Upper corner of the domain.
    pub hi: [f64; 4],
    /// All nodes; node 0 is the root, children of a node are contiguous.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// A one-element tree over `domain` (`[lo, hi]` per axis).
    ///
    /// # Panics
    /// If `domain` has 0 or more than 4 axes.
    pub fn new(domain: &[[f64; 2]]) -> Tree {
        let dim = domain.len();
        assert!((1..=4).contains(&dim), "2^d-trees support d = 1..=4");
        let mut lo = [0.0; 4];
        let mut hi = [0.0; 4];
        for a in 0..dim {
            lo[a] = domain[a][0];
            hi[a] = domain[a][1];
        }
        Tree {
            dim,
            lo,
            hi,
            nodes: vec![Node {
                level: 0,
                idx: [0; 4],
                first_child: 0,
                done: false,
            }],
        }
    }

    /// Number of children of a refined node (2^d).
    pub fn arity(&self) -> usize {
        1 << self.dim
    }

    /// Whether node `i` is a leaf.
    pub fn is_leaf(&self, i: usize) -> bool {
        self.nodes[i].first_child == 0
    }

    /// Indices of all leaves, in depth-first (Morton-like) order.
    pub fn leaves(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            let n = self.nodes[i];
            if n.first_child == 0 {
                out.push(i);
            } else {
                for c in (0..self.arity()).rev() {
                    stack.push(n.first_child as usize + c);
                }
            }
        }
        out
    }

    /// Number of leaves.
    pub fn leaf_count(&self) -> usize {
        // Every refinement turns one leaf into 2^d.
        1 + (self.nodes.len() - 1) / self.arity() * (self.arity() - 1)
    }

    /// Splits leaf `i` into 2^d children. Returns `false` (and does nothing) if `i` is not a
    /// leaf or is already at [`MAX_LEVEL`].
    pub fn refine(&mut self, i: usize) -> bool {
        let n = self.nodes[i];
        if n.first_child != 0 || n.level as u32 >= MAX_LEVEL {
            return false;
        }
        let first = self.nodes.len() as u32;
        for c in 0..self.arity() {
            let mut idx = [0u32; 4];
            for (a, v) in idx.iter_mut().enumerate().take(self.dim) {
                *v = 2 * n.idx[a] + ((c >> a) & 1) as u32;
            }
            self.nodes.push(Node {
                level: n.level + 1,
                idx,
                first_child: 0,
                done: false,
            });
        }
        self.nodes[i].first_child = first;
        true
    }

    /// Refines every leaf `times` times.
    pub fn refine_uniformly(&mut self, times: usize) {
        for _ in 0..times {
            for l in self.leaves() {
                self.refine(l);
            }
        }
    }

    /// Lower and upper lattice corner of node `i`.
    pub fn lattice_box(&self, i: usize) -> (Key, Key) {
        let n = self.nodes[i];
        let s = MAX_LEVEL - n.level as u32;
        let mut lo = [0u32; 4];
        let mut hi = [0u32; 4];
        for a in 0..self.dim {
            lo[a] = n.idx[a] << s;
            hi[a] = (n.idx[a] + 1) << s;
        }
        (lo, hi)
    }

    /// The 2^d corner keys of node `i`; corner `c` takes the upper side on axis `a` when bit `a`
    /// of `c` is set.
    pub fn corners(&self, i: usize) -> Vec<Key> {
        let (lo, hi) = self.lattice_box(i);
        (0..self.arity())
            .map(|c| {
                let mut k = [0u32; 4];
                for a in 0..self.dim {
                    k[a] = if (c >> a) & 1 == 1 { hi[a] } else { lo[a] };
                }
                k
            })
            .collect()
    }

    /// Domain coordinates of a lattice point.
    pub fn position(&self, k: &Key) -> [f64; 4] {
        let scale = (1u64 << MAX_LEVEL) as f64;
        let mut p = [0.0; 4];
        for a in 0..self.dim {
            p[a] = self.lo[a] + (self.hi[a] - self.lo[a]) * (k[a] as f64 / scale);
        }
        p
    }

    /// Domain box of node `i` as `(lo, hi)`.
    pub fn bounds(&self, i: usize) -> ([f64; 4], [f64; 4]) {
        let (lo, hi) = self.lattice_box(i);
        (self.position(&lo), self.position(&hi))
    }

    /// The leaf containing point `p` (points outside the domain are clamped to it; a point on a
    /// face shared by two leaves belongs to the upper one, except on the domain's upper faces).
    pub fn locate(&self, p: &[f64]) -> usize {
        let top = 1u64 << MAX_LEVEL;
        let mut q = [0u32; 4];
        for a in 0..self.dim {
            let u = ((p[a] - self.lo[a]) / (self.hi[a] - self.lo[a])).clamp(0.0, 1.0);
            q[a] = ((u * top as f64) as u64).min(top - 1) as u32;
        }
        let mut i = 0usize;
        loop {
            let n = self.nodes[i];
            if n.first_child == 0 {
                return i;
            }
            let shift = MAX_LEVEL - n.level as u32 - 1;
            let mut c = 0usize;
            for (a, qa) in q.iter().enumerate().take(self.dim) {
                c |= (((qa >> shift) & 1) as usize) << a;
            }
            i = n.first_child as usize + c;
        }
    }

    /// Whether vertex `v` is hanging: it lies on the boundary of some leaf without being one of
    /// that leaf's corners (so a conforming order-1 space constrains its value).
    pub fn is_hanging(&self, v: &Key) -> bool {
        self.constraining_leaf(v).is_some()
    }

    /// The leaf that constrains a hanging vertex `v`: the coarsest leaf whose closed box holds
    /// `v` without `v` being one of its corners; `None` for a vertex that is not hanging.
    pub fn constraining_leaf(&self, v: &Key) -> Option<usize> {
        let mut best: Option<usize> = None;
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            let (lo, hi) = self.lattice_box(i);
            if (0..self.dim).any(|a| v[a] < lo[a] || v[a] > hi[a]) {
                continue;
            }
            let n = self.nodes[i];
            if n.first_child == 0 {
                if (0..self.dim).any(|a| v[a] != lo[a] && v[a] != hi[a])
                    && best.is_none_or(|b| self.nodes[b].level > n.level)
                {
                    best = Some(i);
                }
            } else {
                for c in 0..self.arity() {
                    stack.push(n.first_child as usize + c);
                }
            }
        }
        best
    }

    /// The conforming order-1 interpolant's vertex values, as MFEM computes them when it saves a
    /// nonconforming mesh: a vertex that is not hanging keeps its value in `values`; a hanging one
    /// takes the multilinear interpolant of the leaf that constrains it (whose corners may be
    /// hanging in turn, at a coarser level). The resulting field is continuous across every face.
    ///
    /// # Panics
    /// If `values` lacks a leaf corner.
    pub fn conforming_values(
        &self,
        values: &std::collections::HashMap<Key, f64>,
    ) -> std::collections::HashMap<Key, f64> {
        let mut out: std::collections::HashMap<Key, f64> = std::collections::HashMap::with_capacity(values.len());
        // coarse constraints first: a hanging vertex's constraining corners are at lower levels
        let mut verts = self.vertices();
        let level = |k: &Key| -> u32 {
            (0..self.dim)
                .map(|a| {
                    if k[a] == 0 {
                        0
                    } else {
                        MAX_LEVEL - k[a].trailing_zeros().min(MAX_LEVEL)
                    }
                })
                .max()
                .unwrap_or(0)
        };
        verts.sort_by_key(level);
        // the constraining leaves in parallel (the costly part), the values in level order
        let constraints: Vec<Option<usize>> = verts.par_iter().map(|v| self.constraining_leaf(v)).collect();
        for (v, constraint) in verts.into_iter().zip(constraints) {
            let val = match constraint {
                None => values[&v],
                Some(l) => {
                    let (lo, hi) = self.lattice_box(l);
                    let corner_vals: Vec<f64> = self
                        .corners(l)
                        .iter()
                        .map(|c| *out.get(c).unwrap_or(&values[c]))
                        .collect();
                    let xi: Vec<f64> = (0..self.dim)
                        .map(|a| (v[a] - lo[a]) as f64 / (hi[a] - lo[a]) as f64)
                        .collect();
                    multilinear(&corner_vals, &xi)
                }
            };
            out.insert(v, val);
        }
        out
    }

    /// All distinct corner vertices of the leaves, sorted.
    pub fn vertices(&self) -> Vec<Key> {
        let set: HashSet<Key> = self.leaves().iter().flat_map(|&l| self.corners(l)).collect();
        let mut v: Vec<Key> = set.into_iter().collect();
        v.sort_unstable();
        v
    }

    /// `(all, conforming)` degrees of freedom of an order-1 space on the leaves: all distinct
    /// corners including hanging ones (MFEM's `GetNDofs` on a nonconforming mesh), and those
    /// that are not hanging (MFEM's true DOFs).
    pub fn dofs(&self) -> (usize, usize) {
        let v = self.vertices();
        let conforming = v.par_iter().filter(|k| !self.is_hanging(k)).count();
        (v.len(), conforming)
    }
}

/// Multilinear interpolation in a box: `vals[c]` at corner `c` (bit `a` = upper side on axis
/// `a`), `xi` the local coordinates in `[0, 1]^d`.
pub fn multilinear(vals: &[f64], xi: &[f64]) -> f64 {
    let d = xi.len();
    let mut s = 0.0;
    for (c, v) in vals.iter().enumerate().take(1 << d) {
        let mut w = 1.0;
        for (a, x) in xi.iter().enumerate() {
            w *= if (c >> a) & 1 == 1 { *x } else { 1.0 - x };
        }
        s += w * v;
    }
    s
}
