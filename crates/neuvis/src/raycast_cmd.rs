//! `neuvis raycast prepare` and `neuvis raycast render`.

use crate::progress::Progress;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use neuvis_base::named::Named;
use neuvis_cli::flags::named;
use neuvis_raycast::mesh::{Mesh, MeshFormat};
use neuvis_raycast::orbit::{OrbitMethod, OrbitOptions, ViewOptions};
use neuvis_raycast::prepare::{FieldSource, RawSource, TrainingData, TurbulenceSource};
use neuvis_raycast::sr::SrTrainOptions;
use neuvis_raycast::{prepare, Method, PrepareOptions, RenderDevice, SlabSource, StoreKind};
use neuvis_volume::{Procedural, Turbulence};
use std::path::{Path, PathBuf};

/// `neuvis raycast …`.
#[derive(Subcommand, Debug)]
pub enum RaycastCmd {
    /// Stream a volume into a brick store (.nvb): bricks, base volume, octree ranges, network.
    Prepare(Box<PrepareArgs>),
    /// Render an isosurface frame within a memory budget.
    Render(RenderArgs),
    /// Serve a local page: drag to orbit, wheel to zoom, frames stream in progressively.
    Serve(ServeArgs),
    /// Render an orbit of views (one process per method, as `neuvis bench raycast` runs it) and
    /// write the frames and a stats.json.
    #[command(hide = true)]
    Orbit(OrbitArgs),
}

/// `neuvis raycast orbit`.
#[derive(Args, Debug)]
pub struct OrbitArgs {
    /// The store.
    pub store: PathBuf,
    /// Isovalue (default: the middle of the store's value range; `raycast prepare` printed its
    /// percentiles).
    #[arg(value_parser = crate::num::finite_f32, long, allow_negative_numbers = true)]
    pub iso: Option<f32>,
    /// Polar angle of the orbit, degrees.
    #[arg(value_parser = crate::num::finite_f32, long, default_value_t = 60.0)]
    pub theta: f32,
    /// Views over 360° of azimuth.
    #[arg(long, default_value_t = 36)]
    pub views: usize,
    /// Image size: N (N × N) or WxH, as `render --size`.
    #[arg(long, value_name = "N|WxH", default_value = "512", value_parser = crate::num::image_size)]
    pub size: crate::num::ImageSize,
    /// Memory budget in MB (10⁶ bytes).
    #[arg(value_parser = crate::num::finite_f64, long, allow_negative_numbers = true)]
    pub budget_mb: Option<f64>,
    /// Method: full, exact, neural, trilinear, dense, compressed or mesh.
    #[arg(long, value_parser = named::<OrbitMethod>())]
    pub method: OrbitMethod,
    /// Prefetch the bricks of the extrapolated next view (at quarter resolution) after each
    /// frame; its time is reported separately.
    #[arg(long)]
    pub prefetch: bool,
    /// Where frames render: cpu, or gpu (wgpu compute shaders on Vulkan, Metal or DX12; the
    /// budget then bounds the GPU's buffers and brick atlas).
    #[arg(long, default_value = RenderDevice::default().name_of(), value_parser = named::<RenderDevice>())]
    pub device: RenderDevice,
    /// Output folder (frames and stats.json).
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
}

