//! A CPU inference engine for decoding: the NeRVI/NeRV forward pass written directly for the
//! network's few layer kinds, one image per thread.
//!
//! Why not burn here: decoding is inference only, and burn-flex's general convolution (an im2col
//! over 3-D tiles) spent a third of the decode time building patches for these narrow 3×3 layers
//! (8–35 channels at up to 256²). A direct 3×3 convolution over rows of the image, with the
//! pixel shuffle and GELU fused into its output, keeps everything in L1 and vectorizes along the
//! rows. The burn network remains the reference: the tests check both give the same images.
//!
//! Layout conventions are burn's (and PyTorch's): linear weights `[in, out]` with `y = xW + b`;
//! convolution weights `[out, in, 3, 3]` with zero padding 1; pixel shuffle
//! `out[c, y·r + i, x·r + j] = in[c·r² + i·r + j, y, x]`; exact (erf) GELU.

use crate::config::{Arch, BlockSkip, NetConfig};
use crate::weights::FlatTensor;
use crate::CodecError;
use neuvis_base::activation::{fast_exp, gelu};

struct Linear {
    din: usize,
    dout: usize,
    w: Vec<f32>,
    b: Option<Vec<f32>>,
}

impl Linear {
    #[inline(always)]
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        match &self.b {
            Some(b) => y.copy_from_slice(b),
            None => y.fill(0.0),
        }
        for (i, &xi) in x.iter().enumerate().take(self.din) {
            let row = &self.w[i * self.dout..(i + 1) * self.dout];
            for (yo, &w) in y.iter_mut().zip(row) {
                *yo += xi * w;
            }
        }
    }
}

struct Conv3 {
    cin: usize,
    cout: usize,
    w: Vec<f32>,
    b: Vec<f32>,
}

// output channels computed together (the engine's memory bound in `config` counts them)
use crate::config::CPU_CONV_GROUP as GROUP;

/// Adds one input channel's 3×3 contribution to `GROUP` output rows: `acc[g][x] += Σ k[g][ky][kx] ·
/// rows[ky][x + kx − 1]` (zero outside the row).
#[inline(always)]
fn group_row(acc: &mut [f32], w: usize, rows: [&[f32]; 3], k: &[[f32; 9]; GROUP]) {
    let [t, m, b] = rows;
    let (t, m, b) = (&t[..w], &m[..w], &b[..w]);
    let (a0, rest) = acc.split_at_mut(w);
    let (a1, rest) = rest.split_at_mut(w);
    let (a2, a3) = rest.split_at_mut(w);
    let a3 = &mut a3[..w];
    let mut acc = [a0, a1, a2, a3];
    let tap = |g: usize, v: [f32; 9]| {
        let kg = &k[g];
        kg[0] * v[0]
            + kg[1] * v[1]
            + kg[2] * v[2]
            + kg[3] * v[3]
            + kg[4] * v[4]
            + kg[5] * v[5]
            + kg[6] * v[6]
            + kg[7] * v[7]
            + kg[8] * v[8]
    };
    let at = |x: isize| -> [f32; 9] {
        let get = |r: &[f32], i: isize| if i >= 0 && (i as usize) < w { r[i as usize] } else { 0.0 };
        [
            get(t, x - 1),
            get(t, x),
            get(t, x + 1),
            get(m, x - 1),
            get(m, x),
            get(m, x + 1),
            get(b, x - 1),
            get(b, x),
            get(b, x + 1),
        ]
    };
    if w < 3 {
        for x in 0..w {
            let v = at(x as isize);
            for (g, a) in acc.iter_mut().enumerate() {
                a[x] += tap(g, v);
            }
        }
        return;
    }
    // the two edge columns, then the interior without bounds tests
    for x in [0, w - 1] {
        let v = at(x as isize);
        for (g, a) in acc.iter_mut().enumerate() {
            a[x] += tap(g, v);
        }
    }
    let [a0, a1, a2, a3] = acc;
    let n = w - 2;
    let (tl, tc, tr) = (&t[..n], &t[1..n + 1], &t[2..n + 2]);
    let (ml, mc, mr) = (&m[..n], &m[1..n + 1], &m[2..n + 2]);
    let (bl, bc, br) = (&b[..n], &b[1..n + 1], &b[2..n + 2]);
    let (a0, a1, a2, a3) = (
        &mut a0[1..n + 1],
        &mut a1[1..n + 1],
        &mut a2[1..n + 1],
        &mut a3[1..n + 1],
    );
    for i in 0..n {
        let v = [tl[i], tc[i], tr[i], ml[i], mc[i], mr[i], bl[i], bc[i], br[i]];
        a0[i] += tap(0, v);
        a1[i] += tap(1, v);
        a2[i] += tap(2, v);
        a3[i] += tap(3, v);
    }
}

