//! The page in a real browser: headless Chromium driven through chromedriver (WebDriver).
//!
//! Needs Debian's `chromium` and `chromium-driver` (installed by `.ci/run`). Without them the test
//! says so and passes, unless `NEUVIS_BROWSER_TEST=1` (set by `.ci/run`), where it fails.

mod browser_support;
mod common;

use browser_support::{image_hash, text, until, value, Browser};
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

/// With a reference the page opens on the side-by-side view; the view is kept in the address bar
/// (a reload or a shared link opens it again); one time step hides the t slider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_opens_side_by_side_keeps_its_view_in_the_url_and_hides_a_single_time() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let c = &browser.client;
    let d = tempfile::tempdir().unwrap();
    let (model, gt) = common::model(d.path());
    // the same network with a grid of one time step: a header edit, the weights unchanged
    let one = d.path().join("one.nrvi");
    let mut f = neuvis_codec::container::Nrvi::from_bytes(&std::fs::read(&model).unwrap()).unwrap();
    let views: Vec<[f64; 3]> = f.header.grid.params().into_iter().filter(|p| p[0] == 0.0).collect();
    f.header.grid = neuvis_codec::container::Grid::from_params(&views);
    f.header.params.time = [0.0, 0.0];
    std::fs::write(&one, f.to_bytes().unwrap()).unwrap();
    let state = Explorer::open(&[model, one], &[gt], Options::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });

    let visible = |id: &'static str| async move {
        c.execute(
            "const e = document.getElementById(arguments[0]); return !e.closest('figure, .param').hidden;",
            vec![serde_json::json!(id)],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap()
    };
    let search = || async { c.execute("return window.location.search;", vec![]).await.unwrap() };

    // opened plainly: side by side, and the address names the view shown
    c.goto(&format!("http://{addr}/")).await.unwrap();
    until("reference and difference shown", || async {
        visible("img-reference").await && visible("img-diff").await
    })
    .await;
    assert_eq!(value(c, "viewmode").await, "side");
    until("the view in the address bar", || async {
        search().await.as_str().unwrap_or_default().contains("view=side")
    })
    .await;
    let q = search().await.as_str().unwrap().to_string();
    let theta = value(c, "n-theta").await;
    assert!(q.contains("model=m") && q.contains(&format!("theta={theta}")), "{q}");
    let caption = text(c, "diff-scale").await;
    assert_eq!(caption, "0–40", "eval's difference scale");
    assert!(visible("s-t").await, "two time steps: the t slider is shown");

    // a link to a view opens that view
    c.goto(&format!("http://{addr}/?model=m&t=1&theta=150&phi=120&view=decoded"))
        .await
        .unwrap();
    until("the linked view", || async {
        value(c, "n-theta").await == "150" && value(c, "n-phi").await == "120" && value(c, "n-t").await == "1"
    })
    .await;
    assert_eq!(value(c, "viewmode").await, "decoded");
    until("a frame", || async { !image_hash(c, "img-decoded").await.is_empty() }).await;
    assert!(!visible("img-reference").await, "the decoded view alone");

    // the one-time-step model: no t slider
    c.goto(&format!("http://{addr}/?model=one")).await.unwrap();
    until("the one-step model", || async {
        text(c, "modelinfo").await.contains("1×3×6 views")
    })
    .await;
    assert!(!visible("s-t").await, "one time step: no t slider");
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    c.clone().close().await.unwrap();
}
