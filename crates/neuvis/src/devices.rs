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
    let r = neuvis_nn::report::DevicesReport::gather(a.probe);
    if crate::json_mode() {
        println!("{}", serde_json::to_string_pretty(&r.json())?);
        return Ok(());
    }
    let (names, adapters, cache, cuda) = (&r.backends, &r.adapters, &r.kernel_cache, &r.cuda);
    let (probe, cuda_probe, nvrtc_test, nothing_probed) = (&r.probe, &r.cuda_probe, &r.nvrtc_test, &r.probe_skipped);
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
