//! `neuvis serve`: the explorer's web server.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// Options of `neuvis serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Models to serve (.nrvi), e.g. an IR and a DVR model of the same data.
    #[arg(required = true)]
    pub models: Vec<PathBuf>,
    /// Ground-truth collection of a model (repeat once per model, in the same order) for the
    /// reference and difference views and per-frame PSNR.
    #[arg(long)]
    pub reference: Vec<PathBuf>,
    /// Address to bind (loopback by default; anything else exposes the server to the network).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Frame cache budget in MB (10⁶ bytes, as every `--…-mb` option; encoded PNGs).
    #[arg(long, default_value_t = 256)]
    pub cache_mb: usize,
    /// ΔE*uv at the top (red) of the difference view's colour scale (`neuvis eval`'s scale).
    #[arg(value_parser = crate::num::finite_f32, long, default_value_t = neuvis_metrics::DEFAULT_MAX_DELTA_E)]
    pub max_delta_e: f32,
    /// Decodes running at once (default: the number of cores).
    #[arg(long)]
    pub max_decodes: Option<usize>,
    /// Do not prefetch neighbouring frames.
    #[arg(long)]
    pub no_prefetch: bool,
    #[command(flatten)]
    pub device: neuvis_cli::flags::DeviceArg,
}

/// Runs the server until Ctrl-C.
pub fn run(a: &ServeArgs) -> Result<()> {
    let mut opts = neuvis_explorer::Options {
        cache_bytes: a.cache_mb.saturating_mul(1_000_000),
        max_delta_e: a.max_delta_e,
        prefetch: !a.no_prefetch,
        ..Default::default()
    };
    if let Some(n) = a.max_decodes {
        opts.max_decodes = n;
    }
    let device = neuvis_nn::device::device(&a.device)?;
    if neuvis_nn::device::canonical(&a.device) != Some("cpu") {
        opts.decoder = neuvis_explorer::DecoderFactory(std::sync::Arc::new(move |f: &neuvis_codec::Nrvi| {
            neuvis_codec::Decoder::new(f, &device).map_err(|e| e.to_string())
        }));
    }
    let state = neuvis_explorer::Explorer::open(&a.models, &a.reference, opts)?;
    let names: Vec<String> = state
        .models()
        .iter()
        .map(|m| {
            let h = &m.decoder.header;
            format!(
                "serving {} ({}, {}x{}, {} bytes, ratio {:.1})",
                m.name,
                m.mode,
                h.width,
                h.height,
                m.file_bytes,
                h.raw_bytes as f64 / m.file_bytes as f64
            )
        })
        .collect();
    neuvis_explorer::serve_blocking(&a.host, a.port, neuvis_explorer::router(state), |addr| {
        for n in &names {
            println!("{n}");
        }
        println!("open http://{addr}/ (Ctrl-C to stop)");
    })?;
    Ok(())
}
