//! HTTP API tests: frames, the cache, prefetch, interpolated views and bad requests.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use neuvis_codec::{Arch, NetConfig};
use neuvis_codec::{Decoder, Nrvi};
use neuvis_collection::{CinemaDb, MaskedImage};
use neuvis_explorer::{router, Explorer, Options};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, k: &str) -> Option<String> {
        self.headers.get(k).map(|v| v.to_str().unwrap().to_string())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn image(&self) -> image::RgbImage {
        image::load_from_memory(&self.body).unwrap().to_rgb8()
    }
}

async fn get(state: &Arc<Explorer>, uri: &str) -> Reply {
    request(state, "GET", uri).await
}

async fn request(state: &Arc<Explorer>, method: &str, uri: &str) -> Reply {
    let res = router(state.clone())
        .oneshot(Request::builder().method(method).uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
}

fn state(dir: &std::path::Path, opts: Options) -> (Arc<Explorer>, std::path::PathBuf, std::path::PathBuf) {
    let (model, gt) = common::model(dir);
    let s = Explorer::open(std::slice::from_ref(&model), std::slice::from_ref(&gt), opts).unwrap();
    (s, model, gt)
}

async fn stats(s: &Arc<Explorer>) -> serde_json::Value {
    get(s, "/api/stats").await.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_frames_cache_and_interpolated_views() {
    let d = tempfile::tempdir().unwrap();
    let opts = Options {
        prefetch: false,
        ..Default::default()
    };
    let (s, model, gt) = state(d.path(), opts);

    // the model list describes the file
    let m = get(&s, "/api/models").await.json();
    let m0 = &m["models"][0];
    let file_bytes = std::fs::metadata(&model).unwrap().len();
    assert_eq!(m0["name"], "m");
    assert_eq!(m0["mode"], "IR");
    assert_eq!(m0["width"], 32);
    assert_eq!(m0["file_bytes"], file_bytes);
    assert_eq!(m0["raw_bytes"], 36 * 32 * 32 * 3);
    let ratio = m0["ratio"].as_f64().unwrap();
    assert!((ratio - (36.0 * 32.0 * 32.0 * 3.0) / file_bytes as f64).abs() < 1e-9);
    assert_eq!(m0["thetas"], serde_json::json!([30.0, 90.0, 150.0]));
    assert_eq!(m0["phis"].as_array().unwrap().len(), 6);
    assert_eq!(m0["has_reference"], true);
    // the MLP and the head at 9 bits, the upscale convolutions at 7: counts from the network's shape
    let net = NetConfig::for_image(Arch::Nervi, 32, 32, 16, 16, 16).unwrap();
    assert_eq!(
        m0["weight_bits"],
        serde_json::json!([
            { "bits": 7, "weights": net.upscale_param_count() },
            { "bits": 9, "weights": net.mlp_param_count() + net.head_param_count() }
        ])
    );
    assert_eq!(m0["bits"], 9);
    assert_eq!(m0["parameters"], net.param_count());

    // a frame on the grid: the decoder's image, PNG, a miss, then a hit
    let r = get(&s, "/api/frame?model=0&t=1&theta=90&phi=120").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type").unwrap(), "image/png");
    assert_eq!(r.header("x-neuvis-cache").unwrap(), "miss");
    assert_eq!(r.header("x-neuvis-unseen").unwrap(), "0");
    let file = Nrvi::from_bytes(&std::fs::read(&model).unwrap()).unwrap();
    let dec = Decoder::cpu(&file).unwrap();
    let want = dec.decode(&[[1.0, 90.0, 120.0]], 1).unwrap().remove(0);
    assert_eq!(r.image().as_raw(), want.rgb(), "served pixels are the decoder's");
    // PSNR against the reference image of that view, computed here independently
    let db = CinemaDb::open(&gt).unwrap();
    let i = db
        .entries
        .iter()
        .position(|e| e.time == 1.0 && e.theta == 90.0 && e.phi == 120.0)
        .unwrap();
    let reference = db.load(i).unwrap();
    let mse: f64 = reference
        .rgb()
        .iter()
        .zip(want.rgb())
        .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
        .sum::<f64>()
        / (32.0 * 32.0 * 3.0);
    let psnr: f64 = r.header("x-neuvis-psnr").unwrap().parse().unwrap();
    assert!((psnr - 10.0 * (255.0f64 * 255.0 / mse).log10()).abs() < 1e-3);
    assert!(psnr > 18.0, "the test model learned the discs ({psnr:.1} dB)");
    let again = get(&s, "/api/frame?model=m&t=1&theta=90&phi=480").await; // by name; φ wraps
    assert_eq!(again.header("x-neuvis-cache").unwrap(), "hit");
    assert_eq!(again.body, r.body);

    // θ changes the image
    let other = get(&s, "/api/frame?model=0&t=1&theta=30&phi=120").await;
    assert_ne!(other.body, r.body);

    // between grid points: allowed, flagged as unseen, no PSNR, no reference image
    let r = get(&s, "/api/frame?model=0&t=0.5&theta=75&phi=100").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("x-neuvis-unseen").unwrap(), "1");
    assert!(r.header("x-neuvis-psnr").is_none());
    let r = get(&s, "/api/reference?model=0&t=0.5&theta=75&phi=100").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].as_str().unwrap().contains("unseen"));

    // reference and difference images on the grid
    let r = get(&s, "/api/reference?model=0&t=1&theta=90&phi=120").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.image().as_raw(), reference.rgb());
    let r = get(&s, "/api/diff?model=0&t=1&theta=90&phi=120").await;
    assert_eq!(r.status, StatusCode::OK);
    let img = r.image();
    assert_eq!(img.width(), 32);
    assert!(img.height() > 32, "difference image has its legend strip");

    let st = stats(&s).await;
    assert_eq!(st["hits"], 1);
    assert_eq!(st["prefetched"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_stays_within_its_byte_budget() {
    let d = tempfile::tempdir().unwrap();
    // room for about three frames of this size
    let probe = {
        let (s, _, _) = state(d.path(), Options::default());
        get(&s, "/api/frame?model=0&t=0&theta=30&phi=0").await.body.len()
    };
    let budget = 3 * (probe + 256) + 100;
    let s = Explorer::open(
        &[d.path().join("m.nrvi")],
        &[],
        Options {
            cache_bytes: budget,
            prefetch: false,
            ..Default::default()
        },
    )
    .unwrap();
    for phi in [0, 60, 120, 180, 240, 300] {
        let r = get(&s, &format!("/api/frame?model=0&t=0&theta=30&phi={phi}")).await;
        assert_eq!(r.status, StatusCode::OK);
        let st = stats(&s).await;
        assert!(st["cache_bytes"].as_u64().unwrap() as usize <= budget, "{st}");
    }
    let st = stats(&s).await;
    assert!(st["cache_entries"].as_u64().unwrap() <= 3);
    // the most recent frame is cached, the first one was evicted
    assert_eq!(
        get(&s, "/api/frame?model=0&t=0&theta=30&phi=300")
            .await
            .header("x-neuvis-cache")
            .unwrap(),
        "hit"
    );
    assert_eq!(
        get(&s, "/api/frame?model=0&t=0&theta=30&phi=0")
            .await
            .header("x-neuvis-cache")
            .unwrap(),
        "miss"
    );
    // without a reference: reference and difference are 404 with a message
    let r = get(&s, "/api/reference?model=0&t=0&theta=30&phi=0").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].as_str().unwrap().contains("--reference"));
    assert_eq!(
        get(&s, "/api/diff?model=0&t=0&theta=30&phi=0").await.status,
        StatusCode::NOT_FOUND
    );
}

