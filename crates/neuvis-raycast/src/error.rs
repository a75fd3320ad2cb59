//! Errors of the brick store and the raycaster; every variant about a file names it.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = RaycastError> = std::result::Result<T, E>;

/// Why a store could not be written or read, or a frame not rendered.
#[derive(Debug, thiserror::Error)]
pub enum RaycastError {
    /// An operating-system I/O error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The store file is not a brick store, is damaged, or is inconsistent.
    #[error("{}: {msg}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A volume could not be read.
    #[error(transparent)]
    Volume(#[from] neuvis_volume::VolumeError),
    /// Settings that cannot work (sizes, budgets, isovalues, methods).
    #[error("{0}")]
    Settings(String),
}

/// A geometry or network configuration that cannot work; the message names the value and the
/// allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidConfig(pub String);

impl From<InvalidConfig> for RaycastError {
    fn from(e: InvalidConfig) -> Self {
        RaycastError::Settings(e.0)
    }
}

impl RaycastError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        RaycastError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn corrupt(path: &std::path::Path, msg: impl Into<String>) -> Self {
        RaycastError::Corrupt {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }
}
