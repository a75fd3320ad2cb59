//! Device selection: the names `--device` takes, the backends a build has, and the GPU adapters
//! the machine offers.
//!
//! `cpu` (alias `flex`) is burn's pure-Rust CPU backend and always present. `gpu` (alias `wgpu`)
//! is burn's wgpu backend (Vulkan on Linux, Metal on macOS, DX12 on Windows; Mesa's lavapipe
//! counts as a Vulkan device that runs on the CPU) in builds with the `wgpu` feature; `cuda` is
//! burn's CUDA backend (kernels compiled by NVRTC at run time; [`crate::cuda`] finds what it loads)
//! in builds with the `cuda` feature. The `neuvis` binary has both by default. A wgpu device is
//! initialized once per process (burn refuses a second initialization) and shared by every later
//! call.

use crate::error::DeviceError;
use burn::prelude::Device;

/// The names [`device`] accepts in this build, in the order they are listed to users.
pub fn names() -> Vec<&'static str> {
    let mut v = vec!["cpu"];
    if cfg!(feature = "wgpu") {
        v.push("gpu");
    }
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    v
}

/// What a `--device` name selects: `Some("gpu")` for `wgpu`, the canonical name otherwise, `None`
/// for a name no build of neuvis knows.
pub fn canonical(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "cpu" | "flex" => Some("cpu"),
        "gpu" | "wgpu" | "vulkan" | "metal" | "dx12" => Some("gpu"),
        "cuda" | "nvrtc" => Some("cuda"),
        _ => None,
    }
}

/// Pins burn's *default* device to the CPU backend unless `BURN_DEVICE` names another.
///
/// burn materializes some state on `Device::default()`, which is the first compiled backend of
/// CUDA, wgpu, …, flex: an optimizer's state when a checkpoint is loaded, for one (it moves to the
/// parameters' device at the next step). With the GPU backends in the default build, that would
/// open a CUDA device, and fail on a machine without one, even while training on the CPU. `main`
/// calls this before any thread starts; [`device`] and the checkpoint loaders call it too (it sets
/// the variable once, and only where it is unset: `.cargo/config.toml` sets it for `cargo test`).
pub fn pin_default() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("BURN_DEVICE").is_none() {
            std::env::set_var("BURN_DEVICE", "flex");
        }
    });
}

/// The compute device named by `name`: `cpu`/`flex` (always available), `gpu`/`wgpu`, `cuda`
/// when neuvis was built with that backend. A GPU that the build has but the machine lacks
/// is an error saying what to install, not a panic.
///
/// ```
/// assert!(neuvis_nn::device::device("cpu").is_ok());
/// let e = neuvis_nn::device::device("tpu").unwrap_err();
/// assert!(e.to_string().contains("'tpu' is not a device"));
/// ```
pub fn device(name: &str) -> Result<Device, DeviceError> {
    pin_default();
    let err = |reason: String| DeviceError {
        name: name.to_string(),
        reason,
    };
    let Some(canon) = canonical(name) else {
        return Err(err(format!(
            "'{name}' is not a device (this build offers: {})",
            names().join(", ")
        )));
    };
    if !names().contains(&canon) {
        return Err(err(format!(
            "device '{name}' is not available in this build (this build offers: {}); {}",
            names().join(", "),
            build_hint(canon)
        )));
    }
    match canon {
        "cpu" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "gpu" => wgpu_device().map_err(err),
        #[cfg(feature = "cuda")]
        "cuda" => {
            kernel_cache();
            let r = crate::cuda::probe();
            if let Some(m) = r.missing() {
                return Err(err(m));
            }
            // one rank per GPU: each MPI rank of a node takes the GPU of its local rank (where
            // Slurm bound one GPU to each rank, that is the one it sees)
            let local = neuvis_base::ranks::local_rank(&|k| std::env::var(k).ok());
            Ok(Device::cuda(local % r.devices.len().max(1)))
        }
        _ => Err(err(build_hint(canon).to_string())),
    }
}

/// How to get a build with the backend `canon`.
fn build_hint(canon: &str) -> &'static str {
    match canon {
        "gpu" => "the default build of `neuvis` has it (`--features gpu` where default features are off)",
        "cuda" => "the default build of `neuvis` has it (`--features cuda` where default features are off)",
        _ => "",
    }
}

