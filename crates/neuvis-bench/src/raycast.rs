//! `neuvis bench raycast`: every raycasting method over the same orbit, one process per method
//! so that each reports its own peak RSS, and the converged frames compared against `full`.

use anyhow::{bail, Context, Result};
use clap::Args;
use neuvis_base::named::Named;
use neuvis_base::MaskedImage;
use neuvis_raycast::orbit::{frame_name, OrbitMethod, OrbitOptions, OrbitStats};
use std::path::PathBuf;
use std::process::Command;

/// Options of `neuvis bench raycast`.
#[derive(Args, Debug)]
pub struct RaycastBenchArgs {
    /// A prepared store (`neuvis raycast prepare … --store both`).
    #[arg(long)]
    pub store: PathBuf,
    /// Isovalue.
    #[arg(value_parser = neuvis_cli::num::finite_f32, long, allow_negative_numbers = true)]
    pub iso: f32,
    /// Polar angle of the orbit.
    #[arg(value_parser = neuvis_cli::num::finite_f32, long, default_value_t = OrbitOptions::default().theta)]
    pub theta: f32,
    /// Views in the orbit.
    #[arg(long, default_value_t = OrbitOptions::default().views)]
    pub views: usize,
    /// Image size: N (N × N) or WxH, as `render --size`.
    #[arg(long, value_name = "N|WxH", default_value_t = default_size(), value_parser = neuvis_cli::num::image_size)]
    pub size: neuvis_cli::num::ImageSize,
    /// Memory budget of the speculative methods in MB (default: a quarter of the full volume, but
    /// at least the store's fixed part plus 16 bricks).
    #[arg(value_parser = neuvis_cli::num::finite_f64, long)]
    pub budget_mb: Option<f64>,
    /// Methods, comma-separated (full first: it is the reference).
    #[arg(
        long,
        default_value = "full,exact,neural,trilinear,compressed,dense,mesh",
        value_delimiter = ',',
        value_parser = neuvis_cli::flags::named::<OrbitMethod>()
    )]
    pub methods: Vec<OrbitMethod>,
    /// Prefetch the extrapolated next view after each frame (speculative methods).
    #[arg(long)]
    pub prefetch: bool,
    /// Where each method renders, comma-separated: cpu, gpu (wgpu compute shaders) or both; with
    /// both every method runs on each (the reference stays the first `full`).
    #[arg(
        long,
        default_value = neuvis_raycast::RenderDevice::default().name_of(),
        value_delimiter = ',',
        value_parser = neuvis_cli::flags::named::<neuvis_raycast::RenderDevice>()
    )]
    pub devices: Vec<neuvis_raycast::RenderDevice>,
    /// Folder for frames, stats and the table.
    #[arg(short, long, default_value = "bench-raycast")]
    pub output: PathBuf,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
}

/// The orbit's frame size, `OrbitOptions`' default.
fn default_size() -> neuvis_cli::num::ImageSize {
    let o = OrbitOptions::default();
    neuvis_cli::num::ImageSize {
        width: o.width,
        height: o.height,
    }
}

