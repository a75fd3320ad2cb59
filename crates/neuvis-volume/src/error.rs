//! The error type of this crate: every variant names the file (or the request) it is about.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = VolumeError> = std::result::Result<T, E>;

/// Why a volume could not be read, written or built.
///
/// Every variant that is about a file carries its path, so the message printed to a user
/// names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// An operating-system I/O error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds a different number of bytes than its header or the flags promise.
    #[error("{}: file holds {actual} bytes of sample data but {expected} were expected ({detail})", path.display())]
    SizeMismatch {
        /// The file concerned.
        path: PathBuf,
        /// Bytes expected from the dimensions and sample type.
        expected: u64,
        /// Bytes actually present.
        actual: u64,
        /// How the expectation was formed, e.g. `64x64x64 u16 after 0 header bytes`.
        detail: String,
    },
    /// Compressed data ended early or is damaged.
    #[error("{}: truncated or corrupt data: {msg}", path.display())]
    Truncated {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// The file's header is malformed or names something we do not support.
    #[error("{}: {msg}", path.display())]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// A NRRD header names an encoding we cannot decode.
    #[error("{}: unknown or unsupported NRRD encoding '{encoding}' (supported: raw, gzip, ascii)", path.display())]
    UnknownEncoding {
        /// The file concerned.
        path: PathBuf,
        /// The encoding as written in the header.
        encoding: String,
    },
    /// The data contains NaN or infinite samples.
    #[error("{}: {count} non-finite sample(s) (NaN or ±inf), first at index {first}; pass --nan-to VALUE to replace them", path.display())]
    NonFinite {
        /// The file concerned.
        path: PathBuf,
        /// How many samples are not finite.
        count: usize,
        /// Linear index (x fastest) of the first one.
        first: usize,
    },
    /// Dimensions that are zero, overflow, or would need more memory than the machine has.
    #[error("{what}: {msg}")]
    BadDims {
        /// The file or request concerned.
        what: String,
        /// What is wrong with the dimensions.
        msg: String,
    },
    /// An invalid argument to a constructor or a procedural generator.
    #[error("{0}")]
    Invalid(String),
}

impl VolumeError {
    /// Builds an [`VolumeError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        VolumeError::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds a [`VolumeError::Format`] for `path`.
    pub fn format(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        VolumeError::Format {
            path: path.into(),
            msg: msg.into(),
        }
    }
}
