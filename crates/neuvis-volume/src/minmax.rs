//! Min–max grids for empty-space skipping.

use crate::field::ScalarField;
use rayon::prelude::*;

/// Per-brick (min, max) of a field's samples.
///
/// Brick `(bi, bj, bk)` covers the cells `[bi·b, (bi+1)·b)` along x (likewise y, z), i.e. the
/// samples `bi·b ..= min((bi+1)·b, nx−1)`: neighbouring bricks share their boundary samples.
/// Because trilinear interpolation is a convex combination of a cell's corners, the range of the
/// interpolated field over a brick lies inside the brick's `[min, max]` — the invariant that makes
/// skipping exact.
#[derive(Debug, Clone, PartialEq)]
pub struct MinMaxGrid {
    /// Brick edge length in cells.
    pub brick: usize,
    /// Number of bricks along each axis.
    pub bdims: [usize; 3],
    /// (min, max) per brick, x fastest.
    pub ranges: Vec<(f32, f32)>,
}

impl MinMaxGrid {
    /// Builds the grid of `field` with bricks of `brick` cells per edge.
    ///
    /// # Panics
    /// Panics if `brick` is 0.
    pub fn new(field: &ScalarField, brick: usize) -> MinMaxGrid {
        assert!(brick > 0, "brick size must be positive");
        let dims = field.dims();
        let cells = dims.map(|d| (d - 1).max(1));
        let bdims = cells.map(|c| c.div_ceil(brick));
        let [bx, by, bz] = bdims;
        let ranges: Vec<(f32, f32)> = (0..bx * by * bz)
            .into_par_iter()
            .map(|b| {
                let (bi, bj, bk) = (b % bx, (b / bx) % by, b / (bx * by));
                let span = |bb: usize, a: usize| bb * brick..=((bb + 1) * brick).min(dims[a] - 1);
                let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
                for k in span(bk, 2) {
                    for j in span(bj, 1) {
                        for i in span(bi, 0) {
                            let v = field.at(i, j, k);
                            lo = lo.min(v);
                            hi = hi.max(v);
                        }
                    }
                }
                (lo, hi)
            })
            .collect();
        MinMaxGrid { brick, bdims, ranges }
    }

    /// (min, max) of brick `(bi, bj, bk)`.
    #[inline]
    pub fn range(&self, bi: usize, bj: usize, bk: usize) -> (f32, f32) {
        self.ranges[bi + self.bdims[0] * (bj + self.bdims[1] * bk)]
    }
}
