//! The scalar field type: a regular grid of `f32` samples, and its sampling.

use crate::error::{Result, VolumeError};

/// A scalar field on a regular grid (image data in VTK terms).
///
/// Invariants, checked by [`ScalarField::new`]: every dimension is ≥ 1, `data.len() == nx·ny·nz`,
/// spacings are finite and > 0, samples are finite. Sample `(i, j, k)` is at
/// `data[i + nx·(j + ny·k)]` (x fastest) and sits at world position `origin + spacing ⊙ (i, j, k)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarField {
    geom: Geom,
    dims: [usize; 3],
    spacing: [f32; 3],
    origin: [f32; 3],
    data: Vec<f32>,
    range: (f32, f32),
}

impl ScalarField {
    /// Builds a field, checking the invariants listed on the type.
    pub fn new(dims: [usize; 3], spacing: [f32; 3], origin: [f32; 3], data: Vec<f32>) -> Result<Self> {
        let n = checked_count(dims, "field")?;
        if data.len() != n {
            return Err(VolumeError::Invalid(format!(
                "field of {}x{}x{} needs {n} samples, got {}",
                dims[0],
                dims[1],
                dims[2],
                data.len()
            )));
        }
        if spacing.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(VolumeError::Invalid(format!(
                "spacing {spacing:?} must be finite and positive"
            )));
        }
        if origin.iter().any(|o| !o.is_finite()) {
            return Err(VolumeError::Invalid(format!("origin {origin:?} must be finite")));
        }
        let range =
            value_range(&data).ok_or_else(|| VolumeError::Invalid("field contains non-finite samples".to_string()))?;
        if dims.iter().any(|&d| d > (1 << 24)) {
            return Err(VolumeError::BadDims {
                what: "field".into(),
                msg: format!("dimension above 2^24 in {dims:?}"),
            });
        }
        Ok(ScalarField {
            geom: Geom::new(dims),
            dims,
            spacing,
            origin,
            data,
            range,
        })
    }

    /// Builds a field whose samples are `f(x, y, z)` at the world position of each grid point.
    pub fn from_fn(
        dims: [usize; 3],
        spacing: [f32; 3],
        origin: [f32; 3],
        f: impl Fn(f32, f32, f32) -> f32 + Sync,
    ) -> Result<Self> {
        use rayon::prelude::*;
        let n = checked_count(dims, "field")?;
        check_memory(n as u64 * 4, "field")?;
        let mut data = vec![0f32; n];
        let [nx, ny, _] = dims;
        data.par_chunks_mut(nx * ny).enumerate().for_each(|(k, slab)| {
            let z = origin[2] + spacing[2] * k as f32;
            for j in 0..ny {
                let y = origin[1] + spacing[1] * j as f32;
                for i in 0..nx {
                    slab[i + nx * j] = f(origin[0] + spacing[0] * i as f32, y, z);
                }
            }
        });
        ScalarField::new(dims, spacing, origin, data)
    }

    /// Grid dimensions (nx, ny, nz).
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }
    /// Distance between grid points along each axis, in world units.
    pub fn spacing(&self) -> [f32; 3] {
        self.spacing
    }
    /// World position of sample (0, 0, 0).
    pub fn origin(&self) -> [f32; 3] {
        self.origin
    }
    /// The samples, x fastest.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    /// Consumes the field and returns its samples.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }
    /// (min, max) of the samples.
    pub fn range(&self) -> (f32, f32) {
        self.range
    }
    /// World-space axis-aligned bounds: (min corner, max corner).
    pub fn bounds(&self) -> ([f32; 3], [f32; 3]) {
        let hi = [0, 1, 2].map(|a| self.origin[a] + self.spacing[a] * (self.dims[a] - 1) as f32);
        (self.origin, hi)
    }
    /// Sample at grid point (i, j, k).
    ///
    /// # Panics
    /// Panics if the index is outside the grid.
    #[inline]
    pub fn at(&self, i: usize, j: usize, k: usize) -> f32 {
        self.data[i + self.dims[0] * (j + self.dims[1] * k)]
    }

    /// Trilinear interpolation at continuous index coordinates; coordinates are clamped to the grid
    /// (NaN counts as 0).
    #[inline(always)]
    pub fn sample_index(&self, x: f32, y: f32, z: f32) -> f32 {
        let g = &self.geom;
        let (i0, fx) = split_fast(x, g.maxf[0], g.maxi[0]);
        let (j0, fy) = split_fast(y, g.maxf[1], g.maxi[1]);
        let (k0, fz) = split_fast(z, g.maxf[2], g.maxi[2]);
        let (nx, nxy) = (self.dims[0], g.nxy);
        let base = i0 + nx * j0 + nxy * k0;
        let (di, dj, dk) = (g.step[0], g.step[1], g.step[2]);
        let d = &self.data;
        debug_assert!(base + di + dj + dk < d.len());
        // SAFETY: `split_fast` returns cell indices ≤ maxi = n−2 (0 for a single-sample axis), and
        // the offsets di, dj, dk are 0 for single-sample axes, so the largest index read,
        // base + di + dj + dk, is at most (nx−1) + nx·(ny−1) + nx·ny·(nz−1) = len − 1.
        let at = |o: usize| unsafe { *d.get_unchecked(base + o) };
        crate::sample::lerp3(
            [
                at(0),
                at(di),
                at(dj),
                at(dj + di),
                at(dk),
                at(dk + di),
                at(dj + dk),
                at(dj + dk + di),
            ],
            [fx, fy, fz],
        )
    }

    /// Converts a world position to continuous index coordinates.
    #[inline]
    pub fn world_to_index(&self, p: [f32; 3]) -> [f32; 3] {
        [
            (p[0] - self.origin[0]) / self.spacing[0],
            (p[1] - self.origin[1]) / self.spacing[1],
            (p[2] - self.origin[2]) / self.spacing[2],
        ]
    }

    /// Trilinear interpolation at a world position (clamped to the bounds).
    pub fn sample(&self, p: [f32; 3]) -> f32 {
        let q = self.world_to_index(p);
        self.sample_index(q[0], q[1], q[2])
    }

    /// Central-difference gradient (world units) at grid point `(i, j, k)`; one-sided at the
    /// boundary, zero along an axis with a single sample ([`crate::sample::grid_gradient`]).
    #[inline]
    pub fn grid_gradient(&self, i: usize, j: usize, k: usize) -> [f32; 3] {
        crate::sample::grid_gradient(self, self.dims, self.spacing, [i, j, k])
    }

    /// Gradient in world units at continuous index coordinates ([`crate::sample::gradient`]): the
    /// central-difference gradients of the 8 surrounding grid points, trilinearly interpolated (as
    /// VTK's raycasters do), so shading normals vary continuously across cell faces.
    pub fn gradient_index(&self, x: f32, y: f32, z: f32) -> [f32; 3] {
        crate::sample::gradient(self, self.dims, self.spacing, [x, y, z])
    }

    /// Gradient in world units at a world position; see [`ScalarField::gradient_index`].
    pub fn gradient(&self, p: [f32; 3]) -> [f32; 3] {
        let q = self.world_to_index(p);
        self.gradient_index(q[0], q[1], q[2])
    }
}

