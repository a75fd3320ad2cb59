//! Collections larger than memory and time-varying models, as a user runs them: `compress --load
//! stream` keeps resident memory flat and trains the same model as `--load memory`;
//! `compress --holdout-times` + `eval --holdout` report held-out steps and unseen views apart.

mod common;
use common::{neuvis, ok, text};
use std::path::Path;

fn peak_mb(o: &std::process::Output) -> f64 {
    let t = text(o);
    let line = t
        .lines()
        .find(|l| l.starts_with("peak memory"))
        .unwrap_or_else(|| panic!("{t}"));
    line.rsplit(": ")
        .next()
        .unwrap()
        .trim_end_matches(" MB")
        .parse()
        .unwrap()
}

#[test]
fn streaming_keeps_memory_flat_and_trains_the_same_model() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // 2 steps × 21 × 20 views = 840 images of 128²: 55 MB as RGBA bytes, 110 MB while loading
    ok(
        dir,
        &[
            "render",
            "--volume",
            "tornado",
            "--dims",
            "24",
            "--size",
            "128",
            "--theta-step",
            "9",
            "--phi-step",
            "18",
            "--times",
            "0,1",
            "--iso",
            "0.2",
            "-o",
            "big.cdb",
            "-q",
        ],
    );
    let train = |load: &str, out: &str| {
        ok(
            dir,
            &[
                "compress",
                "big.cdb",
                "-o",
                out,
                "--c1",
                "4",
                "--epochs",
                "1",
                "--batch",
                "8",
                "--load",
                load,
                "--threads",
                "2",
                "-q",
            ],
        )
    };
    let mem = train("memory", "mem.nrvi");
    let stream = train("stream", "stream.nrvi");
    assert!(text(&stream).contains("streamed"), "{}", text(&stream));
    let (m, s) = (peak_mb(&mem), peak_mb(&stream));
    // the in-memory path holds every image (and briefly a second copy); the streamed one a few batches
    assert!(s + 50.0 < m, "peak RSS streamed {s:.1} MB vs in memory {m:.1} MB");
    assert!(s < 300.0, "peak RSS streamed {s:.1} MB");
    assert_eq!(
        std::fs::read(dir.join("mem.nrvi")).unwrap(),
        std::fs::read(dir.join("stream.nrvi")).unwrap(),
        "the same seed trains the same file whichever way the images are held"
    );
}

/// 5 time steps × 8 views of 32², and the same steps at views between them.
fn series(dir: &Path) {
    for (out, theta, phi) in [("train.cdb", "60", "90"), ("views.cdb", "30", "45")] {
        ok(
            dir,
            &[
                "render",
                "--volume",
                "tornado",
                "--dims",
                "24",
                "--size",
                "32",
                "--theta-step",
                theta,
                "--phi-step",
                phi,
                "--times",
                "0,1,2,3,4",
                "--iso",
                "0.2",
                "-o",
                out,
                "-q",
            ],
        );
    }
}

#[test]
fn held_out_time_steps_and_unseen_views_are_reported_apart() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    series(dir);
    let o = ok(
        dir,
        &[
            "compress",
            "train.cdb",
            "-o",
            "m.nrvi",
            "--c1",
            "8",
            "--epochs",
            "2",
            "--holdout-times",
            "2",
        ],
    );
    let t = text(&o);
    // 5 steps: every 2nd, never the first or last → step 2 held out; 4 steps × 3 θ × 4 φ = 48 images
    assert!(
        t.contains("holding out 1 of 5 time steps") && t.contains(": 48 images"),
        "{t}"
    );
    let o = ok(dir, &["eval", "views.cdb", "m.nrvi", "--holdout", "-q"]);
    let t = text(&o);
    let count = |label: &str| -> usize {
        let l = t
            .lines()
            .find(|l| l.starts_with(&format!("| {label}")))
            .unwrap_or_else(|| panic!("{t}"));
        l.split('|').nth(2).unwrap().trim().parse().unwrap()
    };
    // views.cdb: θ ∈ {0, 30, …, 150} (6) × φ ∈ {0, 45, …, 315} (8) per step; trained θ ∈ {0, 60,
    // 120}, φ ∈ {0, 90, 180, 270}: 12 trained views per step, 36 unseen
    assert_eq!(count("trained (on"), 4 * 12, "{t}");
    assert_eq!(count("held-out time steps, trained views"), 12, "{t}");
    assert_eq!(count("trained time steps, unseen views"), 4 * 36, "{t}");
    assert_eq!(count("unseen time steps and views"), 36, "{t}");
    // the file records what was held out
    let o = neuvis(dir, &["eval", "views.cdb", "train.cdb", "--holdout"]);
    assert!(
        !o.status.success() && text(&o).contains("give a .nrvi model"),
        "{}",
        text(&o)
    );
    let bad = neuvis(dir, &["compress", "train.cdb", "-o", "b.nrvi", "--holdout-times", "1"]);
    assert!(
        !bad.status.success() && text(&bad).contains("--holdout-times 1"),
        "{}",
        text(&bad)
    );
    assert!(!dir.join("b.nrvi").exists());
}
