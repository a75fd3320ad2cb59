//! The error every trainer built on these blocks reports.

/// Why training could not start or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Options or data that cannot be trained on (sizes, rates, empty sets).
    #[error("{0}")]
    Options(String),
    /// The loss stopped being finite.
    #[error("the loss became {loss} at step {step} (try a lower --lr)")]
    Diverged {
        /// The 1-based optimizer step.
        step: usize,
        /// The loss value (NaN or ±∞).
        loss: f64,
    },
    /// A tensor could not be read back from the device.
    #[error("reading a tensor back from the device: {0}")]
    Readback(String),
    /// A collective of the ranks sharing the training failed.
    #[error("{0}")]
    Collective(String),
}

/// A compute device that this build does not have, or that the machine cannot open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--device {name}: {reason}")]
pub struct DeviceError {
    /// The name asked for.
    pub name: String,
    /// Why it cannot be used, and what would make it usable.
    pub reason: String,
}
