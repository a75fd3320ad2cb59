//! The brick super-resolution network: its shape, its inputs, and a plain-Rust forward pass.
//!
//! Input: the base-resolution neighbourhood of a brick (normalized by the base volume's mean and
//! standard deviation) plus constant channels holding a positional encoding of the brick's centre
//! (`sin/cos(2^l π c)`, `c ∈ [−1, 1]³`, `l < L`). Body: `hidden` valid 3×3×3 convolutions with
//! GELU, then a 1×1×1 convolution to `f³` channels: for every base cell, the residuals of its
//! `f³` fine samples over trilinear upsampling of the base (a voxel shuffle, the 3-D pixel
//! shuffle). The output covers the base cells `I0 = bB/f − 1 ..= bB/f + B/f`, i.e. fine samples
//! `bB − f .. bB + B + f`, which contain the brick's `B + 3` stored samples.
//!
//! Training is in [`crate::train`] (feature `train`, burn); inference runs here without burn so the raycaster stays
//! light: weights are PyTorch-layout `[C_out, C_in, k, k, k]`, evaluated channel-last.

use crate::error::InvalidConfig;
use crate::geom::Geometry;
use serde::{Deserialize, Serialize};

/// The network's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrConfig {
    /// Base factor f.
    pub factor: usize,
    /// Brick edge B.
    pub brick: usize,
    /// Hidden channels.
    pub channels: usize,
    /// Number of 3×3×3 valid convolutions (each trims one base sample per side).
    pub hidden: usize,
    /// Positional-encoding frequencies L.
    pub pe_freqs: usize,
}

/// The network's training settings (`neuvis raycast prepare`'s flags; their defaults are this
/// `Default`). Here, outside the `train` feature, because a part of a sharded `prepare` records them
/// for the merge that trains ([`crate::store::PartInfo::trainer`]); a field a part does not name
/// takes its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SrTrainOptions {
    /// Hidden channels.
    pub channels: usize,
    /// 3×3×3 layers.
    pub hidden: usize,
    /// Positional-encoding frequencies.
    pub pe_freqs: usize,
    /// Optimizer steps; `None` = as many as fit in `minutes`.
    pub steps: Option<usize>,
    /// Time budget in minutes when `steps` is `None`: training stops when it is used up, and the
    /// step count of the learning-rate schedule is estimated after 5, 50 and 500 steps.
    pub minutes: f64,
    /// Bricks per step.
    pub batch: usize,
    /// Peak learning rate (5 % warm-up, cosine decay).
    pub lr: f64,
    /// Weight of the SSIM term (unused for bricks of under 8 cells).
    pub ssim_weight: f64,
    /// Seed of the initialization, the split and the batches.
    pub seed: u64,
}

impl Default for SrTrainOptions {
    fn default() -> Self {
        SrTrainOptions {
            channels: 16,
            hidden: 2,
            pe_freqs: 2,
            steps: None,
            minutes: 2.0,
            batch: 4,
            lr: 2e-3,
            ssim_weight: 0.1,
            seed: 0,
        }
    }
}

impl SrConfig {
    /// Input channels: 1 + 6L.
    pub fn in_channels(&self) -> usize {
        1 + 6 * self.pe_freqs
    }
    /// Output base cells per axis, `B/f + 2`.
    pub fn out_side(&self) -> usize {
        self.brick / self.factor + 2
    }
    /// Input base samples per axis, `out_side + 2·hidden`.
    pub fn in_side(&self) -> usize {
        self.out_side() + 2 * self.hidden
    }
    /// Output channels f³.
    pub fn out_channels(&self) -> usize {
        self.factor.pow(3)
    }
    /// Shapes of the weight tensors in order: (weight, bias) per layer.
    pub fn shapes(&self) -> Vec<(Vec<usize>, usize)> {
        let mut v = Vec::new();
        let mut cin = self.in_channels();
        for _ in 0..self.hidden {
            v.push((vec![self.channels, cin, 3, 3, 3], self.channels));
            cin = self.channels;
        }
        v.push((vec![self.out_channels(), cin, 1, 1, 1], self.out_channels()));
        v
    }
    /// Parameter count.
    pub fn params(&self) -> usize {
        self.shapes().iter().map(|(w, b)| w.iter().product::<usize>() + b).sum()
    }
    /// Checks the numbers.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if !(2..=8).contains(&self.factor)
            || !self.brick.is_multiple_of(self.factor)
            || !(4..=256).contains(&self.brick)
        {
            return Err(InvalidConfig(format!(
                "network factor {} / brick {} invalid",
                self.factor, self.brick
            )));
        }
        if !(1..=256).contains(&self.channels) || !(1..=8).contains(&self.hidden) || self.pe_freqs > 8 {
            return Err(InvalidConfig(format!(
                "network with {} channels, {} hidden layers, {} frequencies is outside 1–256, 1–8, 0–8",
                self.channels, self.hidden, self.pe_freqs
            )));
        }
        Ok(())
    }
}

