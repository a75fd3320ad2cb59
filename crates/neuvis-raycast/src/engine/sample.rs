//! Trilinear sampling and gradients over a [`Voxels`] view: the one sampling path of every method
//! (global indices, the clamping of `ScalarField::sample_index`).

/// Access to samples by global grid index.
pub trait Voxels: Sync {
    /// Sample at global index `(i, j, k)`.
    fn at(&self, i: usize, j: usize, k: usize) -> f32;
}

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

#[inline(always)]
fn split(x: f32, n: usize) -> (usize, f32) {
    let x = x.max(0.0).min((n - 1) as f32);
    let i = (x as usize).min(n.saturating_sub(2));
    (i, x - i as f32)
}

#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// Trilinear sample at global index coordinates `p` of a `dims` grid (clamped like
/// `ScalarField::sample_index`).
#[inline(always)]
pub fn sample<V: Voxels>(v: &V, dims: [usize; 3], p: [f32; 3]) -> f32 {
    let (i, fx) = split(p[0], dims[0]);
    let (j, fy) = split(p[1], dims[1]);
    let (k, fz) = split(p[2], dims[2]);
    let (i1, j1, k1) = (
        (i + 1).min(dims[0] - 1),
        (j + 1).min(dims[1] - 1),
        (k + 1).min(dims[2] - 1),
    );
    let c00 = lerp(v.at(i, j, k), v.at(i1, j, k), fx);
    let c10 = lerp(v.at(i, j1, k), v.at(i1, j1, k), fx);
    let c01 = lerp(v.at(i, j, k1), v.at(i1, j, k1), fx);
    let c11 = lerp(v.at(i, j1, k1), v.at(i1, j1, k1), fx);
    lerp(lerp(c00, c10, fy), lerp(c01, c11, fy), fz)
}

fn grid_gradient<V: Voxels>(v: &V, dims: [usize; 3], sp: [f32; 3], idx: [usize; 3]) -> [f32; 3] {
    let mut g = [0f32; 3];
    for a in 0..3 {
        let n = dims[a];
        if n < 2 {
            continue;
        }
        let (lo, hi) = (idx[a].saturating_sub(1), (idx[a] + 1).min(n - 1));
        let (mut p0, mut p1) = (idx, idx);
        p0[a] = lo;
        p1[a] = hi;
        g[a] = (v.at(p1[0], p1[1], p1[2]) - v.at(p0[0], p0[1], p0[2])) / ((hi - lo) as f32 * sp[a]);
    }
    g
}

/// Gradient (world units) at global index coordinates: central differences at the 8 corners,
/// trilinearly interpolated.
pub fn gradient<V: Voxels>(v: &V, dims: [usize; 3], sp: [f32; 3], p: [f32; 3]) -> [f32; 3] {
    let (i0, fx) = split(p[0], dims[0]);
    let (j0, fy) = split(p[1], dims[1]);
    let (k0, fz) = split(p[2], dims[2]);
    let (i1, j1, k1) = (
        (i0 + 1).min(dims[0] - 1),
        (j0 + 1).min(dims[1] - 1),
        (k0 + 1).min(dims[2] - 1),
    );
    let mut g = [0f32; 3];
    for (k, wk) in [(k0, 1.0 - fz), (k1, fz)] {
        for (j, wj) in [(j0, 1.0 - fy), (j1, fy)] {
            for (i, wi) in [(i0, 1.0 - fx), (i1, fx)] {
                let w = wi * wj * wk;
                if w != 0.0 {
                    let c = grid_gradient(v, dims, sp, [i, j, k]);
                    for a in 0..3 {
                        g[a] += w * c[a];
                    }
                }
            }
        }
    }
    g
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
