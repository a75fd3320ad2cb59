//! Flag groups more than one command takes, each written once: `--overwrite` ([`OutputArgs`]) and
//! `--device` ([`DeviceArg`]). A command flattens them (`#[command(flatten)]`), so the flag, its
//! help and its default read the same everywhere. [`named`] parses the libraries' closed sets of
//! values ([`Named`]: methods, kinds) with the names they define.

use clap::Args;
use neuvis_base::named::Named;

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

/// clap's parser of a [`Named`] value (`value_parser = named::<Method>()`): `--help` lists the
/// names, and a value that is none of them is refused with the list.
pub fn named<T: Named + Send + Sync>() -> NamedParser<T> {
    NamedParser { parse: T::from_name }
}

/// [`named`] with the type's own reading (aliases, any case), listing the same names.
pub fn named_with<T: Named + Send + Sync>(parse: fn(&str) -> Option<T>) -> NamedParser<T> {
    NamedParser { parse }
}

/// See [`named`].
#[derive(Clone)]
pub struct NamedParser<T> {
    parse: fn(&str) -> Option<T>,
}

impl<T: Named + Send + Sync> clap::builder::TypedValueParser for NamedParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        let text = value.to_string_lossy();
        (self.parse)(&text).ok_or_else(|| {
            let mut e = clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd);
            if let Some(a) = arg {
                e.insert(ContextKind::InvalidArg, ContextValue::String(a.to_string()));
            }
            e.insert(ContextKind::InvalidValue, ContextValue::String(text.into_owned()));
            let names = T::names().into_iter().map(String::from).collect();
            e.insert(ContextKind::ValidValue, ContextValue::Strings(names));
            e
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(T::names().into_iter().map(clap::builder::PossibleValue::new)))
    }
}
