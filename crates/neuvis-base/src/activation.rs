//! Activation functions for the plain-Rust (burn-free) inference engines of the codec and the
//! raycaster's brick network: `e^x` and the exact-form GELU in `f32`, written without branches or
//! calls so that loops over them vectorize.

/// `e^x` to about 2e-7 relative error (range reduction by powers of two, degree-6 polynomial).
#[inline(always)]
pub fn fast_exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // round to nearest by the 1.5·2²³ trick (`f32::round` is a libm call without SSE4.1)
    let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // 2ⁿ from n's bits in n + 1.5·2²³ (an integer below 2²² in magnitude: the low bits are n),
    // which vectorizes where `n as i32` (saturating) does not
    let n_bits = (n + 12_582_912.0).to_bits().wrapping_sub(0x4B40_0000);
    p * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// Exact-form GELU `x/2 · (1 + erf(x/√2))` (as PyTorch's and burn's `gelu`) with
/// Abramowitz–Stegun 7.1.26 for erf (|error| ≤ 1.5e-7).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let a = z.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let erf_abs = 1.0 - poly * fast_exp(-a * a);
    let erf = erf_abs.copysign(z);
    0.5 * x * (1.0 + erf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_matches_std() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.04;
            let (a, b) = (fast_exp(x), x.exp());
            assert!(((a - b) / b).abs() < 5e-7, "{x}: {a} vs {b}");
        }
    }

    #[test]
    fn gelu_matches_erf_values() {
        // x/2 (1 + erf(x/√2)) from the erf table values (Abramowitz–Stegun table 7.1)
        for (x, want) in [
            (0.0f32, 0.0f64),
            (1.0, 0.841_344_746_068_542_9),
            (-1.0, -0.158_655_253_931_457_05),
            (2.0, 1.954_499_736_103_642),
            (-3.0, -0.004_049_694_008_531_464),
            (0.5, 0.345_731_404_186_257_9),
            (-6.0, -5.920_684_802_611_232e-9),
        ] {
            assert!((gelu(x) as f64 - want).abs() < 1e-6, "{x}: {} vs {want}", gelu(x));
        }
    }
}