impl crate::sample::Voxels for ScalarField {
    #[inline(always)]
    fn at(&self, i: usize, j: usize, k: usize) -> f32 {
        ScalarField::at(self, i, j, k)
    }
}

/// Clamps `x` to `[0, maxf]` (NaN → 0) and splits it into a cell index ≤ `maxi` and a fraction.
#[inline(always)]
fn split_fast(x: f32, maxf: f32, maxi: usize) -> (usize, f32) {
    let x = x.max(0.0).min(maxf);
    // SAFETY: x is finite and in [0, maxf] with maxf < 2^31 (dims are checked on construction).
    let i = (unsafe { x.to_int_unchecked::<u32>() } as usize).min(maxi);
    (i, x - i as f32)
}

/// Per-field constants of the sampler.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Geom {
    /// Largest coordinate per axis, n − 1.
    maxf: [f32; 3],
    /// Largest cell index per axis, n − 2 (0 for a single-sample axis).
    maxi: [usize; 3],
    /// Offset to the next sample per axis (0 for a single-sample axis).
    step: [usize; 3],
    /// nx · ny.
    nxy: usize,
}

impl Geom {
    fn new(d: [usize; 3]) -> Geom {
        let strides = [1, d[0], d[0] * d[1]];
        Geom {
            maxf: d.map(|n| (n - 1) as f32),
            maxi: d.map(|n| n.saturating_sub(2)),
            step: [0, 1, 2].map(|a| if d[a] > 1 { strides[a] } else { 0 }),
            nxy: d[0] * d[1],
        }
    }
}

