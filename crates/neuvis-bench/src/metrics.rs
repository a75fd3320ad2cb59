//! `neuvis bench metrics`: images per second of PSNR, SSIM, MS-SSIM and FLIP on two rendered
//! collections, next to the Python reference implementations.

use crate::table::Table;
use anyhow::Result;
use clap::Args;
use neuvis_cli::say;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `neuvis bench metrics`.
#[derive(Args, Debug)]
pub struct MetricsBenchArgs {
    /// Image edge length.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Angle step: 9° gives the paper's 800 views.
    #[arg(value_parser = neuvis_cli::num::finite_f64, long, default_value_t = 9.0)]
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

pub(crate) fn metrics_bench(a: &MetricsBenchArgs) -> Result<()> {
    use neuvis_collection::CinemaDb;
    let tmp = tempfile::tempdir()?;
    let threads = rayon::current_num_threads();
    let mut dbs = Vec::new();
    for (name, iso) in [("a.cdb", 0.17), ("b.cdb", 0.18)] {
        let out = tmp.path().join(name);
        let s = crate::fixture::tornado(&out, a.size, (a.angle_step, a.angle_step), Some(iso))?;
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
        crate::machine::run_baseline(&a.python, &a.script, &list, "reference script")?
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
