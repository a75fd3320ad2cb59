//! The collections the benchmarks render for themselves: tornado isosurfaces through
//! `neuvis_render::collection::render_collection`, with `neuvis render`'s defaults for everything
//! a benchmark does not set.

use anyhow::Result;
use neuvis_render::collection::{
    render_collection, Cameras, CollectionOptions, ModeOptions, RenderSummary, DEFAULT_ISO_COLOR,
};
use std::path::Path;

/// Renders the tornado's isosurface `iso` (default: mid-range) at t = 0 over the orbit grid of
/// `(θ, φ)` steps in degrees into `out`, at `size`², every other setting `neuvis render`'s
/// default (`CollectionOptions::default`).
pub(crate) fn tornado(out: &Path, size: usize, steps: (f64, f64), iso: Option<f32>) -> Result<RenderSummary> {
    let series = neuvis_volume::open_series(&["tornado".to_string()], &neuvis_volume::OpenOptions::default())?;
    let opts = CollectionOptions {
        mode: ModeOptions::Iso {
            value: iso,
            color: DEFAULT_ISO_COLOR,
        },
        width: size,
        height: size,
        cameras: Cameras::Orbit {
            theta_step: steps.0,
            phi_step: steps.1,
        },
        steps: Some(vec![0]),
        ..CollectionOptions::default()
    };
    Ok(render_collection(series.as_ref(), &opts, out, &|_| {})?)
}
