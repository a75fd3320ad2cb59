//! The raycast page (`neuvis raycast serve`, feature `raycast`): a local page where dragging orbits, the wheel zooms and frames stream
//! in progressively from the speculative raycaster.
//!
//! One render thread owns the engine. `GET /api/render?seq&theta&phi&zoom&iso` replaces the
//! pending view; the thread renders it pass by pass, publishing every progressive image, and
//! abandons it after any pass once a newer view is waiting. When a view has converged and nothing
//! is waiting, it prefetches the bricks of the view extrapolated from the last camera motion, at a
//! quarter of the resolution. `GET /api/frame?seq&after` returns the newest image of view `seq` or
//! later whose pass is past `after` (204 when there is none yet), with headers for the pass,
//! convergence, timings, cache counters and resident memory.

use crate::ExplorerError;
use axum::extract::{Query, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use neuvis_base::mem::peak_rss;
use neuvis_raycast::engine::Budget;
use neuvis_raycast::{Method, Raycaster, RenderDevice, RenderOptions};
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

const PAGE: &str = include_str!("../web/raycast.html");
const SCRIPT: &str = include_str!("../web/raycast.js");

/// Settings of the raycast page.
#[derive(Debug, Clone, PartialEq)]
pub struct RaycastOptions {
    /// The engine's method.
    pub method: Method,
    /// Where frames render (the GPU engine needs the `gpu` feature).
    pub device: RenderDevice,
    /// The engine's memory budget.
    pub budget: Budget,
    /// Image width in pixels (1–4096).
    pub width: usize,
    /// Image height in pixels (1–4096).
    pub height: usize,
    /// Initial isovalue (default: the middle of the store's value range).
    pub iso: Option<f32>,
}

impl Default for RaycastOptions {
    /// `neuvis raycast serve`'s defaults: the neural method on the CPU, no budget, 512² frames.
    fn default() -> Self {
        RaycastOptions {
            method: Method::Neural,
            device: RenderDevice::Cpu,
            budget: Budget::Unbounded,
            width: 512,
            height: 512,
            iso: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct View {
    seq: u64,
    theta: f32,
    phi: f32,
    zoom: f32,
    iso: f32,
}

struct Published {
    seq: u64,
    pass: usize,
    converged: bool,
    png: Vec<u8>,
    first_ms: f64,
    frame_ms: f64,
}

/// Server state shared by the handlers and the render thread.
pub struct Shared {
    engine: Raycaster,
    size: (usize, usize),
    info: serde_json::Value,
    pending: Mutex<Option<View>>,
    wake: Condvar,
    frame: Mutex<Option<Published>>,
}

fn png(img: &neuvis_base::MaskedImage) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = img.write_png(&mut v);
    v
}

fn options(v: &View, (width, height): (usize, usize)) -> RenderOptions {
    let mut o = RenderOptions::new(width, height, v.iso);
    o.fov_deg = 30.0 / v.zoom;
    o
}

fn render_loop(sh: Arc<Shared>) {
    let mut last: Option<View> = None;
    loop {
        let v = {
            let mut p = sh.pending.lock().expect("lock");
            loop {
                if let Some(v) = p.take() {
                    break v;
                }
                p = sh.wake.wait(p).expect("lock");
            }
        };
        let opts = options(&v, sh.size);
        let cam = sh.engine.camera(&opts, v.theta, v.phi);
        let started = std::time::Instant::now();
        let mut first_ms = 0.0;
        let res = sh.engine.render_until(&cam, &opts, |img, pass| {
            let ms = started.elapsed().as_secs_f64() * 1e3;
            if pass == 0 {
                first_ms = ms;
            }
            *sh.frame.lock().expect("lock") = Some(Published {
                seq: v.seq,
                pass,
                converged: false,
                png: png(img),
                first_ms,
                frame_ms: ms,
            });
            if sh.pending.lock().expect("lock").is_some() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        match res {
            Ok((img, st)) => {
                let converged = sh.pending.lock().expect("lock").is_none();
                if converged {
                    *sh.frame.lock().expect("lock") = Some(Published {
                        seq: v.seq,
                        pass: st.passes,
                        converged: true,
                        png: png(&img),
                        first_ms: st.first_s * 1e3,
                        frame_ms: st.converged_s * 1e3,
                    });
                    // speculative prefetch of the next view along the last motion
                    if let Some(prev) = last {
                        let next_theta = (2.0 * v.theta - prev.theta).clamp(1.0, 179.0);
                        let next_phi = 2.0 * v.phi - prev.phi;
                        if (next_theta, next_phi) != (v.theta, v.phi) && sh.engine.method().speculative() {
                            let small = options(&v, ((sh.size.0 / 4).max(8), (sh.size.1 / 4).max(8)));
                            let cam = sh.engine.camera(&small, next_theta, next_phi);
                            let _ = sh.engine.prefetch(&cam, &small);
                        }
                    }
                }
            }
            Err(e) => eprintln!("render error: {e}"),
        }
        last = Some(v);
    }
}

#[derive(Deserialize)]
struct RenderQuery {
    seq: Option<String>,
    theta: Option<String>,
    phi: Option<String>,
    zoom: Option<String>,
    iso: Option<String>,
}

fn num(v: &Option<String>, name: &str) -> std::result::Result<f64, (StatusCode, String)> {
    let s = v
        .as_deref()
        .ok_or((StatusCode::BAD_REQUEST, format!("missing {name}")))?;
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or((StatusCode::BAD_REQUEST, format!("{name} must be a finite number")))
}

async fn render_handler(
    State(sh): State<Arc<Shared>>,
    Query(q): Query<RenderQuery>,
) -> std::result::Result<&'static str, (StatusCode, String)> {
    let seq = num(&q.seq, "seq")?;
    let theta = num(&q.theta, "theta")?;
    let phi = num(&q.phi, "phi")?;
    let zoom = num(&q.zoom, "zoom")?;
    let iso = num(&q.iso, "iso")?;
    if !(0.0..=180.0).contains(&theta) || !(0.25..=16.0).contains(&zoom) || seq < 0.0 {
        return Err((
            StatusCode::BAD_REQUEST,
            "theta must be in [0, 180], zoom in [0.25, 16]".into(),
        ));
    }
    *sh.pending.lock().expect("lock") = Some(View {
        seq: seq as u64,
        theta: theta as f32,
        phi: phi as f32,
        zoom: zoom as f32,
        iso: iso as f32,
    });
    sh.wake.notify_one();
    Ok("ok")
}

async fn frame_handler(State(sh): State<Arc<Shared>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let want: u64 = q.get("seq").and_then(|s| s.parse().ok()).unwrap_or(0);
    let after: i64 = q.get("after").and_then(|s| s.parse().ok()).unwrap_or(-1);
    let f = sh.frame.lock().expect("lock");
    let Some(f) = f
        .as_ref()
        .filter(|f| f.seq > want || (f.seq == want && f.pass as i64 > after))
    else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let (used, cap, cs) = sh.engine.cache_state();
    let resident = (sh.engine.resident_fixed() + used) as f64 / 1e6;
    let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, "image/png")], f.png.clone()).into_response();
    let h = r.headers_mut();
    let mut put = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(HeaderName::from_static(k), v);
        }
    };
    put("x-neuvis-seq", f.seq.to_string());
    put("x-neuvis-pass", f.pass.to_string());
    put("x-neuvis-converged", if f.converged { "1" } else { "0" }.into());
    put("x-neuvis-first-ms", format!("{:.1}", f.first_ms));
    put("x-neuvis-frame-ms", format!("{:.1}", f.frame_ms));
    put("x-neuvis-cache-hits", cs.hits.to_string());
    put("x-neuvis-cache-misses", cs.misses.to_string());
    put("x-neuvis-resident-mb", format!("{resident:.1}"));
    put(
        "x-neuvis-budget-mb",
        match cap.bytes() {
            None => "unbounded".into(),
            Some(cap) => format!("{:.1} MB", (cap + sh.engine.resident_fixed()) as f64 / 1e6),
        },
    );
    put(
        "x-neuvis-rss-mb",
        peak_rss().map_or("n/a".into(), |b| format!("{:.1}", b as f64 / 1e6)),
    );
    r
}

