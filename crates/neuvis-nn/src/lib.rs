//! Network building blocks for neuvis, on burn 0.22: positional encoding, SIREN residual blocks,
//! upscale blocks (3×3 conv, pixel shuffle, GELU), the NeRVI image-wise network and its NeRV
//! baseline, and a differentiable SSIM.
//!
//! Used by the NeRVI codec (`neuvis-codec`), the speculative raycaster (training its brick
//! super-resolution network, [`sr3d`]) and the INR tools. Only crates that train or run networks depend on this one, so the rest of neuvis builds
//! without burn.
//!
//! Main design decision: one network type, [`NerviNet`], covers both NeRVI and NeRV (`Arch`), so the
//! two are compared at equal size through the same training, quantization and container code; its
//! whole shape is a serializable [`NetConfig`], which is what the `.nrvi` file stores next to the
//! weights. Devices are chosen at run time ([`device`]): burn's pure-Rust `flex` CPU backend always,
//! GPU backends when built with the `cuda`, `rocm` or `wgpu` features.
#![deny(missing_docs)]

pub mod config;
pub mod denormals;
pub mod device;
pub mod encoding;
pub mod inr_fit;
pub mod net;
pub mod schedule;
pub mod sr3d;
pub mod ssim;

pub use config::{Arch, BlockSkip, NetConfig, Plan, Skip};
pub use net::NerviNet;
