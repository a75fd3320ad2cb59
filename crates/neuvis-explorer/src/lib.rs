//! The neuvis explorer: a local web server that decodes images of compressed (`.nrvi`) collections
//! on demand, for the page that lets a scientist move through (t, θ, φ), animate a parameter and
//! compare with the ground truth (NeRVI §4.3, Figure 9).
//!
//! This crate serves both pages of neuvis through one start-up ([`serve_blocking`]): the
//! explorer (`neuvis serve`) and, with the `raycast` feature, the speculative raycaster's page
//! (`neuvis raycast serve`, [`raycast`]). Both cache with `neuvis_base::lru::ByteLru` (the
//! raycaster's bricks through `neuvis-raycast`'s cache). Without `raycast` the crate links neither
//! the raycaster nor the volume readers.
//!
//! The explorer is used by `neuvis serve`. Its JSON API is:
//! - `GET /api/models`: the models (name, mode, image size, parameter grid, file size, ratio);
//! - `GET /api/frame?model=I&t=..&theta=..&phi=..[&anim=t|theta|phi&dir=1|-1]`: the decoded image
//!   (PNG), with headers `x-neuvis-cache` (`hit`/`miss`), `x-neuvis-decode-ms`, `x-neuvis-unseen`
//!   (`1` when the parameters lie between grid points: an interpolated view) and, with a
//!   reference, `x-neuvis-psnr`;
//! - `GET /api/reference?…` and `GET /api/diff?…`: the reference image and the CIELUV ΔE
//!   difference image (when the server was given a reference collection for that model);
//! - `GET /api/stats`: cache and decode counters.
//!
//! Design: decoding is CPU work, so it never runs on the async runtime's threads: each decode
//! takes a permit from a semaphore (bounding concurrent decodes; a bounded number of requests may
//! wait, the rest get 503) and runs in `spawn_blocking`. Results go into a byte-bounded LRU cache
//! of encoded PNGs, and concurrent requests for the same frame share one decode. After each
//! request, a background task prefetches the grid neighbours along every axis and the next frames
//! along the animated axis; a newer request cancels the previous prefetch, so prefetching never
//! competes with what the user is looking at now. Requests name models by index and views by
//! numbers only: no request can name a file.

mod page;
#[cfg(feature = "raycast")]
pub mod raycast;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
pub use neuvis_base::lru::ByteLru;
use neuvis_codec::{Decoder, Nrvi};
use neuvis_collection::{CinemaDb, MaskedImage};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OnceCell, Semaphore};

/// Why the explorer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    /// A model file could not be read or decoded.
    #[error("{path}: {msg}")]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A reference collection does not match its model.
    #[error("reference {path}: {msg}")]
    Reference {
        /// The collection directory.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// Bad options.
    #[error("{0}")]
    Options(String),
}

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
    reference: Option<Reference>,
}

struct Reference {
    db: CinemaDb,
    index: HashMap<[i64; 3], usize>,
}

/// Parameters rounded to 1e-6, as a hashable key.
fn qkey(p: [f64; 3]) -> [i64; 3] {
    p.map(|v| (v * 1e6).round() as i64)
}

impl Model {
    /// Loads a `.nrvi` file (and a reference collection for it) for serving.
    pub fn open(path: &Path, reference: Option<&Path>, opts: &Options) -> Result<Model, ExplorerError> {
        let err = |msg: String| ExplorerError::Model {
            path: path.to_path_buf(),
            msg,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let file = Nrvi::from_bytes(&bytes).map_err(|e| err(e.to_string()))?;
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
            file_bytes: bytes.len() as u64,
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

    fn reference_image(&self, p: [f64; 3]) -> Option<Result<MaskedImage, String>> {
        let r = self.reference.as_ref()?;
        let i = *r.index.get(&qkey([p[0], p[1], p[2].rem_euclid(360.0)]))?;
        Some(r.db.load(i).map_err(|e| e.to_string()))
    }
}

/// What a frame request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Decoded,
    Reference,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    model: usize,
    kind: Kind,
    p: [i64; 3],
}

/// An encoded frame.
#[derive(Debug)]
struct Frame {
    png: Vec<u8>,
    decode_ms: f64,
    unseen: bool,
    psnr: Option<f64>,
}

impl Frame {
    /// Bytes this frame keeps resident in the cache: the PNG's allocation, the frame and its
    /// `Arc`, and the cache's per-entry bookkeeping (key, map and recency-list nodes).
    fn resident_bytes(&self) -> usize {
        self.png.capacity() + std::mem::size_of::<Frame>() + 16 + 2 * std::mem::size_of::<Key>() + 96
    }
}

type Shared = Arc<OnceCell<Result<Arc<Frame>, ApiError>>>;

/// Counters reported by `/api/stats`.
#[derive(Debug, Default)]
struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
    decodes: AtomicU64,
    prefetched: AtomicU64,
    rejected: AtomicU64,
    prefetch_tasks: AtomicU64,
    active: AtomicUsize,
    peak_active: AtomicUsize,
}

