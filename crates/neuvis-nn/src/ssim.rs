//! Differentiable SSIM for training (values in `[0, 1]`, data range 1).

use burn::prelude::*;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

/// The 11-tap Gaussian window (σ = 1.5) as a depthwise `[C, 1, 11, 11]` kernel.
fn window(channels: usize, device: &Device) -> Tensor<4> {
    let mut g = [0f32; 11];
    for (i, v) in g.iter_mut().enumerate() {
        let x = i as f32 - 5.0;
        *v = (-(x * x) / (2.0 * 1.5 * 1.5)).exp();
    }
    let s: f32 = g.iter().sum();
    let mut k = Vec::with_capacity(channels * 121);
    for _ in 0..channels {
        for a in g {
            for b in g {
                k.push(a * b / (s * s));
            }
        }
    }
    Tensor::<1>::from_floats(k.as_slice(), device).reshape([channels, 1, 11, 11])
}

/// Mean SSIM of `x` and `y` (`[B, C, H, W]`, values in `[0, 1]`) with an 11×11 Gaussian window
/// (σ = 1.5), K1 = 0.01, K2 = 0.03, valid region, averaged over everything.
///
/// # Panics
/// Panics (in burn's shape checks) if H or W is below 11.
pub fn ssim(x: Tensor<4>, y: Tensor<4>) -> Tensor<1> {
    let [_, c, _, _] = x.dims();
    let device = x.device();
    let w = window(c, &device);
    let opts = || ConvOptions::new([1, 1], [0, 0], [1, 1], c);
    let f = |t: Tensor<4>| conv2d(t, w.clone(), None, opts());
    let (c1, c2) = (0.01f32 * 0.01, 0.03f32 * 0.03);
    let mx = f(x.clone());
    let my = f(y.clone());
    let sxx = f(x.clone() * x.clone()) - mx.clone() * mx.clone();
    let syy = f(y.clone() * y.clone()) - my.clone() * my.clone();
    let sxy = f(x * y) - mx.clone() * my.clone();
    let num = (mx.clone() * my.clone() * 2.0 + c1) * (sxy * 2.0 + c2);
    let den = (mx.clone() * mx + my.clone() * my + c1) * (sxx + syy + c2);
    (num / den).mean()
}
