//! The raycast page (`neuvis raycast serve`) in headless Chromium: the first frame streams in and
//! converges, a mouse drag orbits, the wheel zooms, and the page shows frame time, cache counters
//! and resident MB.
//!
//! Needs Debian's `chromium` and `chromium-driver` (installed by `.ci/run`); see `browser_support`.

mod browser_support;

use browser_support::{image_hash, text, until, Browser};
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::Locator;
use neuvis_explorer::raycast::{router, start, RaycastOptions};
use neuvis_raycast::engine::Budget;
use neuvis_raycast::prepare::TurbulenceSource;
use neuvis_raycast::{prepare, Method, PrepareOptions, StoreKind};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raycast_page_streams_orbits_and_zooms_in_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let c = &browser.client;
    let d = tempfile::tempdir().unwrap();
    let store = d.path().join("t.nvb");
    let src = TurbulenceSource::new(0, [33; 3]);
    let popts = PrepareOptions {
        brick: 8,
        factor: 2,
        kind: StoreKind::Exact,
        train_bricks: 256,
        seed: 0,
        zfp_rate: None,
        shard: neuvis_base::Shard::WHOLE,
        trainer_settings: Default::default(),
    };
    prepare(&src, &store, &popts, None, |_, _| {}).unwrap();
    let opts = RaycastOptions {
        method: Method::Exact,
        budget: Budget::Bytes(2_000_000),
        width: 128,
        height: 128,
        iso: Some(0.3),
        ..Default::default()
    };
    let app = router(start(&store, &opts).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { neuvis_explorer::serve_router(listener, app, &Default::default()).await });
    c.goto(&url).await.unwrap();

    until("the first frame to converge", || async {
        text(c, "progress").await == "converged" && !image_hash(c, "frame").await.is_empty()
    })
    .await;
    let first = image_hash(c, "frame").await;
    let info = text(c, "storeinfo").await;
    assert!(info.contains("turbulence") && info.contains("exact"), "{info}");
    let resident = text(c, "resident").await;
    assert!(
        resident.contains("MB") && resident.contains("budget 2.0 MB"),
        "{resident}"
    );
    let cache = text(c, "cache").await;
    assert!(cache.contains('/'), "{cache}");
    assert!(text(c, "frametime").await.ends_with("ms"));
    let (theta0, phi0) = (text(c, "theta").await, text(c, "phi").await);

    // drag with the mouse: the view orbits and a new frame converges
    let img = c.find(Locator::Id("frame")).await.unwrap();
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: img.clone(),
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(300)),
            x: 80.0,
            y: 30.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    c.perform_actions(drag).await.unwrap();
    until("φ to change with the drag", || async { text(c, "phi").await != phi0 }).await;
    assert_ne!(text(c, "theta").await, theta0);
    until("a new converged frame", || async {
        text(c, "progress").await == "converged" && image_hash(c, "frame").await != first
    })
    .await;
    let moved = image_hash(c, "frame").await;

    // the wheel zooms
    c.execute(
        "document.getElementById('frame').dispatchEvent(new WheelEvent('wheel', {deltaY: -100, bubbles: true, cancelable: true}));",
        vec![],
    )
    .await
    .unwrap();
    until("zoom to change", || async { text(c, "zoom").await != "1.00" }).await;
    until("the zoomed frame", || async {
        text(c, "progress").await == "converged" && image_hash(c, "frame").await != moved
    })
    .await;
    assert!(text(c, "error").await.is_empty());
    browser.screenshot("raycast-screenshot.png").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    c.clone().close().await.unwrap();
}
