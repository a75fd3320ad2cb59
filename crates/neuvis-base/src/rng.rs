//! The seeded pseudo-random generator of neuvis.

/// SplitMix64 (Steele, Lea and Flood 2014): a tiny, fixed pseudo-random generator, so seeded fields,
/// initializations and samples never change with a dependency's version.
///
/// ```
/// use neuvis_base::SplitMix64;
/// // The reference implementation's first output for seed 0.
/// assert_eq!(SplitMix64(0).next_u64(), 0xE220_A839_7B1D_CDAF);
/// let x = SplitMix64(7).uniform(-1.0, 1.0);
/// assert!((-1.0..1.0).contains(&x));
/// ```
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
}
