//! `neuvis bench render`: milliseconds per frame of neuvis-render's IR and DVR raycaster next to
//! VTK's CPU ray caster on the same volume, cameras, transfer function and step.

use crate::machine::baseline_script;
use crate::table::Table;
use anyhow::{bail, Context, Result};
use clap::Args;
use neuvis_cli::say;
use neuvis_render::{Mode, RenderSettings, Renderer, TransferFunction};
use neuvis_volume::{Procedural, ScalarField};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

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
    pub vol: neuvis_cli::volume_args::VolumeOptions,
    /// Which step of a series.
    #[command(flatten)]
    pub step: neuvis_cli::volume_args::StepArg,
    /// Isovalue of the IR mode (default: 40 % into the value range).
    #[arg(value_parser = neuvis_cli::num::finite_f32, long, allow_negative_numbers = true)]
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

pub(crate) fn cameras(n: usize) -> Vec<(f32, f32)> {
    (0..n)
        .map(|i| (if i % 2 == 0 { 60.0 } else { 100.0 }, 360.0 * i as f32 / n as f32))
        .collect()
}

pub(crate) fn render_bench(a: &RenderBenchArgs) -> Result<()> {
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
pub(crate) fn run_vtk(
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
