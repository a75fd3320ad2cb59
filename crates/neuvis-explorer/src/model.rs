//! The models the explorer serves: a decoder per `.nrvi` file, its optional reference collection,
//! and the server's [`Options`] (cache budget, decode slots, prefetch, the decoder factory).

use crate::ExplorerError;
use neuvis_codec::{Decoder, Nrvi};
use neuvis_collection::{CinemaDb, MaskedImage};
use std::collections::HashMap;
use std::path::Path;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Byte budget of the frame cache.
    pub cache_bytes: usize,
    /// Decodes running at the same time.
    pub max_decodes: usize,
    /// Requests that may wait for a decode slot; more get 503.
    pub max_waiting: usize,
    /// Prefetch neighbours after each request.
    pub prefetch: bool,
    /// Frames prefetched ahead along the animated axis.
    pub prefetch_ahead: usize,
    /// Largest image (pixels) a model may produce.
    pub max_pixels: usize,
    /// ΔE*uv at the top of the difference view's colour scale (default
    /// [`neuvis_metrics::DEFAULT_MAX_DELTA_E`], `neuvis eval`'s).
    pub max_delta_e: f32,
    /// How a model's decoder is built (default: the direct CPU engine, `Decoder::cpu`). The CLI
    /// passes one that decodes on a GPU (`neuvis serve --device gpu`), so this crate needs no
    /// burn.
    pub decoder: DecoderFactory,
}

/// A function building the decoder of a `.nrvi` file (an error message otherwise).
pub type MakeDecoder = dyn Fn(&Nrvi) -> Result<Decoder, String> + Send + Sync;

/// Builds the decoder of a `.nrvi` file; see [`Options::decoder`].
#[derive(Clone)]
pub struct DecoderFactory(pub std::sync::Arc<MakeDecoder>);

impl Default for DecoderFactory {
    fn default() -> Self {
        DecoderFactory(std::sync::Arc::new(|f: &Nrvi| {
            Decoder::cpu(f).map_err(|e| e.to_string())
        }))
    }
}

impl std::fmt::Debug for DecoderFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecoderFactory")
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cache_bytes: 256 << 20,
            max_decodes: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_waiting: 64,
            prefetch: true,
            prefetch_ahead: 4,
            max_pixels: 4096 * 4096,
            max_delta_e: neuvis_metrics::DEFAULT_MAX_DELTA_E,
            decoder: DecoderFactory::default(),
        }
    }
}

/// A loaded model and its optional reference collection.
pub struct Model {
    /// Display name (the file stem).
    pub name: String,
    /// `IR`, `DVR` or `unknown` (from the training collection's render settings).
    pub mode: String,
    /// Size of the `.nrvi` file.
    pub file_bytes: u64,
    /// The decoder.
    pub decoder: Decoder,
    pub(crate) reference: Option<Reference>,
}

pub(crate) struct Reference {
    pub(crate) db: CinemaDb,
    pub(crate) index: HashMap<[i64; 3], usize>,
}

/// Parameters rounded to 1e-6, as a hashable key.
pub(crate) fn qkey(p: [f64; 3]) -> [i64; 3] {
    p.map(|v| (v * 1e6).round() as i64)
}

