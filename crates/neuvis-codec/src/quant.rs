//! Post-training quantization per tensor (NeRVI eq. 3, with its typo fixed), at one width for the
//! MLP blocks and another for the upscale convolutions; the head convolution takes the wider of
//! the two ([`BitWidths`]).

use serde::{Deserialize, Serialize};

/// Bits per weight of the MLP blocks (tensors named `mlp.…`) and of the upscale convolutions;
/// the head convolution (`head.…`) takes the wider of the two.
///
/// The head is a few hundred weights (4 × C × 9) that map features straight to the output
/// sigmoids, and training can leave one of them far outside the rest (seen: −6.4 in a tensor of
/// standard deviation 0.46), which stretches the per-tensor range of eq. 3 so much that 7 bits cost
/// 3.4 dB of one 20k-parameter network where every other tensor at 7 bits costs ≤ 0.5 dB; the
/// wider width costs a few dozen bytes and no extra code table (BENCHMARKS.md, codec section).
///
/// NeRVI's SIREN layers compute sin(ω₀·(Wx + b)) with ω₀ = 30, so a weight error
/// reaches the output amplified about 30-fold (2⁵): measured on a 16.6k-parameter CR-630 network
/// (BENCHMARKS.md, codec section), 8 bits everywhere cost 0.76 dB, 9 bits for the MLP and 7 for
/// the convolutions 0.30 dB in a 6 % smaller file, 10 and 7 bits 0.21 dB in a 0.6 % larger one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BitWidths {
    /// Bits of the MLP tensors.
    pub mlp: u32,
    /// Bits of the convolution tensors.
    pub conv: u32,
}

impl BitWidths {
    /// The same width everywhere.
    pub fn uniform(bits: u32) -> BitWidths {
        BitWidths { mlp: bits, conv: bits }
    }

    /// The width of the tensor named `name` (a path from [`crate::weights::collect`]): `mlp` for
    /// `mlp.…`, the wider of the two for the head (`head.…`), `conv` for the rest.
    ///
    /// ```
    /// use neuvis_codec::quant::BitWidths;
    /// let b = BitWidths { mlp: 9, conv: 7 };
    /// assert_eq!(b.for_tensor("mlp.1.fc.weight"), 9);
    /// assert_eq!(b.for_tensor("ups.0.conv.weight"), 7);
    /// assert_eq!(b.for_tensor("head.weight"), 9);
    /// ```
    pub fn for_tensor(&self, name: &str) -> u32 {
        if name.starts_with("mlp.") {
            self.mlp
        } else if name.starts_with("head.") {
            self.max()
        } else {
            self.conv
        }
    }

    /// The larger width (the size of the Huffman alphabet).
    pub fn max(&self) -> u32 {
        self.mlp.max(self.conv)
    }

    /// An error unless both widths are in 1..=16.
    pub fn check(&self) -> Result<(), crate::CodecError> {
        if (1..=16).contains(&self.mlp) && (1..=16).contains(&self.conv) {
            Ok(())
        } else {
            Err(crate::CodecError::Input(format!(
                "bits must be in 1..=16 (MLP {}, convolutions {})",
                self.mlp, self.conv
            )))
        }
    }
}

impl std::fmt::Display for BitWidths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.mlp == self.conv {
            write!(f, "{}", self.conv)
        } else {
            write!(f, "{} (MLP {})", self.conv, self.mlp)
        }
    }
}

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
