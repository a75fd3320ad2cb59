//! `neuvis bench`: measured performance against named baselines, printed as a table.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use neuvis_render::{Mode, RenderSettings, Renderer, TransferFunction};
use neuvis_volume::{Procedural, ScalarField};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::bench_table::Table;

/// Benchmarks.
#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Milliseconds per frame of the IR and DVR raycaster next to VTK's CPU ray caster
    /// (vtkFixedPointVolumeRayCastMapper), same volume, cameras, transfer function and step.
    Render(Box<RenderBenchArgs>),
    /// Images per second of the metrics on a rendered collection, next to the Python reference
    /// implementations (scikit-image, pytorch-msssim, flip-evaluator) on the same images.
    Metrics(MetricsBenchArgs),
    /// Milliseconds per NeRVI training step in neuvis (burn, flex CPU backend) next to the same
    /// network, loss and optimizer in PyTorch on the CPU with the same thread count.
    Train(TrainBenchArgs),
    /// Decoded images per second at a given size (target: ≥ 100 images/s at 256² on 2 cores).
    Decode(DecodeBenchArgs),
    /// Explorer frame latency (cold, cached) and frames/s while animating, over real HTTP.
    Serve(crate::bench_serve::ServeBenchArgs),
    /// Speculative isosurface raycasting over an orbit: frame time, time to first and converged
    /// frame, peak RSS (one process per method), store size, PSNR/SSIM against `full`.
    Raycast(crate::bench_raycast::RaycastBenchArgs),
    /// A sharded render (N tasks + merge, local processes or a Slurm job array) against the
    /// single-process render: wall time, merge cost, byte-identical result.
    Shard(crate::bench_shard::ShardBenchArgs),
    /// Images/s of the streaming loader (PNG decode + batch assembly) against the training step on
    /// a device, and the step with streamed against in-memory images.
    Loader(crate::bench_loader::LoaderBenchArgs),
}

/// Options of `neuvis bench decode`.
#[derive(Args, Debug)]
pub struct DecodeBenchArgs {
    /// Image edge length.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Network width s (c1 = c2 = s, C0 = ⌈s/2⌉, 8×8 start); default: the width `--ratio 500`
    /// picks for 800 views.
    #[arg(long)]
    pub width: Option<usize>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Images to decode.
    #[arg(long, default_value_t = 160)]
    pub images: usize,
    /// Also decode with burn's forward pass on this device (gpu or cuda), cold (first batch:
    /// kernel compilation) and warm.
    #[arg(long)]
    pub device: Option<String>,
}

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
    /// Compute device: cpu, gpu (wgpu) or cuda (PyTorch then runs on CUDA, when it sees a
    /// GPU).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Options of `neuvis bench metrics`.
#[derive(Args, Debug)]
pub struct MetricsBenchArgs {
    /// Image edge length.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Angle step: 9° gives the paper's 800 views.
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = 9.0)]
    pub angle_step: f64,
    /// Images given to the Python baseline (it is slow).
    #[arg(long, default_value_t = 20)]
    pub reference_images: usize,
    /// The Python baseline script (default: bench/metrics_ref.py of the repository, found from
    /// the working directory or the binary's location).
    #[arg(long, default_value = "bench/metrics_ref.py")]
    pub script: PathBuf,
    /// Python with scikit-image, torch + pytorch-msssim and flip-evaluator.
    #[arg(long, default_value = "/usr/bin/python3")]
    pub python: String,
    /// Skip the Python baseline.
    #[arg(long)]
    pub no_reference: bool,
}

