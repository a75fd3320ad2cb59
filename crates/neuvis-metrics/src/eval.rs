//! Comparing two image collections: pairing by parameters and scoring every pair in parallel.

use crate::{flip_mean, psnr, ssim::ssim_and_ms_ssim, MetricError};
use neuvis_base::MaskedImage;
use neuvis_collection::CinemaDb;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The parameters identifying an image: (time, θ, φ) rounded to 1e-6.
pub type Key = (i64, i64, i64);

fn key(time: f64, theta: f64, phi: f64) -> Key {
    let q = |x: f64| (x * 1e6).round() as i64;
    (q(time), q(theta), q(phi))
}

/// Formats a key for messages: `t=3 θ=45 φ=90`.
pub fn key_text(k: &Key) -> String {
    let f = |v: i64| crate::fmt_param(v as f64 / 1e6);
    format!("t={} θ={} φ={}", f(k.0), f(k.1), f(k.2))
}

fn index(db: &CinemaDb) -> Result<BTreeMap<Key, usize>, MetricError> {
    let mut m = BTreeMap::new();
    for (i, e) in db.entries.iter().enumerate() {
        let k = key(e.time, e.theta, e.phi);
        if let Some(prev) = m.insert(k, i) {
            return Err(MetricError::Pairing(format!(
                "{}: rows for {} appear twice ({} and {})",
                db.dir.display(),
                key_text(&k),
                db.entries[prev].file,
                e.file
            )));
        }
    }
    Ok(m)
}

/// Pairs the rows of `a` and `b` by (time, θ, φ). Every image must have a partner: otherwise the
/// error lists what each side lacks.
pub fn pair(a: &CinemaDb, b: &CinemaDb) -> Result<Vec<(Key, usize, usize)>, MetricError> {
    let (ia, ib) = (index(a)?, index(b)?);
    let only = |x: &BTreeMap<Key, usize>, y: &BTreeMap<Key, usize>| -> Vec<String> {
        x.keys().filter(|k| !y.contains_key(k)).map(key_text).collect()
    };
    let (oa, ob) = (only(&ia, &ib), only(&ib, &ia));
    if !oa.is_empty() || !ob.is_empty() {
        let list = |v: &[String]| {
            let mut s = v.iter().take(8).cloned().collect::<Vec<_>>().join("; ");
            if v.len() > 8 {
                s.push_str(&format!("; … ({} more)", v.len() - 8));
            }
            s
        };
        let mut msg = String::from("the collections hold different parameter sets:");
        if !oa.is_empty() {
            msg.push_str(&format!(
                "\n  only in {} ({}): {}",
                a.dir.display(),
                oa.len(),
                list(&oa)
            ));
        }
        if !ob.is_empty() {
            msg.push_str(&format!(
                "\n  only in {} ({}): {}",
                b.dir.display(),
                ob.len(),
                list(&ob)
            ));
        }
        return Err(MetricError::Pairing(msg));
    }
    Ok(ia.into_iter().map(|(k, i)| (k, i, ib[&k])).collect())
}

/// The rows of `db` in shard `shard`'s block of the pairing order (sorted by time, θ, φ): the
/// images [`evaluate_shard`] scores, as a database of their own (e.g. to decode a model only there).
pub fn shard_rows(db: &CinemaDb, shard: neuvis_base::Shard) -> Result<CinemaDb, MetricError> {
    let idx = index(db)?;
    let keep: Vec<usize> = idx.values().copied().collect();
    let mut out = db.clone();
    out.entries = keep[shard.range(keep.len())]
        .iter()
        .map(|&i| db.entries[i].clone())
        .collect();
    Ok(out)
}

/// The scores of one image pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Time.
    pub time: f64,
    /// θ in degrees.
    pub theta: f64,
    /// φ in degrees.
    pub phi: f64,
    /// File of the reference side.
    pub file_a: String,
    /// File of the test side.
    pub file_b: String,
    /// PSNR in dB.
    pub psnr: f64,
    /// SSIM.
    pub ssim: f64,
    /// MS-SSIM.
    pub ms_ssim: f64,
    /// Scales MS-SSIM used.
    pub ms_ssim_scales: usize,
    /// Mean FLIP error.
    pub flip: f64,
}