impl Conv3 {
    /// `x` is `[cin, h, w]`, `y` becomes `[cout, h, w]`. Output channels go in groups of
    /// [`GROUP`] and one row at a time, so that the accumulators stay in L1 over all input
    /// channels and every loaded input value is used `9 · GROUP` times.
    #[inline(always)]
    fn forward(&self, x: &[f32], h: usize, w: usize, y: &mut [f32]) {
        let hw = h * w;
        let zero = vec![0.0f32; w];
        let mut acc = vec![0.0f32; GROUP * w];
        for g0 in (0..self.cout).step_by(GROUP) {
            let gn = GROUP.min(self.cout - g0);
            for yy in 0..h {
                for g in 0..GROUP {
                    let b = if g < gn { self.b[g0 + g] } else { 0.0 };
                    acc[g * w..(g + 1) * w].fill(b);
                }
                for ci in 0..self.cin {
                    let src = &x[ci * hw..(ci + 1) * hw];
                    let row = |r: isize| {
                        if r < 0 || r >= h as isize {
                            &zero[..]
                        } else {
                            &src[r as usize * w..(r as usize + 1) * w]
                        }
                    };
                    let mut k = [[0.0f32; 9]; GROUP];
                    for (g, kg) in k.iter_mut().enumerate().take(gn) {
                        let o = ((g0 + g) * self.cin + ci) * 9;
                        kg.copy_from_slice(&self.w[o..o + 9]);
                    }
                    let yi = yy as isize;
                    group_row(&mut acc, w, [row(yi - 1), row(yi), row(yi + 1)], &k);
                }
                for g in 0..gn {
                    let o = (g0 + g) * hw + yy * w;
                    y[o..o + w].copy_from_slice(&acc[g * w..(g + 1) * w]);
                }
            }
        }
    }
}

/// Logistic sigmoid.
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

/// A network ready for CPU inference, built from the container's (dequantized) tensors.
pub struct CpuNet {
    cfg: NetConfig,
    mlp: Vec<(Linear, Option<Linear>, BlockSkip)>,
    ups: Vec<(Conv3, usize)>,
    head: Conv3,
}

impl CpuNet {
    /// Builds the network from tensors in the module's visiting order (see [`crate::weights`]):
    /// per MLP block the layer's weight and bias and (NeRVI, widths differ) the skip weight, then
    /// per upscale block the convolution's weight and bias, then the head's weight and bias.
    /// Errors name the first tensor whose shape does not match `cfg`.
    pub fn new(cfg: &NetConfig, tensors: &[FlatTensor]) -> Result<CpuNet, CodecError> {
        let mut it = tensors.iter();
        let mut take = |shape: &[usize], what: &str| -> Result<Vec<f32>, CodecError> {
            let t = it
                .next()
                .ok_or_else(|| CodecError::Format(format!("missing tensor for {what}")))?;
            let n: usize = shape.iter().product();
            if t.shape != shape || t.data.len() != n {
                return Err(CodecError::Format(format!(
                    "tensor {} has shape {:?}, {what} needs {shape:?}",
                    t.name, t.shape
                )));
            }
            Ok(t.data.clone())
        };
        let mut mlp = Vec::new();
        for (blk, (din, dout)) in [(cfg.pe_dim(), cfg.c1), (cfg.c1, cfg.mlp_out())]
            .into_iter()
            .enumerate()
        {
            let w = take(&[din, dout], "a fully connected weight")?;
            let b = take(&[dout], "a fully connected bias")?;
            let fc = Linear {
                din,
                dout,
                w,
                b: Some(b),
            };
            let skip = if cfg.projects(blk, din, dout) {
                let w = take(&[din, dout], "a skip projection")?;
                Some(Linear { din, dout, w, b: None })
            } else {
                None
            };
            mlp.push((fc, skip, cfg.skip.block(blk)));
        }
        let mut ups = Vec::new();
        let mut cin = cfg.c0;
        for (i, &r) in cfg.factors.iter().enumerate() {
            let cout = cfg.block_channels(i) * r * r;
            let w = take(&[cout, cin, 3, 3], "an upscale convolution")?;
            let b = take(&[cout], "an upscale bias")?;
            ups.push((Conv3 { cin, cout, w, b }, r));
            cin = cfg.block_channels(i);
        }
        let co = cfg.out_channels();
        let w = take(&[co, cin, 3, 3], "the head convolution")?;
        let b = take(&[co], "the head bias")?;
        if let Some(t) = it.next() {
            return Err(CodecError::Format(format!("unexpected extra tensor {}", t.name)));
        }
        Ok(CpuNet {
            cfg: cfg.clone(),
            mlp,
            ups,
            head: Conv3 { cin, cout: co, w, b },
        })
    }