/// Decrements the running prefetch task count however the task ends.
struct TaskGuard(Arc<Explorer>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.stats.prefetch_tasks.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The server's state.
pub struct Explorer {
    models: Vec<Model>,
    opts: Options,
    cache: Mutex<ByteLru<Key, Arc<Frame>>>,
    inflight: Mutex<HashMap<Key, Shared>>,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    generation: AtomicU64,
    stats: Stats,
}

/// An HTTP error with a message.
#[derive(Debug, Clone)]
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

/// Query of the frame endpoints.
#[derive(Debug, Deserialize)]
struct FrameQuery {
    model: Option<String>,
    t: Option<String>,
    theta: Option<String>,
    phi: Option<String>,
    anim: Option<String>,
    dir: Option<String>,
}

fn num(v: &Option<String>, name: &str) -> Result<f64, ApiError> {
    let s = v.as_deref().ok_or_else(|| bad(format!("missing parameter '{name}'")))?;
    let x: f64 = s
        .parse()
        .map_err(|_| bad(format!("parameter '{name}' = '{s}' is not a number")))?;
    if !x.is_finite() {
        return Err(bad(format!("parameter '{name}' must be finite")));
    }
    Ok(x)
}

fn encode_png(w: usize, h: usize, rgb: &[u8]) -> Result<Vec<u8>, ApiError> {
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

    fn model(&self, q: &FrameQuery) -> Result<usize, ApiError> {
        let s = q.model.as_deref().unwrap_or("0");
        let by_index = s.parse::<usize>().ok().filter(|&i| i < self.models.len());
        by_index
            .or_else(|| self.models.iter().position(|m| m.name == s))
            .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no model '{s}'")))
    }

    fn params(&self, m: usize, q: &FrameQuery) -> Result<[f64; 3], ApiError> {
        let p = [num(&q.t, "t")?, num(&q.theta, "theta")?, num(&q.phi, "phi")?];
        self.models[m].decoder.check_range(p).map_err(|e| bad(e.to_string()))?;
        Ok([p[0], p[1], p[2].rem_euclid(360.0)])
    }

    /// Cached frame or a shared decode of it.
    async fn frame(self: &Arc<Self>, key: Key, p: [f64; 3], prefetch: bool) -> Result<(Arc<Frame>, bool), ApiError> {
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
    async fn produce(self: &Arc<Self>, key: Key, p: [f64; 3]) -> Result<Arc<Frame>, ApiError> {
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

    fn decoded_image(&self, key: Key, p: [f64; 3]) -> Result<(MaskedImage, f64), ApiError> {
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

    fn produce_blocking(&self, key: Key, p: [f64; 3]) -> Result<Frame, ApiError> {
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
    fn neighbours(&self, model: usize, p: [f64; 3], anim: Option<(usize, i32)>) -> Vec<[f64; 3]> {
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

    fn start_prefetch(self: &Arc<Self>, model: usize, p: [f64; 3], anim: Option<(usize, i32)>) {
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

    async fn serve_frame(self: Arc<Self>, q: FrameQuery, kind: Kind) -> Result<Response, ApiError> {
        let m = self.model(&q)?;
        let p = self.params(m, &q)?;
        let anim = match (q.anim.as_deref(), q.dir.as_deref()) {
            (None, _) => None,
            (Some(a), d) => {
                let axis = match a {
                    "t" | "time" => 0,
                    "theta" => 1,
                    "phi" => 2,
                    other => return Err(bad(format!("anim must be t, theta or phi, not '{other}'"))),
                };
                let dir = match d.unwrap_or("1") {
                    "1" | "+1" => 1,
                    "-1" => -1,
                    other => return Err(bad(format!("dir must be 1 or -1, not '{other}'"))),
                };
                Some((axis, dir))
            }
        };
        let key = Key {
            model: m,
            kind,
            p: qkey(p),
        };
        let t0 = Instant::now();
        let (f, hit) = self.frame(key, p, false).await?;
        if hit {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
        }
        if kind == Kind::Decoded {
            self.start_prefetch(m, p, anim);
        }
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        let hv = |s: String| HeaderValue::from_str(&s).unwrap_or(HeaderValue::from_static("?"));
        h.insert(
            "x-neuvis-cache",
            HeaderValue::from_static(if hit { "hit" } else { "miss" }),
        );
        h.insert("x-neuvis-decode-ms", hv(format!("{:.2}", f.decode_ms)));
        h.insert(
            "x-neuvis-request-ms",
            hv(format!("{:.2}", t0.elapsed().as_secs_f64() * 1e3)),
        );
        h.insert(
            "x-neuvis-unseen",
            HeaderValue::from_static(if f.unseen { "1" } else { "0" }),
        );
        if let Some(v) = f.psnr {
            h.insert("x-neuvis-psnr", hv(format!("{v:.3}")));
        }
        Ok((h, f.png.clone()).into_response())
    }
}

fn poisoned<T>(_: T) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal lock poisoned".into())
}

/// The time steps a model's file says were left out of training (`compress --holdout-times`).
fn held_out_times(h: &neuvis_codec::container::Header) -> Vec<f64> {
    h.source_info()
        .holdout_times
        .map(|h| h.times.into_iter().filter(|t| t.is_finite()).collect())
        .unwrap_or_default()
}

/// The stops of the time slider: the trained time steps and the held-out ones between them
/// (decoded as unseen parameters), increasing.
fn slider_times(h: &neuvis_codec::container::Header) -> Vec<f64> {
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

async fn models_handler(State(s): State<Arc<Explorer>>) -> Json<serde_json::Value> {
    let list: Vec<serde_json::Value> = s
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let h = &m.decoder.header;
            serde_json::json!({
                "id": i,
                "name": m.name,
                "mode": m.mode,
                "width": h.width,
                "height": h.height,
                "times": slider_times(h),
                "held_out_times": held_out_times(h),
                "thetas": h.grid.thetas,
                "phis": h.grid.phis,
                "explicit_views": h.grid.explicit.len(),
                "time_range": h.params.time,
                "file_bytes": m.file_bytes,
                "raw_bytes": h.raw_bytes,
                "ratio": h.raw_bytes as f64 / m.file_bytes as f64,
                "bits": h.bits,
                "weight_bits": h.weights_per_width().iter()
                    .map(|&(bits, weights)| serde_json::json!({ "bits": bits, "weights": weights }))
                    .collect::<Vec<_>>(),
                "arch": h.net.arch,
                "parameters": h.net.param_count(),
                "has_reference": m.reference.is_some(),
            })
        })
        .collect();
    Json(serde_json::json!({ "models": list, "max_delta_e": s.opts.max_delta_e }))
}

async fn stats_handler(State(s): State<Arc<Explorer>>) -> Json<serde_json::Value> {
    let (entries, used, cap) = s
        .cache
        .lock()
        .map(|c| (c.len(), c.used(), c.capacity()))
        .unwrap_or((0, 0, 0));
    let st = &s.stats;
    Json(serde_json::json!({
        "cache_entries": entries,
        "cache_bytes": used,
        "cache_capacity": cap,
        "hits": st.hits.load(Ordering::Relaxed),
        "misses": st.misses.load(Ordering::Relaxed),
        "decodes": st.decodes.load(Ordering::Relaxed),
        "prefetched": st.prefetched.load(Ordering::Relaxed),
        "rejected": st.rejected.load(Ordering::Relaxed),
        "prefetch_tasks": st.prefetch_tasks.load(Ordering::SeqCst),
        "peak_concurrent_decodes": st.peak_active.load(Ordering::SeqCst),
        "max_decodes": s.opts.max_decodes,
    }))
}

/// Largest accepted request URI (bytes).
pub const MAX_URI: usize = 2048;

async fn with_kind(
    s: Arc<Explorer>,
    uri: Uri,
    q: Result<Query<FrameQuery>, axum::extract::rejection::QueryRejection>,
    kind: Kind,
) -> Response {
    if uri.to_string().len() > MAX_URI {
        return ApiError(StatusCode::URI_TOO_LONG, format!("request longer than {MAX_URI} bytes")).into_response();
    }
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return bad(e.body_text()).into_response(),
    };
    s.serve_frame(q, kind).await.unwrap_or_else(|e| e.into_response())
}

/// The router: the page, its assets and the JSON API. Requests are GET only, without bodies.
pub fn router(state: Arc<Explorer>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/style.css", get(page::style))
        .route("/api/models", get(models_handler))
        .route("/api/stats", get(stats_handler))
        .route(
            "/api/frame",
            get(|State(s): State<Arc<Explorer>>, uri: Uri, q| with_kind(s, uri, q, Kind::Decoded)),
        )
        .route(
            "/api/reference",
            get(|State(s): State<Arc<Explorer>>, uri: Uri, q| with_kind(s, uri, q, Kind::Reference)),
        )
        .route(
            "/api/diff",
            get(|State(s): State<Arc<Explorer>>, uri: Uri, q| with_kind(s, uri, q, Kind::Diff)),
        )
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such page".into()) })
        .layer(axum::extract::DefaultBodyLimit::max(1024))
        .with_state(state)
}

/// Serves `state` on `listener` until Ctrl-C.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<Explorer>) -> std::io::Result<()> {
    serve_router(listener, router(state), &ServerLimits::default()).await
}

/// What one client may hold of the server: the answer to half-sent requests (slowloris), to
/// thousands of idle connections and to DNS rebinding.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// A request's headers must arrive within this time, or its connection is closed (10 s). hyper
    /// starts this timer whenever a connection waits for a request, so it also closes keep-alive
    /// connections left idle that long.
    pub header_timeout: std::time::Duration,
    /// A connection is closed after this long whatever it does (10 min); browsers reconnect.
    pub connection_lifetime: std::time::Duration,
    /// Connections served at once; more are closed as soon as they are accepted (256).
    pub max_connections: usize,
    /// Accepted `Host` header names (without port); empty accepts any. Default: the loopback names
    /// `localhost`, `127.0.0.1` and `[::1]`; [`serve_blocking`] adds the name it was bound to.
    pub allowed_hosts: Vec<String>,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: std::time::Duration::from_secs(10),
            connection_lifetime: std::time::Duration::from_secs(600),
            max_connections: 256,
            allowed_hosts: ["localhost", "127.0.0.1", "[::1]"].map(String::from).to_vec(),
        }
    }
}

