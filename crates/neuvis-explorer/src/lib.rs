//! The neuvis explorer: a local web server that decodes images of compressed (`.nrvi`) collections
//! on demand, for the page that lets a scientist move through (t, θ, φ), animate a parameter and
//! compare with the ground truth (NeRVI §4.3, Figure 9).
//!
//! This crate serves both pages of neuvis through one start-up ([`serve_blocking`]): the
//! explorer (`neuvis serve`) and, with the `raycast` feature, the speculative raycaster's page
//! (`neuvis raycast serve`, [`raycast`]). Both cache with `neuvis_base::lru::ByteLru` (the
//! raycaster's bricks through `neuvis-raycast`'s cache). Without `raycast` the crate links neither
//! the raycaster nor the volume readers.
//!
//! The explorer is used by `neuvis serve`. Its JSON API is:
//! - `GET /api/models`: the models (name, mode, image size, parameter grid, file size, ratio);
//! - `GET /api/frame?model=I&t=..&theta=..&phi=..[&anim=t|theta|phi&dir=1|-1]`: the decoded image
//!   (PNG), with headers `x-neuvis-cache` (`hit`/`miss`), `x-neuvis-decode-ms`, `x-neuvis-unseen`
//!   (`1` when the parameters lie between grid points: an interpolated view) and, with a
//!   reference, `x-neuvis-psnr`;
//! - `GET /api/reference?…` and `GET /api/diff?…`: the reference image and the CIELUV ΔE
//!   difference image (when the server was given a reference collection for that model);
//! - `GET /api/stats`: cache and decode counters.
//!
//! Design: decoding is CPU work, so it never runs on the async runtime's threads: each decode
//! takes a permit from a semaphore (bounding concurrent decodes; a bounded number of requests may
//! wait, the rest get 503) and runs in `spawn_blocking`. Results go into a byte-bounded LRU cache
//! of encoded PNGs, and concurrent requests for the same frame share one decode. After each
//! request, a background task prefetches the grid neighbours along every axis and the next frames
//! along the animated axis; a newer request cancels the previous prefetch, so prefetching never
//! competes with what the user is looking at now. Requests name models by index and views by
//! numbers only: no request can name a file.
//!
//! Modules, each depending only on those before it: `model` (the models and [`Options`]),
//! `cache` (frames, in-flight decodes, decode slots, prefetch), `api` (routes and handlers),
//! `server` (the hardened start-up both pages use), and `raycast` (the raycaster's page).

use std::path::PathBuf;

mod api;
mod cache;
mod model;
mod page;
#[cfg(feature = "raycast")]
pub mod raycast;
mod server;

pub use api::{router, MAX_URI};
pub use cache::Explorer;
pub use model::{DecoderFactory, MakeDecoder, Model, Options};
pub use neuvis_base::lru::ByteLru;
pub use server::{serve, serve_blocking, serve_router, ServeError, ServerLimits};

/// Why the explorer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    /// A model file could not be read or decoded.
    #[error("{path}: {msg}")]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A reference collection does not match its model.
    #[error("reference {path}: {msg}")]
    Reference {
        /// The collection directory.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// Bad options.
    #[error("{0}")]
    Options(String),
}
