//! Flag groups more than one command takes, each written once: `--overwrite` ([`OutputArgs`]) and
//! `--device` ([`DeviceArg`]). A command flattens them (`#[command(flatten)]`), so the flag, its
//! help and its default read the same everywhere.

use clap::Args;

/// `--overwrite`: the flag of the output rule ([`neuvis_base::fs::check_output`]).
#[derive(Args, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputArgs {
    /// Replace an existing output, but only one neuvis wrote (never an input, the working
    /// directory or a foreign file or folder).
    #[arg(long)]
    pub overwrite: bool,
}

/// `--device`: where a network trains or decodes.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct DeviceArg {
    /// Compute device: cpu (always); gpu (wgpu: Vulkan, Metal, DX12) or cuda (NVIDIA, kernels
    /// compiled by NVRTC) where this build and machine have them; `neuvis devices` lists them.
    #[arg(long = "device", id = "device", value_name = "DEVICE", default_value = DeviceArg::DEFAULT)]
    pub name: String,
}

impl DeviceArg {
    /// The device when `--device` is not given.
    pub const DEFAULT: &'static str = "cpu";

    /// The device's name as given.
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl Default for DeviceArg {
    fn default() -> Self {
        DeviceArg {
            name: DeviceArg::DEFAULT.into(),
        }
    }
}

/// A `&DeviceArg` passes where the libraries take the device's name (`&str`).
impl std::ops::Deref for DeviceArg {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for DeviceArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}
