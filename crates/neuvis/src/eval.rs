//! `neuvis eval`: compare two image collections with PSNR, SSIM, MS-SSIM and FLIP.

use crate::progress::Progress;
use anyhow::{bail, Context, Result};
use clap::Args;
use neuvis_base::Shard;
use neuvis_codec::container::Split;
use neuvis_collection::CinemaDb;
use neuvis_metrics::eval::{csv_text, evaluate_shard, means, shard_rows, Scores, CSV_HEADER};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    #[arg(value_parser = crate::num::finite_f32, long, default_value_t = neuvis_metrics::DEFAULT_MAX_DELTA_E)]
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

fn is_model(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "nrvi")
}

/// Decodes `model` at the parameters of `db` (only the shard's block of them) into a temporary
/// collection; returns the collection, the shard's rows of `db`, and the model's size and raw size.
fn decode_like(
    model: &Path,
    db: &CinemaDb,
    dir: &Path,
    shard: Shard,
) -> Result<(CinemaDb, CinemaDb, u64, u64, neuvis_codec::container::Grid)> {
    let file = neuvis_codec::Nrvi::read(model)?;
    // the sizes are compared before anything is decoded (and the message names the two inputs,
    // not the temporary folder the decoded images would go to)
    if !db.entries.is_empty() {
        let (w, h) = db.dimensions(0)?;
        if (w, h) != (file.header.width, file.header.height) {
            bail!(
                "{} decodes {}x{} images but {} holds {w}x{h} images: they cannot be compared",
                model.display(),
                file.header.width,
                file.header.height,
                db.dir.display()
            );
        }
    }
    let dec = neuvis_codec::Decoder::cpu(&file)?;
    // every row in the pairing order; the shard's block of it is decoded, numbered (t0003/…) over all
    let sorted = shard_rows(db, Shard::WHOLE)?;
    let params: Vec<[f64; 3]> = sorted.entries.iter().map(|e| [e.time, e.theta, e.phi]).collect();
    let out = dir.join("decoded.cdb");
    let meta = serde_json::json!({"decoded_from": model.display().to_string()});
    crate::codec_cmd::decode_to_db(&dec, &params, &out, &meta, false, 16, shard, true)
        .with_context(|| format!("decoding {}", model.display()))?;
    let size = std::fs::metadata(model).map(|m| m.len()).unwrap_or(0);
    Ok((
        CinemaDb::open(&shard.part_path(&out))?,
        shard_rows(db, shard)?,
        size,
        file.header.raw_bytes,
        file.header.grid.clone(),
    ))
}

fn diff_name(file: &str) -> String {
    file.replace(['/', '\\'], "_")
}

