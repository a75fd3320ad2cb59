//! Positional encoding of the view parameters (NeRVI eq. 1).

/// `E(x) = (sin(c⁰πx), cos(c⁰πx), …, sin(c^{L−1}πx), cos(c^{L−1}πx))` for each of `params`
/// (each already normalized to `[−1, 1]`), concatenated: `2·L·params.len()` features.
///
/// NeRVI's Table 1 lists 12 features for three parameters, but eq. 1 with L = 4 gives
/// 2 · 4 · 3 = 24; we follow eq. 1.
///
/// ```
/// let e = neuvis_codec::encoding::positional_encoding(&[0.5], 2.0, 2);
/// let pi = std::f32::consts::PI;
/// let want = [(0.5 * pi).sin(), (0.5 * pi).cos(), pi.sin(), pi.cos()];
/// for (a, b) in e.iter().zip(want) { assert!((a - b).abs() < 1e-6); }
/// ```
pub fn positional_encoding(params: &[f64], base: f64, levels: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(params.len() * levels * 2);
    for &x in params {
        for l in 0..levels {
            let a = base.powi(l as i32) * std::f64::consts::PI * x;
            out.push(a.sin() as f32);
            out.push(a.cos() as f32);
        }
    }
    out
}
