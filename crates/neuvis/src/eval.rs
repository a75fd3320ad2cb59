//! `neuvis eval`: compare two image collections (or a collection and a `.nrvi` model) with PSNR,
//! SSIM, MS-SSIM and FLIP ([`neuvis_codec::eval`] compares, this prints).

use crate::progress::Progress;
use anyhow::Result;
use clap::Args;
use neuvis_base::Shard;
use neuvis_codec::eval::{Comparison, EvalOptions, Evaluation};
use neuvis_metrics::eval::{csv_text, means, Scores, CSV_HEADER};
use std::io::Write;
use std::path::PathBuf;

/// Options of `neuvis eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// Reference collection (Cinema spec D directory).
    pub reference: PathBuf,
    /// Test collection, paired with the reference by (time, θ, φ).
    pub test: PathBuf,
    /// Write per-image scores to this CSV file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write a CIELUV difference image per pair into this directory.
    #[arg(long)]
    pub diff_images: Option<PathBuf>,
    /// ΔE*uv mapped to the top (red) of the difference colour scale (the explorer's and the
    /// demo's scale too).
    #[arg(value_parser = crate::num::finite_f32, long, default_value_t = EvalOptions::default().max_delta_e)]
    pub max_delta_e: f32,
    /// How many of the worst images (lowest PSNR) to list.
    #[arg(long, default_value_t = 5)]
    pub worst: usize,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    /// Score only block I of N of the image pairs (0-based; `slurm` takes it from the job array),
    /// writing the CSV's part CSV.part-IIII-of-NNNN.csv; `neuvis merge CSV` assembles the table.
    #[arg(long, value_name = "I/N|slurm", value_parser = crate::num::shard, requires = "csv", conflicts_with = "diff_images")]
    pub shard: Option<neuvis_base::Shard>,
    /// With a .nrvi model on one side: also report the scores separately for the images the model
    /// was trained on, time steps left out of training (`compress --holdout-times`, or any time
    /// between its steps), unseen views of trained steps, and unseen times and views.
    #[arg(long)]
    pub holdout: bool,
}

impl EvalArgs {
    /// The library's options these flags give.
    pub fn options(&self) -> EvalOptions {
        EvalOptions {
            shard: self.shard.unwrap_or(Shard::WHOLE),
            holdout: self.holdout,
            diff_images: self.diff_images.clone(),
            max_delta_e: self.max_delta_e,
        }
    }
}

/// Runs `neuvis eval`; returns the scores.
pub fn run(a: &EvalArgs) -> Result<Vec<Scores>> {
    use crate::outputs::{check, OutputKind};
    let inputs = [a.reference.as_path(), a.test.as_path()];
    let opts = a.options();
    let csv = a.csv.as_ref().map(|c| opts.shard.part_path(c));
    if let Some(c) = &csv {
        let kind = OutputKind::FileWithMark(CSV_HEADER.as_bytes(), "a table neuvis eval wrote (its header row)");
        check(c, kind, a.out.overwrite, &inputs)?;
    }
    if let Some(d) = &a.diff_images {
        check(d, OutputKind::NeuvisFolder, a.out.overwrite, &inputs)?;
    }
    let cmp = Comparison::open(&a.reference, &a.test, &opts)?;
    // the difference images' folder is made once both sides have been read
    if let Some(d) = &a.diff_images {
        crate::outputs::create_folder(d, a.out.overwrite, &inputs, "CIELUV difference images of neuvis eval")?;
    }
    let pb = Progress::new(
        "eval",
        "pairs",
        Some(cmp.pairs() as u64),
        "[{elapsed_precise}] {bar:40} {pos}/{len} pairs, {per_sec}, ETA {eta}",
    );
    let ev = cmp.score(&opts, || pb.inc(1))?;
    pb.finish();
    if let Some(p) = &csv {
        let text = csv_text(&ev.scores);
        neuvis_collection::write_atomic(p, |w| w.write_all(text.as_bytes()))?;
    }
    print(a, &ev, csv.as_deref());
    Ok(ev.scores)
}

