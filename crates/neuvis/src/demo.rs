//! `neuvis demo`: the README's main job on built-in data. Renders a tornado isosurface collection,
//! compresses it with NeRVI, decodes it, evaluates it, and writes side-by-side pictures.

use crate::codec_cmd::{self, CompressArgs, DecompressArgs};
use crate::eval::{self, EvalArgs};
use crate::render::{self, RenderArgs};
use anyhow::{bail, Result};
use clap::{Args, Parser};
use neuvis_collection::CinemaDb;
use std::path::PathBuf;

/// The demo's training settings beyond `compress`'s defaults, measured on its collection (400
/// views of 64², two time steps, `--ratio 100`, 80 epochs; BENCHMARKS.md, "The demo"): ω₀ = 10
/// with the MLP at 8 bits and 0.3 × the learning rate, a peak rate of 3e-3 and 3 quantization-aware
/// epochs (at most `--epochs` − 1) gave 27.3 dB where the defaults gave 26.2, in the same time.
/// The 128² rate–distortion study found the same settings best.
pub const DEMO_TRAINING: [&str; 8] = ["--omega0", "10", "--mlp-bits", "8", "--mlp-lr", "0.3", "--lr", "3e-3"];

/// Quantization-aware epochs of the demo's training: 3, fewer when `--epochs` is smaller.
fn qat_epochs(epochs: usize) -> usize {
    epochs.saturating_sub(1).min(3)
}

/// Options of `neuvis demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Output folder.
    #[arg(short, long, default_value = "neuvis-demo")]
    pub output: PathBuf,
    /// Image size: N or WxH.
    #[arg(long, value_name = "N|WxH", default_value = "64", value_parser = crate::num::image_size)]
    pub size: crate::num::ImageSize,
    /// θ step of the view grid in degrees, as `render --theta-step`.
    #[arg(value_parser = crate::num::positive_f64, long, default_value_t = 18.0)]
    pub theta_step: f64,
    /// φ step of the view grid in degrees, as `render --phi-step` (18° and 18° give 10 × 20 = 200
    /// views per time step).
    #[arg(value_parser = crate::num::positive_f64, long, default_value_t = 18.0)]
    pub phi_step: f64,
    /// Both steps at once (an earlier release's spelling; deprecated).
    #[arg(value_parser = crate::num::positive_f64, long, hide = true, conflicts_with_all = ["theta_step", "phi_step"])]
    pub angle_step: Option<f64>,
    /// Time steps of the tornado.
    #[arg(long, default_value = "0,24")]
    pub times: String,
    /// Training epochs.
    #[arg(long, default_value_t = 80)]
    pub epochs: usize,
    /// Target compression ratio.
    #[arg(value_parser = crate::num::positive_f64, long, default_value_t = 100.0)]
    pub ratio: f64,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
}

/// Wraps one subcommand's arguments, so the demo gets them (and their defaults) from clap.
#[derive(Parser)]
struct With<T: Args> {
    #[command(flatten)]
    args: T,
}

