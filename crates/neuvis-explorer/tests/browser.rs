//! The page in a real browser: headless Chromium driven through chromedriver (WebDriver).
//!
//! Needs Debian's `chromium` and `chromium-driver` (installed by `.ci/run`). Without them the test
//! says so and passes, unless `NEUVIS_BROWSER_TEST=1` (set by `.ci/run`), where it fails.

mod browser_support;
mod common;

use browser_support::{image_hash, until, value, Browser};
use fantoccini::{key::Key, Locator};
use neuvis_explorer::{router, Explorer, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_decodes_moves_and_plays_in_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let c = &browser.client;
    let d = tempfile::tempdir().unwrap();
    let (model, gt) = common::model(d.path());
    let state = Explorer::open(&[model], &[gt], Options::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });

    c.goto(&format!("http://{addr}/")).await.unwrap();

    // the first frame arrives and the model is described
    until("first frame", || async {
        !image_hash(c, "img-decoded").await.is_empty()
    })
    .await;
    let first = image_hash(c, "img-decoded").await;
    let info = c.find(Locator::Id("modelinfo")).await.unwrap().text().await.unwrap();
    assert!(
        info.contains("IR") && info.contains("ratio") && info.contains("at 7/9 bits"),
        "{info}"
    );

    // move the θ slider with the keyboard, as a user would
    let theta0 = value(c, "n-theta").await;
    let slider = c.find(Locator::Id("s-theta")).await.unwrap();
    slider.click().await.unwrap();
    slider.send_keys(&Key::Right.to_string()).await.unwrap();
    until("θ to change", || async { value(c, "n-theta").await != theta0 }).await;
    until("the image to change with θ", || async {
        image_hash(c, "img-decoded").await != first
    })
    .await;
    let moved = image_hash(c, "img-decoded").await;

    // play: φ advances and the image changes frame after frame
    let phi0 = value(c, "n-phi").await;
    c.find(Locator::Id("play")).await.unwrap().click().await.unwrap();
    until("φ to advance while playing", || async {
        value(c, "n-phi").await != phi0
    })
    .await;
    until("the image to change while playing", || async {
        image_hash(c, "img-decoded").await != moved
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

    let (_, shot) = browser.screenshot("explorer-screenshot.png").await;
    assert!(image::load_from_memory(&shot).unwrap().width() >= 800);

    // no console errors (failed requests, script errors)
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    c.clone().close().await.unwrap();
}