/// Prints the tables (and the `--json` object).
fn print(a: &EvalArgs, ev: &Evaluation, csv: Option<&std::path::Path>) {
    let (scores, secs, (w, h)) = (&ev.scores, ev.seconds, (ev.width, ev.height));
    let (p, s, m, f) = ev.means();
    say!(
        "{} vs {}: {} image pairs of {w}x{h}, evaluated in {secs:.1} s ({:.0} pairs/s)\n",
        a.reference.display(),
        a.test.display(),
        scores.len(),
        scores.len() as f64 / secs.max(1e-9)
    );
    say!("| metric | mean |");
    say!("|---|---:|");
    say!("| PSNR (dB, mean of per-image) | {p:.3} |");
    say!("| SSIM | {s:.5} |");
    say!(
        "| MS-SSIM ({} scales) | {m:.5} |",
        scores.first().map(|x| x.ms_ssim_scales).unwrap_or(0)
    );
    say!("| FLIP (mean error, lower is better) | {f:.5} |");
    if let Some(model) = &ev.model {
        say!("| model file {} (bytes) | {} |", model.path.display(), model.bytes);
        say!("| compression ratio (raw RGB / file) | {:.1} |", model.ratio());
    }
    if !ev.splits.is_empty() {
        say!("\nby what the model was trained on:");
        say!("| images | count | PSNR (dB) | SSIM | MS-SSIM | FLIP |");
        say!("|---|---:|---:|---:|---:|---:|");
        for (split, part) in &ev.splits {
            if part.is_empty() {
                say!("| {} | 0 | | | | |", split.label());
                continue;
            }
            let (p, s, m, f) = means(part);
            say!(
                "| {} | {} | {p:.3} | {s:.5} | {m:.5} | {f:.5} |",
                split.label(),
                part.len()
            );
        }
    }
    let worst = ev.worst(a.worst);
    let score_json = |x: &Scores| {
        serde_json::json!({"time": x.time, "theta": x.theta, "phi": x.phi, "psnr": x.psnr, "ssim": x.ssim,
            "ms_ssim": x.ms_ssim, "flip": x.flip, "file": x.file_a})
    };
    // `--holdout`'s groups by stable keys; the means of an empty group are null
    let splits: Option<serde_json::Map<String, serde_json::Value>> = (!ev.splits.is_empty()).then(|| {
        ev.splits
            .iter()
            .map(|(split, part)| {
                let v = if part.is_empty() {
                    serde_json::json!({"label": split.label(), "count": 0, "psnr": null, "ssim": null, "ms_ssim": null, "flip": null})
                } else {
                    let (p, s, m, f) = means(part);
                    serde_json::json!({"label": split.label(), "count": part.len(), "psnr": p, "ssim": s, "ms_ssim": m, "flip": f})
                };
                (split.key().to_string(), v)
            })
            .collect()
    });
    crate::emit_json(serde_json::json!({
        "command": "eval", "reference": a.reference, "test": a.test, "pairs": scores.len(),
        "width": w, "height": h, "seconds": secs,
        "psnr": p, "ssim": s, "ms_ssim": m, "flip": f,
        "model_bytes": ev.model.as_ref().map(|m| m.bytes),
        "raw_bytes": ev.model.as_ref().map(|m| m.raw_bytes),
        "ratio": ev.model.as_ref().map(|m| m.ratio()),
        "splits": splits,
        "worst": worst.iter().map(|x| score_json(x)).collect::<Vec<_>>(),
    }));
    say!("\nworst {} by PSNR:", worst.len());
    say!("| time | θ | φ | PSNR | SSIM | MS-SSIM | FLIP | file |");
    say!("|---:|---:|---:|---:|---:|---:|---:|---|");
    for x in &worst {
        say!(
            "| {} | {} | {} | {:.2} | {:.4} | {:.4} | {:.4} | {} |",
            x.time,
            x.theta,
            x.phi,
            x.psnr,
            x.ssim,
            x.ms_ssim,
            x.flip,
            x.file_a
        );
    }
    if let Some(p) = csv {
        say!("\nper-image scores: {}", p.display());
    }
    if let Some(shard) = a.shard.filter(|s| !s.is_whole()) {
        say!("(shard {shard}: the means above are of this part's pairs; `neuvis merge` gives the whole table)");
    }
    if let Some(d) = &a.diff_images {
        say!(
            "difference images (ΔE*uv 0 → {} white → purple → blue → green → yellow → red): {}",
            a.max_delta_e,
            d.display()
        );
    }
}