    /// The network's configuration.
    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    /// Forward pass of one image: encoded parameters (`pe_dim` values) → `[C, H, W]` after the
    /// sigmoid (C = 4 for NeRVI: RGB and mask; 3 for NeRV). Uses AVX2 when the CPU has it
    /// (checked at run time; the same code is compiled twice).
    ///
    /// # Panics
    /// If `pe.len() != pe_dim`.
    pub fn forward(&self, pe: &[f32]) -> Vec<f32> {
        assert_eq!(pe.len(), self.cfg.pe_dim(), "encoded parameter length");
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { self.forward_avx2(pe) };
        }
        self.forward_impl(pe)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn forward_avx2(&self, pe: &[f32]) -> Vec<f32> {
        self.forward_impl(pe)
    }

    #[inline(always)]
    fn forward_impl(&self, pe: &[f32]) -> Vec<f32> {
        let nervi = self.cfg.arch == Arch::Nervi;
        let w0 = self.cfg.omega0 as f32;
        let mut h = pe.to_vec();
        for (fc, skip, kind) in &self.mlp {
            let mut y = vec![0.0; fc.dout];
            fc.forward(&h, &mut y);
            if nervi {
                let mut s = vec![0.0; fc.dout];
                match (skip, kind) {
                    (Some(p), _) => p.forward(&h, &mut s),
                    (None, BlockSkip::None) => {}
                    // identity where widths match, the input tiled where they differ
                    (None, _) => s.iter_mut().zip(h.iter().cycle()).for_each(|(o, &v)| *o = v),
                }
                for (yo, so) in y.iter_mut().zip(&s) {
                    *yo = (w0 * *yo).sin() + so;
                }
            } else {
                y.iter_mut().for_each(|v| *v = gelu(*v));
            }
            h = y;
        }
        // Each buffer is freed as soon as the next one is computed, so at most two activations
        // are alive at once: what `NetConfig::decode_bytes` counts before decoding starts.
        let (mut hh, mut ww) = (self.cfg.h0, self.cfg.w0);
        let mut x = h;
        for (conv, r) in &self.ups {
            let r = *r;
            let mut tmp = vec![0.0; conv.cout * hh * ww];
            conv.forward(&x, hh, ww, &mut tmp);
            x = Vec::new();
            tmp.iter_mut().for_each(|v| *v = gelu(*v));
            let c = conv.cout / (r * r);
            let (nh, nw) = (hh * r, ww * r);
            x.resize(c * nh * nw, 0.0);
            for ch in 0..c {
                for i in 0..r {
                    for j in 0..r {
                        let src = &tmp[((ch * r + i) * r + j) * hh * ww..][..hh * ww];
                        for y in 0..hh {
                            let drow = &mut x[(ch * nh + y * r + i) * nw..][..nw];
                            for (d, &v) in drow[j..].iter_mut().step_by(r).zip(&src[y * ww..(y + 1) * ww]) {
                                *d = v;
                            }
                        }
                    }
                }
            }
            hh = nh;
            ww = nw;
        }
        let mut out = vec![0.0; self.head.cout * hh * ww];
        self.head.forward(&x, hh, ww, &mut out);
        out.iter_mut().for_each(|v| *v = sigmoid(*v));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_matches_naive() {
        // partial and full output groups, rows narrower than the edge handling, odd sizes
        for (cin, cout, h, w) in [(3, 2, 5, 7), (2, 5, 3, 1), (1, 4, 2, 2), (4, 9, 6, 3), (2, 8, 4, 17)] {
            let mut rng = neuvis_base::SplitMix64(7 + w as u64);
            let mut r = |n: usize| (0..n).map(|_| rng.uniform(-1.0, 1.0) as f32).collect::<Vec<_>>();
            let conv = Conv3 {
                cin,
                cout,
                w: r(cout * cin * 9),
                b: r(cout),
            };
            let x = r(cin * h * w);
            let mut y = vec![0.0; cout * h * w];
            conv.forward(&x, h, w, &mut y);
            for co in 0..cout {
                for yy in 0..h {
                    for xx in 0..w {
                        let mut s = conv.b[co] as f64;
                        for ci in 0..cin {
                            for ky in 0..3 {
                                for kx in 0..3 {
                                    let (sy, sx) = (yy as isize + ky as isize - 1, xx as isize + kx as isize - 1);
                                    if sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < w {
                                        s += conv.w[((co * cin + ci) * 3 + ky) * 3 + kx] as f64
                                            * x[(ci * h + sy as usize) * w + sx as usize] as f64;
                                    }
                                }
                            }
                        }
                        let got = y[(co * h + yy) * w + xx] as f64;
                        assert!(
                            (got - s).abs() < 1e-5,
                            "{cin}x{cout} {h}x{w} at {co},{yy},{xx}: {got} vs {s}"
                        );
                    }
                }
            }
        }
    }
}
