//! FLIP (LDR), NVIDIA's perceptual difference metric, through the `nv-flip` crate.
//!
//! FLIP is neuvis's perceptual metric. The NeRVI paper also reports LPIPS, but LPIPS needs
//! pretrained network weights that cannot be installed here, so we do not report it rather than
//! approximate it.

use crate::{check_sizes, MetricError};
use neuvis_base::MaskedImage;

/// FLIP's default viewing condition: 0.7 m from a 0.7 m wide 3840-pixel monitor (≈ 67 pixels per degree).
pub const PIXELS_PER_DEGREE: f32 = nv_flip::DEFAULT_PIXELS_PER_DEGREE;

/// The FLIP error map (values in `[0, 1]`, row-major) of `test` against `reference`, and its mean.
pub fn flip(reference: &MaskedImage, test: &MaskedImage) -> Result<(f64, Vec<f32>), MetricError> {
    check_sizes(reference, test)?;
    let (w, h) = (reference.width() as u32, reference.height() as u32);
    let r = nv_flip::FlipImageRgb8::with_data(w, h, reference.rgb());
    let t = nv_flip::FlipImageRgb8::with_data(w, h, test.rgb());
    let map = nv_flip::flip(r, t, PIXELS_PER_DEGREE);
    let pool = nv_flip::FlipPool::from_image(&map);
    Ok((pool.mean() as f64, map.to_vec()))
}

/// Mean FLIP error of `test` against `reference` (0 = identical).
pub fn flip_mean(reference: &MaskedImage, test: &MaskedImage) -> Result<f64, MetricError> {
    flip(reference, test).map(|r| r.0)
}