/// The first line of `neuvis eval --csv`'s per-image table.
pub const CSV_HEADER: &str = "time,theta,phi,psnr,ssim,ms_ssim,ms_ssim_scales,flip,file_reference,file_test";

/// The per-image table of `scores`: [`CSV_HEADER`], then a row per pair (6 decimals).
pub fn csv_text(scores: &[Scores]) -> String {
    let mut text = format!("{CSV_HEADER}\n");
    for s in scores {
        text.push_str(&format!(
            "{},{},{},{:.6},{:.6},{:.6},{},{:.6},{},{}\n",
            s.time, s.theta, s.phi, s.psnr, s.ssim, s.ms_ssim, s.ms_ssim_scales, s.flip, s.file_a, s.file_b
        ));
    }
    text
}

/// Scores one pair of images.
pub fn score(a: &MaskedImage, b: &MaskedImage) -> Result<(f64, f64, f64, usize, f64), MetricError> {
    let (s, m, scales) = ssim_and_ms_ssim(a, b)?;
    Ok((psnr(a, b)?, s, m, scales, flip_mean(a, b)?))
}

/// Scores every pair of `a` (reference) and `b` (test) in parallel, calling `each(&scores, &img_a, &img_b)`
/// for every pair (e.g. to write difference images or advance a progress bar). Results are in the
/// pairing order (sorted by time, θ, φ).
pub fn evaluate(
    a: &CinemaDb,
    b: &CinemaDb,
    each: impl Fn(&Scores, &MaskedImage, &MaskedImage) -> Result<(), MetricError> + Sync,
) -> Result<Vec<Scores>, MetricError> {
    evaluate_shard(a, b, neuvis_base::Shard::WHOLE, each)
}

/// [`evaluate`] for one shard: every pair is checked, then only the shard's block of the pairs (in
/// the pairing order) is scored, so the shards' results, concatenated in index order, are
/// [`evaluate`]'s.
pub fn evaluate_shard(
    a: &CinemaDb,
    b: &CinemaDb,
    shard: neuvis_base::Shard,
    each: impl Fn(&Scores, &MaskedImage, &MaskedImage) -> Result<(), MetricError> + Sync,
) -> Result<Vec<Scores>, MetricError> {
    let pairs = pair(a, b)?;
    pairs[shard.range(pairs.len())]
        .par_iter()
        .map(|&(_, i, j)| {
            let (ia, ib) = (a.load(i)?, b.load(j)?);
            if (ia.width(), ia.height()) != (ib.width(), ib.height()) {
                return Err(MetricError::Pairing(format!(
                    "{} is {}x{} but {} is {}x{}",
                    a.dir.join(&a.entries[i].file).display(),
                    ia.width(),
                    ia.height(),
                    b.dir.join(&b.entries[j].file).display(),
                    ib.width(),
                    ib.height()
                )));
            }
            let (p, s, m, scales, f) = score(&ia, &ib)?;
            let e = &a.entries[i];
            let sc = Scores {
                time: e.time,
                theta: e.theta,
                phi: e.phi,
                file_a: e.file.clone(),
                file_b: b.entries[j].file.clone(),
                psnr: p,
                ssim: s,
                ms_ssim: m,
                ms_ssim_scales: scales,
                flip: f,
            };
            each(&sc, &ia, &ib)?;
            Ok(sc)
        })
        .collect()
}

/// Collection means: mean of per-image PSNR (as the NeRVI paper reports; infinite PSNRs of identical
/// images are capped at 100 dB for the mean), SSIM, MS-SSIM and FLIP.
pub fn means(s: &[Scores]) -> (f64, f64, f64, f64) {
    let n = s.len().max(1) as f64;
    (
        s.iter().map(|x| x.psnr.min(100.0)).sum::<f64>() / n,
        s.iter().map(|x| x.ssim).sum::<f64>() / n,
        s.iter().map(|x| x.ms_ssim).sum::<f64>() / n,
        s.iter().map(|x| x.flip).sum::<f64>() / n,
    )
}
