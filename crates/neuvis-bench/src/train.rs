//! `neuvis bench train`: milliseconds per NeRVI training step in neuvis against the same network,
//! loss and optimizer in PyTorch, in the same run.

use crate::machine::{cuda_name, gpu_name};
use crate::table::Table;
use anyhow::Result;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `neuvis bench train`.
#[derive(Args, Debug)]
pub struct TrainBenchArgs {
    /// Image edge length.
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// MLP width c1.
    #[arg(long, default_value_t = 128)]
    pub c1: usize,
    /// Channels at the start grid C0.
    #[arg(long, default_value_t = 256)]
    pub c0: usize,
    /// First upscale block channels c2.
    #[arg(long, default_value_t = 256)]
    pub c2: usize,
    /// Images per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Start grid of at least N×N pixels (as `compress --start-grid`; 0: Table 1's plan).
    #[arg(long, default_value_t = 0)]
    pub start_grid: usize,
    /// Timed steps (after 2 warm-up steps).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// The PyTorch baseline script (default: bench/torch_train.py of the repository, found from
    /// the working directory or the binary's location).
    #[arg(long, default_value = "bench/torch_train.py")]
    pub script: PathBuf,
    /// Python with torch (Debian python3-torch).
    #[arg(long, default_value = "/usr/bin/python3")]
    pub python: String,
    /// Skip the PyTorch baseline.
    #[arg(long)]
    pub no_torch: bool,
    #[command(flatten)]
    pub device: neuvis_cli::flags::DeviceArg,
}

pub(crate) fn train_bench(a: &TrainBenchArgs) -> Result<()> {
    use burn::optim::{AdamConfig, GradientsParams};
    use burn::prelude::Tensor;
    use neuvis_codec::{Arch, NerviNet, NetConfig};
    let plan = match a.start_grid {
        0 => neuvis_codec::Plan::Paper,
        n => neuvis_codec::Plan::Start(n),
    };
    let cfg = NetConfig::for_image_plan(Arch::Nervi, a.size, a.size, a.c1, a.c0, a.c2, plan)?;
    let threads = rayon::current_num_threads();
    // As `compress` trains (the PyTorch script keeps IEEE subnormals; from random weights over a
    // few steps there are none to flush).
    let _ftz = neuvis_nn::denormals::FlushDenormals::for_training();
    let t_open = Instant::now();
    let device = neuvis_nn::device::device(&a.device)?.autodiff();
    let mut net = NerviNet::new(&cfg, 0, &device);
    let mut optim = AdamConfig::new().init();
    let mut rng = neuvis_base::SplitMix64(1);
    let mut rand = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform(0.0, 1.0) as f32).collect() };
    let (b, s) = (a.batch, a.size);
    let x = Tensor::<1>::from_floats(rand(b * cfg.pe_dim()).as_slice(), &device).reshape([b, cfg.pe_dim()]) * 2.0 - 1.0;
    let img = Tensor::<1>::from_floats(rand(b * 3 * s * s).as_slice(), &device).reshape([b, 3, s, s]);
    let mask: Vec<f32> = rand(b * s * s)
        .into_iter()
        .map(|v| if v > 0.5 { 1.0 } else { 0.0 })
        .collect();
    let mask = Tensor::<1>::from_floats(mask.as_slice(), &device).reshape([b, 1, s, s]);
    let mut ms = Vec::new();
    let mut first_ms = 0.0;
    for step in 0..a.steps + 2 {
        let t0 = Instant::now();
        let out = net.forward(x.clone());
        let (l, _) = neuvis_codec::train::loss(out, img.clone(), mask.clone(), Arch::Nervi, 0.7);
        let grads = GradientsParams::from_grads(l.backward(), &net);
        net = optim.step(1e-4, net, grads);
        let _ = l.into_scalar::<f32>();
        if step == 0 {
            first_ms = t0.elapsed().as_secs_f64() * 1e3;
        }
        if step >= 2 {
            ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    // from opening the device to the end of the second step: what a fresh process pays before
    // steps run at speed (kernel compilation and autotuning on a GPU)
    let cold_s = t_open.elapsed().as_secs_f64() - ms.iter().sum::<f64>() / 1e3;
    let ours = neuvis_base::stats::median(&ms);
    let torch = if a.no_torch {
        None
    } else {
        let tmp = tempfile::tempdir()?;
        let job = tmp.path().join("job.json");
        std::fs::write(
            &job,
            serde_json::to_vec(
                &json!({"size": s, "c1": a.c1, "c0": a.c0, "c2": a.c2, "factors": cfg.factors, "h0": cfg.h0, "w0": cfg.w0, "batch": b, "steps": a.steps, "threads": threads, "device": neuvis_nn::device::canonical(&a.device).unwrap_or("cpu")}),
            )?,
        )?;
        crate::machine::run_baseline(&a.python, &a.script, &job, "PyTorch script")?.map(|v| {
            let m: Vec<f64> = v["ms"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default();
            (
                neuvis_base::stats::median(&m),
                format!(
                    "{} {}",
                    v["torch"].as_str().unwrap_or("?"),
                    v["device"].as_str().unwrap_or("cpu")
                ),
                v["params"].as_u64().unwrap_or(0),
                v["first_ms"].as_f64().unwrap_or(f64::NAN),
            )
        })
    };
    let mut table = Table::new(
        "train",
        format!(
            "train-step benchmark: NeRVI c1={} C0={} at {}x{}, c2={}, upscale {:?} to {s}², batch {b}, {} parameters, {threads} threads, median of {} steps",
            a.c1, a.c0, cfg.w0, cfg.h0, a.c2, cfg.factors, cfg.param_count(), a.steps
        ),
        &["framework", "first step ms (cold)", "warm ms/step", "neuvis / PyTorch (warm)"],
    );
    let backend = match neuvis_nn::device::canonical(&a.device) {
        Some("cuda") => format!("cuda, {}", cuda_name()),
        Some("gpu") => format!("wgpu, {}", gpu_name()),
        _ => "flex".to_string(),
    };
    let neuvis = format!("neuvis (burn 0.22.1, {backend})");
    match torch {
        Some((t, ver, params, first)) => {
            table.row(vec![
                neuvis,
                format!("{first_ms:.1}"),
                format!("{ours:.2}"),
                format!("{:.2}", ours / t),
            ]);
            table.row(vec![
                format!("PyTorch {ver} ({params} parameters)"),
                format!("{first:.1}"),
                format!("{t:.2}"),
                "1.00".into(),
            ]);
        }
        None => table.row(vec![neuvis, format!("{first_ms:.1}"), format!("{ours:.2}"), "–".into()]),
    }
    table.note(format!(
        "neuvis cold start (device opened → second step done): {cold_s:.2} s"
    ));
    table.print();
    Ok(())
}