/// Normalization of the network's inputs and outputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Norm {
    /// Mean of the base volume.
    pub mean: f32,
    /// Standard deviation of the base volume (> 0).
    pub std: f32,
}

impl Norm {
    /// Mean and standard deviation of `base` (std floored at 1e-12).
    pub fn of(base: &[f32]) -> Norm {
        let n = base.len().max(1) as f64;
        let mean = base.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = base.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        Norm {
            mean: mean as f32,
            std: var.sqrt().max(1e-12) as f32,
        }
    }
}

/// Trilinear sample of the base grid at base coordinates (clamped).
#[inline]
pub fn base_sample(base: &[f32], bd: [usize; 3], p: [f32; 3]) -> f32 {
    let mut i0 = [0usize; 3];
    let mut fr = [0f32; 3];
    for a in 0..3 {
        let x = p[a].clamp(0.0, (bd[a] - 1) as f32);
        let i = (x as usize).min(bd[a].saturating_sub(2));
        i0[a] = i;
        fr[a] = x - i as f32;
    }
    let at =
        |i: usize, j: usize, k: usize| base[i.min(bd[0] - 1) + bd[0] * (j.min(bd[1] - 1) + bd[1] * k.min(bd[2] - 1))];
    let [i, j, k] = i0;
    let l = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let c00 = l(at(i, j, k), at(i + 1, j, k), fr[0]);
    let c10 = l(at(i, j + 1, k), at(i + 1, j + 1, k), fr[0]);
    let c01 = l(at(i, j, k + 1), at(i + 1, j, k + 1), fr[0]);
    let c11 = l(at(i, j + 1, k + 1), at(i + 1, j + 1, k + 1), fr[0]);
    l(l(c00, c10, fr[1]), l(c01, c11, fr[1]), fr[2])
}

/// The brick `b` by trilinear upsampling of the base: stored sample at global index `g` (clamped
/// into the grid) takes the base value at `g / f`. Separable tables of (cell, fraction) per axis
/// make this the same arithmetic as [`base_sample`] at every sample, without per-sample clamping.
pub fn trilinear_brick(g: &Geometry, base: &[f32], b: [usize; 3]) -> Vec<f32> {
    let s = g.side();
    let o = g.sample_origin(b);
    let f = g.factor as f32;
    let bd = g.base_dims;
    // per axis: (lower base index, upper base index, fraction)
    let table = |a: usize| -> Vec<(usize, usize, f32)> {
        (0..s)
            .map(|l| {
                let x = ((o[a] + l as i64).clamp(0, g.dims[a] as i64 - 1) as f32 / f).clamp(0.0, (bd[a] - 1) as f32);
                let i = (x as usize).min(bd[a].saturating_sub(2));
                (i.min(bd[a] - 1), (i + 1).min(bd[a] - 1), x - i as f32)
            })
            .collect()
    };
    let (tx, ty, tz) = (table(0), table(1), table(2));
    let l = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let mut out = vec![0f32; s * s * s];
    for (lk, &(k0, k1, fz)) in tz.iter().enumerate() {
        for (lj, &(j0, j1, fy)) in ty.iter().enumerate() {
            let r00 = &base[bd[0] * (j0 + bd[1] * k0)..];
            let r10 = &base[bd[0] * (j1 + bd[1] * k0)..];
            let r01 = &base[bd[0] * (j0 + bd[1] * k1)..];
            let r11 = &base[bd[0] * (j1 + bd[1] * k1)..];
            let row = &mut out[s * (lj + s * lk)..s * (lj + s * lk) + s];
            for (v, &(i0, i1, fx)) in row.iter_mut().zip(&tx) {
                let c00 = l(r00[i0], r00[i1], fx);
                let c10 = l(r10[i0], r10[i1], fx);
                let c01 = l(r01[i0], r01[i1], fx);
                let c11 = l(r11[i0], r11[i1], fx);
                *v = l(l(c00, c10, fy), l(c01, c11, fy), fz);
            }
        }
    }
    out
}

