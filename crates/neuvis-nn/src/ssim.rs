//! Differentiable SSIM for training (values in `[0, 1]`, data range 1).

use burn::prelude::*;

/// The window's side: images must be at least this large in both directions.
pub const WINDOW: usize = 11;

/// The normalized 11-tap Gaussian (σ = 1.5).
fn taps() -> [f32; 11] {
    let mut g = [0f32; 11];
    for (i, v) in g.iter_mut().enumerate() {
        let x = i as f32 - 5.0;
        *v = (-(x * x) / (2.0 * 1.5 * 1.5)).exp();
    }
    let s: f32 = g.iter().sum();
    g.map(|v| v / s)
}

/// The banded `[n, n − 10]` matrix whose column `j` holds the taps at rows `j..j+11`.
fn band(n: usize, device: &Device) -> Tensor<2> {
    let g = taps();
    let m = n - 10;
    let mut v = vec![0f32; n * m];
    for j in 0..m {
        for (k, &gk) in g.iter().enumerate() {
            v[(j + k) * m + j] = gk;
        }
    }
    Tensor::<1>::from_floats(v.as_slice(), device).reshape([n, m])
}

/// Separable Gaussian filtering over the valid region as two matrix products with banded
/// matrices (`X·G_w`, then `G_hᵀ·X`). Written this way (instead of an 11×11 depthwise `conv2d`) the
/// backward pass is matrix products too: on burn's flex CPU backend the conv2d input gradient went
/// through a generic transposed-convolution loop that took a quarter of every NeRVI training step,
/// and shifted slices were slower still (strided element loops).
fn gaussian_valid(t: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = t.dims();
    let device = t.device();
    let (gw, gh) = (band(w, &device), band(h, &device));
    let x = t.reshape([b * c * h, w]).matmul(gw); // [bch, w']
    let x = x.reshape([b * c, h, w - 10]);
    let ght = gh.transpose().unsqueeze::<3>().expand([b * c, h - 10, h]);
    ght.matmul(x).reshape([b, c, h - 10, w - 10])
}

/// Mean SSIM of `x` and `y` (`[B, C, H, W]`, values in `[0, 1]`) with an 11×11 Gaussian window
/// (σ = 1.5), K1 = 0.01, K2 = 0.03, valid region, averaged over everything.
///
/// # Panics
/// If H or W is below [`WINDOW`] (callers check: the window does not fit).
pub fn ssim(x: Tensor<4>, y: Tensor<4>) -> Tensor<1> {
    let [_, _, h, w] = x.dims();
    assert!(
        h >= WINDOW && w >= WINDOW,
        "SSIM needs images of at least {WINDOW}x{WINDOW}, got {w}x{h}"
    );
    let f = gaussian_valid;
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
