//! What both browser tests share (the explorer's page and the raycast page): headless Chromium
//! driven through chromedriver (WebDriver), polling, pixel hashes read back through a canvas, the
//! console log and screenshots.
//!
//! Needs Debian's `chromium` and `chromium-driver` (installed by `.ci/run`). Without them
//! [`Browser::start`] says so and returns `None` (the test passes), unless `NEUVIS_BROWSER_TEST=1`
//! (set by `.ci/run`), where it fails.
// Each test crate that includes this module uses only some of the helpers.
#![allow(dead_code)]

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
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

/// A child process killed when dropped.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver session in headless Chromium; chromedriver and the profile go with it.
pub struct Browser {
    /// The session.
    pub client: Client,
    _driver: Kill,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session (1280×900, console log kept), or
    /// `None` where the browser is not installed and the test may be skipped.
    pub async fn start() -> Option<Browser> {
        if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
            assert!(
                std::env::var_os("NEUVIS_BROWSER_TEST").is_none(),
                "NEUVIS_BROWSER_TEST is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
            );
            eprintln!("skipped: install Debian's chromium and chromium-driver to run the browser test");
            return None;
        }
        // Two tests may draw the same free port (each releases it before chromedriver binds it),
        // and then one chromedriver exits or is killed under the other's session: start again on
        // another port, a few times, before failing.
        let mut attempt = 0;
        let (client, driver, profile) = loop {
            attempt += 1;
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let driver = Kill(
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
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.as_object().unwrap().clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break (client, driver, profile),
                Err(e) if attempt < 3 => eprintln!("chromedriver session on port {port}: {e}; starting again"),
                Err(e) => panic!("chromedriver session: {e}"),
            }
        };
        Some(Browser {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// The console messages of level SEVERE (failed requests, script errors).
    pub async fn console_errors(&self) -> Vec<serde_json::Value> {
        let log = self.client.issue_cmd(BrowserLog).await.unwrap();
        log.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .cloned()
            .collect()
    }

    /// Takes a screenshot, writes it to the test's temporary folder as `name` and returns it.
    pub async fn screenshot(&self, name: &str) -> (PathBuf, Vec<u8>) {
        let shot = self.client.screenshot().await.unwrap();
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&out, &shot).unwrap();
        eprintln!("screenshot: {}", out.display());
        (out, shot)
    }
}

/// Polls `f` every 100 ms for up to 30 s.
pub async fn until<F, Fut>(what: &str, f: F)
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

/// A hash of the pixels of the image element `id`, read back through a canvas ('' until loaded).
pub async fn image_hash(c: &Client, id: &str) -> String {
    let v = c
        .execute(
            "const img = document.getElementById(arguments[0]);
             if (!img.complete || img.naturalWidth === 0) return '';
             const cv = document.createElement('canvas');
             cv.width = img.naturalWidth; cv.height = img.naturalHeight;
             const g = cv.getContext('2d'); g.drawImage(img, 0, 0);
             const d = g.getImageData(0, 0, cv.width, cv.height).data;
             let h = 2166136261;
             for (let i = 0; i < d.length; i++) { h = Math.imul(h ^ d[i], 16777619) >>> 0; }
             return String(h);",
            vec![serde_json::json!(id)],
        )
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_string()
}

/// The text of element `id`.
pub async fn text(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

/// The `value` property of element `id`.
pub async fn value(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}
