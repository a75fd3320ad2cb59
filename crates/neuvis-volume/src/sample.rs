//! Trilinear sampling and central-difference gradients over any grid addressed by global index
//! ([`Voxels`]): the one sampling arithmetic of the ground-truth renderer ([`ScalarField`]) and of
//! the speculative raycaster's bricks (`neuvis-raycast`), so both see the same field to the bit.
//!
//! Coordinates are clamped to the grid (NaN counts as 0); a single-sample axis contributes its one
//! sample and a zero gradient.
//!
//! [`ScalarField`]: crate::ScalarField

/// Samples addressed by global grid index.
pub trait Voxels: Sync {
    /// The sample at `(i, j, k)`.
    fn at(&self, i: usize, j: usize, k: usize) -> f32;
}

/// Clamps continuous index `x` to an axis of `n ≥ 1` samples and splits it into a cell index
/// (at most `n − 2`, 0 for a single sample) and the fraction within the cell.
#[inline(always)]
pub fn split(x: f32, n: usize) -> (usize, f32) {
    let x = x.max(0.0).min((n - 1) as f32);
    let i = (x as usize).min(n.saturating_sub(2));
    (i, x - i as f32)
}

#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// Trilinear interpolation of a cell's corner samples `c` (index bit 0 = +x, bit 1 = +y,
/// bit 2 = +z) at fractions `f`: x first, then y, then z.
#[inline(always)]
pub fn lerp3(c: [f32; 8], f: [f32; 3]) -> f32 {
    let c00 = lerp(c[0], c[1], f[0]);
    let c10 = lerp(c[2], c[3], f[0]);
    let c01 = lerp(c[4], c[5], f[0]);
    let c11 = lerp(c[6], c[7], f[0]);
    lerp(lerp(c00, c10, f[1]), lerp(c01, c11, f[1]), f[2])
}

/// Trilinear sample at continuous global index coordinates `p` of a `dims` grid.
///
/// ```
/// use neuvis_volume::sample::{trilinear, Voxels};
/// struct Linear;
/// impl Voxels for Linear {
///     fn at(&self, i: usize, j: usize, k: usize) -> f32 { (i + 2 * j + 3 * k) as f32 }
/// }
/// assert_eq!(trilinear(&Linear, [4, 4, 4], [1.5, 0.25, 2.0]), 1.5 + 0.5 + 6.0);
/// assert_eq!(trilinear(&Linear, [4, 4, 4], [-1.0, 9.0, f32::NAN]), 6.0); // clamped
/// ```
#[inline(always)]
pub fn trilinear<V: Voxels + ?Sized>(v: &V, dims: [usize; 3], p: [f32; 3]) -> f32 {
    let (i, fx) = split(p[0], dims[0]);
    let (j, fy) = split(p[1], dims[1]);
    let (k, fz) = split(p[2], dims[2]);
    let (i1, j1, k1) = (
        (i + 1).min(dims[0] - 1),
        (j + 1).min(dims[1] - 1),
        (k + 1).min(dims[2] - 1),
    );
    lerp3(
        [
            v.at(i, j, k),
            v.at(i1, j, k),
            v.at(i, j1, k),
            v.at(i1, j1, k),
            v.at(i, j, k1),
            v.at(i1, j, k1),
            v.at(i, j1, k1),
            v.at(i1, j1, k1),
        ],
        [fx, fy, fz],
    )
}

/// Central-difference gradient (world units, grid `spacing`) at grid point `idx`; one-sided at
/// the boundary, zero along an axis with a single sample.
#[inline]
pub fn grid_gradient<V: Voxels + ?Sized>(v: &V, dims: [usize; 3], spacing: [f32; 3], idx: [usize; 3]) -> [f32; 3] {
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
        g[a] = (v.at(p1[0], p1[1], p1[2]) - v.at(p0[0], p0[1], p0[2])) / ((hi - lo) as f32 * spacing[a]);
    }
    g
}

/// Gradient (world units) at continuous global index coordinates `p`: the central-difference
/// gradients of the 8 surrounding grid points, trilinearly interpolated (as VTK's raycasters do),
/// so shading normals vary continuously across cell faces.
pub fn gradient<V: Voxels + ?Sized>(v: &V, dims: [usize; 3], spacing: [f32; 3], p: [f32; 3]) -> [f32; 3] {
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
                    let c = grid_gradient(v, dims, spacing, [i, j, k]);
                    for a in 0..3 {
                        g[a] += w * c[a];
                    }
                }
            }
        }
    }
    g
}
