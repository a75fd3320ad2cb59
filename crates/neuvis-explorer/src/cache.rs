//! The frame cache: a byte-bounded LRU of encoded PNG frames, shared in-flight decodes, bounded
//! decode slots (a semaphore; decoding runs in `spawn_blocking`), and the prefetch of grid
//! neighbours and animation frames that a newer request cancels.

use crate::model::{qkey, Model, Options};
use crate::ExplorerError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use neuvis_base::lru::ByteLru;
use neuvis_collection::MaskedImage;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OnceCell, Semaphore};

/// What a frame request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Decoded,
    Reference,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) model: usize,
    pub(crate) kind: Kind,
    pub(crate) p: [i64; 3],
}

/// An encoded frame.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) png: Vec<u8>,
    pub(crate) decode_ms: f64,
    pub(crate) unseen: bool,
    pub(crate) psnr: Option<f64>,
}

impl Frame {
    /// Bytes this frame keeps resident in the cache: the PNG's allocation, the frame and its
    /// `Arc`, and the cache's per-entry bookkeeping (key, map and recency-list nodes).
    pub(crate) fn resident_bytes(&self) -> usize {
        self.png.capacity() + std::mem::size_of::<Frame>() + 16 + 2 * std::mem::size_of::<Key>() + 96
    }
}

pub(crate) type Shared = Arc<OnceCell<Result<Arc<Frame>, ApiError>>>;

/// Counters reported by `/api/stats`.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) decodes: AtomicU64,
    pub(crate) prefetched: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) prefetch_tasks: AtomicU64,
    pub(crate) active: AtomicUsize,
    pub(crate) peak_active: AtomicUsize,
}

/// Decrements the running prefetch task count however the task ends.
pub(crate) struct TaskGuard(Arc<Explorer>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.stats.prefetch_tasks.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The server's state.
pub struct Explorer {
    pub(crate) models: Vec<Model>,
    pub(crate) opts: Options,
    pub(crate) cache: Mutex<ByteLru<Key, Arc<Frame>>>,
    pub(crate) inflight: Mutex<HashMap<Key, Shared>>,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) waiting: AtomicUsize,
    pub(crate) generation: AtomicU64,
    pub(crate) stats: Stats,
}

/// An HTTP error with a message.
#[derive(Debug, Clone)]
pub(crate) struct ApiError(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

pub(crate) fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

pub(crate) fn encode_png(w: usize, h: usize, rgb: &[u8]) -> Result<Vec<u8>, ApiError> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::ImageEncoder;
    let mut out = Vec::with_capacity(w * h);
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub)
        .write_image(rgb, w as u32, h as u32, image::ExtendedColorType::Rgb8)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("PNG encoding: {e}")))?;
    // the cache holds what is allocated, not what is used: drop the encoder's spare capacity
    out.shrink_to_fit();
    Ok(out)
}

