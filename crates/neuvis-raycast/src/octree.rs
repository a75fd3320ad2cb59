//! The min–max octree over the brick grid, for hierarchical empty-space skipping.
//!
//! Level 0 holds each brick's (min, max) over its cells, taken from the full-resolution data when
//! the store was prepared (so it is exact even when bricks are later reconstructed); level `L+1`
//! merges 2×2×2 nodes of level `L` up to a single root. Because a trilinear cell's values lie
//! within its corner samples' range, a node whose range excludes the isovalue cannot contain the
//! isosurface of the full-resolution field, and the whole subtree is skipped.

/// One level of the octree.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Nodes per axis.
    pub dims: [usize; 3],
    /// (min, max) per node, x fastest.
    pub ranges: Vec<(f32, f32)>,
}

/// The octree.
#[derive(Debug, Clone, PartialEq)]
pub struct Octree {
    /// Levels, bricks first, root last.
    pub levels: Vec<Level>,
}

impl Octree {
    /// Builds the octree from per-brick ranges on a `bdims` brick grid.
    ///
    /// # Panics
    /// Panics if `ranges.len()` is not the product of `bdims`.
    pub fn new(bdims: [usize; 3], ranges: Vec<(f32, f32)>) -> Octree {
        assert_eq!(ranges.len(), bdims.iter().product::<usize>());
        let mut levels = vec![Level { dims: bdims, ranges }];
        while levels.last().expect("one level").dims.iter().any(|&d| d > 1) {
            let prev = levels.last().expect("one level");
            let d = prev.dims.map(|n| n.div_ceil(2));
            let mut r = vec![(f32::INFINITY, f32::NEG_INFINITY); d.iter().product()];
            for k in 0..prev.dims[2] {
                for j in 0..prev.dims[1] {
                    for i in 0..prev.dims[0] {
                        let (lo, hi) = prev.ranges[i + prev.dims[0] * (j + prev.dims[1] * k)];
                        let e = &mut r[i / 2 + d[0] * (j / 2 + d[1] * (k / 2))];
                        e.0 = e.0.min(lo);
                        e.1 = e.1.max(hi);
                    }
                }
            }
            levels.push(Level { dims: d, ranges: r });
        }
        Octree { levels }
    }

    /// Range of node `c` at `level`.
    pub fn range(&self, level: usize, c: [usize; 3]) -> (f32, f32) {
        let l = &self.levels[level];
        l.ranges[c[0] + l.dims[0] * (c[1] + l.dims[1] * c[2])]
    }

    /// Ids of the bricks reached by descending from the root through nodes whose range contains
    /// `iso` (the skipping rule of the raycaster, without the ray), sorted.
    pub fn leaves_containing(&self, iso: f32) -> Vec<usize> {
        let mut out = Vec::new();
        let top = self.levels.len() - 1;
        let mut stack = vec![(top, [0usize; 3])];
        while let Some((l, c)) = stack.pop() {
            let (lo, hi) = self.range(l, c);
            if !(lo <= iso && iso <= hi) {
                continue;
            }
            if l == 0 {
                let d = self.levels[0].dims;
                out.push(c[0] + d[0] * (c[1] + d[1] * c[2]));
                continue;
            }
            let d = self.levels[l - 1].dims;
            for dz in 0..2 {
                for dy in 0..2 {
                    for dx in 0..2 {
                        let k = [2 * c[0] + dx, 2 * c[1] + dy, 2 * c[2] + dz];
                        if k[0] < d[0] && k[1] < d[1] && k[2] < d[2] {
                            stack.push((l - 1, k));
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.levels.iter().map(|l| l.ranges.len() * 8).sum()
    }
}
