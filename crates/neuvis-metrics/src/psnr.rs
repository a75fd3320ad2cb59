//! Peak signal-to-noise ratio over 8-bit RGB.

use crate::{check_sizes, MetricError};
use neuvis_base::MaskedImage;

/// Mean squared error over all R, G, B samples (0–255 scale).
pub fn mse(a: &MaskedImage, b: &MaskedImage) -> Result<f64, MetricError> {
    check_sizes(a, b)?;
    let s: u64 = a
        .rgb()
        .iter()
        .zip(b.rgb())
        .map(|(&x, &y)| (x as i64 - y as i64).pow(2) as u64)
        .sum();
    Ok(s as f64 / a.rgb().len() as f64)
}

/// PSNR in dB, `10 log10(255² / MSE)` over R, G, B; `+∞` for identical images.
///
/// ```
/// use neuvis_base::MaskedImage;
/// let a = MaskedImage::new(2, 1, vec![0; 6], vec![255; 2]).unwrap();
/// let b = MaskedImage::new(2, 1, vec![0, 0, 0, 0, 0, 6], vec![255; 2]).unwrap();
/// // MSE = 36 / 6 = 6 → PSNR = 10 log10(65025 / 6) = 40.349 dB
/// assert!((neuvis_metrics::psnr(&a, &b).unwrap() - 40.3488).abs() < 1e-3);
/// ```
pub fn psnr(a: &MaskedImage, b: &MaskedImage) -> Result<f64, MetricError> {
    let m = mse(a, b)?;
    Ok(if m == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / m).log10()
    })
}