/// Waits (polling, up to 60 s) until `cond` holds for the stats.
async fn wait_for(s: &Arc<Explorer>, cond: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    for _ in 0..600 {
        let st = stats(s).await;
        if cond(&st) {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition never held: {}", stats(s).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_fills_neighbours_and_the_animated_axis() {
    let d = tempfile::tempdir().unwrap();
    let (s, _, _) = state(
        d.path(),
        Options {
            prefetch_ahead: 3,
            ..Default::default()
        },
    );
    // animating φ forward from 60: 120, 180, 240 ahead; neighbours φ 0, θ 30/150, t 1
    let r = get(&s, "/api/frame?model=0&t=0&theta=90&phi=60&anim=phi&dir=1").await;
    assert_eq!(r.status, StatusCode::OK);
    let st = wait_for(&s, |st| st["prefetch_tasks"] == 0).await;
    assert_eq!(st["prefetched"], 7, "{st}");
    for q in [
        "t=0&theta=90&phi=120",
        "t=0&theta=90&phi=180",
        "t=0&theta=90&phi=240",
        "t=0&theta=90&phi=0",
        "t=0&theta=30&phi=60",
        "t=0&theta=150&phi=60",
        "t=1&theta=90&phi=60",
    ] {
        let r = get(&s, &format!("/api/frame?model=0&{q}")).await;
        assert_eq!(r.header("x-neuvis-cache").unwrap(), "hit", "{q}");
    }
    // φ wraps when animating backwards from the first value
    let r = get(&s, "/api/frame?model=0&t=1&theta=150&phi=0&anim=phi&dir=-1").await;
    assert_eq!(r.status, StatusCode::OK);
    wait_for(&s, |st| st["prefetch_tasks"] == 0).await;
    let r = get(&s, "/api/frame?model=0&t=1&theta=150&phi=300").await;
    assert_eq!(r.header("x-neuvis-cache").unwrap(), "hit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let (s, _, _) = state(d.path(), Options::default());
    for (uri, status, msg) in [
        ("/api/frame?model=0&t=0&theta=190&phi=0", 400, "outside [0, 180]"),
        ("/api/frame?model=0&t=0&theta=-1&phi=0", 400, "outside [0, 180]"),
        (
            "/api/frame?model=0&t=5&theta=90&phi=0",
            400,
            "outside the trained range",
        ),
        ("/api/frame?model=0&t=0&theta=abc&phi=0", 400, "not a number"),
        ("/api/frame?model=0&t=0&theta=NaN&phi=0", 400, "finite"),
        ("/api/frame?model=0&t=0&theta=inf&phi=0", 400, "finite"),
        ("/api/frame?model=0&t=0&theta=90", 400, "missing parameter 'phi'"),
        ("/api/frame?model=7&t=0&theta=90&phi=0", 404, "no model '7'"),
        (
            "/api/frame?model=..%2F..%2Fetc%2Fpasswd&t=0&theta=90&phi=0",
            404,
            "no model",
        ),
        ("/api/frame?model=0&t=0&theta=90&phi=0&anim=zoom", 400, "anim must be"),
        (
            "/api/frame?model=0&t=0&theta=90&phi=0&anim=phi&dir=2",
            400,
            "dir must be",
        ),
        ("/api/../../etc/passwd", 404, "no such page"),
        ("/static/../Cargo.toml", 404, "no such page"),
    ] {
        let r = get(&s, uri).await;
        assert_eq!(r.status.as_u16(), status, "{uri}");
        let e = r.json()["error"].as_str().unwrap().to_string();
        assert!(e.contains(msg), "{uri}: {e}");
    }
    let long = format!("/api/frame?model=0&t=0&theta=90&phi=0&pad={}", "x".repeat(4000));
    assert_eq!(get(&s, &long).await.status, StatusCode::URI_TOO_LONG);
    assert_eq!(
        request(&s, "POST", "/api/frame?model=0&t=0&theta=90&phi=0")
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    // the page and its assets
    let r = get(&s, "/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(String::from_utf8(r.body).unwrap().contains("neuvis explorer"));
    assert_eq!(get(&s, "/app.js").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decodes_are_bounded() {
    let d = tempfile::tempdir().unwrap();
    let (s, _, _) = state(
        d.path(),
        Options {
            max_decodes: 1,
            max_waiting: 2,
            prefetch: false,
            ..Default::default()
        },
    );
    // 36 distinct views at once: each is served (200) or refused as busy (503), nothing else,
    // and the refusals are counted
    let mut tasks = Vec::new();
    for t in 0..2 {
        for th in [30, 90, 150] {
            for phi in [0, 60, 120, 180, 240, 300] {
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    get(&s, &format!("/api/frame?model=0&t={t}&theta={th}&phi={phi}"))
                        .await
                        .status
                }));
            }
        }
    }
    let mut ok = 0;
    let mut busy = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => busy += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(ok >= 1);
    assert_eq!(ok + busy, 36);
    let st = stats(&s).await;
    assert_eq!(st["rejected"].as_u64().unwrap(), busy as u64);
    assert_eq!(st["decodes"].as_u64().unwrap(), ok as u64);
    // the decode slot bound held: never two decodes at once
    assert_eq!(st["peak_concurrent_decodes"], 1, "{st}");
}

#[test]
fn startup_errors_name_the_file() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("none.nrvi");
    let e = Explorer::open(std::slice::from_ref(&missing), &[], Options::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("none.nrvi"), "{e}");
    let junk = d.path().join("junk.nrvi");
    std::fs::write(&junk, b"not a model at all").unwrap();
    let e = Explorer::open(&[junk], &[], Options::default()).err().unwrap();
    assert!(e.to_string().contains("junk.nrvi"), "{e}");
    let (model, _) = common::model(d.path());
    // a reference of another image size
    let other = d.path().join("big.cdb");
    let mut w = neuvis_collection::DbWriter::create(&other, &serde_json::json!({}), false, false).unwrap();
    let v = neuvis_collection::View {
        step: 0,
        time: 0.0,
        theta: 30.0,
        phi: 0.0,
    };
    w.prepare(&[v]).unwrap();
    w.write(&v, &MaskedImage::new(8, 8, vec![0; 192], vec![255; 64]).unwrap())
        .unwrap();
    w.push(v);
    w.finish().unwrap();
    let e = Explorer::open(std::slice::from_ref(&model), &[other], Options::default())
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("big.cdb") && e.to_string().contains("8x8"),
        "{e}"
    );
    let e = Explorer::open(
        std::slice::from_ref(&model),
        &[d.path().join("gt.cdb"), d.path().join("gt.cdb")],
        Options::default(),
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("one --reference per model"), "{e}");
}