/// The network input of brick `b`: `[C_in, P, P, P]` (channel-major, x fastest), base samples
/// `I0 − hidden ..` clamped into the base grid.
pub fn input_patch(cfg: &SrConfig, g: &Geometry, base: &[f32], norm: Norm, b: [usize; 3]) -> Vec<f32> {
    let p = cfg.in_side();
    let f = g.factor;
    let bd = g.base_dims;
    let start = b.map(|v| (v * g.brick / f) as i64 - 1 - cfg.hidden as i64);
    let mut out = vec![0f32; cfg.in_channels() * p * p * p];
    for k in 0..p {
        let kk = (start[2] + k as i64).clamp(0, bd[2] as i64 - 1) as usize;
        for j in 0..p {
            let jj = (start[1] + j as i64).clamp(0, bd[1] as i64 - 1) as usize;
            for i in 0..p {
                let ii = (start[0] + i as i64).clamp(0, bd[0] as i64 - 1) as usize;
                out[i + p * (j + p * k)] = (base[ii + bd[0] * (jj + bd[1] * kk)] - norm.mean) / norm.std;
            }
        }
    }
    let vol = p * p * p;
    let mut ch = 1;
    for l in 0..cfg.pe_freqs {
        for (&ba, &na) in b.iter().zip(&g.bdims) {
            let c = ((ba as f64 + 0.5) / na as f64) * 2.0 - 1.0;
            let w = (1u64 << l) as f64 * std::f64::consts::PI * c;
            for v in [w.sin(), w.cos()] {
                out[ch * vol..(ch + 1) * vol].fill(v as f32);
                ch += 1;
            }
        }
    }
    out
}

/// Maps a stored brick sample `(li, lj, lk)` to the network output `(channel, cell index)`.
#[inline]
pub fn out_index(cfg: &SrConfig, l: [usize; 3]) -> (usize, usize) {
    let f = cfg.factor;
    let po = cfg.out_side();
    // fine offset from the first output sample bB − f: l − 1 + f
    let q = l.map(|v| v + f - 1);
    let cell = [q[0] / f, q[1] / f, q[2] / f];
    let s = [q[0] % f, q[1] % f, q[2] % f];
    (s[0] + f * (s[1] + f * s[2]), cell[0] + po * (cell[1] + po * cell[2]))
}

/// The residual target of a brick for training: `[f³, Po³]` with a mask of the entries that
/// correspond to stored samples (others are 0 with mask 0).
pub fn residual_target(cfg: &SrConfig, g: &Geometry, brick: &[f32], tri: &[f32], norm: Norm) -> (Vec<f32>, Vec<f32>) {
    let po = cfg.out_side();
    let n = cfg.out_channels() * po * po * po;
    let (mut t, mut m) = (vec![0f32; n], vec![0f32; n]);
    let s = g.side();
    for lk in 0..s {
        for lj in 0..s {
            for li in 0..s {
                let (c, cell) = out_index(cfg, [li, lj, lk]);
                let idx = li + s * (lj + s * lk);
                t[c * po * po * po + cell] = (brick[idx] - tri[idx]) / norm.std;
                m[c * po * po * po + cell] = 1.0;
            }
        }
    }
    (t, m)
}

/// A trained network with plain-Rust inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SrNet {
    /// Shape.
    pub config: SrConfig,
    /// Normalization.
    pub norm: Norm,
    /// Per layer: (weight `[C_out, C_in, k, k, k]` flattened, bias).
    pub layers: Vec<(Vec<f32>, Vec<f32>)>,
}

/// GELU with the error function (Abramowitz–Stegun 7.1.26, |error| ≤ 1.5e−7).
#[inline]
pub fn gelu(x: f32) -> f32 {
    let z = (x as f64) / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t + 0.254_829_592)
            * t
            * (-z * z).exp();
    let erf = if z >= 0.0 { y } else { -y };
    (0.5 * x as f64 * (1.0 + erf)) as f32
}