/// Options of `neuvis bench render`.
#[derive(Args, Debug)]
pub struct RenderBenchArgs {
    /// The volume: a procedural name (at t = 0; `--dims` defaults to 256 here) or a file, read
    /// with the same flags as `render` (--raw-dims, --spacing, --array, …).
    #[arg(long, default_value = "tornado")]
    pub volume: String,
    /// Seed of seeded procedural fields.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How to read the volume.
    #[command(flatten)]
    pub vol: crate::volume_args::VolumeOptions,
    /// Which step of a series.
    #[command(flatten)]
    pub step: crate::volume_args::StepArg,
    /// Isovalue of the IR mode (default: 40 % into the value range).
    #[arg(value_parser = crate::num::finite_f32, long, allow_negative_numbers = true)]
    pub iso: Option<f32>,
    /// Image edge length.
    #[arg(long, default_value_t = 512)]
    pub size: usize,
    /// Number of views (an orbit at θ = 60° plus the poles' neighbourhood).
    #[arg(long, default_value_t = 8)]
    pub views: usize,
    /// Empty-space-skipping brick edge in cells.
    #[arg(long, default_value_t = 8)]
    pub brick: usize,
    /// The VTK baseline script (default: bench/vtk_render.py of the repository, found from the
    /// working directory or the binary's location).
    #[arg(long, default_value = "bench/vtk_render.py")]
    pub vtk_script: PathBuf,
    /// Python interpreter with the `vtk` package.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Skip the VTK baseline.
    #[arg(long)]
    pub no_vtk: bool,
    /// Save the first view of each renderer (ours and VTK's) as PNGs in this folder.
    #[arg(long)]
    pub save_png: Option<PathBuf>,
}

/// Runs a benchmark.
pub fn run(b: &BenchCmd) -> Result<()> {
    match b {
        BenchCmd::Render(a) => render_bench(a),
        BenchCmd::Metrics(a) => metrics_bench(a),
        BenchCmd::Train(a) => train_bench(a),
        BenchCmd::Decode(a) => decode_bench(a),
        BenchCmd::Serve(a) => crate::bench_serve::run(a),
        BenchCmd::Raycast(a) => crate::bench_raycast::run(a),
        BenchCmd::Shard(a) => crate::bench_shard::run(a),
        BenchCmd::Loader(a) => crate::bench_loader::run(a),
    }
}

fn cameras(n: usize) -> Vec<(f32, f32)> {
    (0..n)
        .map(|i| (if i % 2 == 0 { 60.0 } else { 100.0 }, 360.0 * i as f32 / n as f32))
        .collect()
}

