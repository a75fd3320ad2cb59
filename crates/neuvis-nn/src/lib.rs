//! Generic network building blocks for neuvis on burn 0.22: seeded layer initialization
//! ([`init`]), a differentiable SSIM ([`ssim`]), adaptive gradient clipping ([`clip`]), the warm-up + cosine learning-rate schedule
//! ([`schedule`]), flush-to-zero for training ([`denormals`]), device selection ([`device`]),
//! data-parallel training over MPI ranks ([`parallel`]) and the error every trainer reports
//! ([`TrainError`]).
//!
//! Each capability keeps its own network beside what it trains, behind its crate's `train` feature:
//! the NeRVI network in `neuvis-codec`, the brick super-resolution network in `neuvis-raycast`, INR
//! fitting in `neuvis-amr`. This crate is their common leaf: it depends on burn and `neuvis-base`
//! only, so no capability pulls in another's dependencies through it.
//!
//! Main design decision: initialization draws every value from `neuvis_base::SplitMix64` on the
//! CPU instead of burn's random generators, so a seed names the same network on every backend and
//! burn version (a `.nrvi` file is reproducible byte for byte). Devices are chosen at run time
//! ([`device`]): burn's pure-Rust `flex` CPU backend always, GPU backends when built with the
//! `wgpu` or `cuda` features ([`cuda`] finds what the CUDA backend loads at run time).

pub mod clip;
pub mod cuda;
pub mod denormals;
pub mod device;
pub mod error;
pub mod init;
pub mod parallel;
pub mod report;
pub mod schedule;
pub mod ssim;

pub use error::{DeviceError, TrainError};