/// `neuvis raycast prepare`.
#[derive(Args, Debug)]
pub struct PrepareArgs {
    /// `turbulence` (generated slab by slab), another procedural name, a raw file (with
    /// --raw-dims, read slab by slab) or a .vti/.vtk/.nrrd/.nhdr/.nii/.nii.gz file (read whole).
    #[arg(long, value_name = "VOLUME", required_unless_present = "volume_positional")]
    pub volume: Option<String>,
    /// The volume as a positional argument, as earlier releases took it (deprecated: a warning
    /// names `--volume`).
    #[arg(value_name = "VOLUME", hide = true, conflicts_with = "volume")]
    pub volume_positional: Option<String>,
    /// Output store.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    /// Seed of the procedural field, the training sample and the network.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Brick edge in cells.
    #[arg(long, default_value_t = PrepareOptions::default().brick)]
    pub brick: usize,
    /// Base volume downsampling factor (2–8, must divide the brick edge).
    #[arg(long, default_value_t = PrepareOptions::default().factor)]
    pub base_factor: usize,
    /// What to keep: exact (bricks), neural (base + network only), both.
    #[arg(long, default_value = PrepareOptions::default().kind.name(), value_parser = named::<StoreKind>())]
    pub store: StoreKind,
    /// Training time budget of the network, minutes (ignored with --train-steps).
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = SrTrainOptions::default().minutes)]
    pub train_minutes: f64,
    /// Exact number of training steps (reproducible: the same seed gives the same file).
    #[arg(long)]
    pub train_steps: Option<usize>,
    /// Bricks sampled (reservoir, seeded) for training.
    #[arg(long, default_value_t = PrepareOptions::default().train_bricks)]
    pub train_bricks: usize,
    /// Hidden channels of the network.
    #[arg(long, default_value_t = SrTrainOptions::default().channels)]
    pub channels: usize,
    /// Bricks per training step.
    #[arg(long, default_value_t = SrTrainOptions::default().batch)]
    pub batch: usize,
    /// Peak learning rate.
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = SrTrainOptions::default().lr)]
    pub lr: f64,
    /// Hidden 3×3×3 layers of the network.
    #[arg(long, default_value_t = SrTrainOptions::default().hidden)]
    pub layers: usize,
    /// Adaptive gradient clipping (AutoClip): hold each step's gradient norm to this percentile
    /// (0–100) of the norms seen so far; 100 = no clipping.
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = SrTrainOptions::default().clip_percentile)]
    pub clip_percentile: f64,
    /// Weight of the SSIM term of the training loss (MSE + weight·(1 − SSIM), as the paper trains).
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = SrTrainOptions::default().ssim_weight)]
    pub ssim_weight: f64,
    /// Weight of a loss term on the differences of neighbouring samples' errors, what the
    /// shading's normals see (0 = off).
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = SrTrainOptions::default().gradient_weight)]
    pub gradient_weight: f64,
    #[command(flatten)]
    pub device: neuvis_cli::flags::DeviceArg,
    /// Also store ZFP fixed-rate bricks at R bits per value for `--method compressed` (default 8
    /// with --store both in builds with the `zfp` feature, none otherwise; 0 = none).
    #[arg(value_parser = crate::num::finite_f64, long, value_name = "R")]
    pub zfp_rate: Option<f64>,
    /// How to read the volume.
    #[command(flatten)]
    pub vol: crate::volume_args::VolumeOptions,
    /// Which step of a series.
    #[command(flatten)]
    pub step: crate::volume_args::StepArg,
    /// Brick only block I of N of the brick layers (z) into OUT.part-IIII-of-NNNN.nvb (0-based;
    /// `slurm` takes it from the job array); `neuvis merge OUT` assembles the store and trains its
    /// network there.
    #[arg(long, value_name = "I/N|slurm", value_parser = crate::num::shard)]
    pub shard: Option<neuvis_base::Shard>,
}

/// Options of `neuvis raycast serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The store.
    pub store: PathBuf,
    /// Initial isovalue (default: the middle of the value range).
    #[arg(value_parser = crate::num::finite_f32, long, allow_negative_numbers = true)]
    pub iso: Option<f32>,
    /// Method: exact, neural, trilinear (speculative), full, dense or compressed.
    #[arg(long, default_value = "neural", value_parser = named::<Method>())]
    pub method: Method,
    /// Where frames render: cpu, or gpu (wgpu compute shaders on Vulkan, Metal or DX12; the
    /// budget then bounds the GPU's buffers and brick atlas).
    #[arg(long, default_value = RenderDevice::default().name_of(), value_parser = named::<RenderDevice>())]
    pub device: RenderDevice,
    /// Memory budget in MB (10⁶ bytes).
    #[arg(value_parser = crate::num::finite_f64, long)]
    pub budget_mb: Option<f64>,
    /// Image size: N (N × N) or WxH, as `render --size`.
    #[arg(long, value_name = "N|WxH", default_value = "512", value_parser = crate::num::image_size)]
    pub size: crate::num::ImageSize,
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    pub port: u16,
}

