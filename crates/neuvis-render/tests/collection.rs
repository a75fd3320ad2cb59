//! `render_collection`: the grid it writes (order, times, file names), the mode it derives from the
//! data, resuming, and validation before any output exists.

use neuvis_collection::CinemaDb;
use neuvis_render::collection::{render_collection, Cameras, CollectionOptions, ModeOptions, Progress};
use neuvis_render::{Mode, RenderSettings, Renderer};
use neuvis_volume::{ScalarField, TimeSeries};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Distance from the centre of [−1, 1]³ scaled by `s`: spheres whose isosurface 0.5 has radius 0.5/s.
fn series() -> TimeSeries {
    let f = |s: f32| {
        ScalarField::from_fn([17; 3], [0.125; 3], [-1.0; 3], move |x, y, z| {
            s * (x * x + y * y + z * z).sqrt()
        })
        .unwrap()
    };
    TimeSeries {
        times: vec![0.5, 2.0],
        fields: vec![f(1.0), f(2.0)],
    }
}

#[test]
fn writes_every_view_with_its_time_and_the_renderers_pixels_and_resumes() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("s.cdb");
    let s = series();
    let opts = CollectionOptions {
        mode: ModeOptions::Iso {
            value: Some(0.5),
            color: [1.0, 0.5, 0.25],
        },
        width: 24,
        height: 16,
        cameras: Cameras::List(vec![(90.0, 0.0), (45.0, 200.0), (0.0, 0.0)]),
        ..Default::default()
    };
    let images = AtomicUsize::new(0);
    let count = |p: Progress| {
        if p == Progress::Image {
            images.fetch_add(1, Ordering::Relaxed);
        }
    };
    let sum = render_collection(&s, &opts, &out, &count).unwrap();
    assert_eq!((sum.images, sum.rendered, sum.width, sum.height), (6, 6, 24, 16));
    assert_eq!(images.load(Ordering::Relaxed), 6);
    let db = CinemaDb::open(&out).unwrap();
    let got: Vec<(f64, f64, f64)> = db.entries.iter().map(|e| (e.time, e.theta, e.phi)).collect();
    let want: Vec<(f64, f64, f64)> = [0.5, 2.0]
        .iter()
        .flat_map(|&t| [(t, 90.0, 0.0), (t, 45.0, 200.0), (t, 0.0, 0.0)])
        .collect();
    assert_eq!(got, want, "time-major, cameras in list order, physical times");
    // every image is what the renderer gives for that step and view
    for (i, e) in db.entries.iter().enumerate() {
        let step = usize::from(e.time == 2.0);
        let mut rs = RenderSettings::new(
            24,
            16,
            Mode::Iso {
                value: 0.5,
                color: [1.0, 0.5, 0.25],
            },
        );
        rs.fov_deg = 30.0;
        let want = Renderer::new(&s.fields[step], rs)
            .unwrap()
            .render(e.theta as f32, e.phi as f32);
        assert_eq!(db.load(i).unwrap(), want, "{}", e.file);
    }
    // the smaller sphere of step 1 covers fewer pixels than step 0's
    let cov = |i: usize| db.load(i).unwrap().coverage();
    assert!(cov(3) < 0.5 * cov(0), "{} vs {}", cov(3), cov(0));

    // resume after losing one image: only that one is rendered again
    let lost = out.join(&db.entries[4].file);
    std::fs::remove_file(&lost).unwrap();
    // (an interrupted run leaves its work in the partial folder; emulate by renaming back)
    let partial = d.path().join(".s.cdb.partial");
    std::fs::rename(&out, &partial).unwrap();
    std::fs::remove_file(partial.join("data.csv")).ok();
    let again = render_collection(
        &s,
        &CollectionOptions {
            resume: true,
            ..opts.clone()
        },
        &out,
        &|_| {},
    )
    .unwrap();
    assert_eq!((again.images, again.rendered), (6, 1));
    assert!(lost.exists());
}

#[test]
fn mode_defaults_come_from_the_first_rendered_step_and_bad_settings_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let s = series();
    // iso default: mid-range of the first rendered step (step 1: values 0..2·√3)
    let opts = CollectionOptions {
        width: 8,
        height: 8,
        cameras: Cameras::List(vec![(90.0, 0.0)]),
        steps: Some(vec![1]),
        ..Default::default()
    };
    let out = d.path().join("m.cdb");
    render_collection(&s, &opts, &out, &|_| {}).unwrap();
    let meta = CinemaDb::open(&out).unwrap().meta.unwrap();
    let (lo, hi) = s.fields[1].range();
    let iso = meta["render"]["isovalue"].as_f64().unwrap() as f32;
    assert!((iso - 0.5 * (lo + hi)).abs() < 1e-6, "{iso} vs range {lo}..{hi}");
    assert_eq!(meta["theta_step"], serde_json::Value::Null);

    for (bad, what) in [
        (
            CollectionOptions {
                steps: Some(vec![2]),
                ..opts.clone()
            },
            "past the series",
        ),
        (
            CollectionOptions {
                width: 0,
                ..opts.clone()
            },
            "image size",
        ),
        (
            CollectionOptions {
                mode: ModeOptions::Dvr {
                    tf: "no-such-map".into(),
                    opacity: None,
                    range: None,
                    rescale: false,
                    shade: false,
                },
                ..opts.clone()
            },
            "not a preset",
        ),
        (
            CollectionOptions {
                mode: ModeOptions::Iso {
                    value: None,
                    color: [2.0, 0.0, 0.0],
                },
                ..opts.clone()
            },
            "[0, 1]",
        ),
    ] {
        let out = d.path().join("bad.cdb");
        let e = render_collection(&s, &bad, &out, &|_| {}).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
        assert!(
            !out.exists() && !d.path().join(".bad.cdb.partial").exists(),
            "{what}: output left behind"
        );
    }
}
