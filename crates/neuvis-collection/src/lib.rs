//! Image collections for neuvis: the images a renderer makes and a codec compresses.
//!
//! This crate provides parameter grids over
//! (t, θ, φ) ([`grid`]), and Cinema spec D databases on disk ([`CinemaDb`] to read any tool's
//! database, [`DbWriter`] to write one atomically and resumably).
//!
//! Its images are `neuvis_base::MaskedImage`s (8-bit RGB over a white background plus a binary
//! foreground mask, stored as RGBA PNG with the mask in alpha), re-exported here. It is used by the
//! CLI (`neuvis render`), the metrics (pairing two collections) and the NeRVI codec (its training
//! set). It knows nothing about volumes or networks.
//!
//! Main design decision: the on-disk format is Cinema spec D, the format ParaView and the Cinema
//! viewers read, rather than a format of our own, so a collection rendered by neuvis can be browsed
//! by existing tools and a collection rendered elsewhere can be compressed by neuvis. The mask
//! travels in the alpha channel so one file holds everything NeRVI trains on.
//!
//! ```
//! use neuvis_collection::grid::{angles, orbit_cameras};
//! let cams = orbit_cameras(&angles(9.0, 180.0).unwrap(), &angles(9.0, 360.0).unwrap());
//! assert_eq!(cams.len(), 800); // the NeRVI paper's 800 views per time step
//! ```

pub mod cdb;
pub mod error;
pub mod grid;

pub use cdb::{merge_parts, CinemaDb, DbWriter, Entry, MergeReport};
pub use error::{CollectionError, Result};
pub use grid::View;
pub use neuvis_base::{ImageError, MaskedImage};

/// Writes `path` atomically: `write` fills a temporary file in the same directory, which is
/// renamed over `path` only when everything succeeded; on error nothing is left behind.
pub fn write_atomic(
    path: &std::path::Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    neuvis_base::write_atomic(path, write).map_err(|e| CollectionError::io(path, e))
}
