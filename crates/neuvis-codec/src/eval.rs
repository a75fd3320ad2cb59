//! `neuvis eval`'s comparison of two sides, each an image collection or a `.nrvi` model: a model is
//! decoded (on the CPU) at the parameters of the collection on the other side, then every pair is
//! scored with [`neuvis_metrics::eval`] (PSNR, SSIM, MS-SSIM, FLIP). With a model, the result
//! carries its size and, on request, the scores grouped by what it was trained on ([`Split`]).
//!
//! Two steps, so a caller can create its outputs between them: [`Comparison::open`] reads both
//! sides and checks that they can be compared (nothing is written but the decoded images, in a
//! temporary folder that goes with the comparison); [`Comparison::score`] scores the pairs.

use crate::container::{Grid, Split};
use crate::{CodecError, Decoder, Nrvi};
use neuvis_base::Shard;
use neuvis_collection::CinemaDb;
use neuvis_metrics::eval::{evaluate_shard, means, shard_rows, Scores};
use neuvis_metrics::MetricError;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Images per forward pass when a model side is decoded.
const DECODE_BATCH: usize = 16;

/// How to compare.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Score only this block of the pairs (in the pairing order: time, θ, φ).
    pub shard: Shard,
    /// Group the scores by [`Split`] (needs a model on one side).
    pub holdout: bool,
    /// Write a CIELUV difference image of each pair into this (existing) folder.
    pub diff_images: Option<PathBuf>,
    /// ΔE*uv at the top (red) of the difference images' colour scale.
    pub max_delta_e: f32,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            shard: Shard::WHOLE,
            holdout: false,
            diff_images: None,
            max_delta_e: neuvis_metrics::DEFAULT_MAX_DELTA_E,
        }
    }
}

/// The model on one side of a comparison.
#[derive(Debug, Clone)]
pub struct ModelSide {
    /// The `.nrvi` file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The raw RGB bytes of the collection it was trained on.
    pub raw_bytes: u64,
    /// Its training grid.
    pub grid: Grid,
}

impl ModelSide {
    /// The compression ratio: raw RGB bytes over file bytes.
    pub fn ratio(&self) -> f64 {
        self.raw_bytes as f64 / self.bytes.max(1) as f64
    }
}

/// Both sides, read and ready to score.
pub struct Comparison {
    reference: CinemaDb,
    test: CinemaDb,
    /// The block of `reference`'s pairs to score (whole when a model side was decoded for a shard).
    part: Shard,
    model: Option<ModelSide>,
    /// Where a model side's images were decoded; removed with the comparison.
    _decoded: Option<tempfile::TempDir>,
}

/// The scores of a comparison.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Every scored pair, in the pairing order.
    pub scores: Vec<Scores>,
    /// The reference images' size (0 × 0 when there are none).
    pub width: usize,
    /// See `width`.
    pub height: usize,
    /// Seconds spent scoring.
    pub seconds: f64,
    /// The model side, if one side was a model.
    pub model: Option<ModelSide>,
    /// With [`EvalOptions::holdout`]: the scores of each [`Split`] (every split, in
    /// [`Split::ALL`]'s order, empty ones too); otherwise empty.
    pub splits: Vec<(Split, Vec<Scores>)>,
}

impl Evaluation {
    /// Means of every pair: (PSNR, SSIM, MS-SSIM, FLIP), as [`neuvis_metrics::eval::means`].
    pub fn means(&self) -> (f64, f64, f64, f64) {
        means(&self.scores)
    }

    /// The `n` pairs of lowest PSNR, lowest first.
    pub fn worst(&self, n: usize) -> Vec<&Scores> {
        let mut worst: Vec<&Scores> = self.scores.iter().collect();
        worst.sort_by(|x, y| x.psnr.total_cmp(&y.psnr));
        worst.truncate(n);
        worst
    }
}

fn is_model(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "nrvi")
}

/// The name of a pair's difference image: the reference image's path with separators replaced.
pub fn diff_name(file: &str) -> String {
    file.replace(['/', '\\'], "_")
}