/// (min, max) of finite data, `None` if any sample is not finite or `data` is empty.
pub fn value_range(data: &[f32]) -> Option<(f32, f32)> {
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    for &v in data {
        if !v.is_finite() {
            return None;
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo <= hi).then_some((lo, hi))
}

/// The `qs` quantiles (nearest rank, each in `[0, 1]`) of the finite values of `data`, from an
/// even sample of at most 2^20 values (exact below that); NaN when there is no finite value.
pub fn percentiles(data: &[f32], qs: &[f64]) -> Vec<f32> {
    let step = (data.len() >> 20).max(1);
    let mut v: Vec<f32> = data.iter().step_by(step).copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return vec![f32::NAN; qs.len()];
    }
    v.sort_by(f32::total_cmp);
    let last = v.len() - 1;
    qs.iter()
        .map(|q| v[((q.clamp(0.0, 1.0) * last as f64).round() as usize).min(last)])
        .collect()
}

impl ScalarField {
    /// "values in [lo, hi]; percentiles 1% …, 25% …, 50% …, 75% …, 99% …": what a user needs to
    /// pick an isovalue or a transfer-function range.
    pub fn value_summary(&self) -> String {
        let p = percentiles(&self.data, &[0.01, 0.25, 0.5, 0.75, 0.99]);
        let (lo, hi) = self.range();
        let f = |v: f32| v.to_string();
        format!(
            "values in [{}, {}]; percentiles 1% {}, 25% {}, 50% {}, 75% {}, 99% {}",
            f(lo),
            f(hi),
            f(p[0]),
            f(p[1]),
            f(p[2]),
            f(p[3]),
            f(p[4])
        )
    }
}

/// Number of samples of `dims`, or an error if a dimension is zero or the product overflows.
pub fn checked_count(dims: [usize; 3], what: &str) -> Result<usize> {
    if dims.contains(&0) {
        return Err(VolumeError::BadDims {
            what: what.to_string(),
            msg: format!("dimensions {}x{}x{} contain a zero", dims[0], dims[1], dims[2]),
        });
    }
    dims[0]
        .checked_mul(dims[1])
        .and_then(|p| p.checked_mul(dims[2]))
        .filter(|&n| n <= isize::MAX as usize / 8)
        .ok_or_else(|| VolumeError::BadDims {
            what: what.to_string(),
            msg: format!(
                "dimensions {}x{}x{} overflow the address space",
                dims[0], dims[1], dims[2]
            ),
        })
}

pub use neuvis_base::mem::available_memory;

/// Fails with [`VolumeError::BadDims`] naming `what` if allocating `bytes` would exceed
/// [`available_memory`].
pub fn check_memory(bytes: u64, what: &str) -> Result<()> {
    neuvis_base::mem::check_memory(bytes).map_err(|e| VolumeError::BadDims {
        what: what.to_string(),
        msg: e.to_string(),
    })
}