fn render_bench(a: &RenderBenchArgs) -> Result<()> {
    if a.size < 8 || a.views == 0 {
        bail!("--size must be at least 8 and --views positive");
    }
    let threads = rayon::current_num_threads();
    let mut opts = a.vol.clone();
    if opts.dims.is_none() && Procedural::from_name(&a.volume, a.seed).is_some() {
        opts.dims = Some("256".into());
    }
    say!("reading {}…", a.volume);
    let field = opts.read_one(&a.volume, a.seed, &a.step)?;
    let (lo, hi) = field.range();
    let iso = a.iso.unwrap_or(lo + 0.4 * (hi - lo));
    let tf = TransferFunction::preset("cool-to-warm", (lo, hi), 0.6)
        .context("preset")?
        .with_opacity_spec("0:0,0.15:0,0.5:0.35,1:0.9", (lo, hi))?;
    let modes = [
        (
            "iso",
            Mode::Iso {
                value: iso,
                color: [0.85, 0.65, 0.45],
            },
        ),
        (
            "dvr",
            Mode::Dvr {
                tf: tf.clone(),
                unit_distance: None,
                shade: false,
            },
        ),
    ];
    let cams = cameras(a.views);
    let tmp = tempfile::tempdir()?;
    let raw = tmp.path().join("volume.f32");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&raw)?);
        for v in field.data() {
            f.write_all(&v.to_le_bytes())?;
        }
    }
    if let Some(d) = &a.save_png {
        std::fs::create_dir_all(d)?;
    }
    let mut rows = Vec::new();
    for (name, mode) in modes {
        let mut settings = RenderSettings::new(a.size, a.size, mode.clone());
        settings.brick = a.brick;
        let t0 = Instant::now();
        let r = Renderer::new(&field, settings.clone())?;
        let setup_ms = t0.elapsed().as_secs_f64() * 1e3;
        let first = r.render(cams[0].0, cams[0].1); // warm-up
        if let Some(d) = &a.save_png {
            first.save_png(&d.join(format!("neuvis_{name}.png")))?;
        }
        let ms: Vec<f64> = cams
            .iter()
            .map(|&(t, p)| {
                let t0 = Instant::now();
                let img = r.render(t, p);
                std::hint::black_box(img);
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let ours = neuvis_base::stats::median(&ms);
        let vtk = if a.no_vtk {
            Ok(None)
        } else {
            run_vtk(a, &field, &r, name, &settings, &raw, &cams, threads, tmp.path())
        };
        rows.push((name, setup_ms, ours, vtk));
    }
    let mut table = Table::new(
        "render",
        format!(
            "render benchmark: {} {} f32, {}² images, {} views, {} threads, step 0.5 voxel, iso {iso}",
            a.volume,
            field.dims().map(|d| d.to_string()).join("×"),
            a.size,
            a.views,
            threads
        ),
        &[
            "mode",
            "neuvis ms/frame (median)",
            "neuvis setup ms",
            "VTK FixedPoint ms/frame (median)",
            "neuvis / VTK",
        ],
    );
    for (name, setup, ours, vtk) in rows {
        let (v, ratio) = match vtk {
            Ok(Some(v)) => (format!("{v:.1}"), format!("{:.2}", ours / v)),
            Ok(None) => ("skipped".into(), "–".into()),
            Err(e) => (format!("failed: {e:#}"), "–".into()),
        };
        table.row(vec![
            name.to_uppercase(),
            format!("{ours:.1}"),
            format!("{setup:.1}"),
            v,
            ratio,
        ]);
    }
    table.print();
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run_vtk(
    a: &RenderBenchArgs,
    field: &ScalarField,
    r: &Renderer,
    name: &str,
    settings: &RenderSettings,
    raw: &std::path::Path,
    cams: &[(f32, f32)],
    threads: usize,
    dir: &std::path::Path,
) -> Result<Option<f64>> {
    let (lo, hi) = field.bounds();
    let focal: Vec<f32> = (0..3).map(|k| 0.5 * (lo[k] + hi[k])).collect();
    let sp = field.spacing();
    let cams_json: Vec<_> = cams
        .iter()
        .map(|&(t, p)| {
            let c = r.camera(t, p);
            json!({"eye": c.eye, "focal": focal, "up": c.up, "fov": c.fov_y_deg})
        })
        .collect();
    let ph = settings.phong;
    let mut job = json!({
        "raw": raw, "dims": field.dims(), "spacing": sp, "origin": field.origin(),
        "size": [settings.width, settings.height], "threads": threads, "mode": name,
        "sample_distance": settings.step * sp[0].min(sp[1]).min(sp[2]),
        "cameras": cams_json, "range": [field.range().0, field.range().1],
        "phong": [ph.ambient, ph.diffuse, ph.specular, ph.shininess],
        "unit_distance": (sp[0] + sp[1] + sp[2]) / 3.0,
    });
    match &settings.mode {
        Mode::Iso { value, color } => {
            job["iso"] = json!(value);
            job["color"] = json!(color);
        }
        Mode::Dvr { tf, shade, .. } => {
            job["tf_color"] = json!(tf.color.iter().map(|(x, c)| [*x, c[0], c[1], c[2]]).collect::<Vec<_>>());
            job["tf_opacity"] = json!(tf.opacity.iter().map(|(x, o)| [*x, *o]).collect::<Vec<_>>());
            job["shade"] = json!(shade);
        }
    }
    let job_path = dir.join(format!("job_{name}.json"));
    std::fs::write(&job_path, serde_json::to_vec(&job)?)?;
    let mut cmd = std::process::Command::new(&a.python);
    cmd.arg(baseline_script(&a.vtk_script)?).arg(&job_path);
    if let Some(d) = &a.save_png {
        cmd.arg("--save-png").arg(d);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {} {}", a.python, a.vtk_script.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "VTK script failed: {}",
            err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message")
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .context("VTK script printed no JSON")?;
    let v: serde_json::Value = serde_json::from_str(line)?;
    let ms: Vec<f64> = v["ms"]
        .as_array()
        .context("no 'ms'")?
        .iter()
        .filter_map(|x| x.as_f64())
        .collect();
    if ms.is_empty() {
        bail!("VTK script reported no frames");
    }
    Ok(Some(neuvis_base::stats::median(&ms)))
}

fn metrics_bench(a: &MetricsBenchArgs) -> Result<()> {
    use neuvis_collection::CinemaDb;
    let tmp = tempfile::tempdir()?;
    let threads = rayon::current_num_threads();
    let mut dbs = Vec::new();
    for (name, iso) in [("a.cdb", "0.17"), ("b.cdb", "0.18")] {
        let out = tmp.path().join(name);
        let args = crate::render::RenderArgs::for_bench(&out, &a.size.to_string(), a.angle_step, iso)?;
        let s = crate::quietly(|| crate::render::run(&args))?;
        say!("rendered {} images of {}² in {:.1} s", s.images, a.size, s.seconds);
        dbs.push(CinemaDb::open(&out)?);
    }
    let (da, db) = (&dbs[0], &dbs[1]);
    let n = da.entries.len();
    // whole evaluation (PNG decoding + all four metrics), parallel over images
    let t0 = Instant::now();
    let scores = neuvis_metrics::eval::evaluate(da, db, |_, _, _| Ok(()))?;
    let eval_s = t0.elapsed().as_secs_f64();
    // per-metric cost on one thread, over the first images
    let k = n.min(40);
    let imgs: Vec<_> = (0..k)
        .map(|i| Ok((da.load(i)?, db.load(i)?)))
        .collect::<Result<Vec<_>>>()?;
    let per = |f: &dyn Fn(&neuvis_base::MaskedImage, &neuvis_base::MaskedImage)| {
        let t0 = Instant::now();
        for (x, y) in &imgs {
            f(x, y);
        }
        t0.elapsed().as_secs_f64() * 1e3 / k as f64
    };
    let ours = [
        (
            "psnr",
            per(&|x, y| drop(std::hint::black_box(neuvis_metrics::psnr(x, y)))),
        ),
        (
            "ssim",
            per(&|x, y| drop(std::hint::black_box(neuvis_metrics::ssim(x, y)))),
        ),
        (
            "ms_ssim",
            per(&|x, y| drop(std::hint::black_box(neuvis_metrics::ms_ssim(x, y)))),
        ),
        (
            "flip",
            per(&|x, y| drop(std::hint::black_box(neuvis_metrics::flip_mean(x, y)))),
        ),
    ];
    let reference: Option<serde_json::Value> = if a.no_reference {
        None
    } else {
        let list = tmp.path().join("pairs.txt");
        let text: String = (0..n.min(a.reference_images))
            .map(|i| {
                format!(
                    "{} {}\n",
                    da.dir.join(&da.entries[i].file).display(),
                    db.dir.join(&db.entries[i].file).display()
                )
            })
            .collect();
        std::fs::write(&list, text)?;
        match std::process::Command::new(&a.python)
            .arg(baseline_script(&a.script)?)
            .arg(&list)
            .output()
        {
            Ok(o) if o.status.success() => {
                let t = String::from_utf8_lossy(&o.stdout);
                t.lines()
                    .rev()
                    .find(|l| l.starts_with('{'))
                    .and_then(|l| serde_json::from_str(l).ok())
            }
            Ok(o) => {
                say!(
                    "reference script failed: {}",
                    String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
                );
                None
            }
            Err(e) => {
                say!("reference script not run: {e}");
                None
            }
        }
    };
    let mut table = Table::new(
        "metrics",
        format!("metrics benchmark: {n} pairs of {0}x{0}, {threads} threads", a.size),
        &[
            "metric",
            "neuvis ms/image (1 thread)",
            "reference ms/image",
            "reference implementation",
            "speed-up",
        ],
    );
    table.note(format!(
        "whole `neuvis eval` pass (PNG decode + PSNR + SSIM + MS-SSIM + FLIP, parallel): {:.1} s = {:.1} image pairs/s",
        eval_s,
        scores.len() as f64 / eval_s
    ));
    for (name, ms) in ours {
        let (r, what) = match name {
            "psnr" => ("psnr", "skimage peak_signal_noise_ratio"),
            "ssim" => ("ssim", "skimage structural_similarity"),
            "ms_ssim" => ("ms_ssim", "pytorch_msssim.ms_ssim (f64, 2 threads)"),
            _ => ("flip", "flip_evaluator.evaluate LDR"),
        };
        let rv = reference.as_ref().and_then(|v| v[r].as_f64());
        let (r, x) = match rv {
            Some(v) => (format!("{v:.2}"), format!("{:.1}×", v / ms)),
            None => ("–".into(), "–".into()),
        };
        table.row(vec![name.into(), format!("{ms:.2}"), r, what.into(), x]);
    }
    table.print();
    Ok(())
}

fn train_bench(a: &TrainBenchArgs) -> Result<()> {
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
        match std::process::Command::new(&a.python)
            .arg(baseline_script(&a.script)?)
            .arg(&job)
            .output()
        {
            Ok(o) if o.status.success() => {
                let t = String::from_utf8_lossy(&o.stdout);
                let v: Option<serde_json::Value> = t
                    .lines()
                    .rev()
                    .find(|l| l.starts_with('{'))
                    .and_then(|l| serde_json::from_str(l).ok());
                v.map(|v| {
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
            }
            Ok(o) => {
                let out = String::from_utf8_lossy(&o.stdout);
                say!(
                    "PyTorch script failed: {}{}",
                    out.lines().last().unwrap_or(""),
                    String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
                );
                None
            }
            Err(e) => {
                say!("PyTorch script not run: {e}");
                None
            }
        }
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

/// The adapter `--device gpu` would take (the first wgpu lists), for tables.
/// The first CUDA device's name and compute capability.
fn cuda_name() -> String {
    neuvis_nn::cuda::probe()
        .devices
        .first()
        .map(|d| format!("{} (sm_{}{}, NVRTC)", d.name, d.capability.0, d.capability.1))
        .unwrap_or_else(|| "no device".into())
}

fn gpu_name() -> String {
    neuvis_nn::device::adapters()
        .first()
        .map(|a| format!("{} ({})", a.name, a.backend))
        .unwrap_or_else(|| "no adapter".into())
}

/// A randomly initialized NeRVI network of the size `--ratio 500` picks for 800 views of
/// `size`² (or of width `width`), with a header for the grid t = 0, θ and φ in steps of `step`°.
pub(crate) fn synthetic_model(
    size: usize,
    width: Option<usize>,
    step: usize,
) -> Result<(neuvis_codec::container::Header, neuvis_codec::NerviNet, Vec<[f64; 3]>)> {
    use neuvis_codec::codec::size_for_target;
    use neuvis_codec::container::{Grid, Header, ParamSpace};
    use neuvis_codec::{Arch, NerviNet, NetConfig, Plan};
    let raw = 800.0 * (size * size * 3) as f64;
    let cfg = match width {
        Some(s) => NetConfig::for_image_plan(Arch::Nervi, size, size, s, s.div_ceil(2), s, Plan::Start(8))?,
        None => size_for_target(
            Arch::Nervi,
            size,
            size,
            neuvis_codec::quant::BitWidths::uniform(9),
            raw / 500.0,
            2000,
            Plan::Start(8),
            neuvis_codec::Skip::Project,
            30.0,
        )?,
    };
    let net = NerviNet::new(&cfg, 0, &burn::prelude::Device::flex());
    let grid: Vec<[f64; 3]> = (0..=180 / step)
        .flat_map(|i| (0..360 / step).map(move |j| [0.0, (i * step) as f64, (j * step) as f64]))
        .collect();
    let header = Header {
        net: cfg,
        width: size,
        height: size,
        background: [255; 3],
        params: ParamSpace {
            time: [0.0, 0.0],
            time_span: None,
            theta: [0.0, 180.0],
            phi: [0.0, 360.0],
        },
        grid: Grid::from_params(&grid),
        bits: 9,
        tensors: vec![],
        raw_bytes: (grid.len() * size * size * 3) as u64,
        source: json!({}),
    };
    Ok((header, net, grid))
}

fn decode_bench(a: &DecodeBenchArgs) -> Result<()> {
    use neuvis_codec::codec::Decoder;
    let (header, net, _) = synthetic_model(a.size, a.width, 9)?;
    let cfg = header.net.clone();
    let device = burn::prelude::Device::flex();
    let params: Vec<[f64; 3]> = (0..a.images)
        .map(|i| [0.0, (i * 7 % 180) as f64, (i * 13 % 360) as f64])
        .collect();
    let gpu = match &a.device {
        Some(name) => {
            let dev = neuvis_nn::device::device(name)?;
            let gnet = neuvis_codec::weights::load(
                neuvis_codec::NerviNet::new(&cfg, 0, &dev),
                &neuvis_codec::weights::collect(&net),
                &dev,
            )?;
            Some((
                format!(
                    "burn forward on --device {name} ({})",
                    if neuvis_nn::device::canonical(name) == Some("cuda") {
                        cuda_name()
                    } else {
                        gpu_name()
                    }
                ),
                Decoder::burn_reference(header.clone(), gnet, &dev),
            ))
        }
        None => None,
    };
    let burn_dec = Decoder::burn_reference(header.clone(), net.clone(), &device);
    let dec = Decoder::from_net(header, net, &device)?;
    let mut rows = Vec::new();
    let mut engines: Vec<(String, &Decoder)> = vec![
        ("neuvis CPU engine".into(), &dec),
        ("burn-flex forward (baseline)".into(), &burn_dec),
    ];
    if let Some((name, d)) = &gpu {
        engines.push((name.clone(), d));
    }
    for (name, d) in engines {
        let t0 = Instant::now();
        d.decode(&params[..a.batch.min(params.len())], a.batch)?; // warm-up
        let cold = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let imgs = d.decode(&params, a.batch)?;
        rows.push((name, imgs.len(), t0.elapsed().as_secs_f64(), cold));
    }
    let mut table = Table::new(
        "decode",
        format!(
            "decode benchmark: NeRVI width {} ({} parameters, ≈ ratio 500 for 800 views), {}² images, burn batch {}, {} threads",
            cfg.c1,
            cfg.param_count(),
            a.size,
            a.batch,
            rayon::current_num_threads()
        ),
        &["engine", "first batch s (cold)", "images", "seconds", "images/s (warm)", "target"],
    );
    for (name, n, s, cold) in rows {
        table.row(vec![
            name.to_string(),
            format!("{cold:.2}"),
            n.to_string(),
            format!("{s:.2}"),
            format!("{:.1}", n as f64 / s),
            "≥ 100".into(),
        ]);
    }
    table.print();
    Ok(())
}

/// Resolves a baseline script given as a relative path (the defaults, `bench/NAME.py`): as given
/// when it exists from the working directory, else relative to the repository the binary was
/// built in (`target/release/neuvis` → `../../`). An absolute path is taken as it is.
pub(crate) fn baseline_script(p: &std::path::Path) -> Result<PathBuf> {
    if p.is_absolute() || p.exists() {
        return Ok(p.to_path_buf());
    }
    let from_exe = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent()?.parent()?.parent().map(|root| root.join(p)));
    match from_exe {
        Some(q) if q.exists() => Ok(q),
        _ => anyhow::bail!(
            "{}: no such baseline script here or in the repository of this binary; pass its path (it ships in the repository's bench/ folder)",
            p.display()
        ),
    }
}
