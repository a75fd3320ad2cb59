//! `neuvis raycast prepare|render|orbit`, `neuvis isosurface` and `neuvis bench raycast` as a
//! user runs them, including bad input.

mod common;

use common::{neuvis, text};
use std::path::Path;

fn prepare(dir: &Path, name: &str, seed: &str) {
    common::prepare_turbulence(
        dir,
        name,
        "33",
        "8",
        &[
            "--store",
            "both",
            "--train-steps",
            "4",
            "--train-bricks",
            "16",
            "--seed",
            seed,
        ],
    );
}

#[test]
fn prepare_render_every_method_and_extract_meshes() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    prepare(dir, "t.nvb", "1");
    prepare(dir, "t2.nvb", "1");
    assert_eq!(
        std::fs::read(dir.join("t.nvb")).unwrap(),
        std::fs::read(dir.join("t2.nvb")).unwrap(),
        "same seed, same file"
    );
    prepare(dir, "t3.nvb", "2");
    assert_ne!(
        std::fs::read(dir.join("t.nvb")).unwrap(),
        std::fs::read(dir.join("t3.nvb")).unwrap()
    );
    let methods: &[&str] = if cfg!(feature = "zfp") {
        &["full", "exact", "neural", "trilinear", "dense", "compressed", "mesh"]
    } else {
        &["full", "exact", "neural", "trilinear", "dense", "mesh"]
    };
    for &m in methods {
        let o = neuvis(
            dir,
            &[
                "raycast",
                "render",
                "t.nvb",
                "--iso",
                "0.3",
                "--size",
                "48",
                "--method",
                m,
                "--budget-mb",
                "5",
                "-o",
                &format!("{m}.png"),
            ],
        );
        assert!(o.status.success(), "{m}: {}", text(&o));
        let t = text(&o);
        assert!(t.contains("peak RSS"), "{t}");
        let img = image::open(dir.join(format!("{m}.png"))).unwrap();
        assert_eq!((img.width(), img.height()), (48, 48));
    }
    assert_eq!(
        std::fs::read(dir.join("full.png")).unwrap(),
        std::fs::read(dir.join("exact.png")).unwrap()
    );
    let o = neuvis(
        dir,
        &[
            "raycast", "render", "t.nvb", "--iso", "0.3", "--size", "48", "--method", "exact", "--frames", "passes",
            "-o", "p.png",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(dir.join("passes/pass_000.png").exists());
    for out in ["m.ply", "m.vtp"] {
        let o = neuvis(
            dir,
            &[
                "isosurface",
                "--volume",
                "marschner-lobb",
                "--dims",
                "21",
                "--iso",
                "0.5",
                "-o",
                out,
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("triangles"));
        assert!(std::fs::metadata(dir.join(out)).unwrap().len() > 1000);
    }
    let o = neuvis(
        dir,
        &[
            "bench",
            "raycast",
            "--store",
            "t.nvb",
            "--iso",
            "0.3",
            "--views",
            "2",
            "--size",
            "32",
            "--methods",
            "full,exact,mesh",
            "-o",
            "bench",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("| exact |") && t.contains("| mesh |") && t.contains("identical"),
        "{t}"
    );
}

#[test]
fn bad_raycast_inputs_fail_cleanly_without_output() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    prepare(dir, "t.nvb", "1");
    std::fs::write(
        dir.join("junk.nvb"),
        b"this is not a brick store, just some text that is long enough",
    )
    .unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["raycast", "render", "missing.nvb", "--iso", "0", "-o", "o.png"],
            "missing.nvb",
        ),
        (
            vec![
                "raycast", "render", "t.nvb", "--iso", "0.3", "--method", "mesh", "--device", "gpu", "-o", "o.png",
            ],
            "runs on the CPU only",
        ),
        (
            vec![
                "raycast", "render", "t.nvb", "--iso", "0.3", "--device", "tpu", "-o", "o.png",
            ],
            "possible values: cpu, gpu",
        ),
        (
            vec!["raycast", "render", "junk.nvb", "--iso", "0", "-o", "o.png"],
            "not a neuvis brick store",
        ),
        (
            vec![
                "raycast",
                "render",
                "t.nvb",
                "--iso",
                "0",
                "--budget-mb",
                "0.01",
                "-o",
                "o.png",
            ],
            "too small",
        ),
        (
            vec![
                "raycast",
                "render",
                "t.nvb",
                "--iso",
                "0",
                "--budget-mb",
                "-3",
                "-o",
                "o.png",
            ],
            "budget",
        ),
        (
            vec!["raycast", "render", "t.nvb", "--iso", "NaN", "-o", "o.png"],
            "finite",
        ),
        (
            vec![
                "raycast", "render", "t.nvb", "--iso", "0", "--method", "magic", "-o", "o.png",
            ],
            "--method",
        ),
        (
            vec!["raycast", "render", "t.nvb", "--iso", "0", "--size", "0", "-o", "o.png"],
            "--size",
        ),
        (
            vec![
                "raycast",
                "prepare",
                "--volume",
                "turbulence",
                "--dims",
                "33",
                "--brick",
                "8",
                "--base-factor",
                "3",
                "-o",
                "o.nvb",
            ],
            "divide",
        ),
        (
            vec![
                "raycast",
                "prepare",
                "--volume",
                "turbulence",
                "--dims",
                "33",
                "--store",
                "lossy",
                "-o",
                "o.nvb",
            ],
            "--store",
        ),
        (
            vec!["raycast", "prepare", "--volume", "nothere.nrrd", "-o", "o.nvb"],
            "nothere.nrrd",
        ),
        (
            vec![
                "raycast",
                "prepare",
                "--volume",
                "turbulence",
                "--dims",
                "33",
                "--clip-percentile",
                "150",
                "-o",
                "o.nvb",
            ],
            "clipping percentile 150",
        ),
        (
            vec![
                "raycast",
                "prepare",
                "--volume",
                "turbulence",
                "--dims",
                "1x1x1",
                "-o",
                "o.nvb",
            ],
            "at least 2",
        ),
        (
            vec![
                "isosurface",
                "--volume",
                "marschner-lobb",
                "--iso",
                "0.5",
                "-o",
                "o.txt",
            ],
            ".ply or .vtp",
        ),
        (
            vec!["isosurface", "--volume", "nothere.nii", "--iso", "0.5", "-o", "o.ply"],
            "nothere.nii",
        ),
    ];
    for (args, want) in cases {
        let o = neuvis(dir, &args);
        let t = text(&o);
        assert!(!o.status.success(), "{args:?} succeeded: {t}");
        assert!(t.contains(want), "{args:?}: expected '{want}' in: {t}");
        assert!(!t.contains("panicked"), "{args:?}: {t}");
        for out in ["o.png", "o.nvb", "o.ply", "o.txt"] {
            assert!(!dir.join(out).exists(), "{args:?} left {out}");
        }
    }
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".neuvis-tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind");
}

/// `neuvis raycast serve` starts on a free port, prints its URL, and answers with the store's
/// description; the page itself is tested in a browser in `neuvis-explorer`.
#[test]
fn raycast_serve_prints_its_url_and_serves_the_store() {
    use std::io::{BufRead, BufReader, Read, Write};
    let d = tempfile::tempdir().unwrap();
    prepare(d.path(), "s.nvb", "0");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .current_dir(d.path())
        .args([
            "raycast", "serve", "s.nvb", "--method", "exact", "--size", "64", "--port", "0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .map(|w| w.trim_end_matches('/').to_string());
    let reply = addr.map(|addr| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(s, "GET /api/info HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        r
    });
    let _ = child.kill();
    let _ = child.wait();
    let reply = reply.unwrap_or_else(|| panic!("no URL in {line:?}"));
    assert!(
        reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200"),
        "{reply}"
    );
    assert!(
        reply.contains("\"method\":\"exact\"") && reply.contains("turbulence"),
        "{reply}"
    );
}
