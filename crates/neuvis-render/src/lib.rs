//! The ground-truth renderer of neuvis: a CPU raycaster for isosurface rendering (IR) and direct
//! volume rendering (DVR) of a [`ScalarField`](neuvis_volume::ScalarField), producing
//! [`MaskedImage`](neuvis_base::MaskedImage)s (colour over white plus the foreground mask).
//!
//! Used by `neuvis render` to make the image collections the NeRVI codec compresses, by the
//! benchmarks, and (its camera and shading) by the speculative raycaster.
//!
//! - [`Camera::orbit`]: the fixed-zoom orbit camera over (θ, φ); see [`camera`] for the convention.
//! - IR: first crossing of the isovalue on the trilinear field, bracketed by half-voxel steps and
//!   refined by bisection plus a final secant step (no stair-steps); Blinn–Phong with a head light,
//!   two-sided, from central-difference gradients.
//! - DVR: front-to-back compositing with opacity correction for the step length and early ray
//!   termination; piecewise-linear [`TransferFunction`]s, ParaView JSON presets, built-in presets.
//! - [`collection::render_collection`]: a whole series over a grid of cameras into a Cinema
//!   database (`neuvis render`), with [`collection::CollectionOptions`] holding the defaults.
//! - Empty-space skipping: rays walk a [`MinMaxGrid`](neuvis_volume::MinMaxGrid) of 8-cell bricks
//!   with a 3-D DDA and only sample inside bricks that can contain the isovalue / visible opacity.
//!
//! Main design decision: rays are marched in the field's *index space* with the world distance
//! as the ray parameter. Trilinear lookups then need no per-sample division, anisotropic spacing
//! costs nothing, and skipping decisions are exact because a brick's trilinear field never leaves
//! its corner samples' `[min, max]`. Output is deterministic: pixels are independent and
//! parallelism (rayon, over rows) never changes a result.
//!
//! ```
//! use neuvis_render::{Mode, RenderSettings, Renderer};
//! use neuvis_volume::ScalarField;
//! // distance from the centre of [-1,1]^3: the isosurface 0.5 is a sphere of radius 0.5
//! let f = ScalarField::from_fn([33; 3], [1.0 / 16.0; 3], [-1.0; 3], |x, y, z| (x * x + y * y + z * z).sqrt()).unwrap();
//! let r = Renderer::new(&f, RenderSettings::new(32, 32, Mode::Iso { value: 0.5, color: [1.0, 0.5, 0.2] })).unwrap();
//! let img = r.render(90.0, 0.0);
//! assert_eq!(img.mask()[16 * 32 + 16], 255); // centre pixel hits the sphere
//! assert_eq!(img.mask()[0], 0); // corner misses it
//! ```

/// The orbit camera (moved to neuvis-base, where the speculative raycaster takes it too).
pub use neuvis_base::camera;
pub mod collection;
pub mod error;
pub mod raycast;
pub mod tf;

pub use camera::Camera;
pub use error::RenderError;
pub use neuvis_base::camera::Phong;
pub use raycast::{Hit, Mode, RenderSettings, Renderer};
pub use tf::TransferFunction;
