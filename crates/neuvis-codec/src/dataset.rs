//! A training set: the images of a Cinema database with their parameters, held in memory or
//! streamed from the PNG files.
//!
//! Design decision: the dataset keeps only the parameters and the image size resident; the pixels
//! are either all decoded once ([`Residency::Memory`], fastest for collections that fit) or decoded
//! batch by batch from the PNG files ([`Residency::Stream`]) by [`Prefetch`], which runs one epoch's
//! batches on a producer thread (its images decoded in parallel) at most `depth` batches ahead of
//! the training step. Resident memory then does not grow with the number of images (the paper's
//! 38,400 images of 1024² are 161 GB as RGBA bytes). Both paths give byte-identical batches, so
//! the same seed trains the same model either way.

use crate::config::NetConfig;
use crate::container::{Grid, ParamSpace};
use crate::encoding::positional_encoding;
use crate::CodecError;
use neuvis_collection::CinemaDb;
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::mpsc;

/// The span θ is normalized over before the positional encoding: 360°, as φ, though θ itself lies
/// in [0°, 180°]. A degree is then the same distance on both angles, so the encoding's highest
/// frequency (a period of 45°) is sampled as densely along θ as along φ. Over [0°, 180°] (the files
/// of neuvis before issue #21, which still decode) that period was 22.5°, barely above the Nyquist
/// limit of a 9° grid, and views between grid rows decoded 8 dB worse than views between grid
/// columns (BENCHMARKS.md, "Views and times the model was not trained on").
pub const THETA_SPAN: [f64; 2] = [0.0, 360.0];

/// Where the pixels of a [`Dataset`] live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Residency {
    /// Every image decoded once and kept in memory (4 bytes per pixel).
    Memory,
    /// Images decoded from their PNG files whenever a batch needs them.
    Stream,
    /// [`Residency::Memory`] when the images take at most [`Residency::AUTO_MEMORY_BYTES`],
    /// otherwise [`Residency::Stream`]. The default.
    #[default]
    Auto,
}

impl neuvis_base::named::Named for Residency {
    const ALL: &'static [Residency] = &[Residency::Auto, Residency::Memory, Residency::Stream];

    fn name_of(self) -> &'static str {
        match self {
            Residency::Auto => "auto",
            Residency::Memory => "memory",
            Residency::Stream => "stream",
        }
    }
}

impl Residency {
    /// The most bytes (RGB + mask) [`Residency::Auto`] keeps in memory: 512 MiB.
    pub const AUTO_MEMORY_BYTES: u64 = 512 << 20;
}

#[derive(Debug, Clone)]
enum Pixels {
    Memory { rgb: Vec<Vec<u8>>, mask: Vec<Vec<u8>> },
    Stream { db: CinemaDb },
}

/// The RGB (HWC) and mask bytes of one image, borrowed or decoded ([`Dataset::image`]).
pub type ImageBytes<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// Images (RGB and mask bytes) and their (t, θ, φ).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Image width.
    pub width: usize,
    /// Image height.
    pub height: usize,
    /// Per image: (t, θ, φ).
    pub params: Vec<[f64; 3]>,
    /// Parameter normalization.
    pub space: ParamSpace,
    pixels: Pixels,
}

impl Dataset {
    /// Loads every image of a database into memory (in parallel). All images must share one size.
    pub fn load(db: &CinemaDb) -> Result<Dataset, CodecError> {
        Dataset::open(db, Residency::Memory)
    }

