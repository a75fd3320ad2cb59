//! One vocabulary across commands (issue #37, item 6): a volume is `--volume` everywhere, views
//! are `--theta`/`--phi` (`--theta-step`/`--phi-step` for grids, `--view t,θ,φ` for a list),
//! every `--size` takes N or WxH, the AMR thresholds have names, the global options are listed
//! apart, every `--…-mb` is 10⁶ bytes. The spellings of earlier releases still work and say
//! what replaces them.

mod common;

use common::{neuvis, ok, prepare_turbulence, text, tornado_collection};
use std::path::Path;

/// The lines of stderr that are warnings.
fn warnings(o: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_volume_is_named_with_volume_everywhere_and_the_old_positional_warns() {
    let d = tempfile::tempdir().unwrap();
    // the new spelling: no warning
    let o = ok(
        d.path(),
        &[
            "isosurface",
            "--volume",
            "tornado",
            "--dims",
            "16",
            "--iso",
            "0.2",
            "-o",
            "a.vtp",
        ],
    );
    assert!(warnings(&o).is_empty(), "{}", text(&o));
    // the positional of earlier releases: the same mesh, and a warning with the command to type
    let o = ok(
        d.path(),
        &["isosurface", "tornado", "--dims", "16", "--iso", "0.2", "-o", "b.vtp"],
    );
    let w = warnings(&o);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("deprecated") && w[0].contains("neuvis isosurface --volume tornado"),
        "{w:?}"
    );
    assert_eq!(
        std::fs::read(d.path().join("a.vtp")).unwrap(),
        std::fs::read(d.path().join("b.vtp")).unwrap()
    );
    // raycast prepare alike
    let o = ok(
        d.path(),
        &[
            "raycast",
            "prepare",
            "turbulence",
            "--dims",
            "16",
            "--brick",
            "8",
            "--base-factor",
            "2",
            "--train-steps",
            "1",
            "-o",
            "t.nvb",
            "-q",
        ],
    );
    assert!(
        warnings(&o)
            .iter()
            .any(|l| l.contains("neuvis raycast prepare --volume turbulence")),
        "a warning even under -q: {}",
        text(&o)
    );
    // both, or neither: refused by the parser, nothing written
    let o = neuvis(
        d.path(),
        &[
            "isosurface",
            "tornado",
            "--volume",
            "tornado",
            "--iso",
            "0.2",
            "-o",
            "c.vtp",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot be used with"), "{}", text(&o));
    let o = neuvis(d.path(), &["isosurface", "--iso", "0.2", "-o", "c.vtp"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--volume <VOLUME>"), "{}", text(&o));
    assert!(!d.path().join("c.vtp").exists());
    // every command that reads a volume shows --volume in its help, none a positional VOLUME
    for cmd in [
        &["render"][..],
        &["inr", "fit"],
        &["isosurface"],
        &["raycast", "prepare"],
        &["bench", "render"],
    ] {
        let o = ok(d.path(), &[cmd, &["--help"][..]].concat());
        let h = String::from_utf8_lossy(&o.stdout);
        assert!(h.contains("--volume <VOLUME>"), "{cmd:?}: {h}");
        let usage = h.lines().find(|l| l.starts_with("Usage:")).unwrap();
        assert!(
            !usage.ends_with("<VOLUME>") && !usage.contains("[VOLUME]"),
            "{cmd:?}: {usage}"
        );
    }
}

#[test]
fn renamed_flags_still_work_with_a_warning_naming_the_new_one() {
    let d = tempfile::tempdir().unwrap();
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../neuvis-amr/fixtures/sin_inv_r.json");
    let amr = |flag: &str, out: &str| {
        neuvis(
            d.path(),
            &[
                "amr",
                spec,
                flag,
                "0.3",
                "--max-it",
                "1",
                "--total-error-samples",
                "1024",
                "-o",
                out,
            ],
        )
    };
    let new = amr("--proportion-threshold", "a");
    assert!(new.status.success(), "{}", text(&new));
    assert!(warnings(&new).is_empty(), "{}", text(&new));
    for (old, out) in [("--p", "b"), ("--P", "c")] {
        let o = amr(old, out);
        assert!(o.status.success(), "{}", text(&o));
        let w = warnings(&o);
        assert!(
            w.len() == 1 && w[0].contains(old) && w[0].contains("--proportion-threshold"),
            "{w:?}"
        );
        // the same run: the same history (but for the wall-time columns)
        let history = |dir: &str| -> Vec<String> {
            std::fs::read_to_string(d.path().join(dir).join("history.csv"))
                .unwrap()
                .lines()
                .map(|l| l.rsplitn(3, ',').last().unwrap().to_string())
                .collect()
        };
        assert_eq!(history("a"), history(out));
    }
    let o = amr("--t", "e");
    assert!(
        warnings(&o).iter().any(|w| w.contains("--error-threshold")),
        "{}",
        text(&o)
    );
    // decompress --params is --view now
    tornado_collection(d.path(), "t.cdb", "16", "16");
    ok(
        d.path(),
        &[
            "compress", "t.cdb", "-o", "t.nrvi", "--c1", "4", "--epochs", "1", "--batch", "4", "-q",
        ],
    );
    let new = ok(
        d.path(),
        &["decompress", "t.nrvi", "-o", "v.cdb", "--view", "0,45,90", "-q"],
    );
    assert!(warnings(&new).is_empty());
    let old = ok(
        d.path(),
        &["decompress", "t.nrvi", "-o", "w.cdb", "--params=0,45,90", "-q"],
    );
    assert!(
        warnings(&old)
            .iter()
            .any(|w| w.contains("--params") && w.contains("--view")),
        "{}",
        text(&old)
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("v.cdb/data.csv")).unwrap(),
        std::fs::read_to_string(d.path().join("w.cdb/data.csv")).unwrap()
    );
    // demo --angle-step: both steps, with a warning (an invalid value stops it before any work)
    let o = neuvis(d.path(), &["demo", "--angle-step", "500", "-o", "d"]);
    assert!(!o.status.success());
    assert!(
        warnings(&o).iter().any(|w| w.contains("--theta-step and --phi-step")),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("--theta-step lie in (0, 180]"), "{}", text(&o));
    assert!(!d.path().join("d").exists());
    // the slurm wrapper's command is not the outer command: no warning for it here
    let o = neuvis(d.path(), &["amr", "--help"]);
    assert!(warnings(&o).is_empty());
}

#[test]
fn global_options_are_listed_apart_in_every_commands_help() {
    let d = tempfile::tempdir().unwrap();
    for cmd in [
        &["render"][..],
        &["compress"],
        &["raycast", "render"],
        &["amr"],
        &["serve"],
    ] {
        let o = ok(d.path(), &[cmd, &["--help"][..]].concat());
        let h = String::from_utf8_lossy(&o.stdout).to_string();
        let global = h
            .find("Global options (every command):")
            .unwrap_or_else(|| panic!("{cmd:?}: no global section in\n{h}"));
        let own = h.find("\nOptions:").unwrap_or(0);
        for flag in [
            "--json",
            "--threads <THREADS>",
            "--quiet",
            "--verbose",
            "--progress-interval",
        ] {
            let at = h.find(flag).unwrap_or_else(|| panic!("{cmd:?}: {flag} missing"));
            assert!(at > global, "{cmd:?}: {flag} is listed among the command's own options");
        }
        assert!(own < global, "{cmd:?}: the command's own options come first");
    }
}

#[test]
fn every_size_takes_n_or_w_by_h() {
    let d = tempfile::tempdir().unwrap();
    prepare_turbulence(d.path(), "t.nvb", "32", "8", &["--train-steps", "1", "-q"]);
    ok(
        d.path(),
        &[
            "raycast", "render", "t.nvb", "--method", "exact", "--iso", "0.5", "--size", "48x32", "-o", "f.png", "-q",
        ],
    );
    let img = image::open(d.path().join("f.png")).unwrap();
    assert_eq!((img.width(), img.height()), (48, 32));
    ok(
        d.path(),
        &[
            "raycast", "render", "t.nvb", "--method", "exact", "--iso", "0.5", "--size", "20", "-o", "g.png", "-q",
        ],
    );
    let img = image::open(d.path().join("g.png")).unwrap();
    assert_eq!((img.width(), img.height()), (20, 20));
    // one message for a bad size everywhere
    for args in [
        &["raycast", "render", "t.nvb", "--size", "0x5", "-o", "h.png"][..],
        &["render", "--volume", "tornado", "--size", "0x5", "-o", "h.cdb"],
    ] {
        let o = neuvis(d.path(), args);
        assert!(!o.status.success());
        assert!(text(&o).contains("expected N or WxH"), "{args:?}: {}", text(&o));
    }
    let o = neuvis(
        d.path(),
        &["raycast", "render", "t.nvb", "--size", "9000x10", "-o", "h.png"],
    );
    assert!(
        text(&o).contains("--size 9000x10: at most 8192 pixels a side"),
        "{}",
        text(&o)
    );
    assert!(!d.path().join("h.png").exists());
}

#[test]
fn memory_flags_are_all_megabytes_and_probe_says_when_it_computed_nothing() {
    let d = tempfile::tempdir().unwrap();
    for (cmd, flag) in [
        (&["serve"][..], "--cache-mb"),
        (&["raycast", "render"], "--budget-mb"),
        (&["raycast", "serve"], "--budget-mb"),
    ] {
        let o = ok(d.path(), &[cmd, &["--help"][..]].concat());
        let h = String::from_utf8_lossy(&o.stdout);
        let at = h.find(flag).unwrap();
        let line = &h[at..h[at..].find('\n').map_or(h.len(), |n| at + n)];
        assert!(line.contains("MB (10⁶ bytes"), "{cmd:?} {flag}: {line}");
        assert!(!h.contains("MiB"), "{cmd:?}: {h}");
    }
    // no Vulkan driver visible and no CUDA: --probe says it computed nothing, and why
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .args(["devices", "--probe"])
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("VK_DRIVER_FILES", "/nonexistent.json")
        .env("WGPU_BACKEND", "vulkan")
        .env("CUDA_PATH", "/nonexistent")
        .env("LD_LIBRARY_PATH", "/nonexistent")
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("GPU adapters: none found"),
        "the Vulkan loader saw a driver: {t}"
    );
    assert!(t.contains("probe: nothing computed: wgpu found no GPU adapter"), "{t}");
    assert!(t.contains("only --device cpu runs here"), "{t}");
    let plain = std::process::Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .args(["devices"])
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("VK_DRIVER_FILES", "/nonexistent.json")
        .env("WGPU_BACKEND", "vulkan")
        .env("CUDA_PATH", "/nonexistent")
        .env("LD_LIBRARY_PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_ne!(text(&plain), t, "--probe prints more than devices");
}

/// The demo's pictures (issue #37, item 8): ground truth, decoded and difference side by side,
/// each panel enlarged to at least 256 pixels, under a title and captions.
#[test]
fn the_demo_writes_large_labelled_side_by_side_pictures() {
    let d = tempfile::tempdir().unwrap();
    let o = ok(
        d.path(),
        &[
            "demo",
            "-o",
            "demo",
            "--size",
            "16",
            "--theta-step",
            "90",
            "--phi-step",
            "90",
            "--epochs",
            "2",
            "--ratio",
            "5",
        ],
    );
    let t = text(&o);
    assert!(t.contains("| tornado IR | 16 | 16x16 |"), "{t}");
    assert!(
        t.contains("explore it in a browser: neuvis serve demo/tornado-ir.nrvi --reference demo/tornado-ir.cdb"),
        "{t}"
    );
    let side = d.path().join("demo/side-by-side");
    let pictures: Vec<_> = std::fs::read_dir(&side).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(pictures.len(), 6, "{pictures:?}");
    for p in &pictures {
        let img = image::open(p).unwrap().to_rgb8();
        // three panels of 16 × 16 enlarged 16 times, with gaps, margins and two text lines
        assert!(
            img.width() >= 3 * 256 && img.height() >= 256 + 2 * 16,
            "{}: {:?}",
            p.display(),
            img.dimensions()
        );
        // a title: black text in the band above the panels
        let dark_rows: Vec<u32> = (0..img.height())
            .filter(|&y| (0..img.width()).any(|x| img.get_pixel(x, y).0 == [0, 0, 0]))
            .collect();
        assert!(dark_rows.first().is_some_and(|&y| y < 24), "{}: no title", p.display());
    }
    assert_eq!(
        std::fs::read_to_string(d.path().join("demo/scores.csv"))
            .unwrap()
            .lines()
            .count(),
        17
    );
}

/// Commands that read one volume pick a time step of a series with `--step K` (issue #37, item 9):
/// the mesh of step 2 of a .pvd is the mesh of the file the .pvd lists third.
#[test]
fn step_picks_one_volume_of_a_series() {
    let d = tempfile::tempdir().unwrap();
    let series = Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-volume/tests/fixtures/vtk/series");
    let pvd = series.join("wave.pvd");
    let pvd = pvd.to_str().unwrap();
    // without --step: refused, naming --step and the range
    let o = neuvis(
        d.path(),
        &["isosurface", "--volume", pvd, "--iso", "0.1", "-o", "x.vtp"],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("pick one with --step K (0 to 2)"), "{}", text(&o));
    assert!(!d.path().join("x.vtp").exists());
    let third = series.join("wave_t_10.vti");
    ok(
        d.path(),
        &[
            "isosurface",
            "--volume",
            pvd,
            "--step",
            "2",
            "--iso",
            "0.1",
            "-o",
            "a.vtp",
            "-q",
        ],
    );
    ok(
        d.path(),
        &[
            "isosurface",
            "--volume",
            third.to_str().unwrap(),
            "--iso",
            "0.1",
            "-o",
            "b.vtp",
            "-q",
        ],
    );
    assert_eq!(
        std::fs::read(d.path().join("a.vtp")).unwrap(),
        std::fs::read(d.path().join("b.vtp")).unwrap()
    );
    // a step the series does not have, and --step where it means nothing
    let o = neuvis(
        d.path(),
        &[
            "isosurface",
            "--volume",
            pvd,
            "--step",
            "3",
            "--iso",
            "0.1",
            "-o",
            "c.vtp",
        ],
    );
    assert!(
        text(&o).contains("no step 3: the collection has 3 (0 to 2)"),
        "{}",
        text(&o)
    );
    assert!(!d.path().join("c.vtp").exists());
    // a procedural field at step K is the field at time K: the tornado moves
    let tornado_mesh = |step: &[&str], out: &str| {
        let base = [
            "isosurface",
            "--volume",
            "tornado",
            "--dims",
            "24",
            "--iso",
            "0.2",
            "-q",
            "-o",
            out,
        ];
        ok(d.path(), &[&base[..], step].concat());
    };
    tornado_mesh(&[], "t0.vtp");
    tornado_mesh(&["--step", "0"], "s0.vtp");
    tornado_mesh(&["--step", "24"], "s24.vtp");
    let read = |f: &str| std::fs::read(d.path().join(f)).unwrap();
    assert_eq!(read("t0.vtp"), read("s0.vtp"));
    assert_ne!(read("t0.vtp"), read("s24.vtp"));
    let o = neuvis(
        d.path(),
        &[
            "isosurface",
            "--volume",
            "tornado",
            "--step",
            "48",
            "--iso",
            "0.2",
            "-o",
            "s48.vtp",
        ],
    );
    assert!(
        text(&o).contains("--step 48: tornado has 48 time steps (0 to 47)"),
        "{}",
        text(&o)
    );
}

/// Comma-separated lists take negative numbers as their values rather than as flags
/// (`--time-values -1,0,1`, `amr --range -1,2 --time-slices -1,0`), and the flag after them is
/// still a flag.
#[test]
fn lists_of_negative_numbers_are_values() {
    let d = tempfile::tempdir().unwrap();
    // a series of files (a .pvd of three steps) with times of the user's
    let pvd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-volume/tests/fixtures/vtk/series/wave.pvd");
    ok(
        d.path(),
        &[
            "render",
            "--volume",
            pvd.to_str().unwrap(),
            "--time-values",
            "-1,-0.5,0",
            "--size",
            "8",
            "--theta-step",
            "180",
            "--phi-step",
            "180",
            "-o",
            "tv.cdb",
            "-q",
        ],
    );
    let table = std::fs::read_to_string(d.path().join("tv.cdb/data.csv")).unwrap();
    let mut times: Vec<String> = table
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    times.dedup();
    assert_eq!(times, ["-1", "-0.5", "0"], "{table}");
    // a built-in volume's time is its step: --time-values is refused, not ignored
    let o = neuvis(
        d.path(),
        &[
            "render",
            "--volume",
            "tornado",
            "--dims",
            "16",
            "--time-values",
            "-1,0",
            "-o",
            "b.cdb",
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("tornado's time is its step number"),
        "{}",
        text(&o)
    );
    assert!(!d.path().join("b.cdb").exists());
    let ct = Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-amr/fixtures/dynamic_ct.json");
    let o = ok(
        d.path(),
        &[
            "amr",
            ct.to_str().unwrap(),
            "--time-slices",
            "-1,0",
            "--range",
            "-1,2",
            "--max-it",
            "0",
            "--slice-px",
            "16",
            "--total-error-samples",
            "1000",
            "-o",
            "dct",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let written: Vec<&str> = v["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        written.contains(&"mesh_t-1.vtu") && written.contains(&"mesh_t0.vtu"),
        "{written:?}"
    );
    assert!(
        text(&o).contains("PNG colour range (viridis): [-1.0000, 2.0000]"),
        "{}",
        text(&o)
    );
}
