//! What `neuvis devices` reports: the compute backends of this build, the GPU adapters wgpu finds,
//! the kernel cache, what the CUDA backend needs at run time, and (with `probe`) a small
//! computation on each device, checked against the CPU. [`DevicesReport::json`] is the
//! `--json` object (its schema: `crates/neuvis/schemas/devices.schema.json`).

use crate::cuda;
use crate::device::{self, Adapter};

/// A probe's outcome: milliseconds to open the device and compute, or why it failed.
pub type Probe = Result<f64, String>;

/// Everything `neuvis devices` says.
#[derive(Debug, Clone)]
pub struct DevicesReport {
    /// The `--device` names of this build (`cpu`, `gpu`, `cuda`).
    pub backends: Vec<&'static str>,
    /// The adapters wgpu finds.
    pub adapters: Vec<Adapter>,
    /// The persistent kernel cache (compiled kernels and autotune results).
    pub kernel_cache: Option<std::path::PathBuf>,
    /// `--device gpu` probed.
    pub probe: Option<Probe>,
    /// The CUDA backend's run time pieces, in builds that have it.
    pub cuda: Option<cuda::Report>,
    /// `--device cuda` probed.
    pub cuda_probe: Option<Probe>,
    /// NVRTC compiling a test kernel with the headers found (PTX bytes), where both were found.
    pub nvrtc_test: Option<Result<usize, String>>,
    /// With `probe`: why nothing was computed, when nothing was.
    pub probe_skipped: Option<String>,
}

impl DevicesReport {
    /// Looks at the machine; with `probe`, also computes on every device found.
    pub fn gather(probe: bool) -> DevicesReport {
        let backends = device::names();
        let adapters = device::adapters();
        let gpu_probe = (probe && backends.contains(&"gpu") && !adapters.is_empty()).then(|| probe_device("gpu"));
        let cuda = backends.contains(&"cuda").then(cuda::probe);
        let cuda_probe = match &cuda {
            Some(r) if probe && r.ready() => Some(probe_device("cuda")),
            _ => None,
        };
        // NVRTC and the headers need no GPU: the probe compiles a test kernel with them wherever
        // both were found (PTX for compute capability 9.0)
        let nvrtc_test = match &cuda {
            Some(r) if probe && r.pieces.iter().skip(1).all(|p| p.found.is_ok()) => {
                Some(cuda::compile_test_kernel("compute_90"))
            }
            _ => None,
        };
        let probe_skipped = (probe && gpu_probe.is_none() && cuda_probe.is_none() && nvrtc_test.is_none())
            .then(|| nothing_to_probe(&backends, adapters.is_empty(), cuda.as_ref()));
        DevicesReport {
            backends,
            adapters,
            kernel_cache: device::kernel_cache(),
            probe: gpu_probe,
            cuda,
            cuda_probe,
            nvrtc_test,
            probe_skipped,
        }
    }

    /// The `--json` object.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "probe_skipped": self.probe_skipped,
            "backends": self.backends,
            "adapters": self.adapters.iter().map(|x| serde_json::json!({
                "name": x.name, "backend": x.backend, "kind": x.kind, "driver": x.driver,
            })).collect::<Vec<_>>(),
            "kernel_cache": self.kernel_cache.as_ref().map(|d| d.display().to_string()),
            "probe": self.probe.as_ref().map(probe_json),
            "cuda": self.cuda.as_ref().map(|r| serde_json::json!({
                "ready": r.ready(),
                "missing": r.missing(),
                "pieces": r.pieces.iter().map(|p| serde_json::json!({
                    "what": p.what,
                    "found": p.found.as_ref().ok(),
                    "how_to_get": p.found.as_ref().err(),
                })).collect::<Vec<_>>(),
                "devices": r.devices.iter().map(|d| serde_json::json!({
                    "name": d.name,
                    "compute_capability": format!("{}.{}", d.capability.0, d.capability.1),
                })).collect::<Vec<_>>(),
                "probe": self.cuda_probe.as_ref().map(probe_json),
                "nvrtc_test": self.nvrtc_test.as_ref().map(|t| match t {
                    Ok(n) => serde_json::json!({"ok": true, "ptx_bytes": n}),
                    Err(e) => serde_json::json!({"ok": false, "error": e}),
                }),
            })),
        })
    }
}

/// A probe's outcome as JSON.
fn probe_json(p: &Probe) -> serde_json::Value {
    match p {
        Ok(ms) => serde_json::json!({"ok": true, "ms": ms}),
        Err(e) => serde_json::json!({"ok": false, "error": e}),
    }
}

/// Why a probe found nothing to compute on.
fn nothing_to_probe(names: &[&str], no_adapter: bool, cuda: Option<&cuda::Report>) -> String {
    let wgpu = if !names.contains(&"gpu") {
        "this build has no wgpu backend"
    } else if no_adapter {
        "wgpu found no GPU adapter"
    } else {
        "wgpu was not probed"
    };
    let cuda = match cuda {
        None => "no CUDA backend".to_string(),
        Some(r) => match r.missing() {
            Some(m) => format!("CUDA cannot open ({m})"),
            None => "CUDA was not probed".to_string(),
        },
    };
    format!("{wgpu} and {cuda}; only --device cpu runs here")
}