/// Runs `neuvis raycast serve` until Ctrl-C.
fn serve(a: &ServeArgs) -> Result<()> {
    let size = a.size.at_most(4096)?;
    let opts = neuvis_explorer::raycast::RaycastOptions {
        method: a.method,
        device: a.device,
        budget: budget_bytes(a.budget_mb)?.into(),
        width: size.width,
        height: size.height,
        iso: a.iso,
    };
    let sh = neuvis_explorer::raycast::start(&a.store, &opts)?;
    neuvis_explorer::serve_blocking(&a.host, a.port, neuvis_explorer::raycast::router(sh), |addr| {
        say!("open http://{addr}/ (Ctrl-C to stop)")
    })?;
    Ok(())
}

/// `neuvis raycast render`.
#[derive(Args, Debug)]
pub struct RenderArgs {
    /// The store.
    pub store: PathBuf,
    /// Isovalue (default: the middle of the store's value range; `raycast prepare` printed its
    /// percentiles).
    #[arg(value_parser = crate::num::finite_f32, long, allow_negative_numbers = true)]
    pub iso: Option<f32>,
    /// Polar angle, degrees.
    #[arg(value_parser = crate::num::finite_f32, long, default_value_t = 60.0)]
    pub theta: f32,
    /// Azimuth, degrees.
    #[arg(value_parser = crate::num::finite_f32, long, default_value_t = 30.0, allow_negative_numbers = true)]
    pub phi: f32,
    /// Image size: N (N × N) or WxH, as `render --size`.
    #[arg(long, value_name = "N|WxH", default_value = "512", value_parser = crate::num::image_size)]
    pub size: crate::num::ImageSize,
    /// Memory budget in MB (10⁶ bytes: base, octree, network, frame and brick cache); none = unbounded.
    #[arg(value_parser = crate::num::finite_f64, long, allow_negative_numbers = true)]
    pub budget_mb: Option<f64>,
    /// full, exact, neural, trilinear, dense, compressed (ZFP bricks) or mesh (marching cubes +
    /// z-buffer).
    #[arg(long, default_value = "neural", value_parser = named::<OrbitMethod>())]
    pub method: OrbitMethod,
    /// Where frames render: cpu, or gpu (wgpu compute shaders on Vulkan, Metal or DX12; the
    /// budget then bounds the GPU's buffers and brick atlas).
    #[arg(long, default_value = RenderDevice::default().name_of(), value_parser = named::<RenderDevice>())]
    pub device: RenderDevice,
    /// Output PNG.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write every progressive frame into this folder.
    #[arg(long)]
    pub frames: Option<PathBuf>,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
}

impl PrepareArgs {
    /// The volume, from `--volume` or the deprecated positional.
    pub fn volume(&self) -> &str {
        self.volume
            .as_deref()
            .or(self.volume_positional.as_deref())
            .unwrap_or_default()
    }
}

impl IsosurfaceArgs {
    /// The volume, from `--volume` or the deprecated positional.
    pub fn volume(&self) -> &str {
        self.volume
            .as_deref()
            .or(self.volume_positional.as_deref())
            .unwrap_or_default()
    }
}

/// Runs a raycast subcommand.
pub fn run(cmd: &RaycastCmd) -> Result<()> {
    match cmd {
        RaycastCmd::Prepare(a) => run_prepare(a),
        RaycastCmd::Render(a) => run_render(a),
        RaycastCmd::Orbit(a) => run_orbit(a),
        RaycastCmd::Serve(a) => serve(a),
    }
}

fn source(a: &PrepareArgs) -> Result<Box<dyn SlabSource>> {
    let dims = a.vol.dims()?;
    if a.volume() == "turbulence" {
        if a.step.step.is_some_and(|k| k > 0) {
            bail!("--step: turbulence has one time step");
        }
        let dims = dims.unwrap_or([128; 3]);
        neuvis_volume::field::check_dims(dims, "turbulence")?;
        return Ok(Box::new(TurbulenceSource {
            turbulence: Turbulence::new(a.seed),
            dims,
            seed: a.seed,
        }));
    }
    let path = Path::new(a.volume());
    if Procedural::from_name(a.volume(), a.seed).is_none() {
        if let Some(spec) = a.vol.raw_spec()? {
            if a.step.step.is_some() {
                bail!("--step: a raw file holds one volume");
            }
            if a.vol.array.is_some() || a.vol.component.is_some() || a.vol.nan_to.is_some() {
                bail!("--array, --component and --nan-to do not apply to raw files read slab by slab");
            }
            return Ok(Box::new(RawSource::open(path, spec)?));
        }
    }
    let f = a.vol.read_one(a.volume(), a.seed, &a.step)?;
    if !crate::quiet() {
        eprintln!("{}: {}", a.volume(), f.value_summary());
    }
    Ok(Box::new(FieldSource {
        field: f,
        name: a.volume().to_string(),
    }))
}