impl SrNet {
    /// Checks shapes and values.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        self.config.validate()?;
        let shapes = self.config.shapes();
        if shapes.len() != self.layers.len() {
            return Err(InvalidConfig(format!(
                "network has {} layers, its config {}",
                self.layers.len(),
                shapes.len()
            )));
        }
        for (i, ((w, b), (ws, bs))) in self.layers.iter().zip(&shapes).enumerate() {
            if w.len() != ws.iter().product::<usize>() || b.len() != *bs {
                return Err(InvalidConfig(format!("network layer {i} has the wrong size")));
            }
            if w.iter().chain(b).any(|v| !v.is_finite()) {
                return Err(InvalidConfig(format!("network layer {i} holds non-finite weights")));
            }
        }
        if !(self.norm.std.is_finite() && self.norm.std > 0.0 && self.norm.mean.is_finite()) {
            return Err(InvalidConfig("network normalization is invalid".into()));
        }
        Ok(())
    }

    /// Serializes (JSON; weights as numbers keep it simple and exact for f32).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serializable")
    }

    /// Parses and validates.
    pub fn from_bytes(b: &[u8]) -> Result<SrNet, InvalidConfig> {
        let n: SrNet = serde_json::from_slice(b).map_err(|e| InvalidConfig(format!("bad network: {e}")))?;
        n.validate()?;
        Ok(n)
    }

    /// The network output `[f³, Po³]` for an input patch `[C_in, P³]`. Uses an AVX2 + FMA kernel
    /// when the CPU has them (chosen at run time; results then differ from the portable loops by
    /// rounding only).
    pub fn forward(&self, input: &[f32]) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        let simd = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let simd = false;
        self.forward_with(input, simd)
    }

    /// [`SrNet::forward`] with the SIMD kernel on or off (for tests).
    pub fn forward_with(&self, input: &[f32], simd: bool) -> Vec<f32> {
        let cfg = &self.config;
        let mut side = cfg.in_side();
        let mut cin = cfg.in_channels();
        // channel-last activations
        let vol = side * side * side;
        let mut x = vec![0f32; vol * cin];
        for c in 0..cin {
            for v in 0..vol {
                x[v * cin + c] = input[c * vol + v];
            }
        }
        for (li, (w, b)) in self.layers.iter().enumerate() {
            let last = li + 1 == self.layers.len();
            let k = if last { 1 } else { 3 };
            let cout = b.len();
            let os = side + 1 - k;
            // weights to [kz][ky][kx][ci][co]
            let mut wt = vec![0f32; k * k * k * cin * cout];
            for co in 0..cout {
                for ci in 0..cin {
                    for kk in 0..k * k * k {
                        wt[(kk * cin + ci) * cout + co] = w[((co * cin + ci) * k * k * k) + kk];
                    }
                }
            }
            let mut y = vec![0f32; os * os * os * cout];
            let l = Layer {
                x: &x,
                side,
                cin,
                wt: &wt,
                b,
                k,
                os,
            };
            #[cfg(target_arch = "x86_64")]
            let done = simd
                && match cout {
                    // SAFETY (all arms): `simd` is true only when AVX2 and FMA were detected.
                    8 => unsafe { conv_avx2::<1>(&l, &mut y) },
                    16 => unsafe { conv_avx2::<2>(&l, &mut y) },
                    32 => unsafe { conv_avx2::<4>(&l, &mut y) },
                    64 => unsafe { conv_avx2::<8>(&l, &mut y) },
                    _ => false,
                };
            #[cfg(not(target_arch = "x86_64"))]
            let done = simd && false;
            if !done {
                conv_portable(&l, &mut y);
            }
            if !last {
                for v in y.iter_mut() {
                    *v = gelu(*v);
                }
            }
            x = y;
            side = os;
            cin = cout;
        }
        // back to channel-major
        let vol = side * side * side;
        let mut out = vec![0f32; vol * cin];
        for v in 0..vol {
            for c in 0..cin {
                out[c * vol + v] = x[v * cin + c];
            }
        }
        out
    }

    /// Reconstructs brick `b`: trilinear upsampling of the base plus the network's residual.
    pub fn reconstruct(&self, g: &Geometry, base: &[f32], b: [usize; 3]) -> Vec<f32> {
        let mut out = trilinear_brick(g, base, b);
        let r = self.forward(&input_patch(&self.config, g, base, self.norm, b));
        let po = self.config.out_side();
        let pv = po * po * po;
        let s = g.side();
        for lk in 0..s {
            for lj in 0..s {
                for li in 0..s {
                    let (c, cell) = out_index(&self.config, [li, lj, lk]);
                    out[li + s * (lj + s * lk)] += r[c * pv + cell] * self.norm.std;
                }
            }
        }
        out
    }
}

