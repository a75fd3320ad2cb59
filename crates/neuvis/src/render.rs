//! `neuvis render`: ground-truth image collections.

use crate::volume_args::VolumeArgs;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use neuvis_collection::grid::{angles, grid, orbit_cameras, parse_times, read_camera_list};
use neuvis_collection::{DbWriter, View};
use neuvis_render::{Mode, RenderSettings, Renderer, TransferFunction};
use neuvis_volume::FieldSeries;
use rayon::prelude::*;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// Rendering technique.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    /// Isosurface rendering.
    Iso,
    /// Direct volume rendering.
    Dvr,
}

/// Options of `neuvis render`.
#[derive(Args, Debug, Clone)]
pub struct RenderArgs {
    #[command(flatten)]
    pub volume: VolumeArgs,
    /// Rendering technique.
    #[arg(long, value_enum, default_value = "iso")]
    pub mode: ModeArg,
    /// Isovalue (iso mode; default: the middle of the first rendered step's value range).
    #[arg(long, allow_negative_numbers = true)]
    pub iso: Option<f32>,
    /// Surface colour R,G,B in [0,1] (iso mode).
    #[arg(long, default_value = "0.85,0.65,0.45")]
    pub color: String,
    /// Transfer function (dvr mode): a preset (cool-to-warm, viridis, grayscale) or a ParaView
    /// colour-map JSON file.
    #[arg(long, default_value = "cool-to-warm")]
    pub tf: String,
    /// Opacity points x:opacity,… at normalized positions of the TF range (dvr mode; replaces the
    /// preset's ramp / the file's opacity).
    #[arg(long)]
    pub opacity: Option<String>,
    /// Value range the TF spans, LO,HI (default: the first rendered step's range).
    #[arg(long, value_name = "LO,HI", allow_hyphen_values = true)]
    pub tf_range: Option<String>,
    /// Rescale a ParaView JSON TF's points from their own range onto the TF range.
    #[arg(long)]
    pub tf_rescale: bool,
    /// Gradient (Blinn–Phong) shading in DVR.
    #[arg(long)]
    pub shade: bool,
    /// Image size: N or WxH.
    #[arg(long, default_value = "256")]
    pub size: String,
    /// Polar angle step θ in degrees (θ = 0, step, … < 180).
    #[arg(long, default_value_t = 9.0, allow_negative_numbers = true)]
    pub theta_step: f64,
    /// Azimuth step φ in degrees (φ = 0, step, … < 360).
    #[arg(long, default_value_t = 9.0, allow_negative_numbers = true)]
    pub phi_step: f64,
    /// Explicit camera list: a file of `theta,phi` lines (replaces the θ/φ grid).
    #[arg(long)]
    pub cameras: Option<PathBuf>,
    /// Time steps: a:b:s (b exclusive), a:b, a,b,c or all.
    #[arg(long, default_value = "all")]
    pub times: String,
    /// Vertical field of view in degrees.
    #[arg(long, default_value_t = 30.0)]
    pub fov: f32,
    /// Ray-marching step in voxels.
    #[arg(long, default_value_t = 0.5)]
    pub step: f32,
    /// Output database directory (NAME.cdb).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Continue an interrupted run with the same settings, skipping images already written.
    #[arg(long)]
    pub resume: bool,
    /// Replace an existing output database.
    #[arg(long)]
    pub overwrite: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl RenderArgs {
    /// Tornado IR at t = 0 over the full orbit grid, quiet: collections for benchmarks.
    pub fn for_bench(out: &std::path::Path, size: &str, angle_step: f64, iso: &str) -> RenderArgs {
        RenderArgs {
            volume: VolumeArgs::procedural("tornado"),
            mode: ModeArg::Iso,
            iso: iso.parse().ok(),
            color: "0.85,0.65,0.45".into(),
            tf: "cool-to-warm".into(),
            opacity: None,
            tf_range: None,
            tf_rescale: false,
            shade: false,
            size: size.into(),
            theta_step: angle_step,
            phi_step: angle_step,
            cameras: None,
            times: "0".into(),
            fov: 30.0,
            step: 0.5,
            output: out.to_path_buf(),
            resume: false,
            overwrite: true,
            quiet: true,
        }
    }
}

/// What a render run did.
#[derive(Debug, Clone)]
pub struct RenderSummary {
    pub output: PathBuf,
    pub images: usize,
    pub rendered: usize,
    pub seconds: f64,
    pub width: usize,
    pub height: usize,
}

fn parse_size(s: &str) -> Result<(usize, usize)> {
    let p: Vec<&str> = s.split(['x', 'X']).collect();
    let v: Option<Vec<usize>> = p.iter().map(|x| x.trim().parse().ok()).collect();
    match v.as_deref() {
        Some([n]) if *n > 0 && *n <= 16384 => Ok((*n, *n)),
        Some([w, h]) if *w > 0 && *h > 0 && *w <= 16384 && *h <= 16384 => Ok((*w, *h)),
        _ => bail!("--size '{s}': expected N or WxH with 1 ≤ N ≤ 16384"),
    }
}

fn parse_floats<const N: usize>(s: &str, what: &str) -> Result<[f32; N]> {
    let v: Vec<f32> = s
        .split(',')
        .map(|x| x.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{what} '{s}'"))?;
    v.try_into()
        .map_err(|_| anyhow::anyhow!("{what} '{s}': expected {N} comma-separated numbers"))
}

/// Builds the render mode for a series whose first rendered step has value range `range`.
fn build_mode(a: &RenderArgs, range: (f32, f32)) -> Result<Mode> {
    Ok(match a.mode {
        ModeArg::Iso => {
            let color = parse_floats::<3>(&a.color, "--color")?;
            if color.iter().any(|c| !(0.0..=1.0).contains(c)) {
                bail!("--color '{}': components must be in [0, 1]", a.color);
            }
            let value = a.iso.unwrap_or(0.5 * (range.0 + range.1));
            if !value.is_finite() {
                bail!("--iso must be finite");
            }
            Mode::Iso { value, color }
        }
        ModeArg::Dvr => {
            let tf_range = match &a.tf_range {
                Some(s) => {
                    let [lo, hi] = parse_floats::<2>(s, "--tf-range")?;
                    if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
                        bail!("--tf-range '{s}': LO must be below HI");
                    }
                    (lo, hi)
                }
                None => range,
            };
            let mut tf = match TransferFunction::preset(&a.tf, tf_range, 0.6) {
                Some(tf) => tf,
                None => {
                    let p = PathBuf::from(&a.tf);
                    if !p.exists() {
                        bail!(
                            "--tf '{}': not a preset ({}) and no such file",
                            a.tf,
                            TransferFunction::PRESETS.join(", ")
                        );
                    }
                    TransferFunction::from_paraview_json(&p, a.tf_rescale.then_some(tf_range))?
                }
            };
            if let Some(o) = &a.opacity {
                tf = tf.with_opacity_spec(o, tf_range)?;
            }
            Mode::Dvr {
                tf,
                unit_distance: None,
                shade: a.shade,
            }
        }
    })
}

fn mode_json(m: &Mode) -> serde_json::Value {
    match m {
        Mode::Iso { value, color } => json!({"mode": "iso", "isovalue": value, "color": color}),
        Mode::Dvr { tf, shade, .. } => json!({
            "mode": "dvr", "tf": tf.name, "shade": shade,
            "tf_color": tf.color.iter().map(|(x, c)| json!([x, c[0], c[1], c[2]])).collect::<Vec<_>>(),
            "tf_opacity": tf.opacity.iter().map(|(x, o)| json!([x, o])).collect::<Vec<_>>(),
        }),
    }
}

/// Runs `neuvis render`.
pub fn run(a: &RenderArgs) -> Result<RenderSummary> {
    let series = a.volume.open()?;
    run_series(a, series.as_ref())
}

/// Renders `series` as `a` says.
pub fn run_series(a: &RenderArgs, series: &dyn FieldSeries) -> Result<RenderSummary> {
    let (w, h) = parse_size(&a.size)?;
    let steps = parse_times(&a.times, series.len())?;
    let cameras = match &a.cameras {
        Some(p) => read_camera_list(p)?,
        None => orbit_cameras(&angles(a.theta_step, 180.0)?, &angles(a.phi_step, 360.0)?),
    };
    let step_times: Vec<(usize, f64)> = steps.iter().map(|&s| (s, series.time(s))).collect();
    let views = grid(&step_times, &cameras);
    let t0 = Instant::now();
    let first = series
        .load(steps[0])
        .with_context(|| format!("loading time step {}", steps[0]))?;
    let mode = build_mode(a, first.range())?;
    let mut settings = RenderSettings::new(w, h, mode.clone());
    settings.fov_deg = a.fov;
    settings.step = a.step;
    // Validate settings before creating any output.
    Renderer::new(&first, settings.clone())?;
    let meta = json!({
        "generator": format!("neuvis {}", env!("CARGO_PKG_VERSION")),
        "volume": series.describe(),
        "render": mode_json(&mode),
        "image_size": [w, h],
        "background": [255, 255, 255],
        "mask": "alpha channel: 255 foreground (IR: ray hit; DVR: opacity > 1/255), 0 background",
        "fov_deg": a.fov,
        "step_voxels": a.step,
        "camera": "orbit: theta polar from +z, phi azimuth from +x; fixed distance framing the bounding sphere",
        "times": step_times.iter().map(|s| s.1).collect::<Vec<_>>(),
        "time_steps": steps,
        "cameras": cameras.len(),
        "theta_step": if a.cameras.is_none() { json!(a.theta_step) } else { json!(null) },
        "phi_step": if a.cameras.is_none() { json!(a.phi_step) } else { json!(null) },
        "value_range_first_step": [first.range().0, first.range().1],
    });
    let mut writer = DbWriter::create(&a.output, &meta, a.resume, a.overwrite)?;
    writer.prepare(&views)?;
    let pb = if a.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(views.len() as u64)
    };
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} images, {per_sec}, ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rendered = 0usize;
    let mut cached = Some(first);
    for &(step, _) in &step_times {
        let todo: Vec<View> = views.iter().filter(|v| v.step == step).copied().collect();
        let missing: Vec<View> = todo.iter().filter(|v| !writer.has(v)).copied().collect();
        pb.inc((todo.len() - missing.len()) as u64);
        if !missing.is_empty() {
            let field = match cached.take() {
                Some(f) if step == steps[0] => f,
                _ => series.load(step).with_context(|| format!("loading time step {step}"))?,
            };
            pb.set_message(format!("t={step}"));
            let r = Renderer::new(&field, settings.clone())?;
            missing.par_iter().try_for_each(|v| -> Result<()> {
                let img = r.render(v.theta as f32, v.phi as f32);
                writer.write(v, &img)?;
                pb.inc(1);
                Ok(())
            })?;
            rendered += missing.len();
        }
        cached = None;
        for v in todo {
            writer.push(v);
        }
    }
    pb.finish_and_clear();
    let out = writer.finish()?;
    Ok(RenderSummary {
        output: out,
        images: views.len(),
        rendered,
        seconds: t0.elapsed().as_secs_f64(),
        width: w,
        height: h,
    })
}

/// Prints a one-line summary.
pub fn print_summary(s: &RenderSummary) {
    println!(
        "wrote {} images ({} rendered now) of {}x{} to {} in {:.1} s ({:.1} images/s)",
        s.images,
        s.rendered,
        s.width,
        s.height,
        s.output.display(),
        s.seconds,
        s.rendered as f64 / s.seconds.max(1e-9)
    );
}
