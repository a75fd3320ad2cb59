//! SSIM (Wang et al. 2004) and MS-SSIM (Wang et al. 2003) on 8-bit RGB.
//!
//! SSIM follows scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
//! use_sample_covariance=False, data_range=255, channel_axis=-1)`: an 11-tap Gaussian (σ = 1.5),
//! K1 = 0.01, K2 = 0.03, statistics cropped by the filter radius (5 pixels), mean per channel,
//! channels averaged. MS-SSIM follows `pytorch_msssim.ms_ssim(data_range=255)`: the same window as
//! a valid convolution, per-scale contrast–structure means clamped at 0, 2×2 average pooling with
//! zero padding of odd sizes (counted in the average), weights (0.0448, 0.2856, 0.3001, 0.2363,
//! 0.1333), the product over scales taken per channel, then averaged over channels.

use crate::{check_sizes, MetricError};
use neuvis_base::MaskedImage;

/// Gaussian window size and σ of SSIM and MS-SSIM.
pub const WIN: usize = 11;
/// σ of the Gaussian window.
pub const SIGMA: f64 = 1.5;
/// MS-SSIM scale weights (Wang et al. 2003).
pub const MS_WEIGHTS: [f64; 5] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);

fn window() -> [f64; WIN] {
    let r = (WIN / 2) as f64;
    let mut w = [0f64; WIN];
    for (i, v) in w.iter_mut().enumerate() {
        let x = i as f64 - r;
        *v = (-(x * x) / (2.0 * SIGMA * SIGMA)).exp();
    }
    let s: f64 = w.iter().sum();
    w.map(|v| v / s)
}

/// A single-channel image in `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
    /// Samples, row-major.
    pub d: Vec<f64>,
}

impl Plane {
    /// Channel `c` (0 = R, 1 = G, 2 = B) of an image.
    pub fn channel(img: &MaskedImage, c: usize) -> Plane {
        Plane {
            w: img.width(),
            h: img.height(),
            d: img.rgb().iter().skip(c).step_by(3).map(|&v| v as f64).collect(),
        }
    }

    /// 2×2 average pooling as `torch.nn.functional.avg_pool2d(kernel_size=2, padding=s % 2)` with
    /// `count_include_pad=True`: odd sizes are padded by one zero on both sides.
    pub fn pool2(&self) -> Plane {
        let (px, py) = (self.w % 2, self.h % 2);
        let ow = (self.w + 2 * px - 2) / 2 + 1;
        let oh = (self.h + 2 * py - 2) / 2 + 1;
        let get = |x: isize, y: isize| -> f64 {
            if x < 0 || y < 0 || x >= self.w as isize || y >= self.h as isize {
                0.0
            } else {
                self.d[y as usize * self.w + x as usize]
            }
        };
        let mut d = Vec::with_capacity(ow * oh);
        for oy in 0..oh {
            for ox in 0..ow {
                let x0 = 2 * ox as isize - px as isize;
                let y0 = 2 * oy as isize - py as isize;
                d.push(0.25 * (get(x0, y0) + get(x0 + 1, y0) + get(x0, y0 + 1) + get(x0 + 1, y0 + 1)));
            }
        }
        Plane { w: ow, h: oh, d }
    }
}

/// Valid (unpadded) separable Gaussian filtering of five products at once: x, y, x², y², xy.
fn filtered(x: &Plane, y: &Plane) -> [Vec<f64>; 5] {
    let win = window();
    let (w, h) = (x.w, x.h);
    let (ow, oh) = (w + 1 - WIN, h + 1 - WIN);
    // horizontal pass
    let mut tmp: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0; ow * h]);
    for r in 0..h {
        let xr = &x.d[r * w..(r + 1) * w];
        let yr = &y.d[r * w..(r + 1) * w];
        for c in 0..ow {
            let mut acc = [0f64; 5];
            for (k, &g) in win.iter().enumerate() {
                let (a, b) = (xr[c + k], yr[c + k]);
                acc[0] += g * a;
                acc[1] += g * b;
                acc[2] += g * a * a;
                acc[3] += g * b * b;
                acc[4] += g * a * b;
            }
            for (t, v) in tmp.iter_mut().zip(acc) {
                t[r * ow + c] = v;
            }
        }
    }
    // vertical pass
    let mut out: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0; ow * oh]);
    for (t, o) in tmp.iter().zip(out.iter_mut()) {
        for r in 0..oh {
            for c in 0..ow {
                let mut acc = 0.0;
                for (k, &g) in win.iter().enumerate() {
                    acc += g * t[(r + k) * ow + c];
                }
                o[r * ow + c] = acc;
            }
        }
    }
    out
}

