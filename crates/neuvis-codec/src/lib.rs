//! The NeRVI codec: a whole collection of visualization images in one small file that decodes any
//! image from its parameters (t, θ, φ).
//!
//! Pipeline: [`dataset::Dataset`] (a Cinema database in memory) → [`train::train`] (loss eq. 2,
//! Adam, warm-up + cosine schedule, checkpoints) → [`codec::build_container`] (per-tensor
//! quantization, [`quant`]; canonical Huffman coding, [`huffman`]) → the `.nrvi` file
//! ([`container`]) → [`codec::Decoder`] (images for trained or unseen parameters).
//!
//! The network is described by [`config::NetConfig`] (NeRVI §3.1, Table 1; eq. 1's positional
//! encoding in [`encoding`]) and built on burn by [`net::NerviNet`].
//!
//! Used by `neuvis compress`, `neuvis decompress`, `neuvis eval` (`eval`: a model on either
//! side) and the explorer.
//!
//! Features: `train` (default) adds training, the burn network and decoding on burn devices
//! (GPUs). Without it (`default-features = false`, as the explorer and the fuzz target use it) the
//! crate reads, writes and decodes `.nrvi` files on the CPU and links no burn. `eval` adds
//! `neuvis eval`'s comparison of a model with a collection (`eval`; it links neuvis-metrics, which
//! the CLI turns on and the Python package leaves off).
//!
//! Main design decision: the file stores the network *configuration* plus quantized weights, never
//! code or framework records, so it is small, versioned, and decodable by any build of neuvis on
//! any backend; every length in it is validated against the bytes present and a CRC-32 before use.

pub mod codec;
#[cfg(feature = "train")]
pub mod compress;
pub mod config;
pub mod container;
pub mod cpu;
pub mod dataset;
pub mod encoding;
#[cfg(feature = "eval")]
pub mod eval;
pub mod huffman;
#[cfg(feature = "train")]
pub mod net;
pub mod quant;
#[cfg(feature = "train")]
pub mod train;
pub mod weights;

pub use config::{Arch, BlockSkip, NetConfig, Plan, Skip};
#[cfg(feature = "train")]
pub use net::NerviNet;

pub use codec::Decoder;
pub use container::Nrvi;
pub use dataset::Dataset;

/// Why compressing or decoding failed.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// A `.nrvi` file is malformed, damaged or hostile.
    #[error("invalid .nrvi data: {0}")]
    Format(String),
    /// The input collection or a request is unusable.
    #[error("{0}")]
    Input(String),
    /// Training produced non-finite values.
    #[error("training diverged: {0}")]
    Diverged(String),
    /// The compute device failed (a read-back, a lost GPU).
    #[error("compute device: {0}")]
    Device(String),
    /// A checkpoint could not be written or read.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// An I/O error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file that is not a valid `.nrvi` model (the error names the file).
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<CodecError>,
    },
    /// Reading the collection failed.
    #[error(transparent)]
    Collection(#[from] neuvis_collection::CollectionError),
    /// Scoring a comparison (`eval`) failed.
    #[cfg(feature = "eval")]
    #[error(transparent)]
    Metric(#[from] neuvis_metrics::MetricError),
    /// Decoding a model's images failed (the error names the model).
    #[error("decoding {}: {source}", path.display())]
    Decoding {
        /// The model file.
        path: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: Box<CodecError>,
    },
    /// Stopped by a Ctrl-C (or SIGTERM) between training steps; the last checkpoint is kept (the
    /// source says where: a caller finds it in the error's chain).
    #[error("training stopped")]
    Interrupted(#[from] neuvis_base::Interrupted),
}
