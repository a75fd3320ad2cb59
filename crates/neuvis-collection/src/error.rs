//! Errors of the collection crate.

use std::path::PathBuf;

/// Why a collection or image could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    /// An I/O error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An image file could not be decoded or encoded.
    #[error("{}: {msg}", path.display())]
    Image {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// `data.csv` (or `meta.json`) is malformed.
    #[error("{}: {msg}", path.display())]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// Files listed in `data.csv` are missing.
    #[error("{}: {} listed image file(s) missing: {}", db.display(), missing.len(), preview(missing))]
    MissingFiles {
        /// The database directory.
        db: PathBuf,
        /// The missing files, relative to the database.
        missing: Vec<String>,
    },
    /// A parameter grid or image is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The output path is refused (see [`neuvis_base::fs::check_output`]).
    #[error(transparent)]
    Output(#[from] neuvis_base::OutputError),
}

impl From<neuvis_base::ImageError> for CollectionError {
    fn from(e: neuvis_base::ImageError) -> Self {
        match e {
            neuvis_base::ImageError::Invalid(msg) => CollectionError::Invalid(msg),
            neuvis_base::ImageError::Io { path, source } => CollectionError::Io { path, source },
            neuvis_base::ImageError::Decode { path, msg } => CollectionError::Image { path, msg },
        }
    }
}

fn preview(v: &[String]) -> String {
    let mut s = v.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if v.len() > 5 {
        s.push_str(&format!(", … ({} more)", v.len() - 5));
    }
    s
}

impl CollectionError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CollectionError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = CollectionError> = std::result::Result<T, E>;
