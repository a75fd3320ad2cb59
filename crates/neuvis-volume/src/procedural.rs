//! Procedural fields with exact, documented formulas: test data that needs no download.
//!
//! All three are sampled on a regular grid whose world coordinates are the formula's coordinates,
//! so a test can evaluate the formula at a grid point and compare.

use crate::error::{Result, VolumeError};
use crate::field::{check_dims, ScalarField};
use neuvis_base::SplitMix64;
use rayon::prelude::*;

/// A procedural field generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Procedural {
    /// Crawfis & Max's tornado: the magnitude of the analytic tornado vector field on `[0,1]³`,
    /// default 128³ × 48 steps; see [`tornado_vector`].
    Tornado,
    /// Marschner & Lobb's test signal on `[−1,1]³` (f_M = 6, α = 0.25), one step, default 41³;
    /// see [`marschner_lobb`].
    MarschnerLobb,
    /// Seeded moving, growing, shrinking, merging and splitting Gaussian blobs on `[0,1]³`,
    /// default 128³ × 48 steps; see [`Blobs`].
    Blobs {
        /// Seed of the blob parameters.
        seed: u64,
    },
    /// Seeded synthetic turbulence on `[0,1]³` (random Fourier modes with a Kolmogorov −5/3
    /// spectrum, unit variance), one step, default 128³; see [`Turbulence`](crate::Turbulence).
    Turbulence {
        /// Seed of the modes.
        seed: u64,
    },
}

impl Procedural {
    /// Looks up a field by its command-line name.
    pub fn from_name(name: &str, seed: u64) -> Option<Procedural> {
        match name {
            "tornado" => Some(Procedural::Tornado),
            "marschner-lobb" | "ml" => Some(Procedural::MarschnerLobb),
            "blobs" => Some(Procedural::Blobs { seed }),
            "turbulence" => Some(Procedural::Turbulence { seed }),
            _ => None,
        }
    }
    /// Command-line name.
    pub fn name(&self) -> &'static str {
        match self {
            Procedural::Tornado => "tornado",
            Procedural::MarschnerLobb => "marschner-lobb",
            Procedural::Blobs { .. } => "blobs",
            Procedural::Turbulence { .. } => "turbulence",
        }
    }
    /// Default grid size.
    pub fn default_dims(&self) -> [usize; 3] {
        match self {
            Procedural::MarschnerLobb => [41; 3],
            _ => [128; 3],
        }
    }
    /// Default number of time steps.
    pub fn default_steps(&self) -> usize {
        match self {
            Procedural::MarschnerLobb | Procedural::Turbulence { .. } => 1,
            _ => 48,
        }
    }
    /// Generates the field at time `t` (the step index) on a `dims` grid.
    pub fn generate(&self, dims: [usize; 3], t: f64) -> Result<ScalarField> {
        check_dims(dims, self.name())?;
        if dims.iter().any(|&d| d < 2) {
            return Err(VolumeError::Invalid(format!(
                "{} needs at least 2 samples per axis, got {dims:?}",
                self.name()
            )));
        }
        let unit = |lo: f32, hi: f32| {
            let sp = [0, 1, 2].map(|a| (hi - lo) / (dims[a] - 1) as f32);
            (sp, [lo; 3])
        };
        match *self {
            Procedural::Tornado => {
                let (sp, o) = unit(0.0, 1.0);
                ScalarField::from_fn(dims, sp, o, |x, y, z| {
                    let v = tornado_vector(x as f64, y as f64, z as f64, t);
                    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt() as f32
                })
            }
            Procedural::MarschnerLobb => {
                let (sp, o) = unit(-1.0, 1.0);
                ScalarField::from_fn(dims, sp, o, |x, y, z| {
                    marschner_lobb(x as f64, y as f64, z as f64) as f32
                })
            }
            Procedural::Blobs { seed } => Ok(Blobs::new(seed, 48).field(dims, t)),
            Procedural::Turbulence { seed } => crate::Turbulence::new(seed).field(dims),
        }
    }
}