    /// Opens a database for training: checks that there are images and that every image file
    /// declares the same size (with [`Residency::Stream`] from the PNG headers alone), then decodes
    /// all pixels ([`Residency::Memory`]) or none yet ([`Residency::Stream`]).
    pub fn open(db: &CinemaDb, residency: Residency) -> Result<Dataset, CodecError> {
        if db.entries.is_empty() {
            return Err(CodecError::Input(format!(
                "{}: the collection has no images",
                db.dir.display()
            )));
        }
        let (w, h) = db.dimensions(0)?;
        let residency = match residency {
            Residency::Auto => {
                let bytes = (db.entries.len() as u64)
                    .saturating_mul(w as u64)
                    .saturating_mul(h as u64)
                    .saturating_mul(4);
                if bytes <= Residency::AUTO_MEMORY_BYTES {
                    Residency::Memory
                } else {
                    Residency::Stream
                }
            }
            r => r,
        };
        let mismatch = |i: usize, (iw, ih): (usize, usize)| {
            CodecError::Input(format!(
                "{}: image {} is {iw}x{ih} but the first is {w}x{h}; a model holds images of one size",
                db.dir.display(),
                db.entries[i].file,
            ))
        };
        let pixels = match residency {
            Residency::Stream => {
                let dims = (0..db.entries.len())
                    .into_par_iter()
                    .map(|i| db.dimensions(i))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some((i, &d)) = dims.iter().enumerate().find(|(_, &d)| d != (w, h)) {
                    return Err(mismatch(i, d));
                }
                Pixels::Stream { db: db.clone() }
            }
            _ => {
                let imgs = db
                    .entries
                    .par_iter()
                    .enumerate()
                    .map(|(i, _)| db.load(i))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some((i, im)) = imgs
                    .iter()
                    .enumerate()
                    .find(|(_, im)| (im.width(), im.height()) != (w, h))
                {
                    return Err(mismatch(i, (im.width(), im.height())));
                }
                let (rgb, mask) = imgs
                    .into_iter()
                    .map(|im| (im.rgb().to_vec(), im.mask().to_vec()))
                    .unzip();
                Pixels::Memory { rgb, mask }
            }
        };
        let params: Vec<[f64; 3]> = db.entries.iter().map(|e| [e.time, e.theta, e.phi]).collect();
        let (tmin, tmax) = params.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p[0]), b.max(p[0]))
        });
        Ok(Dataset {
            width: w,
            height: h,
            params,
            space: ParamSpace {
                time: [tmin, tmax],
                time_span: ParamSpace::time_span_of([tmin, tmax]),
                theta: THETA_SPAN,
                phi: [0.0, 360.0],
            },
            pixels,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Whether the pixels are decoded from the files batch by batch.
    pub fn is_streamed(&self) -> bool {
        matches!(self.pixels, Pixels::Stream { .. })
    }

    /// Bytes of the raw RGB images (N·H·W·3), the numerator of the compression ratio.
    pub fn raw_bytes(&self) -> u64 {
        (self.len() * self.width * self.height * 3) as u64
    }

    /// The training grid.
    pub fn grid(&self) -> Grid {
        Grid::from_params(&self.params)
    }

    /// The RGB (HWC) and mask bytes of image `i`: borrowed when in memory, decoded otherwise (an
    /// image whose size changed since [`Dataset::open`] is an error naming the file).
    ///
    /// # Panics
    /// Panics if `i` is out of range.
    pub fn image(&self, i: usize) -> Result<ImageBytes<'_>, CodecError> {
        match &self.pixels {
            Pixels::Memory { rgb, mask } => Ok((Cow::Borrowed(&rgb[i]), Cow::Borrowed(&mask[i]))),
            Pixels::Stream { db } => {
                let im = db.load(i)?;
                if (im.width(), im.height()) != (self.width, self.height) {
                    return Err(CodecError::Input(format!(
                        "{}: image {} is now {}x{}, not the {}x{} it was when training started",
                        db.dir.display(),
                        db.entries[i].file,
                        im.width(),
                        im.height(),
                        self.width,
                        self.height
                    )));
                }
                Ok((Cow::Owned(im.rgb().to_vec()), Cow::Owned(im.mask().to_vec())))
            }
        }
    }

    /// The distinct times, increasing.
    pub fn times(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self.params.iter().map(|p| p[0]).collect();
        t.sort_by(f64::total_cmp);
        t.dedup();
        t
    }

    /// Splits off every `every`-th time step for evaluation: the steps at indices `every, 2·every,
    /// …` of the sorted distinct times, never the first or the last (held-out steps are interpolated,
    /// not extrapolated, and the normalization is that of the whole set). Returns the images of the
    /// other steps and the held-out times.
    pub fn hold_out_times(&self, every: usize) -> Result<(Dataset, Vec<f64>), CodecError> {
        let times = self.times();
        if every < 2 {
            return Err(CodecError::Input(format!(
                "--holdout-times {every}: holding out every {every}th time step leaves none to train between (use 2 or more)"
            )));
        }
        let held: Vec<f64> = times
            .iter()
            .enumerate()
            .filter(|&(i, _)| i > 0 && i + 1 < times.len() && i % every == 0)
            .map(|(_, &t)| t)
            .collect();
        if held.is_empty() {
            return Err(CodecError::Input(format!(
                "--holdout-times {every}: the collection has {} time step(s); none lies strictly between the first and the last at a multiple of {every}",
                times.len()
            )));
        }
        let keep: Vec<usize> = (0..self.len())
            .filter(|&i| !held.contains(&self.params[i][0]))
            .collect();
        Ok((self.subset(&keep, false), held))
    }

    /// A subset of the images (in the order of `keep`), with the parameter normalization of the
    /// whole set unless `renormalize` (then the time range spans the kept images only).
    pub fn subset(&self, keep: &[usize], renormalize: bool) -> Dataset {
        let params: Vec<[f64; 3]> = keep.iter().map(|&i| self.params[i]).collect();
        let pixels = match &self.pixels {
            Pixels::Memory { rgb, mask } => Pixels::Memory {
                rgb: keep.iter().map(|&i| rgb[i].clone()).collect(),
                mask: keep.iter().map(|&i| mask[i].clone()).collect(),
            },
            Pixels::Stream { db } => {
                let mut db = db.clone();
                db.entries = keep.iter().map(|&i| db.entries[i].clone()).collect();
                Pixels::Stream { db }
            }
        };
        let mut space = self.space.clone();
        if renormalize {
            space.time = params.iter().fold([f64::INFINITY, f64::NEG_INFINITY], |r, p| {
                [r[0].min(p[0]), r[1].max(p[0])]
            });
            space.time_span = ParamSpace::time_span_of(space.time);
        }
        Dataset {
            width: self.width,
            height: self.height,
            params,
            space,
            pixels,
        }
    }

    /// The host-side arrays of one batch, ready for the device: encoded parameters `[B, F]`, RGB
    /// `[B, 3, H, W]` and mask `[B, 1, H, W]` in `[0, 1]`. Streamed images are decoded in parallel.
    pub fn host_batch(&self, idx: &[usize], net: &NetConfig) -> Result<HostBatch, CodecError> {
        let hw = self.width * self.height;
        let f = net.pe_dim();
        let mut x = vec![0f32; idx.len() * f];
        let mut rgb = vec![0f32; idx.len() * 3 * hw];
        let mut mask = vec![0f32; idx.len() * hw];
        x.par_chunks_mut(f)
            .zip(rgb.par_chunks_mut(3 * hw))
            .zip(mask.par_chunks_mut(hw))
            .zip(idx.par_iter())
            .try_for_each(|(((x, rgb), mask), &i)| {
                x.copy_from_slice(&encode_params(&self.space, self.params[i], net.pe_base, net.pe_levels));
                let (src, m) = self.image(i)?;
                for p in 0..hw {
                    for c in 0..3 {
                        rgb[c * hw + p] = src[3 * p + c] as f32 / 255.0;
                    }
                    mask[p] = m[p] as f32 / 255.0;
                }
                Ok::<_, CodecError>(())
            })?;
        Ok(HostBatch {
            len: idx.len(),
            x,
            rgb,
            mask,
        })
    }
}