/// Checks dimensions read from a file: non-zero, no overflow, and `dims × 4` bytes of `f32` fit in memory.
pub fn check_dims(dims: [usize; 3], what: &str) -> Result<usize> {
    let n = checked_count(dims, what)?;
    check_memory(n as u64 * 4, what)?;
    Ok(n)
}

/// Parses `N` (a cube) or `NXxNYxNZ` into dimensions.
pub fn parse_dims(s: &str) -> Option<[usize; 3]> {
    let parts: Vec<&str> = s.split(['x', 'X', ',']).map(str::trim).collect();
    let v: Option<Vec<usize>> = parts.iter().map(|p| p.parse().ok()).collect();
    match v?.as_slice() {
        [n] => Some([*n; 3]),
        [a, b, c] => Some([*a, *b, *c]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear() -> ScalarField {
        // f = 2x + 3y - z + 1 on a 5x4x3 grid with spacing (0.5, 1, 2)
        ScalarField::from_fn([5, 4, 3], [0.5, 1.0, 2.0], [1.0, -1.0, 0.0], |x, y, z| {
            2.0 * x + 3.0 * y - z + 1.0
        })
        .unwrap()
    }

    #[test]
    fn trilinear_reproduces_linear_functions() {
        let f = linear();
        for p in [[1.3, -0.2, 0.7], [2.9, 1.9, 3.9], [1.0, -1.0, 0.0], [2.0, 2.0, 4.0]] {
            let exact = 2.0 * p[0] + 3.0 * p[1] - p[2] + 1.0;
            assert!((f.sample(p) - exact).abs() < 1e-5, "{p:?}");
            let g = f.gradient(p);
            assert!(
                (g[0] - 2.0).abs() < 1e-4 && (g[1] - 3.0).abs() < 1e-4 && (g[2] + 1.0).abs() < 1e-4,
                "{g:?}"
            );
        }
    }

    #[test]
    fn trilinear_of_bilinear_term_matches_hand_value() {
        // f = x*y*z is reproduced exactly by trilinear interpolation inside a cell
        let f = ScalarField::from_fn([2, 2, 2], [1.0; 3], [0.0; 3], |x, y, z| x * y * z).unwrap();
        assert!((f.sample([0.5, 0.5, 0.5]) - 0.125).abs() < 1e-7);
        assert!((f.sample([0.25, 1.0, 0.5]) - 0.125).abs() < 1e-7);
    }

    #[test]
    fn sampling_clamps_outside() {
        let f = linear();
        assert_eq!(f.sample([-10.0, -1.0, 0.0]), f.at(0, 0, 0));
        assert_eq!(f.sample_index(f32::NAN, 0.0, 0.0), f.at(0, 0, 0));
    }

    #[test]
    fn bad_dims_are_errors() {
        assert!(checked_count([0, 4, 4], "x").is_err());
        let e = checked_count([usize::MAX / 2, 4, 4], "big.raw").unwrap_err();
        assert!(
            e.to_string().contains("big.raw") && e.to_string().contains("overflow"),
            "{e}"
        );
        let e = check_dims([1 << 20, 1 << 20, 1 << 10], "huge.nrrd").unwrap_err();
        assert!(e.to_string().contains("memory"), "{e}");
        assert!(ScalarField::new([2, 2, 2], [1.0; 3], [0.0; 3], vec![0.0; 7]).is_err());
        assert!(ScalarField::new([1, 1, 1], [0.0, 1.0, 1.0], [0.0; 3], vec![0.0]).is_err());
    }

    #[test]
    fn parses_dims() {
        assert_eq!(parse_dims("64"), Some([64; 3]));
        assert_eq!(parse_dims("4x5x6"), Some([4, 5, 6]));
        assert_eq!(parse_dims("4x5"), None);
    }
}