/// Runs `neuvis eval`; returns the scores.
pub fn run(a: &EvalArgs) -> Result<Vec<Scores>> {
    use crate::outputs::{check, OutputKind};
    let inputs = [a.reference.as_path(), a.test.as_path()];
    let shard = a.shard.unwrap_or(Shard::WHOLE);
    let csv = a.csv.as_ref().map(|c| shard.part_path(c));
    if let Some(c) = &csv {
        let kind = OutputKind::FileWithMark(CSV_HEADER.as_bytes(), "a table neuvis eval wrote (its header row)");
        check(c, kind, a.out.overwrite, &inputs)?;
    }
    if let Some(d) = &a.diff_images {
        check(d, OutputKind::NeuvisFolder, a.out.overwrite, &inputs)?;
    }
    let tmp = tempfile::tempdir()?;
    let mut model_info = None;
    // with a model on one side, only the shard's images are decoded (and then scored whole)
    let mut part = shard;
    let (ra, rb) = match (is_model(&a.reference), is_model(&a.test)) {
        (false, false) => (CinemaDb::open(&a.reference)?, CinemaDb::open(&a.test)?),
        (false, true) => {
            let ra = CinemaDb::open(&a.reference)?;
            let (rb, ra, size, raw, grid) = decode_like(&a.test, &ra, tmp.path(), shard)?;
            model_info = Some((a.test.clone(), size, raw, grid));
            part = Shard::WHOLE;
            (ra, rb)
        }
        (true, false) => {
            let rb = CinemaDb::open(&a.test)?;
            let (ra, rb, size, raw, grid) = decode_like(&a.reference, &rb, tmp.path(), shard)?;
            model_info = Some((a.reference.clone(), size, raw, grid));
            part = Shard::WHOLE;
            (ra, rb)
        }
        (true, true) => bail!("give at least one image collection: two models have no common ground truth"),
    };
    if a.holdout && model_info.is_none() {
        bail!("--holdout splits the scores by what a model was trained on: give a .nrvi model as one side");
    }
    if !(a.max_delta_e > 0.0 && a.max_delta_e.is_finite()) {
        bail!("--max-delta-e must be positive");
    }
    if let Some(d) = &a.diff_images {
        crate::outputs::create_folder(d, a.out.overwrite, &inputs, "CIELUV difference images of neuvis eval")?;
    }
    let n = part.range(ra.entries.len()).len();
    let pb = Progress::new(
        "eval",
        "pairs",
        Some(n as u64),
        "[{elapsed_precise}] {bar:40} {pos}/{len} pairs, {per_sec}, ETA {eta}",
    );
    let t0 = Instant::now();
    let scores = evaluate_shard(&ra, &rb, part, |s, ia, ib| {
        if neuvis_base::interrupt::requested() {
            return Err(neuvis_base::Interrupted {
                kept: match &a.diff_images {
                    Some(d) => format!(
                        "stopped while scoring; no table was written, the difference images so far are in {}",
                        d.display()
                    ),
                    None => "stopped while scoring; nothing was written".into(),
                },
                resumable: false,
            }
            .into());
        }
        if let Some(d) = &a.diff_images {
            let img = neuvis_metrics::difference_image(ia, ib, a.max_delta_e)?;
            img.save_png(&d.join(diff_name(&s.file_a)))?;
        }
        pb.inc(1);
        Ok(())
    })?;
    pb.finish();
    let secs = t0.elapsed().as_secs_f64();
    if let Some(p) = &csv {
        let text = csv_text(&scores);
        neuvis_collection::write_atomic(p, |w| w.write_all(text.as_bytes()))?;
    }
    let (p, s, m, f) = means(&scores);
    let (w, h) = ra.load(0).map(|i| (i.width(), i.height())).unwrap_or((0, 0));
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
    if let Some((path, size, raw, _)) = &model_info {
        say!("| model file {} (bytes) | {size} |", path.display());
        say!(
            "| compression ratio (raw RGB / file) | {:.1} |",
            *raw as f64 / (*size).max(1) as f64
        );
    }
    // the scores grouped by what the model was trained on (`--holdout`)
    let groups: Vec<(Split, Vec<Scores>)> = match (a.holdout, &model_info) {
        (true, Some((_, _, _, grid))) => Split::ALL
            .into_iter()
            .map(|split| {
                let part = scores
                    .iter()
                    .filter(|x| Split::of(grid, [x.time, x.theta, x.phi]) == split)
                    .cloned()
                    .collect();
                (split, part)
            })
            .collect(),
        _ => Vec::new(),
    };
    if !groups.is_empty() {
        say!("\nby what the model was trained on:");
        say!("| images | count | PSNR (dB) | SSIM | MS-SSIM | FLIP |");
        say!("|---|---:|---:|---:|---:|---:|");
        for (split, part) in &groups {
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
    let mut worst: Vec<&Scores> = scores.iter().collect();
    worst.sort_by(|x, y| x.psnr.total_cmp(&y.psnr));
    let score_json = |x: &Scores| {
        serde_json::json!({"time": x.time, "theta": x.theta, "phi": x.phi, "psnr": x.psnr, "ssim": x.ssim,
            "ms_ssim": x.ms_ssim, "flip": x.flip, "file": x.file_a})
    };
    // `--holdout`'s groups by stable keys; the means of an empty group are null
    let splits: Option<serde_json::Map<String, serde_json::Value>> = (!groups.is_empty()).then(|| {
        groups
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
        "model_bytes": model_info.as_ref().map(|i| i.1),
        "raw_bytes": model_info.as_ref().map(|i| i.2),
        "ratio": model_info.as_ref().map(|i| i.2 as f64 / i.1.max(1) as f64),
        "splits": splits,
        "worst": worst.iter().take(a.worst).map(|x| score_json(x)).collect::<Vec<_>>(),
    }));
    say!("\nworst {} by PSNR:", a.worst.min(worst.len()));
    say!("| time | θ | φ | PSNR | SSIM | MS-SSIM | FLIP | file |");
    say!("|---:|---:|---:|---:|---:|---:|---:|---|");
    for x in worst.iter().take(a.worst) {
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
    if let Some(p) = &csv {
        say!("\nper-image scores: {}", p.display());
    }
    if !shard.is_whole() {
        say!("(shard {shard}: the means above are of this part's pairs; `neuvis merge` gives the whole table)");
    }
    if let Some(d) = &a.diff_images {
        say!(
            "difference images (ΔE*uv 0 → {} white → purple → blue → green → yellow → red): {}",
            a.max_delta_e,
            d.display()
        );
    }
    Ok(scores)
}
