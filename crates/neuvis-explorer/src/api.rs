//! The JSON API and the page's routes over the frame cache: query parsing (models by index or
//! name, views by numbers only), response headers, `/api/models`, `/api/stats`.

use crate::cache::{bad, ApiError, Explorer, Key, Kind};
use crate::model::{held_out_times, qkey, slider_times};
use crate::page;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Query of the frame endpoints.
#[derive(Debug, Deserialize)]
pub(crate) struct FrameQuery {
    pub(crate) model: Option<String>,
    pub(crate) t: Option<String>,
    pub(crate) theta: Option<String>,
    pub(crate) phi: Option<String>,
    pub(crate) anim: Option<String>,
    pub(crate) dir: Option<String>,
}

pub(crate) fn num(v: &Option<String>, name: &str) -> Result<f64, ApiError> {
    let s = v.as_deref().ok_or_else(|| bad(format!("missing parameter '{name}'")))?;
    let x: f64 = s
        .parse()
        .map_err(|_| bad(format!("parameter '{name}' = '{s}' is not a number")))?;
    if !x.is_finite() {
        return Err(bad(format!("parameter '{name}' must be finite")));
    }
    Ok(x)
}

impl Explorer {
    pub(crate) fn model(&self, q: &FrameQuery) -> Result<usize, ApiError> {
        let s = q.model.as_deref().unwrap_or("0");
        let by_index = s.parse::<usize>().ok().filter(|&i| i < self.models.len());
        by_index
            .or_else(|| self.models.iter().position(|m| m.name == s))
            .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no model '{s}'")))
    }

    pub(crate) fn params(&self, m: usize, q: &FrameQuery) -> Result<[f64; 3], ApiError> {
        let p = [num(&q.t, "t")?, num(&q.theta, "theta")?, num(&q.phi, "phi")?];
        self.models[m].decoder.check_range(p).map_err(|e| bad(e.to_string()))?;
        Ok([p[0], p[1], p[2].rem_euclid(360.0)])
    }

    pub(crate) async fn serve_frame(self: Arc<Self>, q: FrameQuery, kind: Kind) -> Result<Response, ApiError> {
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

pub(crate) async fn models_handler(State(s): State<Arc<Explorer>>) -> Json<serde_json::Value> {
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

pub(crate) async fn stats_handler(State(s): State<Arc<Explorer>>) -> Json<serde_json::Value> {
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

pub(crate) async fn with_kind(
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