/// Parses a subcommand's arguments as a user would type them: every default stays where clap
/// declares it.
pub(crate) fn parse_args<T: Args + clap::FromArgMatches>(argv: &[&str]) -> Result<T> {
    Ok(With::<T>::try_parse_from(std::iter::once("neuvis").chain(argv.iter().copied()))?.args)
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// Runs the demo.
pub fn run(a: &DemoArgs) -> Result<()> {
    // validate every option before the banner and before any output exists
    let (theta_step, phi_step) = a.angle_step.map_or((a.theta_step, a.phi_step), |s| (s, s));
    if a.ratio <= 1.0 || a.epochs == 0 || !(theta_step <= 180.0 && phi_step <= 360.0) {
        bail!("--ratio must exceed 1, --epochs be at least 1, --theta-step lie in (0, 180] and --phi-step in (0, 360]");
    }
    let gt = a.output.join("tornado-ir.cdb");
    let (theta_step, phi_step, size) = (theta_step.to_string(), phi_step.to_string(), a.size.to_string());
    let r: RenderArgs = parse_args(&[
        "--volume",
        "tornado",
        "--mode",
        "iso",
        "--iso",
        "0.17",
        "--size",
        &size,
        "--theta-step",
        &theta_step,
        "--phi-step",
        &phi_step,
        "--times",
        &a.times,
        "-o",
        &path(&gt),
    ])?;
    crate::outputs::create_folder(&a.output, a.out.overwrite, &[], "neuvis demo")?;
    let result = run_in(a, &r);
    if result.is_err() {
        // the folder was created empty by this run: a failure leaves nothing behind
        let _ = std::fs::remove_dir_all(&a.output);
    }
    result
}

fn run_in(a: &DemoArgs, r: &RenderArgs) -> Result<()> {
    let gt = r.output.as_path();
    println!(
        "neuvis demo: tornado 128³ isosurfaces at times {}, θ every {}° and φ every {}°, {} px images, NeRVI at ratio ≈ {}, {} epochs ({} --qat-epochs {}) → {}",
        a.times,
        r.theta_step,
        r.phi_step,
        a.size,
        a.ratio,
        a.epochs,
        DEMO_TRAINING.join(" "),
        qat_epochs(a.epochs),
        a.output.display()
    );
    let rs = render::run(r)?;
    println!("1/4 rendered {} images in {:.1} s", rs.images, rs.seconds);

    let model = a.output.join("tornado-ir.nrvi");
    let c: CompressArgs = parse_args(
        &vec![
            &path(gt),
            "-o",
            &path(&model),
            "--ratio",
            &a.ratio.to_string(),
            "--epochs",
            &a.epochs.to_string(),
            "--qat-epochs",
            &qat_epochs(a.epochs).to_string(),
        ]
        .into_iter()
        .chain(DEMO_TRAINING.iter().copied())
        .collect::<Vec<_>>(),
    )?;
    let cr = codec_cmd::compress(&c)?.ok_or_else(|| anyhow::anyhow!("the demo runs as one process"))?;
    println!(
        "2/4 compressed: {} bytes, ratio {:.1}, trained in {:.1} s",
        cr.file_bytes,
        cr.ratio(),
        cr.train_seconds
    );

    let decoded = a.output.join("tornado-ir-decoded.cdb");
    let d: DecompressArgs = parse_args(&[&path(&model), "-o", &path(&decoded), "--overwrite"])?;
    let (n, decode_s) = crate::quietly(|| codec_cmd::decompress(&d))?;
    println!("3/4 decoded {n} images in {decode_s:.2} s");

    let diffs = a.output.join("differences");
    let e: EvalArgs = parse_args(&[
        &path(gt),
        &path(&decoded),
        "--csv",
        &path(&a.output.join("scores.csv")),
        "--diff-images",
        &path(&diffs),
        "--worst",
        "3",
    ])?;
    println!("4/4 evaluation:");
    let scores = crate::quietly(|| eval::run(&e))?;
    let (p, s, m, f) = neuvis_metrics::eval::means(&scores);

    // side-by-side pictures: ground truth | decoded | difference, for a few views, enlarged to at
    // least 256 pixels a panel and labelled
    let side = a.output.join("side-by-side");
    std::fs::create_dir_all(&side)?;
    let (ga, da) = (CinemaDb::open(gt)?, CinemaDb::open(&decoded)?);
    let title = |e: &neuvis_collection::cdb::Entry| {
        format!(
            "tornado isosurface, t = {}, θ = {}°, φ = {}°; ratio {:.0}",
            e.time,
            e.theta,
            e.phi,
            cr.ratio()
        )
    };
    neuvis_metrics::figure::comparisons(&ga, &da, &side, 6, "NeRVI decoded", &title)?;

    println!("\n| data | images | size | PSNR (dB) | SSIM | MS-SSIM | FLIP | ratio | file (bytes) | train (s) | decode (s) |");
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| tornado IR | {} | {}x{} | {p:.2} | {s:.4} | {m:.4} | {f:.4} | {:.1} | {} | {:.1} | {decode_s:.2} |",
        scores.len(),
        rs.width,
        rs.height,
        cr.ratio(),
        cr.file_bytes,
        cr.train_seconds
    );
    println!(
        "\nground truth | decoded | difference pictures: {}\nall difference images: {}\nper-image scores: {}\nexplore it in a browser: neuvis serve {} --reference {}",
        side.display(),
        diffs.display(),
        a.output.join("scores.csv").display(),
        neuvis_base::slurm::quote(&path(&model)),
        neuvis_base::slurm::quote(&path(gt))
    );
    Ok(())
}