/// The host name of a `Host` header value, without the port (`[::1]:8080` → `[::1]`).
fn host_name(v: &str) -> &str {
    if v.starts_with('[') {
        return v.split_once(']').map_or(v, |(h, _)| &v[..h.len() + 1]);
    }
    v.rsplit_once(':').map_or(v, |(h, _)| h)
}

/// Refuses requests whose `Host` is not one the server was bound to (a page on another site
/// reaching the server through DNS rebinding sends its own name).
async fn check_host(
    State(allowed): State<Arc<Vec<String>>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(h) = req.headers().get(header::HOST) {
        let name = h.to_str().map(host_name).unwrap_or("");
        if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            return ApiError(
                StatusCode::FORBIDDEN,
                format!("host '{name}' is not served here (start the server with --host {name} to allow it)"),
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Serves `app` on `listener` until Ctrl-C (the one start-up of both pages), within `limits`:
/// HTTP/1.1 connections from hyper's connection builder with a header-read timeout, at most
/// `max_connections` at once, each closed after `connection_lifetime`, and only the allowed
/// `Host` names.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &ServerLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let app = app.layer(axum::middleware::from_fn_with_state(
        Arc::new(limits.allowed_hosts.clone()),
        check_host,
    ));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            // out of file descriptors or a connection reset before accept: wait, go on
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let (header_timeout, lifetime) = (limits.header_timeout, limits.connection_lifetime);
        tokio::spawn(async move {
            let _slot = slot;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(64 << 10)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(lifetime, conn).await;
        });
    }
}