/// One batch on the host: what [`Dataset::host_batch`] assembles and the trainer uploads.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    /// Images in the batch.
    pub len: usize,
    /// Encoded parameters, `len × F`.
    pub x: Vec<f32>,
    /// RGB planes in `[0, 1]`, `len × 3 × H × W`.
    pub rgb: Vec<f32>,
    /// Masks in `[0, 1]`, `len × H × W`.
    pub mask: Vec<f32>,
}

/// Batches of one epoch, assembled on a producer thread up to `depth` batches ahead of the consumer
/// (2: double-buffered). Made by [`Prefetch::run`] inside a thread scope; dropping the receiver ends
/// the producer after its current batch.
#[derive(Debug)]
pub struct Prefetch;

impl Prefetch {
    /// Runs `consume` on the batches of `order` split into chunks of `batch`, in order, while a
    /// producer thread assembles the next ones; `state` (the network being trained) is passed
    /// through each call by value. Stops at the first error of either side.
    pub fn run<S, E: From<CodecError>>(
        data: &Dataset,
        net: &NetConfig,
        order: &[usize],
        batch: usize,
        depth: usize,
        state: S,
        consume: impl FnMut(S, usize, &[usize], HostBatch) -> Result<S, E>,
    ) -> Result<S, E> {
        let batches: Vec<&[usize]> = order.chunks(batch).collect();
        Prefetch::run_batches(data, net, &batches, depth, state, consume)
    }

    /// [`Prefetch::run`] over explicit batches (a rank's shares of the global batches, some of
    /// them possibly empty); only their images are read.
    pub fn run_batches<S, E: From<CodecError>>(
        data: &Dataset,
        net: &NetConfig,
        batches: &[&[usize]],
        depth: usize,
        mut state: S,
        mut consume: impl FnMut(S, usize, &[usize], HostBatch) -> Result<S, E>,
    ) -> Result<S, E> {
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::sync_channel::<Result<HostBatch, CodecError>>(depth.max(1));
            s.spawn(move || {
                for idx in batches {
                    let b = data.host_batch(idx, net);
                    let failed = b.is_err();
                    if tx.send(b).is_err() || failed {
                        break;
                    }
                }
            });
            for (k, &idx) in batches.iter().enumerate() {
                let b = rx
                    .recv()
                    .map_err(|_| CodecError::Input("the batch loader stopped".into()))??;
                state = consume(state, k, idx, b)?;
            }
            Ok(state)
        })
    }
}

/// Positional encoding of one parameter triple under a normalization (L levels, base c).
pub fn encode_params(space: &ParamSpace, p: [f64; 3], base: f64, levels: usize) -> Vec<f32> {
    positional_encoding(&space.normalize(p), base, levels)
}
