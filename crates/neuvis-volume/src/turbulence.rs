//! Synthetic turbulence: a seeded sum of random Fourier modes with a Kolmogorov spectrum,
//! generated slab by slab so volumes of any size (512³, 1024³, …) exist without downloads and
//! without ever holding the whole volume.
//!
//! The field on `[0,1]³` is
//!
//! ```text
//! f(x) = Σ_m a_m cos(2π k_m·x + φ_m)
//! ```
//!
//! with `M` modes (Kraichnan's random-mode construction). Wavenumber magnitudes `|k_m|` (cycles
//! per unit length) are drawn log-uniformly from `[k_min, k_max]`, directions uniformly on the
//! sphere, phases uniformly in `[0, 2π)`. Log-uniform sampling puts a density ∝ 1/k of modes at
//! wavenumber `k`, so choosing `a_m² ∝ |k_m|^{−2/3}` gives the energy spectrum
//! `E(k) ∝ (1/k)·k^{−2/3} = k^{−5/3}` of Kolmogorov's inertial range. Amplitudes are scaled so the
//! field's variance `Σ a_m²/2` is exactly 1. The field is defined independently of the grid: a 64³
//! and a 1024³ sampling of the same seed show the same structures.
//!
//! A consequence used by the tests: the second-order structure function
//! `S₂(r) = ⟨(f(x + r) − f(x))²⟩` grows like `r^{2/3}` for `1/k_max ≪ r ≪ 1/k_min`.
//!
//! Generation evaluates, per z-plane and per mode, `c = a e^{i(2π k_z z + φ)}`, per row
//! `d = c e^{i 2π k_y y}`, and then adds `Re(d e^{i 2π k_x x})` along the row from per-mode tables
//! of `cos`/`sin(2π k_x x)`: two multiply-adds per sample and mode, vectorized over x.

use crate::error::{Result, VolumeError};
use crate::field::{check_dims, check_memory, ScalarField};
use neuvis_base::SplitMix64;
use rayon::prelude::*;
use std::f64::consts::PI;

/// One Fourier mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mode {
    /// Wave vector in cycles per unit length.
    pub k: [f64; 3],
    /// Amplitude.
    pub a: f64,
    /// Phase in radians.
    pub phase: f64,
}

/// A seeded synthetic turbulence field on `[0,1]³`; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Turbulence {
    modes: Vec<Mode>,
}

/// Default number of modes.
pub const DEFAULT_MODES: usize = 256;
/// Default smallest wavenumber (cycles per unit length).
pub const DEFAULT_K_MIN: f64 = 1.0;
/// Default largest wavenumber: 64 cycles, i.e. 8 samples per shortest wavelength at 512³ and
/// finer than a 128³ base volume can resolve.
pub const DEFAULT_K_MAX: f64 = 64.0;

impl Turbulence {
    /// The field with the default mode count and wavenumber band.
    pub fn new(seed: u64) -> Turbulence {
        Turbulence::with_band(seed, DEFAULT_MODES, DEFAULT_K_MIN, DEFAULT_K_MAX).expect("default band is valid")
    }

    /// The field with `modes` modes between `k_min` and `k_max` cycles per unit length.
    pub fn with_band(seed: u64, modes: usize, k_min: f64, k_max: f64) -> Result<Turbulence> {
        if modes == 0 || modes > 1 << 16 {
            return Err(VolumeError::Invalid(format!(
                "turbulence needs 1 to 65536 modes, got {modes}"
            )));
        }
        if !(k_min > 0.0 && k_max >= k_min && k_max.is_finite()) {
            return Err(VolumeError::Invalid(format!(
                "turbulence band [{k_min}, {k_max}] must satisfy 0 < k_min <= k_max < inf"
            )));
        }
        let mut rng = SplitMix64(seed ^ 0x7475_7262_756c_656e);
        let (lmin, lmax) = (k_min.ln(), k_max.ln());
        let mut out: Vec<Mode> = (0..modes)
            .map(|_| {
                let k = rng.uniform(lmin, lmax).exp();
                let cz = rng.uniform(-1.0, 1.0);
                let az = rng.uniform(0.0, 2.0 * PI);
                let s = (1.0 - cz * cz).max(0.0).sqrt();
                let dir = [s * az.cos(), s * az.sin(), cz];
                Mode {
                    k: dir.map(|d| d * k),
                    a: k.powf(-1.0 / 3.0),
                    phase: rng.uniform(0.0, 2.0 * PI),
                }
            })
            .collect();
        let var: f64 = out.iter().map(|m| m.a * m.a / 2.0).sum();
        let scale = 1.0 / var.sqrt();
        for m in &mut out {
            m.a *= scale;
        }
        Ok(Turbulence { modes: out })
    }

