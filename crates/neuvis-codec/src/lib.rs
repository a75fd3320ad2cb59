//! The NeRVI codec: a whole collection of visualization images in one small file that decodes any
//! image from its parameters (t, θ, φ).
//!
//! Pipeline: [`dataset::Dataset`] (a Cinema database in memory) → [`train::train`] (loss eq. 2,
//! Adam, warm-up + cosine schedule, checkpoints) → [`codec::build_container`] (per-tensor
//! quantization, [`quant`]; canonical Huffman coding, [`huffman`]) → the `.nrvi` file
//! ([`container`]) → [`codec::Decoder`] (images for trained or unseen parameters).
//!
//! Used by `neuvis compress`, `neuvis decompress`, `neuvis eval` (model side) and the explorer.
//!
//! Main design decision: the file stores the network *configuration* plus quantized weights, never
//! code or framework records, so it is small, versioned, and decodable by any build of neuvis on
//! any backend; every length in it is validated against the bytes present and a CRC-32 before use.
#![deny(missing_docs)]

pub mod codec;
pub mod container;
pub mod cpu;
pub mod dataset;
pub mod huffman;
pub mod quant;
pub mod train;
pub mod weights;

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
    /// Reading the collection failed.
    #[error(transparent)]
    Collection(#[from] neuvis_collection::CollectionError),
}
