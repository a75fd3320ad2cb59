//! Errors of the renderer.

/// Why rendering could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A transfer function is malformed (the message names the file when there is one).
    #[error("transfer function: {0}")]
    Tf(String),
    /// A render setting is out of range.
    #[error("render settings: {0}")]
    Settings(String),
    /// A time step of the series could not be loaded.
    #[error("loading time step {step}: {source}")]
    Load {
        /// The step index.
        step: usize,
        /// Why.
        #[source]
        source: neuvis_volume::VolumeError,
    },
    /// Stopped by a Ctrl-C (or SIGTERM): the images written so far are kept for `--resume` (the
    /// source says where: a caller finds it in the error's chain).
    #[error("rendering stopped")]
    Interrupted(#[from] neuvis_base::Interrupted),
    /// The collection could not be written (or a grid is invalid).
    #[error(transparent)]
    Collection(#[from] neuvis_collection::CollectionError),
    /// Rendering failed part-way; the images written before the failure are kept in `kept` for
    /// `resume`.
    #[error(
        "{source}; the images rendered before it are kept in {} (fix the input and rerun with --resume to continue, or delete that folder)",
        kept.display()
    )]
    PartlyDone {
        /// What failed.
        #[source]
        source: Box<RenderError>,
        /// The partial collection.
        kept: std::path::PathBuf,
    },
}