/// Mean SSIM and mean contrast–structure term of one channel pair (both at least 11×11).
fn ssim_cs(x: &Plane, y: &Plane) -> (f64, f64) {
    let [mx, my, mxx, myy, mxy] = filtered(x, y);
    let n = mx.len() as f64;
    let (mut s_sum, mut cs_sum) = (0.0, 0.0);
    for i in 0..mx.len() {
        let (ux, uy) = (mx[i], my[i]);
        let vx = mxx[i] - ux * ux;
        let vy = myy[i] - uy * uy;
        let vxy = mxy[i] - ux * uy;
        let cs = (2.0 * vxy + C2) / (vx + vy + C2);
        let l = (2.0 * ux * uy + C1) / (ux * ux + uy * uy + C1);
        s_sum += l * cs;
        cs_sum += cs;
    }
    (s_sum / n, cs_sum / n)
}

/// SSIM of two RGB images, averaged over R, G, B; 1 for identical images.
///
/// Errors if the sizes differ or a side is shorter than the 11-pixel window (as scikit-image).
pub fn ssim(a: &MaskedImage, b: &MaskedImage) -> Result<f64, MetricError> {
    check_sizes(a, b)?;
    if a.width().min(a.height()) < WIN {
        return Err(MetricError::TooSmall {
            metric: "SSIM",
            width: a.width(),
            height: a.height(),
            min: WIN,
        });
    }
    Ok((0..3)
        .map(|c| ssim_cs(&Plane::channel(a, c), &Plane::channel(b, c)).0)
        .sum::<f64>()
        / 3.0)
}

/// Number of MS-SSIM scales used for an image whose shorter side is `side`: the largest
/// `L ≤ 5` with `side > 10 · 2^(L−1)` (pytorch_msssim's condition for 5 scales, generalized).
/// `None` when even one scale does not fit (`side ≤ 10`).
pub fn ms_ssim_scales(side: usize) -> Option<usize> {
    (1..=5).rev().find(|&l| side > (WIN - 1) << (l - 1))
}

/// MS-SSIM of two RGB images and the number of scales used.
///
/// Images whose shorter side is at least 161 pixels use the standard 5 scales and weights and
/// match `pytorch_msssim.ms_ssim`. Smaller images (which pytorch_msssim refuses) use the largest
/// number of scales `L` that fits ([`ms_ssim_scales`]) with the first `L` weights renormalized to
/// sum to 1, so the value stays in `[0, 1]`; 128² images use 4 scales, 64² images 3. Images with a
/// side of 10 pixels or less are an error.
pub fn ms_ssim(a: &MaskedImage, b: &MaskedImage) -> Result<(f64, usize), MetricError> {
    ssim_and_ms_ssim(a, b).map(|(_, m, l)| (m, l))
}

/// SSIM, MS-SSIM and the MS-SSIM scale count in one pass: the first MS-SSIM scale computes
/// exactly the statistics SSIM needs (same window, same valid region), so both cost little more
/// than MS-SSIM alone.
pub fn ssim_and_ms_ssim(a: &MaskedImage, b: &MaskedImage) -> Result<(f64, f64, usize), MetricError> {
    check_sizes(a, b)?;
    let side = a.width().min(a.height());
    let levels = ms_ssim_scales(side).ok_or(MetricError::TooSmall {
        metric: "MS-SSIM",
        width: a.width(),
        height: a.height(),
        min: WIN,
    })?;
    let wsum: f64 = MS_WEIGHTS[..levels].iter().sum();
    let weights: Vec<f64> = MS_WEIGHTS[..levels].iter().map(|w| w / wsum).collect();
    let (mut total, mut ssim_total) = (0.0, 0.0);
    for c in 0..3 {
        let (mut x, mut y) = (Plane::channel(a, c), Plane::channel(b, c));
        let mut prod = 1.0;
        for (i, w) in weights.iter().enumerate() {
            let (s, cs) = ssim_cs(&x, &y);
            if i == 0 {
                ssim_total += s;
            }
            if i + 1 < levels {
                prod *= cs.max(0.0).powf(*w);
                x = x.pool2();
                y = y.pool2();
            } else {
                prod *= s.max(0.0).powf(*w);
            }
        }
        total += prod;
    }
    Ok((ssim_total / 3.0, total / 3.0, levels))
}