/// The tornado vector field of Crawfis & Max at point `(x, y, z) ∈ [0,1]³` and time step `t`:
///
/// ```text
/// xc = 0.5 + 0.1 sin(0.04 t + 10 z);  yc = 0.5 + 0.1 cos(0.03 t + 3 z)
/// r  = 0.1 + 0.4 z² + 0.1 z sin(8 z); r2 = 0.2 + 0.1 z
/// d  = √((x−xc)² + (y−yc)²); s = |r − d|; s = (s > r2) ? 0.8 − s : 1
/// z0 = max(0, 0.1 (0.1 − d z)); d' = √(d² + z0²); s = (r + r2 − d') s / (d' + 1e−11) / (1 + z)
/// v  = (s (y−yc) + 0.1 (x−xc), −s (x−xc) + 0.1 (y−yc), s z0)
/// ```
/// neuvis's `tornado` scalar is `|v|`.
pub fn tornado_vector(x: f64, y: f64, z: f64, t: f64) -> [f64; 3] {
    let xc = 0.5 + 0.1 * (0.04 * t + 10.0 * z).sin();
    let yc = 0.5 + 0.1 * (0.03 * t + 3.0 * z).cos();
    let r = 0.1 + 0.4 * z * z + 0.1 * z * (8.0 * z).sin();
    let r2 = 0.2 + 0.1 * z;
    let d = ((x - xc).powi(2) + (y - yc).powi(2)).sqrt();
    let mut s = (r - d).abs();
    s = if s > r2 { 0.8 - s } else { 1.0 };
    let z0 = (0.1 * (0.1 - d * z)).max(0.0);
    let dp = (d * d + z0 * z0).sqrt();
    s = (r + r2 - dp) * s / (dp + 1e-11) / (1.0 + z);
    [s * (y - yc) + 0.1 * (x - xc), -s * (x - xc) + 0.1 * (y - yc), s * z0]
}

/// Marschner & Lobb's signal on `[−1,1]³` with f_M = 6, α = 0.25:
/// `ρ = (1 − sin(πz/2) + α(1 + cos(2π f_M cos(π r/2)))) / (2(1+α))`, `r = √(x²+y²)`. Range `[0, 1]`.
pub fn marschner_lobb(x: f64, y: f64, z: f64) -> f64 {
    use std::f64::consts::PI;
    const FM: f64 = 6.0;
    const ALPHA: f64 = 0.25;
    let r = (x * x + y * y).sqrt();
    let rho_r = (2.0 * PI * FM * (PI * r / 2.0).cos()).cos();
    (1.0 - (PI * z / 2.0).sin() + ALPHA * (1.0 + rho_r)) / (2.0 * (1.0 + ALPHA))
}

/// One Gaussian blob of [`Blobs`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blob {
    /// Centre of its path.
    pub c: [f64; 3],
    /// Path amplitude per axis.
    pub a: [f64; 3],
    /// Angular frequency per axis (radians per time step).
    pub w: [f64; 3],
    /// Phase per axis.
    pub p: [f64; 3],
    /// Mean radius.
    pub r0: f64,
    /// Radius oscillation frequency (radians per step) and phase.
    pub nu: f64,
    /// Radius oscillation phase.
    pub chi: f64,
}

/// The `blobs` field: a stand-in for turbulent vortex data with many small features.
///
/// `f(p, t) = Σ_k exp(−|p − c_k(t)|² / (2 r_k(t)²))` with
/// `c_k(t) = c_k + a_k ⊙ sin(w_k t + p_k)` (per axis) and `r_k(t) = r0_k (1 + 0.5 sin(ν_k t + χ_k))`.
/// Parameters are drawn by [`SplitMix64`] from the seed: `c ∈ [0.25, 0.75]³`, `a ∈ [0.05, 0.2]³`,
/// `w ∈ [0.03, 0.15]³`, `p, χ ∈ [0, 2π)`, `r0 ∈ [0.025, 0.06]`, `ν ∈ [0.05, 0.2]`. Blobs drift on
/// Lissajous paths inside `[0.05, 0.95]³`, so isosurfaces near 0.5 merge and split as they pass.
/// Contributions beyond 4 r are cut off (below `3.4e−4`).
#[derive(Debug, Clone, PartialEq)]
pub struct Blobs {
    /// The blobs.
    pub blobs: Vec<Blob>,
}