    /// The modes.
    pub fn modes(&self) -> &[Mode] {
        &self.modes
    }

    /// Exact value at a point of `[0,1]³` (f64, for tests and probes).
    pub fn value(&self, p: [f64; 3]) -> f64 {
        self.modes
            .iter()
            .map(|m| m.a * (2.0 * PI * (m.k[0] * p[0] + m.k[1] * p[1] + m.k[2] * p[2]) + m.phase).cos())
            .sum()
    }

    /// Grid spacing of a `dims` sampling of `[0,1]³`.
    pub fn spacing(dims: [usize; 3]) -> [f32; 3] {
        dims.map(|n| 1.0 / (n.max(2) - 1) as f32)
    }

    /// The samples of z-planes `z0 .. z0 + nz` of a `dims` grid over `[0,1]³` (x fastest), in
    /// parallel over planes.
    ///
    /// # Errors
    /// Dimensions below 2 or too large, or planes outside the grid.
    pub fn slab(&self, dims: [usize; 3], z0: usize, nz: usize) -> Result<Vec<f32>> {
        check_dims(dims, "turbulence")?;
        if dims.iter().any(|&d| d < 2) {
            return Err(VolumeError::Invalid(format!(
                "turbulence needs at least 2 samples per axis, got {dims:?}"
            )));
        }
        if z0.checked_add(nz).is_none_or(|e| e > dims[2]) {
            return Err(VolumeError::Invalid(format!(
                "planes {z0}..{} outside a grid of {} planes",
                z0.saturating_add(nz),
                dims[2]
            )));
        }
        let [nx, ny, _] = dims;
        check_memory((nx * ny * nz) as u64 * 4, "turbulence slab")?;
        let h = dims.map(|n| 1.0 / (n - 1) as f64);
        // Per-mode tables of cos/sin(2π k_x x) along a row, mode-major.
        let m = self.modes.len();
        let mut cx = vec![0f32; m * nx];
        let mut sx = vec![0f32; m * nx];
        for (mi, md) in self.modes.iter().enumerate() {
            for i in 0..nx {
                let arg = 2.0 * PI * md.k[0] * (i as f64 * h[0]);
                cx[mi * nx + i] = arg.cos() as f32;
                sx[mi * nx + i] = arg.sin() as f32;
            }
        }
        let mut out = vec![0f32; nx * ny * nz];
        out.par_chunks_mut(nx * ny).enumerate().for_each(|(kk, plane)| {
            let z = (z0 + kk) as f64 * h[2];
            let c: Vec<(f64, f64)> = self
                .modes
                .iter()
                .map(|md| {
                    let arg = 2.0 * PI * md.k[2] * z + md.phase;
                    (md.a * arg.cos(), md.a * arg.sin())
                })
                .collect();
            for j in 0..ny {
                let y = j as f64 * h[1];
                let row = &mut plane[j * nx..(j + 1) * nx];
                for (mi, md) in self.modes.iter().enumerate() {
                    let arg = 2.0 * PI * md.k[1] * y;
                    let (cy, sy) = (arg.cos(), arg.sin());
                    let (cr, ci) = c[mi];
                    // d = c · e^{iθy}; Re(d e^{iθx}) = d_r cos θx − d_i sin θx
                    let dr = (cr * cy - ci * sy) as f32;
                    let di = (cr * sy + ci * cy) as f32;
                    let tc = &cx[mi * nx..(mi + 1) * nx];
                    let ts = &sx[mi * nx..(mi + 1) * nx];
                    for ((o, &a), &b) in row.iter_mut().zip(tc).zip(ts) {
                        *o += dr * a - di * b;
                    }
                }
            }
        });
        Ok(out)
    }

    /// The whole field on a `dims` grid over `[0,1]³`.
    pub fn field(&self, dims: [usize; 3]) -> Result<ScalarField> {
        let data = self.slab(dims, 0, dims[2])?;
        ScalarField::new(dims, Turbulence::spacing(dims), [0.0; 3], data)
    }
}
