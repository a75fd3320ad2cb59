//! `neuvis devices`: the compute backends this build has and the GPU adapters the machine offers.

use anyhow::Result;
use clap::Args;

/// Options of `neuvis devices`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  neuvis devices                 # backends compiled in, GPU adapters found
  neuvis devices --json          # the same as JSON
  neuvis devices --probe         # also open the device --device gpu would use")]
pub struct DevicesArgs {
    /// Also open the device `--device gpu` would use and run one small computation on it.
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
            "; build with --features gpu for wgpu"
        }
    )
}

/// Runs `neuvis devices`.
pub fn run(a: &DevicesArgs) -> Result<()> {
    let names = neuvis_nn::device::names();
    let adapters = neuvis_nn::device::adapters();
    let cache = neuvis_nn::device::kernel_cache();
    let probe = if a.probe && names.contains(&"gpu") {
        Some(probe_gpu())
    } else {
        None
    };
    if crate::json_mode() {
        let v = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "backends": names,
            "adapters": adapters.iter().map(|x| serde_json::json!({
                "name": x.name, "backend": x.backend, "kind": x.kind, "driver": x.driver,
            })).collect::<Vec<_>>(),
            "kernel_cache": cache.as_ref().map(|d| d.display().to_string()),
            "probe": probe.as_ref().map(|p| match p {
                Ok(ms) => serde_json::json!({"ok": true, "ms": ms}),
                Err(e) => serde_json::json!({"ok": false, "error": e}),
            }),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("neuvis {}", env!("CARGO_PKG_VERSION"));
    println!("compute backends in this build (--device): {}", names.join(", "));
    if !names.contains(&"gpu") {
        println!(
            "GPU: not in this build; `cargo build --release -p neuvis --features gpu` adds wgpu (Vulkan, Metal, DX12)"
        );
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
    Ok(())
}

/// Opens `--device gpu`, computes a small matrix product there and checks it against the CPU.
fn probe_gpu() -> std::result::Result<f64, String> {
    use burn::prelude::*;
    let t0 = std::time::Instant::now();
    let dev = neuvis_nn::device::device("gpu").map_err(|e| e.to_string())?;
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
