//! The raycaster's views of samples: the whole volume ([`Dense`]) and one brick with its apron
//! (`BrickView`), both addressed by global index, sampled by `neuvis_volume::sample` (the
//! arithmetic `ScalarField::sample_index` uses, so `exact` and `full` match `neuvis-render`'s field
//! to the bit).

pub use neuvis_volume::sample::{gradient, trilinear as sample, Voxels};

/// A whole grid in memory, x fastest.
pub struct Dense<'a> {
    /// Samples.
    pub data: &'a [f32],
    /// Grid size.
    pub dims: [usize; 3],
}
impl Voxels for Dense<'_> {
    #[inline(always)]
    fn at(&self, i: usize, j: usize, k: usize) -> f32 {
        self.data[i + self.dims[0] * (j + self.dims[1] * k)]
    }
}

/// One brick's samples (with its apron), addressed by global index.
pub(super) struct BrickView<'a> {
    /// The samples, x fastest.
    pub(super) data: &'a [f32],
    /// Global index of the first sample.
    pub(super) o: [i64; 3],
    /// Samples per edge.
    pub(super) s: usize,
}
impl Voxels for BrickView<'_> {
    #[inline(always)]
    fn at(&self, i: usize, j: usize, k: usize) -> f32 {
        let l = [i as i64 - self.o[0], j as i64 - self.o[1], k as i64 - self.o[2]];
        debug_assert!(l.iter().all(|&v| v >= 0 && (v as usize) < self.s), "{l:?}");
        self.data[l[0] as usize + self.s * (l[1] as usize + self.s * l[2] as usize)]
    }
}

pub(super) fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
pub(super) fn normalize(a: [f32; 3]) -> [f32; 3] {
    let n = dot(a, a).sqrt();
    if n > 0.0 {
        a.map(|v| v / n)
    } else {
        a
    }
}
