//! A training set: the images of a Cinema database in memory, with their parameters.

use crate::container::{Grid, ParamSpace};
use crate::encoding::positional_encoding;
use crate::CodecError;
use neuvis_collection::CinemaDb;
use rayon::prelude::*;

/// Images (RGB and mask bytes) and their (t, θ, φ).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Image width.
    pub width: usize,
    /// Image height.
    pub height: usize,
    /// Per image: RGB bytes (HWC).
    pub rgb: Vec<Vec<u8>>,
    /// Per image: mask bytes (0/255).
    pub mask: Vec<Vec<u8>>,
    /// Per image: (t, θ, φ).
    pub params: Vec<[f64; 3]>,
    /// Parameter normalization.
    pub space: ParamSpace,
}

impl Dataset {
    /// Loads every image of a database (in parallel). All images must share one size.
    pub fn load(db: &CinemaDb) -> Result<Dataset, CodecError> {
        let imgs = db
            .entries
            .par_iter()
            .enumerate()
            .map(|(i, _)| db.load(i))
            .collect::<Result<Vec<_>, _>>()?;
        let (w, h) = (imgs[0].width(), imgs[0].height());
        if let Some((i, im)) = imgs
            .iter()
            .enumerate()
            .find(|(_, im)| (im.width(), im.height()) != (w, h))
        {
            return Err(CodecError::Input(format!(
                "{}: image {} is {}x{} but the first is {w}x{h}; a model holds images of one size",
                db.dir.display(),
                db.entries[i].file,
                im.width(),
                im.height()
            )));
        }
        let params: Vec<[f64; 3]> = db.entries.iter().map(|e| [e.time, e.theta, e.phi]).collect();
        let (tmin, tmax) = params.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p[0]), b.max(p[0]))
        });
        let (rgb, mask) = imgs
            .into_iter()
            .map(|im| (im.rgb().to_vec(), im.mask().to_vec()))
            .unzip();
        Ok(Dataset {
            width: w,
            height: h,
            rgb,
            mask,
            params,
            space: ParamSpace {
                time: [tmin, tmax],
                theta: [0.0, 180.0],
                phi: [0.0, 360.0],
            },
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

    /// Bytes of the raw RGB images (N·H·W·3), the numerator of the compression ratio.
    pub fn raw_bytes(&self) -> u64 {
        (self.len() * self.width * self.height * 3) as u64
    }

    /// The training grid.
    pub fn grid(&self) -> Grid {
        Grid::from_params(&self.params)
    }
}

/// Positional encoding of one parameter triple under a normalization (L levels, base c).
pub fn encode_params(space: &ParamSpace, p: [f64; 3], base: f64, levels: usize) -> Vec<f32> {
    positional_encoding(&space.normalize(p), base, levels)
}
