//! Device selection.

use crate::error::DeviceError;
use burn::prelude::Device;

/// The compute device named by `name`: `cpu`/`flex` (burn's pure-Rust CPU backend, always
/// available), or `cuda`, `rocm`, `wgpu` when neuvis was built with that feature.
///
/// ```
/// assert!(neuvis_nn::device::device("cpu").is_ok());
/// let e = neuvis_nn::device::device("tpu").unwrap_err();
/// assert!(e.to_string().contains("'tpu' is not available"));
/// ```
pub fn device(name: &str) -> Result<Device, DeviceError> {
    match name {
        "cpu" | "flex" => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[cfg(feature = "rocm")]
        "rocm" => Ok(Device::rocm(0)),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(Default::default())),
        other => Err(DeviceError {
            name: other.to_string(),
            available: format!(
                "cpu{}{}{}",
                if cfg!(feature = "cuda") { ", cuda" } else { "" },
                if cfg!(feature = "rocm") { ", rocm" } else { "" },
                if cfg!(feature = "wgpu") { ", wgpu" } else { "" },
            ),
        }),
    }
}