impl Blobs {
    /// Draws `count` blobs from `seed`.
    pub fn new(seed: u64, count: usize) -> Blobs {
        use std::f64::consts::TAU;
        let mut rng = SplitMix64(seed ^ 0xB10B_5EED);
        let blobs = (0..count)
            .map(|_| {
                let mut v3 = |lo, hi| [rng.uniform(lo, hi), rng.uniform(lo, hi), rng.uniform(lo, hi)];
                let c = v3(0.25, 0.75);
                let a = v3(0.05, 0.2);
                let w = v3(0.03, 0.15);
                let p = v3(0.0, TAU);
                Blob {
                    c,
                    a,
                    w,
                    p,
                    r0: rng.uniform(0.025, 0.06),
                    nu: rng.uniform(0.05, 0.2),
                    chi: rng.uniform(0.0, TAU),
                }
            })
            .collect();
        Blobs { blobs }
    }

    /// Centre and radius of blob `b` at time `t`.
    pub fn state(b: &Blob, t: f64) -> ([f64; 3], f64) {
        let c = [0, 1, 2].map(|a| b.c[a] + b.a[a] * (b.w[a] * t + b.p[a]).sin());
        (c, b.r0 * (1.0 + 0.5 * (b.nu * t + b.chi).sin()))
    }

    /// Exact value at a point (no cut-off); for tests and probes.
    pub fn value(&self, p: [f64; 3], t: f64) -> f64 {
        self.blobs
            .iter()
            .map(|b| {
                let (c, r) = Blobs::state(b, t);
                let d2: f64 = (0..3).map(|a| (p[a] - c[a]).powi(2)).sum();
                (-d2 / (2.0 * r * r)).exp()
            })
            .sum()
    }

    /// Samples the field on a `dims` grid over `[0,1]³` at time `t`.
    ///
    /// # Panics
    /// Panics if a dimension is below 2 (checked by [`Procedural::generate`]).
    pub fn field(&self, dims: [usize; 3], t: f64) -> ScalarField {
        let [nx, ny, nz] = dims;
        let h = [0, 1, 2].map(|a| 1.0 / (dims[a] - 1) as f64);
        let states: Vec<([f64; 3], f64)> = self.blobs.iter().map(|b| Blobs::state(b, t)).collect();
        let mut data = vec![0f32; nx * ny * nz];
        data.par_chunks_mut(nx * ny).enumerate().for_each(|(k, slab)| {
            let z = k as f64 * h[2];
            for (c, r) in &states {
                let cut = 4.0 * r;
                if (z - c[2]).abs() > cut {
                    continue;
                }
                let inv = 1.0 / (2.0 * r * r);
                let range = |a: usize, n: usize| {
                    let lo = ((c[a] - cut) / h[a]).ceil().max(0.0) as usize;
                    let hi = (((c[a] + cut) / h[a]).floor().max(-1.0) + 1.0).min(n as f64) as usize;
                    lo..hi.max(lo)
                };
                let dz2 = (z - c[2]).powi(2);
                for j in range(1, ny) {
                    let dy2 = (j as f64 * h[1] - c[1]).powi(2);
                    for i in range(0, nx) {
                        let d2 = (i as f64 * h[0] - c[0]).powi(2) + dy2 + dz2;
                        slab[i + nx * j] += (-d2 * inv).exp() as f32;
                    }
                }
            }
        });
        let sp = h.map(|v| v as f32);
        ScalarField::new(dims, sp, [0.0; 3], data).expect("blob samples are finite and dims valid")
    }
}