/// Opens `--device NAME`, computes a 64×64 matrix product there and checks its sum against the
/// CPU's (f64); returns the milliseconds it took, the opening included.
pub fn probe_device(name: &str) -> Probe {
    use burn::prelude::*;
    let t0 = std::time::Instant::now();
    let dev = device::device(name).map_err(|e| e.to_string())?;
    let a: Vec<f32> = (0..64 * 64).map(|i| ((i % 17) as f32 - 8.0) / 8.0).collect();
    let t = Tensor::<1>::from_floats(a.as_slice(), &dev).reshape([64, 64]);
    let s: f32 = t.clone().matmul(t).sum().into_scalar();
    let mut want = 0f64;
    for i in 0..64 {
        for j in 0..64 {
            for k in 0..64 {
                want += a[i * 64 + k] as f64 * a[k * 64 + j] as f64;
            }
        }
    }
    if ((s as f64) - want).abs() > 1e-3 * want.abs().max(1.0) {
        return Err(format!("the GPU computed {s}, the CPU {want}"));
    }
    Ok(t0.elapsed().as_secs_f64() * 1e3)
}

impl std::fmt::Display for DevicesReport {
    /// `neuvis devices`'s text: the backends, CUDA's pieces, the adapters, the kernel cache and
    /// the probes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (names, adapters, cache, cuda) = (&self.backends, &self.adapters, &self.kernel_cache, &self.cuda);
        let (probe, cuda_probe, nvrtc_test, nothing_probed) =
            (&self.probe, &self.cuda_probe, &self.nvrtc_test, &self.probe_skipped);
        writeln!(f, "neuvis {}", env!("CARGO_PKG_VERSION"))?;
        writeln!(f, "compute backends in this build (--device): {}", names.join(", "))?;
        if let Some(r) = &cuda {
            writeln!(f, "CUDA (--device cuda; kernels compiled by NVRTC at run time):")?;
            for p in &r.pieces {
                match &p.found {
                    Ok(d) => writeln!(f, "  {}: {d}", p.what)?,
                    Err(e) => writeln!(f, "  {}: MISSING: {e}", p.what)?,
                }
            }
            match &nvrtc_test {
                Some(Ok(n)) => writeln!(
                    f,
                    "  NVRTC test: compiled a kernel with these headers ({n} bytes of PTX for compute_90)"
                )?,
                Some(Err(e)) => writeln!(f, "  NVRTC test: FAILED: {e}")?,
                None => {}
            }
            for (i, d) in r.devices.iter().enumerate() {
                let (ma, mi) = d.capability;
                writeln!(f, "  device {i}: {} (compute capability {ma}.{mi})", d.name)?;
            }
            match (r.missing(), &cuda_probe) {
                (Some(m), _) => writeln!(f, "  --device cuda cannot open: {m}")?,
                (None, Some(Ok(ms))) => writeln!(f, "  probe: --device cuda opened and computed in {ms:.0} ms")?,
                (None, Some(Err(e))) => writeln!(f, "  probe: {e}")?,
                (None, None) => writeln!(f, "  ready (`neuvis devices --probe` computes there)")?,
            }
        }
        if !names.contains(&"gpu") {
            writeln!(
                f,
                "wgpu: not in this build (it is in the default build; `--features gpu` where default features are off)"
            )?;
            if let Some(why) = &nothing_probed {
                writeln!(f, "probe: nothing computed: {why}")?;
            }
            return Ok(());
        }
        if adapters.is_empty() {
            writeln!(f,
                "GPU adapters: none found (Linux: install a Vulkan driver, e.g. NVIDIA's or Mesa's mesa-vulkan-drivers)"
            )?;
        } else {
            writeln!(
                f,
                "GPU adapters wgpu finds (--device gpu takes the best: discrete, then integrated, then software):"
            )?;
            writeln!(f, "| # | name | API | kind | driver |")?;
            writeln!(f, "|---:|---|---|---|---|")?;
            for (i, x) in adapters.iter().enumerate() {
                writeln!(f, "| {i} | {} | {} | {} | {} |", x.name, x.backend, x.kind, x.driver)?;
            }
        }
        if let Some(dir) = &cache {
            writeln!(f,
                "kernel cache (compiled kernels and autotune results, kept between runs; NEUVIS_KERNEL_CACHE sets it): {}",
                dir.display()
            )?;
        }
        match probe {
            Some(Ok(ms)) => writeln!(f, "probe: --device gpu opened and computed in {ms:.0} ms")?,
            Some(Err(e)) => writeln!(f, "probe: {e}")?,
            None => {}
        }
        if let Some(why) = &nothing_probed {
            writeln!(f, "probe: nothing computed: {why}")?;
        }
        Ok(())
    }
}