fn bar(len: u64, what: &str, unit: &str) -> Progress {
    let template = format!("{what:>10} [{{bar:30}}] {{pos}}/{{len}} {{msg}} {{per_sec}} eta {{eta}}");
    Progress::new(&format!("raycast prepare, {what}"), unit, Some(len), &template)
}

/// The network training settings of `prepare` (recorded in a part for the merge).
fn trainer_settings(a: &PrepareArgs) -> SrTrainOptions {
    SrTrainOptions {
        channels: a.channels,
        steps: a.train_steps,
        minutes: a.train_minutes,
        batch: a.batch,
        lr: a.lr,
        hidden: a.layers,
        clip_percentile: a.clip_percentile,
        ssim_weight: a.ssim_weight,
        gradient_weight: a.gradient_weight,
        seed: a.seed,
        ..SrTrainOptions::default()
    }
}

/// The SR network trainer with the settings `topts` on the device named `device`, with a
/// progress bar.
pub fn sr_trainer(
    topts: &SrTrainOptions,
    device: &str,
) -> Result<impl Fn(&TrainingData) -> neuvis_raycast::Result<Vec<u8>>> {
    let device = neuvis_nn::device::device(device)?;
    let topts = topts.clone();
    Ok(move |data: &TrainingData| -> neuvis_raycast::Result<Vec<u8>> {
        let pb = bar(topts.steps.unwrap_or(0) as u64, "training", "steps");
        let (net, rep) = neuvis_raycast::train::train(data, &topts, &device, |s, total, loss| {
            if total != usize::MAX {
                pb.set_length(total as u64);
            }
            pb.set_position(s as u64);
            pb.set_message(format!("loss {loss:.4}"));
        })
        .map_err(|e| neuvis_raycast::RaycastError::Settings(e.to_string()))?;
        pb.finish();
        eprintln!("network: {rep}");
        Ok(net.to_bytes())
    })
}

