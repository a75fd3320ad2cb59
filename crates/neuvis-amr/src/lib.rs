//! Pruning-guided adaptive mesh refinement (AMR) for visualizing pre-trained implicit neural
//! representations (INRs): `neuvis amr`.
//!
//! This crate provides
//! - [`inr`]: INRs as a JSON spec plus weights (safetensors, or a PyTorch `state_dict` read by
//!   [`weights`] without executing anything), evaluated in `f64` with faer;
//! - [`prune`]: interpolative-decomposition pruning (column-pivoted QR) of an INR restricted to
//!   a region;
//! - [`tree`]: 2^d-trees (d = 1–4) with hanging vertices, point location, DOF counts with and
//!   without hanging vertices, and multilinear interpolation;
//! - [`amr`]: Algorithm 1 of the paper ("pruning") and the "basic" and "uniform" baselines, with
//!   the total-error history;
//! - [`job`]: `neuvis amr` as one call: its settings with their only defaults
//!   ([`job::AmrOptions`]), what it writes into its output folder and the `history.json` record;
//! - [`output`] and [`plot`]: VTU meshes (ParaView), `.pvd` series, PNG slices with element
//!   edges, and the error-vs-DOF comparison plot;
//! - [`mfem`]: MFEM's nonconforming mesh + grid-function files (GLVis, MFEM codes);
//! - [`functions`]: the analytic fields used to train the test INRs;
//! - `fit` (feature `train`): fitting such INRs on burn (`neuvis inr fit`), written through
//!   [`Inr::save`].
//!
//! It is used by the `neuvis` CLI (`amr`, `amr compare`, `inr fit`) and the Python package
//! (`neuvis.amr`, `neuvis.Inr`).
//!
//! Main design decision: INRs are evaluated here on the CPU in `f64` with faer rather than
//! through burn. Pruning needs the activations as dense matrices for a pivoted QR anyway, the
//! networks are small MLPs where a GEMM per layer is the whole cost, and `f64` keeps "pruning
//! an exactly rank-deficient layer leaves the output unchanged" true to rounding rather than
//! to `f32` noise. Only the `train` feature links burn, to fit INRs; loading, pruning and refining
//! never do.
//!
//! ```
//! use neuvis_amr::tree::Tree;
//! let mut t = Tree::new(&[[0.0, 1.0], [0.0, 1.0]]);
//! t.refine_uniformly(1); // 2×2 elements, 9 vertices
//! t.refine(t.leaves()[0]); // split one: 5 new vertices, 2 of them hanging
//! assert_eq!(t.leaf_count(), 7);
//! assert_eq!(t.dofs(), (14, 12));
//! ```

pub mod amr;
#[cfg(feature = "train")]
pub mod fit;
pub mod functions;
pub mod inr;
pub mod job;
pub mod mfem;
pub mod output;
pub mod plot;
pub mod prune;
pub mod ranks;
pub mod tree;
pub mod weights;

use std::path::{Path, PathBuf};

pub use amr::{
    run, run_on, run_with_progress, AmrConfig, AmrRun, BasicError, IterationRecord, Method, Ranks, SingleProcess,
};
pub use inr::{Activation, Inr, InrSpec, Mlp};

/// Errors of this crate; file errors name the file.
#[derive(Debug, thiserror::Error)]
pub enum AmrError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An INR spec is invalid.
    #[error("{path}: {msg}")]
    Spec {
        /// The spec file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A weights file is unreadable or does not match its spec.
    #[error("{path}: {msg}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// Settings are out of range.
    #[error("{0}")]
    Config(String),
    /// Fitting an INR failed (bad settings, a failed device, divergence).
    #[cfg(feature = "train")]
    #[error(transparent)]
    Fit(#[from] neuvis_nn::TrainError),
    /// A collective of the MPI ranks failed.
    #[error(transparent)]
    Ranks(#[from] neuvis_base::ranks::RanksError),
    /// The output folder breaks the output rule (an input, a user's folder, …) or cannot be created.
    #[error(transparent)]
    Output(#[from] neuvis_base::OutputError),
}

impl AmrError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> AmrError {
        AmrError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn spec(path: &Path, msg: impl Into<String>) -> AmrError {
        AmrError::Spec {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }
    pub(crate) fn weights(path: &Path, msg: impl Into<String>) -> AmrError {
        AmrError::Weights {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }
}

/// Writes `path` atomically (temporary file + rename), naming the file in errors.
pub(crate) fn atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    neuvis_base::write_atomic(path, write).map_err(|e| AmrError::io(path, e))
}

/// Result with [`AmrError`].
pub type Result<T, E = AmrError> = std::result::Result<T, E>;