/// Why a server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The async runtime could not start.
    #[error("starting the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The address could not be bound.
    #[error("binding {host}:{port}: {source}")]
    Bind {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving: {0}")]
    Serve(#[source] std::io::Error),
}

/// Binds `host:port` on a new multi-threaded runtime, calls `announce` with the bound address
/// (after warning on standard error when it is reachable from the network), and serves `app`
/// until Ctrl-C.
pub fn serve_blocking(
    host: &str,
    port: u16,
    app: Router,
    announce: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind((host, port))
            .await
            .map_err(|source| ServeError::Bind {
                host: host.to_string(),
                port,
                source,
            })?;
        let addr = listener.local_addr().map_err(ServeError::Serve)?;
        if !addr.ip().is_loopback() {
            eprintln!("warning: listening on {addr}, reachable from the network");
        }
        announce(addr);
        let mut limits = ServerLimits::default();
        if !limits.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            // bound to a name or an address of its own: accept requests naming it (and the
            // address itself, e.g. 0.0.0.0 serving 192.168.1.5, when bound to every interface)
            limits.allowed_hosts.push(host_name(host).to_string());
            if addr.ip().is_unspecified() {
                limits.allowed_hosts.clear();
                eprintln!("warning: bound to every interface, so any Host header is accepted");
            }
        }
        serve_router(listener, app, &limits).await.map_err(ServeError::Serve)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuvis_codec::container::{Grid, Header, ParamSpace};

    fn header(source: serde_json::Value) -> Header {
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
    fn the_time_slider_stops_at_held_out_steps() {
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
