//! Device selection.

use burn::prelude::Device;

/// The compute device named by `name`: `cpu`/`flex` (burn's pure-Rust CPU backend, always
/// available), or `cuda`, `rocm`, `wgpu` when neuvis was built with that feature.
pub fn device(name: &str) -> Result<Device, String> {
    match name {
        "cpu" | "flex" => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[cfg(feature = "rocm")]
        "rocm" => Ok(Device::rocm(0)),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(Default::default())),
        other => Err(format!(
            "device '{other}' is not available in this build (available: cpu{}{}{})",
            if cfg!(feature = "cuda") { ", cuda" } else { "" },
            if cfg!(feature = "rocm") { ", rocm" } else { "" },
            if cfg!(feature = "wgpu") { ", wgpu" } else { "" },
        )),
    }
}