/// Decodes `model` at the parameters of `db` (only the shard's block of them) into `dir`; returns
/// the decoded collection, the shard's rows of `db`, and the model.
fn decode_like(
    model: &Path,
    db: &CinemaDb,
    dir: &Path,
    shard: Shard,
) -> Result<(CinemaDb, CinemaDb, ModelSide), CodecError> {
    let file = Nrvi::read(model)?;
    // the sizes are compared before anything is decoded (and the message names the two inputs,
    // not the temporary folder the decoded images would go to)
    if !db.entries.is_empty() {
        let (w, h) = db.dimensions(0)?;
        if (w, h) != (file.header.width, file.header.height) {
            return Err(CodecError::Input(format!(
                "{} decodes {}x{} images but {} holds {w}x{h} images: they cannot be compared",
                model.display(),
                file.header.width,
                file.header.height,
                db.dir.display()
            )));
        }
    }
    let dec = Decoder::cpu(&file)?;
    // every row in the pairing order; the shard's block of it is decoded, numbered (t0003/…) over all
    let sorted = shard_rows(db, Shard::WHOLE)?;
    let params: Vec<[f64; 3]> = sorted.entries.iter().map(|e| [e.time, e.theta, e.phi]).collect();
    let out = dir.join("decoded.cdb");
    let meta = serde_json::json!({"decoded_from": model.display().to_string()});
    crate::codec::decode_to_db(&dec, &params, &out, &meta, false, DECODE_BATCH, shard, |_| {}).map_err(|e| {
        CodecError::Decoding {
            path: model.to_path_buf(),
            source: Box::new(e),
        }
    })?;
    let side = ModelSide {
        path: model.to_path_buf(),
        bytes: std::fs::metadata(model).map(|m| m.len()).unwrap_or(0),
        raw_bytes: file.header.raw_bytes,
        grid: file.header.grid.clone(),
    };
    Ok((CinemaDb::open(&shard.part_path(&out))?, shard_rows(db, shard)?, side))
}

impl Comparison {
    /// Reads both sides (a `.nrvi` side is decoded at the other side's parameters, the shard's
    /// block of them only) and checks `opts` against them.
    pub fn open(reference: &Path, test: &Path, opts: &EvalOptions) -> Result<Comparison, CodecError> {
        if !(opts.max_delta_e > 0.0 && opts.max_delta_e.is_finite()) {
            return Err(CodecError::Input("--max-delta-e must be positive".into()));
        }
        let input = |m: &str| Err(CodecError::Input(m.into()));
        if opts.holdout && !is_model(reference) && !is_model(test) {
            return input("--holdout splits the scores by what a model was trained on: give a .nrvi model as one side");
        }
        let (reference, test, model, decoded) = match (is_model(reference), is_model(test)) {
            (false, false) => (CinemaDb::open(reference)?, CinemaDb::open(test)?, None, None),
            (false, true) => {
                let tmp = temp_dir()?;
                let db = CinemaDb::open(reference)?;
                let (decoded, rows, side) = decode_like(test, &db, tmp.path(), opts.shard)?;
                (rows, decoded, Some(side), Some(tmp))
            }
            (true, false) => {
                let tmp = temp_dir()?;
                let db = CinemaDb::open(test)?;
                let (decoded, rows, side) = decode_like(reference, &db, tmp.path(), opts.shard)?;
                (decoded, rows, Some(side), Some(tmp))
            }
            (true, true) => return input("give at least one image collection: two models have no common ground truth"),
        };
        // with a model on one side only the shard's images were decoded, and they are scored whole
        let part = if model.is_some() { Shard::WHOLE } else { opts.shard };
        Ok(Comparison {
            reference,
            test,
            part,
            model,
            _decoded: decoded,
        })
    }

    /// How many pairs [`Comparison::score`] scores (at most: pairing may fail).
    pub fn pairs(&self) -> usize {
        self.part.range(self.reference.entries.len()).len()
    }

    /// Scores every pair in parallel, writing difference images where `opts` says, calling
    /// `each()` after each pair; stops with [`neuvis_base::Interrupted`] (in the error's chain) at
    /// a Ctrl-C.
    pub fn score(self, opts: &EvalOptions, each: impl Fn() + Sync) -> Result<Evaluation, CodecError> {
        let t0 = Instant::now();
        let scores = evaluate_shard(&self.reference, &self.test, self.part, |s, ia, ib| {
            if neuvis_base::interrupt::requested() {
                return Err(MetricError::Interrupted(neuvis_base::Interrupted {
                    kept: match &opts.diff_images {
                        Some(d) => format!(
                            "stopped while scoring; no table was written, the difference images so far are in {}",
                            d.display()
                        ),
                        None => "stopped while scoring; nothing was written".into(),
                    },
                    resumable: false,
                }));
            }
            if let Some(d) = &opts.diff_images {
                let img = neuvis_metrics::difference_image(ia, ib, opts.max_delta_e)?;
                img.save_png(&d.join(diff_name(&s.file_a)))?;
            }
            each();
            Ok(())
        })?;
        let seconds = t0.elapsed().as_secs_f64();
        let (width, height) = self
            .reference
            .load(0)
            .map(|i| (i.width(), i.height()))
            .unwrap_or((0, 0));
        let splits = match (opts.holdout, &self.model) {
            (true, Some(m)) => Split::ALL
                .into_iter()
                .map(|split| {
                    let part = scores
                        .iter()
                        .filter(|x| Split::of(&m.grid, [x.time, x.theta, x.phi]) == split)
                        .cloned()
                        .collect();
                    (split, part)
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Evaluation {
            scores,
            width,
            height,
            seconds,
            model: self.model,
            splits,
        })
    }
}

fn temp_dir() -> Result<tempfile::TempDir, CodecError> {
    tempfile::tempdir().map_err(|source| CodecError::Io {
        path: std::env::temp_dir(),
        source,
    })
}
