//! Scalar fields for neuvis: the volumes every other part of the system visualizes.
//!
//! This crate provides
//! - [`ScalarField`]: a regular grid of `f32` samples (x fastest) with spacing and origin,
//!   trilinear sampling and central-difference gradients in world units;
//! - readers for raw data, NRRD, NIfTI-1, VTK legacy and XML image data and ParaView `.pvd`
//!   collections ([`io`]), an atomic NRRD writer, and [`FieldSeries`] for time series that load
//!   one step at a time (a file per step, or the time axis of a 4-D NRRD/NIfTI with the times
//!   the file states);
//! - exact procedural fields ([`Procedural`]): Crawfis & Max's tornado, Marschner & Lobb, and
//!   seeded moving Gaussian blobs, and seeded Kolmogorov [`Turbulence`] generated slab by slab;
//! - [`MinMaxGrid`] for empty-space skipping.
//!
//! It is used by the renderer (`neuvis-render`), the speculative raycaster and the CLI. It does
//! not depend on burn, so it compiles and tests quickly.
//!
//! Main design decision: samples are always converted to `f32` on read. Renderers then need one
//! code path, and simulation data (usually float) loses nothing; integer scans up to 24 bits are
//! exact in `f32`. Every reader validates dimensions against overflow and available memory
//! *before* allocating, and reports non-finite samples unless told to replace them, so bad input
//! fails with an error naming the file instead of a panic or an abort.
//!
//! ```
//! use neuvis_volume::{Procedural, MinMaxGrid};
//! let f = Procedural::MarschnerLobb.generate([41, 41, 41], 0.0).unwrap();
//! // ρ(0, 0, 0) = (1 + 0.25 · 2) / 2.5 = 0.6
//! assert!((f.sample([0.0, 0.0, 0.0]) - 0.6).abs() < 1e-6);
//! let mm = MinMaxGrid::new(&f, 8);
//! assert_eq!(mm.bdims, [5, 5, 5]);
//! ```

pub mod dtype;
pub mod error;
pub mod field;
pub mod io;
pub mod minmax;
pub mod procedural;
pub mod sample;
pub mod series;
pub mod turbulence;

pub use dtype::{DType, Endian, ReadOptions};
pub use error::{Result, VolumeError};
pub use field::ScalarField;
pub use io::{read_volume, write_nrrd, RawSpec};
pub use minmax::MinMaxGrid;
pub use procedural::Procedural;
pub use series::{open_series, FieldSeries, OpenOptions, TimeSeries};
pub use turbulence::Turbulence;
