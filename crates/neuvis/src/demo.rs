//! `neuvis demo`: the README's main job on built-in data. Renders a tornado isosurface collection,
//! compresses it with NeRVI, decodes it, evaluates it, and writes side-by-side pictures.

use crate::codec_cmd::{self, CompressArgs, DecompressArgs};
use crate::eval::{self, EvalArgs};
use crate::render::{self, RenderArgs};
use anyhow::{bail, Result};
use clap::{Args, Parser};
use neuvis_collection::CinemaDb;
use std::path::PathBuf;

/// Options of `neuvis demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Output folder.
    #[arg(short, long, default_value = "neuvis-demo")]
    pub output: PathBuf,
    /// Image size.
    #[arg(long, default_value = "64")]
    pub size: String,
    /// Angle step for θ and φ in degrees (18° gives 10 × 20 = 200 views per time step).
    #[arg(value_parser = crate::num::positive_f64, long, default_value_t = 18.0)]
    pub angle_step: f64,
    /// Time steps of the tornado.
    #[arg(long, default_value = "0,24")]
    pub times: String,
    /// Training epochs.
    #[arg(long, default_value_t = 40)]
    pub epochs: usize,
    /// Target compression ratio.
    #[arg(value_parser = crate::num::positive_f64, long, default_value_t = 100.0)]
    pub ratio: f64,
    /// Replace an existing output, but only one neuvis wrote (never an input, the working
    /// directory or a foreign folder).
    #[arg(long)]
    pub overwrite: bool,
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
    if a.ratio <= 1.0 || a.epochs == 0 || a.angle_step <= 0.0 || a.angle_step > 180.0 {
        bail!("--ratio must exceed 1, --epochs be at least 1 and --angle-step lie in (0, 180]");
    }
    let gt = a.output.join("tornado-ir.cdb");
    let step = a.angle_step.to_string();
    let r: RenderArgs = parse_args(&[
        "--volume",
        "tornado",
        "--mode",
        "iso",
        "--iso",
        "0.17",
        "--size",
        &a.size,
        "--theta-step",
        &step,
        "--phi-step",
        &step,
        "--times",
        &a.times,
        "-o",
        &path(&gt),
    ])?;
    crate::render::parse_size(&a.size)?;
    crate::outputs::create_folder(&a.output, a.overwrite, &[], "neuvis demo")?;
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
        "neuvis demo: tornado 128³ isosurfaces at times {}, θ/φ every {}°, {} px images, NeRVI at ratio ≈ {}, {} epochs → {}",
        a.times,
        a.angle_step,
        a.size,
        a.ratio,
        a.epochs,
        a.output.display()
    );
    let rs = render::run(r)?;
    println!("1/4 rendered {} images in {:.1} s", rs.images, rs.seconds);

    let model = a.output.join("tornado-ir.nrvi");
    let c: CompressArgs = parse_args(&[
        &path(gt),
        "-o",
        &path(&model),
        "--ratio",
        &a.ratio.to_string(),
        "--epochs",
        &a.epochs.to_string(),
    ])?;
    let cr = codec_cmd::compress(&c)?;
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

    // side-by-side pictures: ground truth | decoded | difference, for a few views
    let side = a.output.join("side-by-side");
    std::fs::create_dir_all(&side)?;
    let (ga, da) = (CinemaDb::open(gt)?, CinemaDb::open(&decoded)?);
    let step = (ga.entries.len() / 6).max(1);
    for i in (0..ga.entries.len()).step_by(step).take(6) {
        let g = ga.load(i)?;
        let j = da
            .entries
            .iter()
            .position(|x| x.file == ga.entries[i].file)
            .unwrap_or(i);
        let dd = da.load(j)?;
        let diff = neuvis_metrics::difference_image(&g, &dd, 40.0)?;
        let (w, h) = (g.width(), diff.height);
        let mut strip = vec![255u8; 3 * w * 3 * h];
        for y in 0..h {
            for x in 0..w {
                let dst = |k: usize| 3 * (y * 3 * w + k * w + x);
                if y < g.height() {
                    strip[dst(0)..dst(0) + 3].copy_from_slice(&g.rgb()[3 * (y * w + x)..3 * (y * w + x) + 3]);
                    strip[dst(1)..dst(1) + 3].copy_from_slice(&dd.rgb()[3 * (y * w + x)..3 * (y * w + x) + 3]);
                }
                strip[dst(2)..dst(2) + 3].copy_from_slice(&diff.rgb[3 * (y * w + x)..3 * (y * w + x) + 3]);
            }
        }
        let img = neuvis_metrics::diff::RgbImage {
            width: 3 * w,
            height: h,
            rgb: strip,
        };
        img.save_png(&side.join(ga.entries[i].file.replace('/', "_")))?;
    }

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
        "\nground truth | decoded | difference pictures: {}\nall difference images: {}\nper-image scores: {}",
        side.display(),
        diffs.display(),
        a.output.join("scores.csv").display()
    );
    Ok(())
}
