//! Post-training quantization per tensor (NeRVI eq. 3, with its typo fixed).

/// Quantizes `values` to `bits` bits within their own range:
/// `q = round((μ − μ_min) / s)` with `s = (μ_max − μ_min) / (2^bits − 1)`, so `μ̂ = q·s + μ_min`.
/// (Eq. 3 as printed divides by `2^bits` in the rounding term; that is a typo.) Returns the
/// symbols and `(μ_min, μ_max)`. A constant tensor has `s = 0` and all symbols 0.
///
/// # Panics
/// Panics unless `1 ≤ bits ≤ 16` and every value is finite (checked by callers).
pub fn quantize(values: &[f32], bits: u32) -> (Vec<u16>, f32, f32) {
    assert!((1..=16).contains(&bits), "bits must be in 1..=16");
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in values {
        assert!(v.is_finite(), "non-finite weight");
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if values.is_empty() {
        return (Vec::new(), 0.0, 0.0);
    }
    let levels = ((1u32 << bits) - 1) as f64;
    let s = (hi as f64 - lo as f64) / levels;
    let q = values
        .iter()
        .map(|&v| {
            if s > 0.0 {
                ((v as f64 - lo as f64) / s).round().clamp(0.0, levels) as u16
            } else {
                0
            }
        })
        .collect();
    (q, lo, hi)
}

/// The inverse map `μ̂ = q·s + μ_min`.
pub fn dequantize(q: &[u16], lo: f32, hi: f32, bits: u32) -> Vec<f32> {
    let levels = ((1u32 << bits.clamp(1, 16)) - 1) as f64;
    let s = (hi as f64 - lo as f64) / levels;
    q.iter().map(|&x| (x as f64 * s + lo as f64) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_at_most_half_a_step_and_ends_are_exact() {
        let v: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.731).sin() * 3.0 - 0.5).collect();
        for bits in [1, 2, 5, 9, 16] {
            let (q, lo, hi) = quantize(&v, bits);
            let d = dequantize(&q, lo, hi, bits);
            let step = (hi - lo) as f64 / ((1u32 << bits) - 1) as f64;
            for (a, b) in v.iter().zip(&d) {
                assert!(((a - b) as f64).abs() <= step / 2.0 + 1e-6, "bits {bits}");
            }
            assert!(q.iter().all(|&x| (x as u32) < (1 << bits)));
            let imin = v.iter().cloned().fold(f32::INFINITY, f32::min);
            assert_eq!(d[v.iter().position(|&x| x == imin).unwrap()], lo);
        }
        let (q, lo, hi) = quantize(&[2.5; 4], 9);
        assert_eq!((q, lo, hi), (vec![0; 4], 2.5, 2.5));
        assert_eq!(dequantize(&[0; 2], 2.5, 2.5, 9), vec![2.5; 2]);
    }
}
