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
use neuvis_base::activation::gelu;
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
    /// Weight of the gradient term: the mean squared difference between neighbouring samples'
    /// errors along x, y and z, in the units of the MSE term. It penalizes what the shading's
    /// normals see (a ripple of the reconstruction at the base-cell period) more than the MSE does.
    pub gradient_weight: f64,
    /// AutoClip percentile (0–100): a step's gradient is scaled down to this percentile of the
    /// norms seen so far when it exceeds it; 100 = no clipping.
    pub clip_percentile: f64,
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
            gradient_weight: 0.0,
            clip_percentile: 10.0,
            seed: 0,
        }
    }
}

impl SrTrainOptions {
    /// Checks the settings that do not depend on the volume (the network's shape is checked with
    /// the brick geometry by [`SrConfig::validate`]), so a command can refuse them before it
    /// streams the volume.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if self.batch == 0 || self.batch > 256 || !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(InvalidConfig(format!(
                "batch {} must be 1–256 and the learning rate {} positive",
                self.batch, self.lr
            )));
        }
        if !(0.0..=100.0).contains(&self.clip_percentile) {
            return Err(InvalidConfig(format!(
                "the clipping percentile {} must be between 0 and 100",
                self.clip_percentile
            )));
        }
        if !(self.ssim_weight.is_finite() && self.ssim_weight >= 0.0) {
            return Err(InvalidConfig(format!(
                "the SSIM weight {} must be finite and non-negative",
                self.ssim_weight
            )));
        }
        if !(self.gradient_weight.is_finite() && self.gradient_weight >= 0.0) {
            return Err(InvalidConfig(format!(
                "the gradient weight {} must be finite and non-negative",
                self.gradient_weight
            )));
        }
        if self.steps.is_none() && !(self.minutes.is_finite() && self.minutes > 0.0) {
            return Err(InvalidConfig(format!(
                "the training time {} minutes must be positive",
                self.minutes
            )));
        }
        Ok(())
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
    // separably, in base_sample's order of operations: along x on the base rows the brick
    // touches, then along y, then along z
    let span = |t: &[(usize, usize, f32)]| {
        let lo = t.iter().map(|e| e.0).min().unwrap_or(0);
        let hi = t.iter().map(|e| e.1).max().unwrap_or(0);
        (lo, hi + 1 - lo)
    };
    let ((y0, ny), (z0, nz)) = (span(&ty), span(&tz));
    let mut along_x = vec![0f32; nz * ny * s];
    for (zk, plane) in along_x.chunks_exact_mut(ny * s).enumerate() {
        for (yj, row) in plane.chunks_exact_mut(s).enumerate() {
            let r = &base[bd[0] * (y0 + yj + bd[1] * (z0 + zk))..];
            for (v, &(i0, i1, fx)) in row.iter_mut().zip(&tx) {
                *v = l(r[i0], r[i1], fx);
            }
        }
    }
    let mut along_y = vec![0f32; nz * s * s];
    for (zk, plane) in along_y.chunks_exact_mut(s * s).enumerate() {
        let src = &along_x[zk * ny * s..(zk + 1) * ny * s];
        for (row, &(j0, j1, fy)) in plane.chunks_exact_mut(s).zip(&ty) {
            let (r0, r1) = (&src[(j0 - y0) * s..][..s], &src[(j1 - y0) * s..][..s]);
            for ((v, &a), &b) in row.iter_mut().zip(r0).zip(r1) {
                *v = l(a, b, fy);
            }
        }
    }
    let mut out = vec![0f32; s * s * s];
    for (plane, &(k0, k1, fz)) in out.chunks_exact_mut(s * s).zip(&tz) {
        let (p0, p1) = (
            &along_y[(k0 - z0) * s * s..][..s * s],
            &along_y[(k1 - z0) * s * s..][..s * s],
        );
        for ((v, &a), &b) in plane.iter_mut().zip(p0).zip(p1) {
            *v = l(a, b, fz);
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
    for (ch, v) in positional_encoding(cfg, g, b).into_iter().enumerate() {
        out[(ch + 1) * vol..(ch + 2) * vol].fill(v);
    }
    out
}

/// The positional-encoding channels of brick `b` (`6L` values, the input channels after the base
/// one): `sin, cos(2^l π c)` of the brick's centre `c ∈ [−1, 1]` per axis, for `l < L`.
pub fn positional_encoding(cfg: &SrConfig, g: &Geometry, b: [usize; 3]) -> Vec<f32> {
    let mut out = Vec::with_capacity(6 * cfg.pe_freqs);
    for l in 0..cfg.pe_freqs {
        for (&ba, &na) in b.iter().zip(&g.bdims) {
            let c = ((ba as f64 + 0.5) / na as f64) * 2.0 - 1.0;
            let w = (1u64 << l) as f64 * std::f64::consts::PI * c;
            out.extend([w.sin() as f32, w.cos() as f32]);
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

/// Whether this CPU runs the AVX2 + FMA convolution kernel.
fn simd_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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
        self.forward_with(input, simd_kernel())
    }

    /// [`SrNet::forward`] with the SIMD kernel on or off (for tests).
    ///
    /// Input channels that hold one value over the whole patch (the positional encoding of the
    /// brick's centre, and the base channel of a uniform region) enter the first layer as a bias:
    /// a valid convolution of a constant is the constant times the sum of the kernel's taps. The
    /// first layer then convolves only the varying channels (one of 13 with the default two
    /// frequencies).
    pub fn forward_with(&self, input: &[f32], simd: bool) -> Vec<f32> {
        let x = self.forward_channel_last(input, simd);
        // back to channel-major
        let (oc, vol) = (self.config.out_channels(), self.config.out_side().pow(3));
        let mut out = vec![0f32; vol * oc];
        for v in 0..vol {
            for c in 0..oc {
                out[c * vol + v] = x[v * oc + c];
            }
        }
        out
    }

    /// The network output channel-last, `[Po³, f³]`.
    fn forward_channel_last(&self, input: &[f32], simd: bool) -> Vec<f32> {
        let cfg = &self.config;
        let mut side = cfg.in_side();
        let vol = side * side * side;
        let cin_all = cfg.in_channels();
        let constant: Vec<Option<f32>> = (0..cin_all)
            .map(|c| {
                let ch = &input[c * vol..(c + 1) * vol];
                ch.iter().all(|&v| v.to_bits() == ch[0].to_bits()).then_some(ch[0])
            })
            .collect();
        let varying: Vec<usize> = (0..cin_all).filter(|&c| constant[c].is_none()).collect();
        let mut cin = varying.len();
        // channel-last activations of the varying channels
        let mut x = vec![0f32; vol * cin];
        for (n, &c) in varying.iter().enumerate() {
            for v in 0..vol {
                x[v * cin + n] = input[c * vol + v];
            }
        }
        for (li, (w, b)) in self.layers.iter().enumerate() {
            let last = li + 1 == self.layers.len();
            let k = if last { 1 } else { 3 };
            let taps = k * k * k;
            let cout = b.len();
            let os = side + 1 - k;
            // the layer's input channels in the weights, and the bias with the constant ones folded in
            let (chans, bias): (Vec<usize>, Vec<f32>) = if li == 0 {
                let bias = (0..cout)
                    .map(|co| {
                        let folded: f32 = (0..cin_all)
                            .filter_map(|c| {
                                constant[c].map(|v| v * w[(co * cin_all + c) * taps..][..taps].iter().sum::<f32>())
                            })
                            .sum();
                        b[co] + folded
                    })
                    .collect();
                (varying.clone(), bias)
            } else {
                ((0..cin).collect(), b.clone())
            };
            let cw = if li == 0 { cin_all } else { cin };
            // weights to [kz][ky][kx][ci][co]
            let mut wt = vec![0f32; taps * cin * cout];
            for co in 0..cout {
                for (ci, &c) in chans.iter().enumerate() {
                    for kk in 0..taps {
                        wt[(kk * cin + ci) * cout + co] = w[((co * cw + c) * taps) + kk];
                    }
                }
            }
            let mut y = vec![0f32; os * os * os * cout];
            let l = Layer {
                x: &x,
                side,
                cin,
                wt: &wt,
                b: &bias,
                k,
                os,
            };
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `simd` is true only when AVX2 and FMA were detected.
            let done = simd && unsafe { conv_avx2(&l, &mut y) };
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
        x
    }

    /// The first layer's bias for brick `b` with its positional-encoding channels folded in (they
    /// are constant over the patch: a valid convolution of a constant is the constant times the sum
    /// of the kernel's taps), in the order of [`SrNet::forward`]'s folding: what a forward pass
    /// that convolves only the base channel adds (the GPU engine's).
    pub fn first_bias(&self, g: &Geometry, b: [usize; 3]) -> Vec<f32> {
        let cin_all = self.config.in_channels();
        let pe = positional_encoding(&self.config, g, b);
        let (w, bias) = &self.layers[0];
        let taps = 27;
        bias.iter()
            .enumerate()
            .map(|(co, &b0)| {
                let folded: f32 = (1..cin_all)
                    .map(|c| pe[c - 1] * w[(co * cin_all + c) * taps..][..taps].iter().sum::<f32>())
                    .sum();
                b0 + folded
            })
            .collect()
    }

    /// Reconstructs brick `b`: trilinear upsampling of the base plus the network's residual.
    pub fn reconstruct(&self, g: &Geometry, base: &[f32], b: [usize; 3]) -> Vec<f32> {
        let mut out = trilinear_brick(g, base, b);
        let r = self.forward_channel_last(&input_patch(&self.config, g, base, self.norm, b), simd_kernel());
        let po = self.config.out_side();
        let f = self.config.factor;
        let s = g.side();
        let oc = self.config.out_channels();
        // [`out_index`] is separable: per axis, the offset of the stored sample's cell and
        // sub-position (channel) in the channel-last output `[Po³, f³]`
        let axis = |stride_sub: usize, stride_cell: usize| -> Vec<usize> {
            (0..s)
                .map(|l| {
                    let q = l + f - 1;
                    (q % f) * stride_sub + (q / f) * stride_cell * oc
                })
                .collect()
        };
        let (ax, ay, az) = (axis(1, 1), axis(f, po), axis(f * f, po * po));
        let std = self.norm.std;
        for (lk, &oz) in az.iter().enumerate() {
            for (lj, &oy) in ay.iter().enumerate() {
                let row = &mut out[s * (lj + s * lk)..s * (lj + s * lk) + s];
                for (v, &ox) in row.iter_mut().zip(&ax) {
                    *v += r[ox + oy + oz] * std;
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

/// [`conv_portable`] with the accumulators in AVX registers, for `cout` a multiple of 8 (returns
/// false otherwise): output channels in groups of up to 32 (`NB` vectors of 8), `XB` outputs along
/// x at a time sharing each weight load (`XB·NB` accumulators, `NB` weights and one broadcast fit
/// the 16 registers).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn conv_avx2(l: &Layer, y: &mut [f32]) -> bool {
    let cout = l.b.len();
    if !cout.is_multiple_of(8) {
        return false;
    }
    assert!(
        l.x.len() >= l.side * l.side * l.side * l.cin
            && l.wt.len() >= l.k * l.k * l.k * l.cin * cout
            && y.len() >= l.os * l.os * l.os * cout
    );
    for c0 in (0..cout).step_by(32) {
        // SAFETY (all arms): AVX2 and FMA are present (this function's contract); the sizes are
        // asserted above and c0 + 8·NB ≤ cout.
        unsafe {
            match ((cout - c0) / 8).min(4) {
                4 => conv_rows_avx2::<4, 2>(l, y, c0),
                3 => conv_rows_avx2::<3, 3>(l, y, c0),
                2 => conv_rows_avx2::<2, 4>(l, y, c0),
                _ => conv_rows_avx2::<1, 8>(l, y, c0),
            }
        }
    }
    true
}

/// The output channels `c0 .. c0 + 8·NB` of [`conv_avx2`]: runs of `XB` outputs along x, then the
/// rest of each row one at a time.
///
/// # Safety
/// The CPU must support AVX2 and FMA, the sizes must be those [`conv_avx2`] asserts, and
/// `c0 + 8·NB ≤ cout`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn conv_rows_avx2<const NB: usize, const XB: usize>(l: &Layer, y: &mut [f32], c0: usize) {
    let whole = l.os - l.os % XB;
    // SAFETY: as this function's.
    unsafe {
        conv_run_avx2::<NB, XB>(l, y, c0, 0, whole);
        conv_run_avx2::<NB, 1>(l, y, c0, whole, l.os);
    }
}

/// The outputs `x0 .. x1` (a multiple of `XB` apart) of every row, channels `c0 .. c0 + 8·NB`.
///
/// # Safety
/// As [`conv_rows_avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn conv_run_avx2<const NB: usize, const XB: usize>(l: &Layer, y: &mut [f32], c0: usize, x0: usize, x1: usize) {
    use std::arch::x86_64::*;
    let cout = l.b.len();
    let (k, cin, side, os) = (l.k, l.cin, l.side, l.os);
    let (xp, wp, bp, yp) = (l.x.as_ptr(), l.wt.as_ptr(), l.b.as_ptr(), y.as_mut_ptr());
    for oz in 0..os {
        for oy in 0..os {
            let mut ox = x0;
            while ox < x1 {
                let mut acc = [[_mm256_setzero_ps(); NB]; XB];
                for row in acc.iter_mut() {
                    for (n, a) in row.iter_mut().enumerate() {
                        // SAFETY: c0 + 8·n + 8 ≤ cout entries of the bias.
                        *a = unsafe { _mm256_loadu_ps(bp.add(c0 + 8 * n)) };
                    }
                }
                for dz in 0..k {
                    for dy in 0..k {
                        for dx in 0..k {
                            let iv = (ox + dx) + side * ((oy + dy) + side * (oz + dz));
                            let kk = dx + k * (dy + k * dz);
                            for ci in 0..cin {
                                // SAFETY: ox + XB − 1 + dx < side, so every (iv + e)·cin + ci is in x;
                                // the weights (kk·cin + ci)·cout + c0 .. + 8·NB are in wt.
                                unsafe {
                                    let wr = wp.add((kk * cin + ci) * cout + c0);
                                    let mut wv = [_mm256_setzero_ps(); NB];
                                    for (n, v) in wv.iter_mut().enumerate() {
                                        *v = _mm256_loadu_ps(wr.add(8 * n));
                                    }
                                    for (e, row) in acc.iter_mut().enumerate() {
                                        let xv = _mm256_set1_ps(*xp.add((iv + e) * cin + ci));
                                        for (a, &w) in row.iter_mut().zip(&wv) {
                                            *a = _mm256_fmadd_ps(xv, w, *a);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                for (e, row) in acc.iter().enumerate() {
                    let ov = ox + e + os * (oy + os * oz);
                    for (n, a) in row.iter().enumerate() {
                        // SAFETY: ov < os³, so the outputs ov·cout + c0 .. + 8·NB are in y.
                        unsafe { _mm256_storeu_ps(yp.add(ov * cout + c0 + 8 * n), *a) };
                    }
                }
                ox += XB;
            }
        }
    }
}