async fn info_handler(State(sh): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(sh.info.clone())
}

/// The router of the page and its API.
pub fn router(sh: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE) }),
        )
        .route(
            "/raycast.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT) }),
        )
        .route("/api/info", get(info_handler))
        .route("/api/render", get(render_handler))
        .route("/api/frame", get(frame_handler))
        .with_state(sh)
}

/// Opens the store and starts the render thread.
pub fn start(store: &Path, opts: &RaycastOptions) -> Result<Arc<Shared>, ExplorerError> {
    if !(1..=4096).contains(&opts.width) || !(1..=4096).contains(&opts.height) {
        return Err(ExplorerError::Options(format!(
            "image size {}x{} must be 1–4096 a side",
            opts.width, opts.height
        )));
    }
    let engine =
        Raycaster::open(store, opts.method, opts.budget, opts.width, opts.height, opts.device).map_err(|e| {
            ExplorerError::Model {
                path: store.to_path_buf(),
                msg: e.to_string(),
            }
        })?;
    let h = &engine.store().header;
    let iso = opts.iso.unwrap_or(0.5 * (h.range.0 + h.range.1));
    if !iso.is_finite() {
        return Err(ExplorerError::Options("the isovalue must be finite".into()));
    }
    let info = serde_json::json!({
        "source": h.source,
        "dims": h.geometry.dims,
        "method": opts.method.name(),
        "device": match engine.gpu_info() {
            Some(g) => format!("GPU {} ({})", g.adapter, g.backend),
            None => "CPU".into(),
        },
        "store_mb": engine.store().file_len() as f64 / 1e6,
        "range": [h.range.0, h.range.1],
        "iso": iso,
        "theta": 60.0,
        "phi": 30.0,
        "width": opts.width,
        "height": opts.height,
    });
    let sh = Arc::new(Shared {
        engine,
        size: (opts.width, opts.height),
        info,
        pending: Mutex::new(None),
        wake: Condvar::new(),
        frame: Mutex::new(None),
    });
    let worker = sh.clone();
    std::thread::Builder::new()
        .name("raycast-render".into())
        .spawn(move || render_loop(worker))
        .map_err(|e| ExplorerError::Options(format!("starting the render thread: {e}")))?;
    Ok(sh)
}
