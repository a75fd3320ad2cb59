//! `neuvis render`: ground-truth image collections.

use crate::num::ImageSize;
use crate::volume_args::VolumeArgs;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use neuvis_collection::grid::{parse_times, read_camera_list};
use neuvis_render::collection::{
    render_collection, Cameras, CollectionOptions, ModeOptions, Progress, DEFAULT_ANGLE_STEP, DEFAULT_ISO_COLOR,
    DEFAULT_SIZE, DEFAULT_TF,
};
use neuvis_volume::FieldSeries;
use std::path::PathBuf;

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
    #[arg(value_parser = crate::num::finite_f32, long, allow_negative_numbers = true)]
    pub iso: Option<f32>,
    /// Surface colour R,G,B in [0,1] (iso mode).
    #[arg(long, value_name = "R,G,B", default_value_t = Rgb(DEFAULT_ISO_COLOR), value_parser = rgb)]
    pub color: Rgb,
    /// Transfer function (dvr mode): a preset (cool-to-warm, viridis, grayscale) or a ParaView
    /// colour-map JSON file.
    #[arg(long, default_value = DEFAULT_TF)]
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
    #[arg(long, value_name = "N|WxH", default_value_t = ImageSize { width: DEFAULT_SIZE, height: DEFAULT_SIZE }, value_parser = crate::num::image_size)]
    pub size: ImageSize,
    /// Polar angle step θ in degrees (θ = 0, step, … < 180).
    #[arg(value_parser = crate::num::positive_f64, long, default_value_t = DEFAULT_ANGLE_STEP)]
    pub theta_step: f64,
    /// Azimuth step φ in degrees (φ = 0, step, … < 360).
    #[arg(value_parser = crate::num::positive_f64, long, default_value_t = DEFAULT_ANGLE_STEP)]
    pub phi_step: f64,
    /// Explicit camera list: a file of `theta,phi` lines (replaces the θ/φ grid).
    #[arg(long)]
    pub cameras: Option<PathBuf>,
    /// Time steps: a:b:s (b exclusive), a:b, a,b,c or all.
    #[arg(long, default_value = "all")]
    pub times: String,
    /// Vertical field of view in degrees.
    #[arg(value_parser = crate::num::finite_f32, long, default_value_t = CollectionOptions::default().fov_deg)]
    pub fov: f32,
    /// Ray-marching step in voxels.
    #[arg(value_parser = crate::num::finite_f32, long, default_value_t = CollectionOptions::default().step)]
    pub step: f32,
    /// Output database directory (NAME.cdb).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Continue an interrupted run with the same settings, skipping images already written.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    /// Render only block I of N of the (time, camera) grid into OUT.part-IIII-of-NNNN.cdb (0-based;
    /// `slurm` takes it from the job array); `neuvis merge OUT` assembles the parts.
    #[arg(long, value_name = "I/N|slurm", value_parser = crate::num::shard)]
    pub shard: Option<neuvis_base::Shard>,
}

/// What a render run did.
pub use neuvis_render::collection::RenderSummary;

/// An RGB colour flag: `R,G,B`, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub [f32; 3]);

impl std::fmt::Display for Rgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{}", self.0[0], self.0[1], self.0[2])
    }
}

/// Parses `--color`.
fn rgb(s: &str) -> Result<Rgb, String> {
    let c = parse_floats::<3>(s, "color").map_err(|e| e.to_string())?;
    if c.iter().any(|v| !(0.0..=1.0).contains(v)) {
        return Err(format!("'{s}': components must be in [0, 1]"));
    }
    Ok(Rgb(c))
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

/// The render mode the flags describe (values left open come from the data).
fn mode_options(a: &RenderArgs) -> Result<ModeOptions> {
    Ok(match a.mode {
        ModeArg::Iso => {
            let color = a.color.0;
            if a.iso.is_some_and(|v| !v.is_finite()) {
                bail!("--iso must be finite");
            }
            ModeOptions::Iso { value: a.iso, color }
        }
        ModeArg::Dvr => {
            let range = match &a.tf_range {
                Some(s) => {
                    let [lo, hi] = parse_floats::<2>(s, "--tf-range")?;
                    if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
                        bail!("--tf-range '{s}': LO must be below HI");
                    }
                    Some((lo, hi))
                }
                None => None,
            };
            ModeOptions::Dvr {
                tf: a.tf.clone(),
                opacity: a.opacity.clone(),
                range,
                rescale: a.tf_rescale,
                shade: a.shade,
            }
        }
    })
}

/// Runs `neuvis render`.
pub fn run(a: &RenderArgs) -> Result<RenderSummary> {
    let inputs: Vec<&std::path::Path> = a.volume.volume.iter().map(std::path::Path::new).collect();
    crate::outputs::check(
        &a.shard.unwrap_or(neuvis_base::Shard::WHOLE).part_path(&a.output),
        crate::outputs::OutputKind::NeuvisFolder,
        a.out.overwrite,
        &inputs,
    )?;
    crate::outputs::check_folder_name(&a.output, "an image collection")?;
    let series = a.volume.open()?;
    run_series(a, series.as_ref())
}

/// Renders `series` as `a` says.
pub fn run_series(a: &RenderArgs, series: &dyn FieldSeries) -> Result<RenderSummary> {
    let ImageSize { width, height } = a.size;
    let steps = parse_times(&a.times, series.len())?;
    let cameras = match &a.cameras {
        Some(p) => Cameras::List(read_camera_list(p)?),
        None => Cameras::Orbit {
            theta_step: a.theta_step,
            phi_step: a.phi_step,
        },
    };
    let opts = CollectionOptions {
        mode: mode_options(a)?,
        width,
        height,
        cameras,
        steps: Some(steps),
        fov_deg: a.fov,
        step: a.step,
        resume: a.resume,
        overwrite: a.out.overwrite,
        shard: a.shard.unwrap_or(neuvis_base::Shard::WHOLE),
    };
    let pb = crate::progress::Progress::new(
        "render",
        "images",
        None,
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} images, {per_sec}, ETA {eta} {msg}",
    );
    let summary = render_collection(series, &opts, &a.output, &|p| match p {
        Progress::Start { total } => pb.set_length(total as u64),
        Progress::Step { step, kept } => {
            pb.inc(kept as u64);
            pb.set_message(format!("t={step}"));
        }
        Progress::Image => pb.inc(1),
        Progress::Warning(w) => pb.suspend(|| eprintln!("warning: {w}")),
        Progress::Info(i) if !crate::quiet() => pb.suspend(|| eprintln!("{i}")),
        Progress::Info(_) => {}
    });
    pb.finish();
    Ok(summary?)
}

/// Prints a one-line summary.
pub fn print_summary(s: &RenderSummary) {
    crate::emit_json(serde_json::json!({
        "command": "render", "output": s.output, "images": s.images, "rendered": s.rendered,
        "width": s.width, "height": s.height, "seconds": s.seconds, "render": s.render,
        "isovalue": s.render.get("isovalue"),
    }));
    say!(
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