/// The one wgpu device of this process, initialized on first use.
#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device, String> {
    use std::sync::OnceLock;
    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            kernel_cache();
            let mut opts = Device::wgpu_options();
            // one rank per GPU: the MPI ranks of a node spread over its discrete GPUs by local rank
            if neuvis_base::ranks::launched_size().unwrap_or(1) > 1 {
                let found = adapters();
                let discrete: Vec<&Adapter> = found.iter().filter(|a| a.kind == "discrete GPU").collect();
                let api = discrete.first().map(|a| a.backend.clone());
                let n = discrete.iter().filter(|a| Some(&a.backend) == api.as_ref()).count();
                if n > 1 {
                    let local = neuvis_base::ranks::local_rank(&|k| std::env::var(k).ok());
                    opts = opts.device_kind(burn::tensor::DeviceKind::DiscreteGpu(local % n));
                }
            }
            opts.init().map_err(|e| {
                format!(
                    "no usable GPU adapter ({e}); `neuvis devices` lists what the machine offers. On Linux, wgpu needs a Vulkan driver (NVIDIA's, or Mesa's `mesa-vulkan-drivers`, whose lavapipe runs Vulkan on the CPU)"
                )
            })
        })
        .clone()
}

/// Where compiled kernels and autotune results persist between runs, so that only the first run on
/// a machine pays for compiling and tuning them: `$NEUVIS_KERNEL_CACHE`, else a location a
/// `cubecl.toml`/`burn.toml` names, else `$XDG_CACHE_HOME/neuvis/kernels` (`~/.cache/neuvis/kernels`).
/// (cubecl's own default is the `target/` folder of the Cargo workspace around the working
/// directory, which scatters caches into whatever project a user runs neuvis from.) Returns the
/// directory chosen, or `None` where the configuration was already fixed, no home is known, or
/// the build has no GPU backend.
pub fn kernel_cache() -> Option<std::path::PathBuf> {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    return gpu_kernel_cache();
    #[cfg(not(any(feature = "wgpu", feature = "cuda")))]
    None
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn gpu_kernel_cache() -> Option<std::path::PathBuf> {
    use cubecl_runtime::config::cache::CacheConfig;
    use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig};
    use std::path::PathBuf;
    static CHOSEN: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    CHOSEN
        .get_or_init(|| {
            let mut cfg = CubeClRuntimeConfig::from_current_dir().override_from_env();
            let dir = match std::env::var_os("NEUVIS_KERNEL_CACHE").filter(|v| !v.is_empty()) {
                Some(d) => PathBuf::from(d),
                None => match &cfg.environment.path {
                    CacheConfig::Target => std::env::var_os("XDG_CACHE_HOME")
                        .filter(|v| !v.is_empty())
                        .map(PathBuf::from)
                        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?
                        .join("neuvis")
                        .join("kernels"),
                    other => other.root(),
                },
            };
            cfg.environment.path = CacheConfig::Directory(dir.clone());
            CubeClRuntimeConfig::try_set(cfg).then_some(dir)
        })
        .clone()
}

/// One GPU adapter the machine offers to wgpu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adapter {
    /// The adapter's name ("NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)").
    pub name: String,
    /// Graphics API: Vulkan, Metal, Dx12, Gl.
    pub backend: String,
    /// Discrete, integrated, virtual, CPU (software) or other.
    pub kind: String,
    /// Driver name and version, as the driver reports them.
    pub driver: String,
}

/// The adapters wgpu finds on its primary APIs (Vulkan, Metal, DX12; burn computes through these,
/// not OpenGL), empty in builds without the `wgpu` feature.
pub fn adapters() -> Vec<Adapter> {
    #[cfg(feature = "wgpu")]
    {
        use burn::tensor::wgpu::wgpu;
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::PRIMARY;
        let instance = wgpu::Instance::new(desc);
        let found = neuvis_base::future::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
        found
            .iter()
            .map(|a| {
                let i = a.get_info();
                Adapter {
                    name: i.name,
                    backend: format!("{:?}", i.backend),
                    kind: match i.device_type {
                        wgpu::DeviceType::DiscreteGpu => "discrete GPU",
                        wgpu::DeviceType::IntegratedGpu => "integrated GPU",
                        wgpu::DeviceType::VirtualGpu => "virtual GPU",
                        wgpu::DeviceType::Cpu => "CPU (software)",
                        wgpu::DeviceType::Other => "other",
                    }
                    .to_string(),
                    driver: format!("{} {}", i.driver, i.driver_info).trim().to_string(),
                }
            })
            .collect()
    }
    #[cfg(not(feature = "wgpu"))]
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_backends() {
        assert_eq!(canonical("WGPU"), Some("gpu"));
        assert_eq!(canonical("flex"), Some("cpu"));
        assert_eq!(canonical("hip"), None);
        assert_eq!(canonical("NVRTC"), Some("cuda"));
        assert_eq!(canonical("tpu"), None);
        assert_eq!(names()[0], "cpu");
    }

    #[test]
    fn missing_backends_say_how_to_build_them() {
        if !cfg!(feature = "cuda") {
            let e = device("cuda").unwrap_err().to_string();
            assert!(
                e.contains("not available in this build") && e.contains("--features cuda"),
                "{e}"
            );
        }
        if !cfg!(feature = "wgpu") {
            let e = device("gpu").unwrap_err().to_string();
            assert!(e.contains("--features gpu"), "{e}");
            assert!(adapters().is_empty());
        }
    }
}