/// One valid convolution: channel-last input `side³ × cin`, weights `[k³][cin][cout]`.
struct Layer<'a> {
    x: &'a [f32],
    side: usize,
    cin: usize,
    wt: &'a [f32],
    b: &'a [f32],
    k: usize,
    os: usize,
}

fn conv_portable(l: &Layer, y: &mut [f32]) {
    let cout = l.b.len();
    let (k, cin, side, os) = (l.k, l.cin, l.side, l.os);
    let mut acc = vec![0f32; cout];
    for oz in 0..os {
        for oy in 0..os {
            for ox in 0..os {
                acc.copy_from_slice(l.b);
                for dz in 0..k {
                    for dy in 0..k {
                        for dx in 0..k {
                            let iv = (ox + dx) + side * ((oy + dy) + side * (oz + dz));
                            let xin = &l.x[iv * cin..(iv + 1) * cin];
                            let kk = dx + k * (dy + k * dz);
                            let wk = &l.wt[kk * cin * cout..(kk + 1) * cin * cout];
                            for (ci, &xv) in xin.iter().enumerate() {
                                for (a, &wv) in acc.iter_mut().zip(&wk[ci * cout..(ci + 1) * cout]) {
                                    *a += xv * wv;
                                }
                            }
                        }
                    }
                }
                let ov = ox + os * (oy + os * oz);
                y[ov * cout..(ov + 1) * cout].copy_from_slice(&acc);
            }
        }
    }
}

/// [`conv_portable`] for `cout = 8·NB` with the accumulators in AVX registers. Returns true.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn conv_avx2<const NB: usize>(l: &Layer, y: &mut [f32]) -> bool {
    use std::arch::x86_64::*;
    let cout = 8 * NB;
    debug_assert_eq!(l.b.len(), cout);
    let (k, cin, side, os) = (l.k, l.cin, l.side, l.os);
    assert!(
        l.x.len() >= side * side * side * cin && l.wt.len() >= k * k * k * cin * cout && y.len() >= os * os * os * cout
    );
    let (xp, wp, bp, yp) = (l.x.as_ptr(), l.wt.as_ptr(), l.b.as_ptr(), y.as_mut_ptr());
    for oz in 0..os {
        for oy in 0..os {
            for ox in 0..os {
                let mut acc = [_mm256_setzero_ps(); NB];
                for (n, a) in acc.iter_mut().enumerate() {
                    // SAFETY: n < NB and the bias has cout = 8·NB entries.
                    *a = unsafe { _mm256_loadu_ps(bp.add(8 * n)) };
                }
                for dz in 0..k {
                    for dy in 0..k {
                        for dx in 0..k {
                            let iv = (ox + dx) + side * ((oy + dy) + side * (oz + dz));
                            let kk = dx + k * (dy + k * dz);
                            for ci in 0..cin {
                                // SAFETY: iv < side³ and ci < cin, so iv·cin + ci is in x; the
                                // weight row (kk·cin + ci)·cout .. + cout is in wt (asserted sizes).
                                unsafe {
                                    let xv = _mm256_set1_ps(*xp.add(iv * cin + ci));
                                    let wr = wp.add((kk * cin + ci) * cout);
                                    for (n, a) in acc.iter_mut().enumerate() {
                                        *a = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wr.add(8 * n)), *a);
                                    }
                                }
                            }
                        }
                    }
                }
                let ov = ox + os * (oy + os * oz);
                for (n, a) in acc.iter().enumerate() {
                    // SAFETY: ov < os³, so the output row ov·cout .. + cout is in y.
                    unsafe { _mm256_storeu_ps(yp.add(ov * cout + 8 * n), *a) };
                }
            }
        }
    }
    true
}