impl Explorer {
    /// Builds the state from loaded models.
    pub fn new(models: Vec<Model>, opts: Options) -> Result<Arc<Explorer>, ExplorerError> {
        if models.is_empty() {
            return Err(ExplorerError::Options("no models to serve".into()));
        }
        if opts.max_decodes == 0 {
            return Err(ExplorerError::Options("at least one decode slot is needed".into()));
        }
        Ok(Arc::new(Explorer {
            models,
            cache: Mutex::new(ByteLru::new(opts.cache_bytes)),
            inflight: Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(opts.max_decodes)),
            waiting: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            stats: Stats::default(),
            opts,
        }))
    }

    /// Loads every model (with the reference collections, in the same order; fewer references than
    /// models is fine, more is an error).
    pub fn open(models: &[PathBuf], references: &[PathBuf], opts: Options) -> Result<Arc<Explorer>, ExplorerError> {
        if references.len() > models.len() {
            return Err(ExplorerError::Options(format!(
                "{} reference collections for {} models: give one --reference per model, in the same order",
                references.len(),
                models.len()
            )));
        }
        let loaded = models
            .iter()
            .enumerate()
            .map(|(i, m)| Model::open(m, references.get(i).map(|p| p.as_path()), &opts))
            .collect::<Result<Vec<_>, _>>()?;
        Explorer::new(loaded, opts)
    }

    /// The loaded models.
    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// Cached frame or a shared decode of it.
    pub(crate) async fn frame(
        self: &Arc<Self>,
        key: Key,
        p: [f64; 3],
        prefetch: bool,
    ) -> Result<(Arc<Frame>, bool), ApiError> {
        if let Some(f) = self.cache.lock().map_err(poisoned)?.get(&key) {
            return Ok((f, true));
        }
        let cell = {
            let mut inflight = self.inflight.lock().map_err(poisoned)?;
            inflight.entry(key).or_default().clone()
        };
        let this = self.clone();
        let result = cell
            .get_or_init(|| async move {
                let r = this.produce(key, p).await;
                if let Ok(f) = &r {
                    if let Ok(mut c) = this.cache.lock() {
                        c.insert(key, f.clone(), f.resident_bytes());
                    }
                }
                if let Ok(mut inflight) = this.inflight.lock() {
                    inflight.remove(&key);
                }
                r
            })
            .await
            .clone();
        if !prefetch {
            self.stats.misses.fetch_add(1, Ordering::Relaxed);
        }
        result.map(|f| (f, false))
    }

    /// Decodes (or loads, or diffs) one frame on the blocking pool under a decode permit.
    pub(crate) async fn produce(self: &Arc<Self>, key: Key, p: [f64; 3]) -> Result<Arc<Frame>, ApiError> {
        if key.kind == Kind::Diff {
            // the difference needs the decoded frame (cached or decoded now) and the reference
            let dk = Key {
                kind: Kind::Decoded,
                ..key
            };
            Box::pin(self.frame(dk, p, true)).await?;
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.opts.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            self.stats.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many requests waiting for a decode".into(),
            ));
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = permit.map_err(|_| ApiError(StatusCode::SERVICE_UNAVAILABLE, "shutting down".into()))?;
        let this = self.clone();
        let out = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // counted down on every way out, a panic of the decoder included
            struct Active<'a>(&'a AtomicUsize);
            impl Drop for Active<'_> {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let now = this.stats.active.fetch_add(1, Ordering::SeqCst) + 1;
            let _active = Active(&this.stats.active);
            this.stats.peak_active.fetch_max(now, Ordering::SeqCst);
            this.produce_blocking(key, p)
        })
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("decode task: {e}")))??;
        Ok(Arc::new(out))
    }

    pub(crate) fn decoded_image(&self, key: Key, p: [f64; 3]) -> Result<(MaskedImage, f64), ApiError> {
        let m = &self.models[key.model];
        let dk = Key {
            kind: Kind::Decoded,
            ..key
        };
        let cached = self.cache.lock().map_err(poisoned)?.get(&dk);
        if let Some(f) = cached {
            let img = image::load_from_memory(&f.png)
                .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
                .to_rgb8();
            let (w, h) = (img.width() as usize, img.height() as usize);
            let mi = MaskedImage::new(w, h, img.into_raw(), vec![255; w * h])
                .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            return Ok((mi, 0.0));
        }
        let t0 = Instant::now();
        let mut imgs = m.decoder.decode(&[p], 1).map_err(|e| bad(e.to_string()))?;
        self.stats.decodes.fetch_add(1, Ordering::Relaxed);
        let img = imgs
            .pop()
            .ok_or_else(|| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "decoder returned nothing".into()))?;
        Ok((img, t0.elapsed().as_secs_f64() * 1e3))
    }

    pub(crate) fn produce_blocking(&self, key: Key, p: [f64; 3]) -> Result<Frame, ApiError> {
        let m = &self.models[key.model];
        let (w, h) = (m.decoder.header.width, m.decoder.header.height);
        let unseen = !m.decoder.on_grid(p);
        let reference = || -> Result<MaskedImage, ApiError> {
            match m.reference_image(p) {
                None if m.reference.is_none() => Err(ApiError(
                    StatusCode::NOT_FOUND,
                    format!("model '{}' was served without --reference", m.name),
                )),
                None => Err(ApiError(
                    StatusCode::NOT_FOUND,
                    "the reference collection has no image for these parameters (unseen view)".into(),
                )),
                Some(r) => r.map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e)),
            }
        };
        match key.kind {
            Kind::Decoded => {
                let (img, ms) = self.decoded_image(key, p)?;
                let psnr = match m.reference_image(p) {
                    Some(Ok(r)) => neuvis_metrics::psnr(&r, &img).ok(),
                    _ => None,
                };
                Ok(Frame {
                    png: encode_png(w, h, img.rgb())?,
                    decode_ms: ms,
                    unseen,
                    psnr,
                })
            }
            Kind::Reference => {
                let r = reference()?;
                Ok(Frame {
                    png: encode_png(w, h, r.rgb())?,
                    decode_ms: 0.0,
                    unseen,
                    psnr: None,
                })
            }
            Kind::Diff => {
                let r = reference()?;
                let (img, ms) = self.decoded_image(key, p)?;
                let d = neuvis_metrics::diff::difference_image(&r, &img, self.opts.max_delta_e)
                    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
                Ok(Frame {
                    png: encode_png(d.width, d.height, &d.rgb)?,
                    decode_ms: ms,
                    unseen,
                    psnr: neuvis_metrics::psnr(&r, &img).ok(),
                })
            }
        }
    }

    /// The views to prefetch after a request at `p`: the grid neighbours along every axis, then
    /// `prefetch_ahead` frames along the animated axis (`axis` 0..3, `dir` ±1, wrapping in φ).
    pub(crate) fn neighbours(&self, model: usize, p: [f64; 3], anim: Option<(usize, i32)>) -> Vec<[f64; 3]> {
        let g = &self.models[model].decoder.header.grid;
        let lists = [&g.times, &g.thetas, &g.phis];
        let mut out = Vec::new();
        let step = |axis: usize, from: f64, dir: i32| -> Option<f64> {
            let v = lists[axis];
            if v.is_empty() {
                return None;
            }
            if dir > 0 {
                match v.iter().find(|&&x| x > from + 1e-9) {
                    Some(&x) => Some(x),
                    None if axis == 2 => Some(v[0]),
                    None => None,
                }
            } else {
                match v.iter().rev().find(|&&x| x < from - 1e-9) {
                    Some(&x) => Some(x),
                    None if axis == 2 => v.last().copied(),
                    None => None,
                }
            }
        };
        if let Some((axis, dir)) = anim {
            let mut q = p;
            for _ in 0..self.opts.prefetch_ahead {
                match step(axis, q[axis], dir) {
                    Some(x) => q[axis] = x,
                    None => break,
                }
                out.push(q);
            }
        }
        for axis in 0..3 {
            for dir in [1, -1] {
                if let Some(x) = step(axis, p[axis], dir) {
                    let mut q = p;
                    q[axis] = x;
                    if !out.contains(&q) && q != p {
                        out.push(q);
                    }
                }
            }
        }
        out
    }

    pub(crate) fn start_prefetch(self: &Arc<Self>, model: usize, p: [f64; 3], anim: Option<(usize, i32)>) {
        let gen = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if !self.opts.prefetch {
            return;
        }
        let views = self.neighbours(model, p, anim);
        let this = self.clone();
        self.stats.prefetch_tasks.fetch_add(1, Ordering::SeqCst);
        let guard = TaskGuard(self.clone());
        tokio::spawn(async move {
            let _guard = guard;
            for q in views {
                if this.generation.load(Ordering::SeqCst) != gen {
                    return; // a newer request superseded this prefetch
                }
                let key = Key {
                    model,
                    kind: Kind::Decoded,
                    p: qkey(q),
                };
                let cached = this.cache.lock().map(|c| c.contains(&key)).unwrap_or(true);
                if cached || this.models[model].decoder.check_range(q).is_err() {
                    continue;
                }
                // one prefetch decode at a time, so the other slots stay free for requests
                if this.frame(key, q, true).await.is_ok() {
                    this.stats.prefetched.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
}

pub(crate) fn poisoned<T>(_: T) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal lock poisoned".into())
}
