//! Brick geometry: how a grid of samples is cut into bricks with a one-voxel apron, and how the
//! low-resolution base grid sits on it.

use crate::error::InvalidConfig;
use serde::{Deserialize, Serialize};

/// The geometry of a bricked volume.
///
/// The full grid has `dims` samples (x fastest) and `dims − 1` cells per axis. Brick `b` along an
/// axis covers the cells `[b·B, min((b+1)·B, n−1))` and stores the samples `b·B − 1 ..= b·B + B + 1`
/// (`B + 3` per axis, indices clamped into the grid), i.e. its cells plus a one-voxel apron on
/// every side, so trilinear samples *and* central-difference gradients anywhere in the brick's
/// cells need no neighbour brick. Base sample `I` sits at fine index `I·f` (`f` = base factor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geometry {
    /// Full-resolution samples per axis.
    pub dims: [usize; 3],
    /// Brick edge in cells (B).
    pub brick: usize,
    /// Bricks per axis.
    pub bdims: [usize; 3],
    /// Base downsampling factor (f).
    pub factor: usize,
    /// Base samples per axis: `ceil((n − 1)/f) + 1`.
    pub base_dims: [usize; 3],
}

impl Geometry {
    /// The geometry of a `dims` grid cut into `brick`-cell bricks with a base of factor `factor`.
    ///
    /// # Errors
    /// A dimension below 2 or above 2²⁰, a brick outside 4–256, a factor outside 2–8, or a brick edge that the
    /// factor does not divide.
    pub fn new(dims: [usize; 3], brick: usize, factor: usize) -> Result<Geometry, InvalidConfig> {
        if dims.iter().any(|&d| d < 2) {
            return Err(InvalidConfig(format!(
                "the volume needs at least 2 samples per axis, got {dims:?}"
            )));
        }
        if dims.iter().any(|&d| d > 1 << 20) {
            return Err(InvalidConfig(format!(
                "the volume may have at most 2^20 samples per axis, got {dims:?}"
            )));
        }
        if !(4..=256).contains(&brick) {
            return Err(InvalidConfig(format!(
                "brick edge {brick} must be between 4 and 256 cells"
            )));
        }
        if !(2..=8).contains(&factor) {
            return Err(InvalidConfig(format!("base factor {factor} must be between 2 and 8")));
        }
        if !brick.is_multiple_of(factor) {
            return Err(InvalidConfig(format!(
                "the base factor {factor} must divide the brick edge {brick} (e.g. --brick 32 --base-factor 4)"
            )));
        }
        Ok(Geometry {
            dims,
            brick,
            bdims: dims.map(|n| (n - 1).div_ceil(brick)),
            factor,
            base_dims: dims.map(|n| (n - 1).div_ceil(factor) + 1),
        })
    }

    /// Samples per brick edge, `B + 3`.
    pub fn side(&self) -> usize {
        self.brick + 3
    }
    /// Samples per brick, `(B + 3)³`.
    pub fn brick_len(&self) -> usize {
        self.side().pow(3)
    }
    /// Bytes of one decoded brick.
    pub fn brick_bytes(&self) -> usize {
        self.brick_len() * 4
    }
    /// Number of bricks.
    pub fn nbricks(&self) -> usize {
        self.bdims.iter().product()
    }
    /// Linear id of brick `(bi, bj, bk)`.
    pub fn id(&self, b: [usize; 3]) -> usize {
        b[0] + self.bdims[0] * (b[1] + self.bdims[1] * b[2])
    }
    /// Brick coordinates of linear id `id`.
    pub fn coords(&self, id: usize) -> [usize; 3] {
        let [bx, by, _] = self.bdims;
        [id % bx, (id / bx) % by, id / (bx * by)]
    }
    /// Global index of the brick's first stored sample (`b·B − 1`, may be −1).
    pub fn sample_origin(&self, b: [usize; 3]) -> [i64; 3] {
        b.map(|v| (v * self.brick) as i64 - 1)
    }
    /// The cell box of brick `b` in fine index coordinates: `[b·B, min((b+1)·B, n−1)]` per axis.
    pub fn cell_box(&self, b: [usize; 3]) -> ([f32; 3], [f32; 3]) {
        let lo = [0, 1, 2].map(|a| (b[a] * self.brick) as f32);
        let hi = [0, 1, 2].map(|a| ((b[a] + 1) * self.brick).min(self.dims[a] - 1) as f32);
        (lo, hi)
    }
    /// Samples of the base grid.
    pub fn base_len(&self) -> usize {
        self.base_dims.iter().product()
    }
}
