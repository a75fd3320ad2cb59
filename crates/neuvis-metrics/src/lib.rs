//! Image quality metrics for neuvis: every claim about a codec or renderer is a number from here.
//!
//! This crate provides, for 8-bit RGB images ([`MaskedImage`]):
//! - [`psnr`] (and the collection mean of per-image PSNR, as the NeRVI paper reports it),
//! - [`ssim`] matching scikit-image's `structural_similarity` with Gaussian weights,
//! - [`ms_ssim`] matching `pytorch_msssim.ms_ssim` (with a documented rule for small images),
//! - [`flip()`] (LDR FLIP via `nv-flip`): mean error and error map; FLIP is our perceptual metric,
//!   LPIPS is not reported because its pretrained weights cannot be installed here,
//! - [`diff`]: CIELUV ΔE difference images coloured like the paper's figures,
//! - [`eval`]: pairing two Cinema databases by (t, θ, φ) and scoring all pairs in parallel.
//!
//! Used by `neuvis eval`, the codec's reports and the explorer.
//!
//! Main design decision: the metrics are reimplemented in Rust (f64 accumulation) and tested against
//! the reference implementations' numbers committed as fixtures (`tools/metric_fixtures.py`), rather
//! than calling Python: evaluation of thousands of images must be fast and dependency-free, and the
//! fixtures pin the exact conventions (window, cropping, pooling) that make numbers comparable with
//! published ones.

pub mod diff;
pub mod eval;
pub mod figure;
pub mod flip;
pub mod psnr;
pub mod ssim;

pub use diff::{delta_e, difference_image, DEFAULT_MAX_DELTA_E};
pub use flip::{flip, flip_mean};
pub use neuvis_base::MaskedImage;
pub use psnr::psnr;
pub use ssim::{ms_ssim, ssim};

/// Why a metric could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum MetricError {
    /// The two images differ in size.
    #[error("images differ in size: {0}x{1} vs {2}x{3}")]
    SizeMismatch(usize, usize, usize, usize),
    /// An image is smaller than the metric's window.
    #[error("{metric} needs images of at least {min}x{min} pixels, got {width}x{height}")]
    TooSmall {
        /// The metric.
        metric: &'static str,
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
        /// Smallest usable side.
        min: usize,
    },
    /// Two collections cannot be paired.
    #[error("{0}")]
    Pairing(String),
    /// Reading an image failed.
    #[error(transparent)]
    Collection(#[from] neuvis_collection::CollectionError),
    /// Stopped by a Ctrl-C (or SIGTERM) between pairs (the source says what was kept).
    #[error("scoring stopped")]
    Interrupted(#[from] neuvis_base::Interrupted),
}

pub(crate) fn check_sizes(a: &MaskedImage, b: &MaskedImage) -> Result<(), MetricError> {
    if (a.width(), a.height()) != (b.width(), b.height()) {
        return Err(MetricError::SizeMismatch(a.width(), a.height(), b.width(), b.height()));
    }
    Ok(())
}

pub(crate) fn fmt_param(x: f64) -> String {
    neuvis_base::fmt_num(x)
}
