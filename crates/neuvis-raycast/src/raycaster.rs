//! One raycaster over either engine: the CPU [`Engine`] or, in builds with the `gpu` feature,
//! the [`GpuEngine`](crate::gpu::GpuEngine), chosen by a [`RenderDevice`]. The orbit, `raycast
//! render`, the raycast page and the benchmark open a [`Raycaster`] and need not know which.

use crate::engine::{Budget, Engine, FrameStats, Method, RenderOptions};
use crate::error::Result;
use crate::store::Store;
use neuvis_base::camera::Camera;
use neuvis_base::lru::LruStats;
use neuvis_base::named::Named;
use neuvis_base::MaskedImage;
use std::ops::ControlFlow;
use std::path::Path;

/// Where frames are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenderDevice {
    /// The CPU engine (rayon threads).
    #[default]
    Cpu,
    /// wgpu compute shaders on the machine's GPU (feature `gpu`).
    Gpu,
}

impl Named for RenderDevice {
    const ALL: &'static [RenderDevice] = &[RenderDevice::Cpu, RenderDevice::Gpu];

    fn name_of(self) -> &'static str {
        match self {
            RenderDevice::Cpu => "cpu",
            RenderDevice::Gpu => "gpu",
        }
    }
}

/// What the GPU engine reports about its adapter (a stand-in without the `gpu` feature).
#[cfg(feature = "gpu")]
pub use crate::gpu::GpuInfo;
/// What the GPU engine reports about its adapter (a stand-in without the `gpu` feature).
#[cfg(not(feature = "gpu"))]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GpuInfo {}

#[cfg(not(feature = "gpu"))]
impl std::fmt::Display for GpuInfo {
    /// The stand-in: a build without the GPU engine never reports one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GPU (this build has no GPU engine)")
    }
}

/// The CPU or the GPU engine, bound to a store.
pub enum Raycaster {
    /// The CPU engine.
    Cpu(Box<Engine>),
    /// The GPU engine.
    #[cfg(feature = "gpu")]
    Gpu(Box<crate::gpu::GpuEngine>),
}

impl Raycaster {
    /// Opens `path` for `method` on `device` within `budget` for frames of `width × height`
    /// (see [`Engine::open`]; on the GPU the budget bounds the GPU's buffers and the brick atlas).
    ///
    /// # Errors
    /// As the engine's `open`; [`RenderDevice::Gpu`] in a build without the `gpu` feature.
    pub fn open(
        path: &Path,
        method: Method,
        budget: impl Into<Budget>,
        width: usize,
        height: usize,
        device: RenderDevice,
    ) -> Result<Raycaster> {
        match device {
            RenderDevice::Cpu => Ok(Raycaster::Cpu(Box::new(Engine::open(
                path, method, budget, width, height,
            )?))),
            #[cfg(feature = "gpu")]
            RenderDevice::Gpu => Ok(Raycaster::Gpu(Box::new(crate::gpu::GpuEngine::open(
                path, method, budget, width, height,
            )?))),
            #[cfg(not(feature = "gpu"))]
            RenderDevice::Gpu => Err(crate::error::RaycastError::Settings(
                "this neuvis was built without the GPU raycaster (the `gpu` feature, in the default build)".into(),
            )),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        match self {
            Raycaster::Cpu(e) => e.store(),
            #[cfg(feature = "gpu")]
            Raycaster::Gpu(e) => e.store(),
        }
    }

    /// The orbit camera at (θ, φ).
    pub fn camera(&self, opts: &RenderOptions, theta: f32, phi: f32) -> Camera {
        match self {
            Raycaster::Cpu(e) => e.camera(opts, theta, phi),
            #[cfg(feature = "gpu")]
            Raycaster::Gpu(e) => e.camera(opts, theta, phi),
        }
    }

    /// Renders a view progressively; `on_frame(image, pass)` sees each pass's image.
    pub fn render(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        on_frame: impl FnMut(&MaskedImage, usize),
    ) -> Result<(MaskedImage, FrameStats)> {
        match self {
            Raycaster::Cpu(e) => e.render(cam, opts, on_frame),
            #[cfg(feature = "gpu")]
            Raycaster::Gpu(e) => e.render(cam, opts, on_frame),
        }
    }

    /// Renders a view to its converged image without handing out the progressive ones (on the
    /// GPU nothing is read back between passes): what a frame-rate measurement times.
    pub fn render_converged(&self, cam: &Camera, opts: &RenderOptions) -> Result<(MaskedImage, FrameStats)> {
        match self {
            Raycaster::Cpu(e) => e.render(cam, opts, |_, _| {}),
            #[cfg(feature = "gpu")]
            Raycaster::Gpu(e) => e.render_converged(cam, opts),
        }
    }

    /// [`Raycaster::render`] that stops after any pass for which `on_frame` breaks.
    pub fn render_until(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        on_frame: impl FnMut(&MaskedImage, usize) -> ControlFlow<()>,
    ) -> Result<(MaskedImage, FrameStats)> {
        match self {
            Raycaster::Cpu(e) => e.render_until(cam, opts, on_frame),
            #[cfg(feature = "gpu")]
            Raycaster::Gpu(e) => e.render_until(cam, opts, on_frame),
        }
    }

    /// Loads the bricks a view would need, without shading.
    pub fn prefetch(&self, cam: &Camera, opts: &RenderOptions) -> Result<FrameStats> {
        match self {
            Raycaster::Cpu(e) => e.prefetch(cam, opts),
            #[cfg(feature = "gpu")]
            Raycaster::Gpu(e) => e.prefetch(cam, opts),
        }
    }

    /// Bytes of bricks held now, their budget, and the counters (the CPU's cache or the GPU's
    /// atlas).
    pub fn cache_state(&self) -> (usize, Budget, LruStats) {
        match self {
            Raycaster::Cpu(e) => e.cache_state(),
            #[cfg(feature = "gpu")]
            Raycaster::Gpu(e) => e.cache_state(),
        }
    }

    /// Bytes counted against the budget besides the bricks.
    pub fn resident_fixed(&self) -> usize {
        match self {
            Raycaster::Cpu(e) => e.resident_fixed(),
            #[cfg(feature = "gpu")]
            Raycaster::Gpu(e) => e.resident_fixed(),
        }
    }

    /// The method.
    pub fn method(&self) -> Method {
        match self {
            Raycaster::Cpu(e) => e.method(),
            #[cfg(feature = "gpu")]
            Raycaster::Gpu(e) => e.method(),
        }
    }

    /// The GPU's adapter and allocations (`None` on the CPU).
    pub fn gpu_info(&self) -> Option<&GpuInfo> {
        match self {
            Raycaster::Cpu(_) => None,
            #[cfg(feature = "gpu")]
            Raycaster::Gpu(e) => Some(e.info()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_have_one_name_each() {
        assert_eq!(RenderDevice::from_name("gpu"), Some(RenderDevice::Gpu));
        assert_eq!(RenderDevice::from_name("cpu"), Some(RenderDevice::Cpu));
        assert_eq!(RenderDevice::from_name("cuda"), None);
        assert_eq!(RenderDevice::default(), RenderDevice::Cpu);
    }
}
