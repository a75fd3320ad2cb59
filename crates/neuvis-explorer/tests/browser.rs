//! The page in a real browser: headless Chromium driven through chromedriver (WebDriver).
//!
//! Needs Debian's `chromium` and `chromium-driver` (installed by `.ci/run`). Without them the test
//! says so and passes, unless `NEUVIS_BROWSER_TEST=1` (set by `.ci/run`), where it fails.

mod common;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{key::Key, Client, ClientBuilder, Locator};
use neuvis_explorer::{router, Explorer, Options};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver's (non-W3C) browser console log: `POST /session/{id}/se/log {"type": "browser"}`.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_string()))
    }
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A hash of the decoded image's pixels, read back through a canvas.
async fn image_hash(c: &Client) -> String {
    let v = c
        .execute(
            "const img = document.getElementById('img-decoded');
             if (!img.complete || img.naturalWidth === 0) return '';
             const cv = document.createElement('canvas');
             cv.width = img.naturalWidth; cv.height = img.naturalHeight;
             const g = cv.getContext('2d'); g.drawImage(img, 0, 0);
             const d = g.getImageData(0, 0, cv.width, cv.height).data;
             let h = 2166136261;
             for (let i = 0; i < d.length; i++) { h = Math.imul(h ^ d[i], 16777619) >>> 0; }
             return String(h);",
            vec![],
        )
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_string()
}

async fn value(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Polls `f` every 100 ms for up to 30 s.
async fn until<F, Fut>(what: &str, f: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_decodes_moves_and_plays_in_chromium() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("NEUVIS_BROWSER_TEST").is_none(),
            "NEUVIS_BROWSER_TEST is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!("skipped: install Debian's chromium and chromium-driver to run the browser test");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (model, gt) = common::model(d.path());
    let state = Explorer::open(&[model], &[gt], Options::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    until("chromedriver", || async move {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;

    let profile = tempfile::tempdir().unwrap();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps.as_object().unwrap().clone())
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("chromedriver session");
    c.goto(&format!("http://{addr}/")).await.unwrap();

    // the first frame arrives and the model is described
    until("first frame", || async { !image_hash(&c).await.is_empty() }).await;
    let first = image_hash(&c).await;
    let info = c.find(Locator::Id("modelinfo")).await.unwrap().text().await.unwrap();
    assert!(
        info.contains("IR") && info.contains("ratio") && info.contains("at 7/9 bits"),
        "{info}"
    );

    // move the θ slider with the keyboard, as a user would
    let theta0 = value(&c, "n-theta").await;
    let slider = c.find(Locator::Id("s-theta")).await.unwrap();
    slider.click().await.unwrap();
    slider.send_keys(&Key::Right.to_string()).await.unwrap();
    until("θ to change", || async { value(&c, "n-theta").await != theta0 }).await;
    until("the image to change with θ", || async {
        image_hash(&c).await != first
    })
    .await;
    let moved = image_hash(&c).await;

    // play: φ advances and the image changes frame after frame
    let phi0 = value(&c, "n-phi").await;
    c.find(Locator::Id("play")).await.unwrap().click().await.unwrap();
    until("φ to advance while playing", || async {
        value(&c, "n-phi").await != phi0
    })
    .await;
    until("the image to change while playing", || async {
        image_hash(&c).await != moved
    })
    .await;
    let label = c.find(Locator::Id("play")).await.unwrap().text().await.unwrap();
    assert!(label.contains("pause"), "{label}");

    // pause, then compare side by side with the reference: reference and ΔE images appear, PSNR shown
    c.find(Locator::Id("play")).await.unwrap().click().await.unwrap();
    c.find(Locator::Id("viewmode"))
        .await
        .unwrap()
        .select_by_value("side")
        .await
        .unwrap();
    until("reference and difference images", || async {
        c.execute(
            "const ok = (id) => { const i = document.getElementById(id);
                 return !i.closest('figure').hidden && i.complete && i.naturalWidth > 0; };
             return ok('img-reference') && ok('img-diff');",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap_or(false)
    })
    .await;
    let psnr = c.find(Locator::Id("psnr")).await.unwrap().text().await.unwrap();
    assert!(psnr.ends_with("dB"), "{psnr}");

    let shot = c.screenshot().await.unwrap();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explorer-screenshot.png");
    std::fs::write(&out, &shot).unwrap();
    eprintln!("screenshot: {}", out.display());
    assert!(image::load_from_memory(&shot).unwrap().width() >= 800);

    // no console errors (failed requests, script errors)
    let log = c.issue_cmd(BrowserLog).await.unwrap();
    let errors: Vec<&serde_json::Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    c.close().await.unwrap();
}