fn run_prepare(a: &PrepareArgs) -> Result<()> {
    crate::outputs::check_extension(&a.output, &["nvb"])?;
    let shard = a.shard.unwrap_or(neuvis_base::Shard::WHOLE);
    let target = shard.part_path(&a.output);
    crate::outputs::check(&target, crate::outputs::NVB, a.out.overwrite, &[Path::new(a.volume())])?;
    let kind = a.store;
    let opts = PrepareOptions {
        brick: a.brick,
        factor: a.base_factor,
        kind,
        train_bricks: a.train_bricks,
        seed: a.seed,
        zfp_rate: PrepareOptions::zfp_rate_for(kind, a.zfp_rate),
        shard,
        trainer_settings: trainer_settings(a),
    };
    opts.validate()?;
    let src = source(a)?;
    let d = src.dims();
    eprintln!(
        "volume: {} ({}x{}x{}), bricks of {}³ cells, base factor {}",
        src.describe(),
        d[0],
        d[1],
        d[2],
        a.brick,
        a.base_factor
    );
    let trainer = sr_trainer(&opts.trainer_settings, &a.device)?;
    let t0 = std::time::Instant::now();
    let g = neuvis_raycast::geom::Geometry::new(d, a.brick, a.base_factor).map_err(anyhow::Error::msg)?;
    let pb = bar(g.bdims[2] as u64, "bricking", "brick layers");
    let rep = prepare(
        src.as_ref(),
        &a.output,
        &opts,
        if kind.has_network() { Some(&trainer) } else { None },
        |done, _| pb.set_position(done as u64),
    )?;
    pb.finish();
    if !shard.is_whole() {
        say!(
            "wrote part {shard} {} ({:.2} MB, brick layers of {} bricks) in {:.1} s; `neuvis merge {}` makes the store once every part is there",
            target.display(),
            rep.bytes as f64 / 1e6,
            rep.geometry.nbricks(),
            t0.elapsed().as_secs_f64(),
            a.output.display()
        );
        return Ok(());
    }
    say!(
        "wrote {} ({rep}) in {:.1} s",
        a.output.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Parses a budget in MB.
pub fn budget_bytes(mb: Option<f64>) -> Result<Option<usize>> {
    match mb {
        None => Ok(None),
        Some(m) if m.is_finite() && m > 0.0 && m < 1e9 => Ok(Some((m * 1e6) as usize)),
        Some(m) => bail!("--budget-mb {m} must be a positive number of megabytes"),
    }
}

/// The store's value range, read from its header (cheap: no bricks are touched).
fn store_range(path: &Path) -> Result<(f32, f32)> {
    Ok(neuvis_raycast::store::Store::open(path)?.header.range)
}

fn run_render(a: &RenderArgs) -> Result<()> {
    a.size.at_most(8192)?;
    let iso = match a.iso {
        Some(v) => v,
        None => crate::volume_args::iso_or_mid(None, store_range(&a.store)?, crate::quiet()),
    };
    crate::outputs::check_extension(&a.output, &["png"])?;
    crate::outputs::check(&a.output, crate::outputs::PNG, a.out.overwrite, &[&a.store])?;
    if let Some(dir) = &a.frames {
        crate::outputs::check(
            dir,
            crate::outputs::OutputKind::NeuvisFolder,
            a.out.overwrite,
            &[&a.store],
        )?;
    }
    // the mesh baseline draws one frame: no progressive passes to keep
    let frames = a.frames.as_deref().filter(|_| a.method != OrbitMethod::Mesh);
    if let Some(dir) = frames {
        crate::outputs::create_folder(
            dir,
            a.out.overwrite,
            &[&a.store],
            "progressive frames of neuvis raycast render",
        )?;
    }
    let view = ViewOptions {
        iso,
        theta: a.theta,
        phi: a.phi,
        width: a.size.width,
        height: a.size.height,
        budget: budget_bytes(a.budget_mb)?,
        device: a.device,
    };
    let mut frame_err = None;
    let (img, st) = neuvis_raycast::orbit::render_view(&a.store, a.method, &view, |img, pass| {
        if let Some(dir) = frames {
            let p = dir.join(format!("pass_{pass:03}.png"));
            if let Err(e) = neuvis_base::write_atomic(&p, |w| img.write_png(w).map_err(std::io::Error::other)) {
                frame_err.get_or_insert(anyhow::anyhow!("{}: {e}", p.display()));
            }
        }
    })?;
    if let Some(e) = frame_err {
        return Err(e);
    }
    if let Some(w) = &st.warning {
        eprintln!("warning: {w}");
    }
    neuvis_base::write_atomic(&a.output, |w| img.write_png(w).map_err(std::io::Error::other))
        .with_context(|| format!("writing {}", a.output.display()))?;
    let mut json = serde_json::to_value(&st)?;
    json["command"] = "raycast render".into();
    json["output"] = serde_json::to_value(&a.output)?;
    crate::emit_json(json);
    say!("{st} | wrote {}", a.output.display());
    Ok(())
}

fn run_orbit(a: &OrbitArgs) -> Result<()> {
    let iso = match a.iso {
        Some(v) => v,
        None => crate::volume_args::iso_or_mid(None, store_range(&a.store)?, crate::quiet()),
    };
    let opts = OrbitOptions {
        iso,
        theta: a.theta,
        views: a.views,
        width: a.size.width,
        height: a.size.height,
        budget: budget_bytes(a.budget_mb)?,
        prefetch: a.prefetch,
        device: a.device,
    };
    crate::outputs::create_folder(&a.output, a.out.overwrite, &[&a.store], "neuvis raycast orbit frames")?;
    let stats = neuvis_raycast::orbit::run(&a.store, a.method, &opts, &a.output)?;
    say!("{}", serde_json::to_string_pretty(&stats)?);
    Ok(())
}

/// `neuvis isosurface`.
#[derive(Args, Debug)]
pub struct IsosurfaceArgs {
    /// A volume file (.vti .vtk .nrrd .nhdr .nii .nii.gz, raw with --raw-dims) or a procedural name.
    #[arg(long, value_name = "VOLUME", required_unless_present = "volume_positional")]
    pub volume: Option<String>,
    /// The volume as a positional argument, as earlier releases took it (deprecated: a warning
    /// names `--volume`).
    #[arg(value_name = "VOLUME", hide = true, conflicts_with = "volume")]
    pub volume_positional: Option<String>,
    /// Isovalue (default: the middle of the value range, printed with its percentiles).
    #[arg(value_parser = crate::num::finite_f32, long, allow_negative_numbers = true)]
    pub iso: Option<f32>,
    /// Output mesh: .ply (binary) or .vtp (VTK XML PolyData); ParaView opens both.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    /// Seed of a seeded procedural volume.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How to read the volume.
    #[command(flatten)]
    pub vol: crate::volume_args::VolumeOptions,
    /// Which step of a series.
    #[command(flatten)]
    pub step: crate::volume_args::StepArg,
}

/// Extracts an isosurface with marching cubes and writes it.
pub fn isosurface(a: &IsosurfaceArgs) -> Result<()> {
    let Some(format) = MeshFormat::of_path(&a.output) else {
        bail!("{}: the output must end in .ply or .vtp", a.output.display());
    };
    crate::outputs::check(
        &a.output,
        format.output_kind(),
        a.out.overwrite,
        &[Path::new(a.volume())],
    )?;
    let field = a.vol.read_one(a.volume(), a.seed, &a.step)?;
    info!("{}: {}", a.volume(), field.value_summary());
    let iso = crate::volume_args::iso_or_mid(a.iso, field.range(), crate::quiet());
    let t = std::time::Instant::now();
    let mesh = Mesh::isosurface(&field, iso);
    if mesh.tris.is_empty() {
        let (lo, hi) = field.range();
        eprintln!("warning: no surface at {} (the volume ranges over [{lo}, {hi}])", iso);
    }
    format.write(&mesh, &a.output)?;
    crate::emit_json(serde_json::json!({
        "command": "isosurface", "output": a.output, "isovalue": iso, "triangles": mesh.tris.len(),
        "vertices": mesh.points.len(), "seconds": t.elapsed().as_secs_f64(),
    }));
    say!(
        "{} triangles, {} vertices in {:.2} s; wrote {}",
        mesh.tris.len(),
        mesh.points.len(),
        t.elapsed().as_secs_f64(),
        a.output.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        prepare: PrepareArgs,
    }

    /// `raycast prepare`'s flag defaults are `PrepareOptions::default()` and
    /// `SrTrainOptions::default()`, and each training flag reaches its field.
    #[test]
    fn prepare_defaults_are_the_library_defaults() {
        let a = Cli::try_parse_from(["prepare", "--volume", "turbulence", "-o", "s.nvb"])
            .unwrap()
            .prepare;
        let d = PrepareOptions::default();
        assert_eq!(
            (a.brick, a.base_factor, a.store, a.train_bricks, a.seed),
            (d.brick, d.factor, d.kind, d.train_bricks, d.seed)
        );
        assert_eq!(trainer_settings(&a), SrTrainOptions::default());
        let a = Cli::try_parse_from([
            "prepare",
            "--volume",
            "t",
            "-o",
            "s.nvb",
            "--channels",
            "7",
            "--train-steps",
            "9",
            "--train-minutes",
            "0.5",
            "--batch",
            "3",
            "--lr",
            "0.25",
            "--seed",
            "5",
            "--ssim-weight",
            "0.5",
            "--gradient-weight",
            "2",
            "--store",
            "neural",
        ])
        .unwrap()
        .prepare;
        let want = SrTrainOptions {
            channels: 7,
            steps: Some(9),
            minutes: 0.5,
            batch: 3,
            lr: 0.25,
            seed: 5,
            ssim_weight: 0.5,
            gradient_weight: 2.0,
            ..SrTrainOptions::default()
        };
        assert_eq!(trainer_settings(&a), want);
        assert_eq!(a.store, StoreKind::Neural);
        assert!(Cli::try_parse_from(["prepare", "--volume", "t", "-o", "s.nvb", "--store", "all"]).is_err());
    }
}