impl Model {
    /// Loads a `.nrvi` file (and a reference collection for it) for serving.
    pub fn open(path: &Path, reference: Option<&Path>, opts: &Options) -> Result<Model, ExplorerError> {
        let err = |msg: String| ExplorerError::Model {
            path: path.to_path_buf(),
            msg,
        };
        let file = Nrvi::read(path).map_err(|e| match e {
            neuvis_codec::CodecError::InFile { source, .. } => err(source.to_string()),
            neuvis_codec::CodecError::Io { source, .. } => err(source.to_string()),
            e => err(e.to_string()),
        })?;
        let file_bytes = std::fs::metadata(path).map_err(|e| err(e.to_string()))?.len();
        let h = &file.header;
        if h.width * h.height > opts.max_pixels {
            return Err(err(format!(
                "images of {}x{} exceed the explorer's limit of {} pixels",
                h.width, h.height, opts.max_pixels
            )));
        }
        let decoder = (opts.decoder.0)(&file).map_err(err)?;
        let mode = match h.source.pointer("/render/mode").and_then(|m| m.as_str()) {
            Some("iso") => "IR",
            Some("dvr") => "DVR",
            _ => "unknown",
        }
        .to_string();
        let reference = match reference {
            None => None,
            Some(dir) => {
                let rerr = |msg: String| ExplorerError::Reference {
                    path: dir.to_path_buf(),
                    msg,
                };
                let db = CinemaDb::open(dir).map_err(|e| rerr(e.to_string()))?;
                let first = db.load(0).map_err(|e| rerr(e.to_string()))?;
                if (first.width(), first.height()) != (h.width, h.height) {
                    return Err(rerr(format!(
                        "images are {}x{}, the model {} decodes {}x{}",
                        first.width(),
                        first.height(),
                        path.display(),
                        h.width,
                        h.height
                    )));
                }
                let index = db
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (qkey([e.time, e.theta, e.phi.rem_euclid(360.0)]), i))
                    .collect();
                Some(Reference { db, index })
            }
        };
        Ok(Model {
            name: path
                .file_stem()
                .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned()),
            mode,
            file_bytes,
            decoder,
            reference,
        })
    }

    /// Wraps an in-memory decoder (benchmarks, tests) as a model without a reference.
    pub fn from_decoder(name: &str, mode: &str, file_bytes: u64, decoder: Decoder) -> Model {
        Model {
            name: name.to_string(),
            mode: mode.to_string(),
            file_bytes,
            decoder,
            reference: None,
        }
    }

    pub(crate) fn reference_image(&self, p: [f64; 3]) -> Option<Result<MaskedImage, String>> {
        let r = self.reference.as_ref()?;
        let i = *r.index.get(&qkey([p[0], p[1], p[2].rem_euclid(360.0)]))?;
        Some(r.db.load(i).map_err(|e| e.to_string()))
    }
}

/// The time steps a model's file says were left out of training (`compress --holdout-times`).
pub(crate) fn held_out_times(h: &neuvis_codec::container::Header) -> Vec<f64> {
    h.source_info()
        .holdout_times
        .map(|h| h.times.into_iter().filter(|t| t.is_finite()).collect())
        .unwrap_or_default()
}

/// The stops of the time slider: the trained time steps and the held-out ones between them
/// (decoded as unseen parameters), increasing.
pub(crate) fn slider_times(h: &neuvis_codec::container::Header) -> Vec<f64> {
    let mut t = h.grid.times.clone();
    t.extend(
        held_out_times(h)
            .into_iter()
            .filter(|x| *x >= h.params.time[0] && *x <= h.params.time[1]),
    );
    t.sort_by(f64::total_cmp);
    t.dedup();
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuvis_codec::container::{Grid, Header, ParamSpace};

    pub(crate) fn header(source: serde_json::Value) -> Header {
        let params: Vec<[f64; 3]> = [0.0, 1.0, 3.0, 4.0]
            .iter()
            .flat_map(|&t| [[t, 90.0, 0.0], [t, 90.0, 180.0]])
            .collect();
        Header {
            net: neuvis_codec::NetConfig::for_image(neuvis_codec::Arch::Nervi, 16, 16, 4, 4, 4).unwrap(),
            width: 16,
            height: 16,
            background: [255; 3],
            params: ParamSpace {
                time: [0.0, 4.0],
                time_span: None,
                theta: [0.0, 360.0],
                phi: [0.0, 360.0],
            },
            grid: Grid::from_params(&params),
            bits: 8,
            tensors: vec![],
            raw_bytes: 0,
            source,
        }
    }

    #[test]
    pub(crate) fn the_time_slider_stops_at_held_out_steps() {
        // trained on steps 0, 1, 3, 4; step 2 held out (and a hostile 9, outside the range, ignored)
        let h = header(serde_json::json!({"holdout_times": {"every": 2, "times": [2.0, 9.0]}}));
        assert_eq!(held_out_times(&h), vec![2.0, 9.0]);
        assert_eq!(slider_times(&h), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        // files without the record: the trained steps
        let plain = header(serde_json::json!({}));
        assert!(held_out_times(&plain).is_empty());
        assert_eq!(slider_times(&plain), vec![0.0, 1.0, 3.0, 4.0]);
        let odd = header(serde_json::json!({"holdout_times": "all"}));
        assert_eq!(slider_times(&odd), vec![0.0, 1.0, 3.0, 4.0]);
    }
}
