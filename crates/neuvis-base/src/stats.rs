//! Order statistics of timings and errors, with NumPy's conventions, so a benchmark's median reads
//! as `np.median` and a percentile as `np.percentile` (linear interpolation between order
//! statistics) of the same numbers.

/// The `q` quantile (`q` in [0, 1], clamped) of the non-NaN values of `v`, interpolating linearly
/// between the two nearest order statistics as `numpy.quantile`'s default does; NaN when there is
/// none.
///
/// ```
/// use neuvis_base::stats::{median, quantile};
/// assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5); // np.median([4, 1, 3, 2])
/// assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95), 4.8); // np.quantile(..., 0.95)
/// assert!(median(&[]).is_nan());
/// ```
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    match s.get(i + 1) {
        Some(&next) if frac > 0.0 => s[i] + frac * (next - s[i]),
        _ => s[i],
    }
}

/// The median of the non-NaN values of `v` (the mean of the two middle ones for an even count);
/// NaN when there is none.
pub fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}