/// Runs the benchmark and prints the table.
pub fn run(a: &RaycastBenchArgs) -> Result<()> {
    if a.methods.first().map(|m| m.name()) != Some("full") {
        bail!("--methods must start with full (the reference of PSNR/SSIM)");
    }
    neuvis_cli::outputs::create_folder(
        &a.output,
        a.out.overwrite,
        &[&a.store],
        "neuvis bench raycast: frames, stats, table",
    )?;
    let store = neuvis_raycast::Store::open(&a.store)?;
    let g = *store.geometry();
    let full_mb = g.dims.iter().product::<usize>() as f64 * 4.0 / 1e6;
    drop(store);
    let budget = match a.budget_mb {
        Some(b) => b,
        None => {
            // a quarter of the volume, but never less than the fixed part plus 16 bricks
            let e = neuvis_raycast::Engine::open(
                &a.store,
                neuvis_raycast::Method::Trilinear,
                None,
                a.size.width,
                a.size.height,
            )?;
            let floor = (e.resident_fixed() + 16 * g.brick_bytes()) as f64 / 1e6;
            (full_mb / 4.0).max(floor)
        }
    };
    let exe = crate::machine::neuvis_exe()?;
    let mut rows = Vec::new();
    let mut reference: Vec<MaskedImage> = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let runs: Vec<(OrbitMethod, neuvis_raycast::RenderDevice)> = a
        .methods
        .iter()
        .flat_map(|&m| a.devices.iter().map(move |&d| (m, d)))
        .collect();
    for &(method, device) in &runs {
        // one device: the method's name; several: `neural-gpu` (mesh draws on the CPU only)
        if method == OrbitMethod::Mesh && device != neuvis_raycast::RenderDevice::Cpu {
            continue;
        }
        let m = method.name();
        let label = if a.devices.len() > 1 {
            format!("{m}-{}", device.name_of())
        } else {
            m.to_string()
        };
        let dir = a.output.join(&label);
        let mut cmd = Command::new(&exe);
        cmd.args(["raycast", "orbit"])
            .arg(&a.store)
            .args(["--iso", &a.iso.to_string(), "--theta", &a.theta.to_string()])
            .args([
                "--views",
                &a.views.to_string(),
                "--size",
                &a.size.to_string(),
                "--method",
                m,
                "--device",
                device.name_of(),
            ])
            .arg("-o")
            .arg(&dir);
        if method.speculative() {
            cmd.args(["--budget-mb", &budget.to_string()]);
            if a.prefetch {
                cmd.arg("--prefetch");
            }
        }
        eprintln!("running {label} …");
        let out = cmd.output().with_context(|| format!("running {}", exe.display()))?;
        if !out.status.success() {
            // the last `error:` line (a GPU driver may print its own lines first)
            let stderr = String::from_utf8_lossy(&out.stderr);
            let err = stderr
                .lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .unwrap_or(stderr.trim())
                .to_string();
            if reference.is_empty() {
                bail!("method {label} failed: {err}");
            }
            eprintln!("method {label} failed: {err}");
            failed.push((label, err));
            continue;
        }
        let stats = OrbitStats::read(&dir)?;
        let frames: Vec<MaskedImage> = (0..a.views)
            .map(|v| MaskedImage::load_png(&dir.join(frame_name(v))).map_err(anyhow::Error::from))
            .collect::<Result<_>>()?;
        let (mut p, mut s) = (Vec::new(), Vec::new());
        if reference.is_empty() {
            reference = frames.clone();
        }
        for (f, r) in frames.iter().zip(&reference) {
            p.push(neuvis_metrics::psnr(f, r)?);
            s.push(neuvis_metrics::ssim(f, r)?);
        }
        let finite: Vec<f64> = p.iter().copied().filter(|v| v.is_finite()).collect();
        let psnr = if finite.is_empty() {
            f64::INFINITY
        } else {
            finite.iter().sum::<f64>() / finite.len() as f64
        };
        let ssim = s.iter().sum::<f64>() / s.len() as f64;
        rows.push((label, stats, psnr, ssim, p.iter().filter(|v| v.is_infinite()).count()));
    }
    let mut table = crate::table::Table::new(
        "raycast",
        format!(
            "raycast benchmark: {}×{}×{} volume ({:.0} MB f32), {} views of {}, θ = {}°, iso {}, speculative budget {:.0} MB{}",
            g.dims[0],
            g.dims[1],
            g.dims[2],
            full_mb,
            a.views,
            a.size,
            a.theta,
            a.iso,
            budget,
            if a.prefetch { ", prefetch on" } else { "" }
        ),
        &[
            "method",
            "device",
            "median frame ms",
            "view 0: first ms",
            "view 0: converged ms",
            "bricks fetched",
            "peak RSS MB",
            "store MB",
            "PSNR vs full dB",
            "SSIM vs full",
        ],
    );
    for (m, st, psnr, ssim, identical) in &rows {
        table.row(vec![
            m.clone(),
            st.gpu
                .as_ref()
                .map_or("CPU".into(), |g| format!("{} ({})", g.adapter, g.backend)),
            format!("{:.0}", st.median_frame_s * 1e3),
            format!("{:.0}", st.first_view_first_s * 1e3),
            format!("{:.0}", st.first_view_converged_s * 1e3),
            format!("{}", st.bricks_fetched),
            st.peak_rss_bytes
                .map_or("n/a".into(), |b| format!("{:.0}", b as f64 / 1e6)),
            format!("{:.1}", st.store_bytes as f64 / 1e6),
            if psnr.is_infinite() {
                format!("∞ ({identical}/{} identical)", a.views)
            } else {
                format!(
                    "{psnr:.2}{}",
                    if *identical > 0 {
                        format!(" ({identical} identical)")
                    } else {
                        String::new()
                    }
                )
            },
            format!("{ssim:.4}"),
        ]);
    }
    for (m, err) in &failed {
        table.row(vec![m.clone(), format!("failed: {err}")]);
    }
    table.print();
    let p = a.output.join("table.md");
    std::fs::write(&p, table.markdown()).with_context(|| format!("writing {}", p.display()))?;
    Ok(())
}
