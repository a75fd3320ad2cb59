//! `neuvis devices`: the compute backends this build has and the GPU adapters the machine offers.

use anyhow::Result;
use clap::Args;

/// Options of `neuvis devices`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  neuvis devices                 # backends compiled in, GPU adapters found
  neuvis devices --json          # the same as JSON
  neuvis devices --probe         # also compute on every GPU device found (wgpu, CUDA)")]
pub struct DevicesArgs {
    /// Also open `--device gpu` and `--device cuda` where present and check a small computation
    /// there against the CPU.
    #[arg(long)]
    pub probe: bool,
}

/// The backends compiled into this binary, as `--version` lists them.
pub fn backends_line() -> String {
    let names = neuvis_nn::device::names();
    format!(
        "{} (compute backends: {}{})",
        env!("CARGO_PKG_VERSION"),
        names.join(", "),
        if names.contains(&"gpu") {
            ""
        } else {
            "; the default build adds wgpu and cuda"
        }
    )
}

/// Runs `neuvis devices`.
pub fn run(a: &DevicesArgs) -> Result<()> {
    let names = neuvis_nn::device::names();
    let adapters = neuvis_nn::device::adapters();
    let cache = neuvis_nn::device::kernel_cache();
    let probe = if a.probe && names.contains(&"gpu") && !adapters.is_empty() {
        Some(probe_gpu("gpu"))
    } else {
        None
    };
    let cuda = cuda_report();
    let cuda_probe = match &cuda {
        Some(r) if a.probe && r.ready() => Some(probe_gpu("cuda")),
        _ => None,
    };
    // NVRTC and the headers need no GPU: --probe compiles a test kernel with them wherever both
    // were found (PTX for compute capability 9.0).
    let nvrtc_test = match &cuda {
        Some(r) if a.probe && r.pieces.iter().skip(1).all(|p| p.found.is_ok()) => {
            Some(neuvis_nn::cuda::compile_test_kernel("compute_90"))
        }
        _ => None,
    };
    // --probe with nothing to compute on says so, rather than printing what `devices` prints
    let nothing_probed = (a.probe && probe.is_none() && cuda_probe.is_none() && nvrtc_test.is_none())
        .then(|| nothing_to_probe(&names, adapters.is_empty(), cuda.as_ref()));
    if crate::json_mode() {
        let v = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "probe_skipped": nothing_probed,
            "backends": names,
            "adapters": adapters.iter().map(|x| serde_json::json!({
                "name": x.name, "backend": x.backend, "kind": x.kind, "driver": x.driver,
            })).collect::<Vec<_>>(),
            "kernel_cache": cache.as_ref().map(|d| d.display().to_string()),
            "probe": probe.as_ref().map(probe_json),
            "cuda": cuda.as_ref().map(|r| serde_json::json!({
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
                "probe": cuda_probe.as_ref().map(probe_json),
                "nvrtc_test": nvrtc_test.as_ref().map(|t| match t {
                    Ok(n) => serde_json::json!({"ok": true, "ptx_bytes": n}),
                    Err(e) => serde_json::json!({"ok": false, "error": e}),
                }),
            })),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("neuvis {}", env!("CARGO_PKG_VERSION"));
    println!("compute backends in this build (--device): {}", names.join(", "));
    if let Some(r) = &cuda {
        println!("CUDA (--device cuda; kernels compiled by NVRTC at run time):");
        for p in &r.pieces {
            match &p.found {
                Ok(d) => println!("  {}: {d}", p.what),
                Err(e) => println!("  {}: MISSING: {e}", p.what),
            }
        }
        match &nvrtc_test {
            Some(Ok(n)) => {
                println!("  NVRTC test: compiled a kernel with these headers ({n} bytes of PTX for compute_90)")
            }
            Some(Err(e)) => println!("  NVRTC test: FAILED: {e}"),
            None => {}
        }
        for (i, d) in r.devices.iter().enumerate() {
            let (ma, mi) = d.capability;
            println!("  device {i}: {} (compute capability {ma}.{mi})", d.name);
        }
        match (r.missing(), &cuda_probe) {
            (Some(m), _) => println!("  --device cuda cannot open: {m}"),
            (None, Some(Ok(ms))) => println!("  probe: --device cuda opened and computed in {ms:.0} ms"),
            (None, Some(Err(e))) => println!("  probe: {e}"),
            (None, None) => println!("  ready (`neuvis devices --probe` computes there)"),
        }
    }
    if !names.contains(&"gpu") {
        println!(
            "wgpu: not in this build (it is in the default build; `--features gpu` where default features are off)"
        );
        if let Some(why) = &nothing_probed {
            println!("probe: nothing computed: {why}");
        }
        return Ok(());
    }
    if adapters.is_empty() {
        println!(
            "GPU adapters: none found (Linux: install a Vulkan driver, e.g. NVIDIA's or Mesa's mesa-vulkan-drivers)"
        );
    } else {
        println!("GPU adapters wgpu finds (--device gpu takes the best: discrete, then integrated, then software):");
        println!("| # | name | API | kind | driver |");
        println!("|---:|---|---|---|---|");
        for (i, x) in adapters.iter().enumerate() {
            println!("| {i} | {} | {} | {} | {} |", x.name, x.backend, x.kind, x.driver);
        }
    }
    if let Some(dir) = &cache {
        println!(
            "kernel cache (compiled kernels and autotune results, kept between runs; NEUVIS_KERNEL_CACHE sets it): {}",
            dir.display()
        );
    }
    match probe {
        Some(Ok(ms)) => println!("probe: --device gpu opened and computed in {ms:.0} ms"),
        Some(Err(e)) => println!("probe: {e}"),
        None => {}
    }
    if let Some(why) = &nothing_probed {
        println!("probe: nothing computed: {why}");
    }
    Ok(())
}

/// Why `--probe` found nothing to compute on.
fn nothing_to_probe(names: &[&str], no_adapter: bool, cuda: Option<&neuvis_nn::cuda::Report>) -> String {
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

/// What the CUDA backend needs at run time, in builds that have it.
fn cuda_report() -> Option<neuvis_nn::cuda::Report> {
    neuvis_nn::device::names()
        .contains(&"cuda")
        .then(neuvis_nn::cuda::probe)
}

/// A probe's outcome as JSON.
fn probe_json(p: &std::result::Result<f64, String>) -> serde_json::Value {
    match p {
        Ok(ms) => serde_json::json!({"ok": true, "ms": ms}),
        Err(e) => serde_json::json!({"ok": false, "error": e}),
    }
}

/// Opens `--device NAME`, computes a small matrix product there and checks it against the CPU.
fn probe_gpu(name: &str) -> std::result::Result<f64, String> {
    use burn::prelude::*;
    let t0 = std::time::Instant::now();
    let dev = neuvis_nn::device::device(name).map_err(|e| e.to_string())?;
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
