//! The ParaView/VTK workflow through the CLI: VTK XML volumes and `.pvd` series written by VTK
//! (`tools/vtk_fixtures.py`; VTK's own numbers in `neuvis-volume/tests/fixtures/vtk/reference.json`),
//! one set of volume flags in every command, and anisotropic voxels drawn with the right aspect.

mod common;
use common::{neuvis, ok, text};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-volume/tests/fixtures/vtk")
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("reference.json")).unwrap()).unwrap()
}

/// "876 triangles, 473 vertices …" → (876, 473)
fn mesh_counts(o: &std::process::Output) -> (u64, u64) {
    let s = String::from_utf8_lossy(&o.stdout);
    let w: Vec<&str> = s.split_whitespace().collect();
    (w[0].parse().unwrap(), w[2].parse().unwrap())
}

#[test]
fn vti_and_pvd_isosurfaces_equal_vtk_flying_edges() {
    let t = tempfile::tempdir().unwrap();
    let r = reference();
    let fe = &r["flying_edges"];
    let iso = fe["iso"].as_f64().unwrap().to_string();
    for f in [
        "wavelet_appended_raw_zlib_u32.vti",
        "wavelet_binary_none_u64.vti",
        "wavelet_fields.vtk",
    ] {
        let o = ok(
            t.path(),
            &[
                "isosurface",
                "--volume",
                fixtures().join(f).to_str().unwrap(),
                "--iso",
                &iso,
                "-o",
                "w.vtp",
                "--overwrite",
            ],
        );
        assert_eq!(
            mesh_counts(&o),
            (fe["triangles"].as_u64().unwrap(), fe["points"].as_u64().unwrap()),
            "{f}"
        );
    }
    for step in r["series"].as_array().unwrap() {
        let f = fixtures().join("series").join(step["file"].as_str().unwrap());
        let o = ok(
            t.path(),
            &[
                "isosurface",
                "--volume",
                f.to_str().unwrap(),
                "--iso",
                &iso,
                "-o",
                "s.vtp",
                "--overwrite",
            ],
        );
        let fe = &step["flying_edges"];
        assert_eq!(
            mesh_counts(&o),
            (fe["triangles"].as_u64().unwrap(), fe["points"].as_u64().unwrap())
        );
    }
    // the .pvd renders as a series whose time column holds the .pvd's timesteps
    let pvd = fixtures().join("series/wave.pvd");
    ok(
        t.path(),
        &[
            "render",
            "--volume",
            pvd.to_str().unwrap(),
            "--times",
            "all",
            "--size",
            "16",
            "--theta-step",
            "90",
            "--phi-step",
            "180",
            "--iso",
            &iso,
            "-o",
            "wave.cdb",
            "-q",
        ],
    );
    let csv = std::fs::read_to_string(t.path().join("wave.cdb/data.csv")).unwrap();
    let mut times: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    times.dedup();
    let want: Vec<f64> = r["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["time"].as_f64().unwrap())
        .collect();
    assert_eq!(times, want);
}

/// The bounding box of the points of a `.vtp` neuvis wrote (appended raw, UInt64 header).
fn vtp_bounds(path: &Path) -> ([f32; 3], [f32; 3]) {
    let b = std::fs::read(path).unwrap();
    let tag = b"<AppendedData encoding=\"raw\">";
    let at = b.windows(tag.len()).position(|w| w == tag).unwrap() + tag.len();
    let at = at + b[at..].iter().position(|&c| c == b'_').unwrap() + 1;
    let n = u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize / 4;
    let (mut lo, mut hi) = ([f32::MAX; 3], [f32::MIN; 3]);
    for i in 0..n {
        let o = at + 8 + 4 * i;
        let v = f32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        lo[i % 3] = lo[i % 3].min(v);
        hi[i % 3] = hi[i % 3].max(v);
    }
    (lo, hi)
}

/// Width / height of the covered pixels of a PNG (alpha > 0).
fn silhouette_aspect(path: &Path) -> f64 {
    let img = image::open(path).unwrap().to_rgba8();
    let (mut x0, mut x1, mut y0, mut y1) = (u32::MAX, 0, u32::MAX, 0);
    for (x, y, p) in img.enumerate_pixels() {
        if p[3] > 0 {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    assert!(x1 > x0 && y1 > y0, "{} is empty", path.display());
    (x1 - x0 + 1) as f64 / (y1 - y0 + 1) as f64
}

/// A ball of radius 20 mm scanned as a CT is: 0.8 mm pixels, 2 mm slices (64 × 64 × 26 u16 samples,
/// 1000 inside, 0 outside, smoothed over one voxel). With `--spacing 0.8,0.8,2` the ball is round
/// in `isosurface`, `render` and `raycast`; read as unit voxels it would be 2.5 times flatter in z.
#[test]
fn anisotropic_ct_keeps_its_aspect_in_every_command() {
    let t = tempfile::tempdir().unwrap();
    let (nx, nz, sp, sz) = (64usize, 26usize, 0.8f64, 2.0f64);
    let mut raw = Vec::new();
    for k in 0..nz {
        for j in 0..nx {
            for i in 0..nx {
                let p = [(i as f64 - 31.5) * sp, (j as f64 - 31.5) * sp, (k as f64 - 12.5) * sz];
                let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
                let v = (1000.0 * (0.5 - (r - 20.0) / 2.0).clamp(0.0, 1.0)).round() as u16;
                raw.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    std::fs::write(t.path().join("ct.raw"), raw).unwrap();
    let layout = ["--raw-dims", "64x64x26", "--raw-dtype", "u16", "--spacing", "0.8,0.8,2"];
    fn with<'a>(args: &[&'a str], layout: &[&'a str]) -> Vec<&'a str> {
        [args, layout].concat()
    }
    // isosurface: the mesh's extent is the same along every axis (a sphere of radius ~20)
    ok(
        t.path(),
        &with(
            &["isosurface", "--volume", "ct.raw", "--iso", "500", "-o", "ball.vtp"],
            &layout,
        ),
    );
    let (lo, hi) = vtp_bounds(&t.path().join("ball.vtp"));
    let ext: Vec<f32> = (0..3).map(|a| hi[a] - lo[a]).collect();
    for e in &ext {
        assert!((e - 40.0).abs() < 3.0, "extent {ext:?}");
    }
    // render (DVR-free iso image from the side, θ = 90°): a round silhouette
    ok(
        t.path(),
        &with(
            &[
                "render",
                "--volume",
                "ct.raw",
                "--iso",
                "500",
                "--size",
                "96",
                "--theta-step",
                "90",
                "--phi-step",
                "180",
                "-o",
                "ct.cdb",
                "-q",
            ],
            &layout,
        ),
    );
    let side = t.path().join("ct.cdb/t0000/th090_ph000.png");
    let a = silhouette_aspect(&side);
    assert!((a - 1.0).abs() < 0.1, "render: aspect {a}");
    // raycast: the store keeps the spacing, the frame shows the same round ball
    ok(
        t.path(),
        &with(
            &[
                "raycast",
                "prepare",
                "--volume",
                "ct.raw",
                "-o",
                "ct.nvb",
                "--store",
                "exact",
                "--brick",
                "16",
                "--base-factor",
                "4",
            ],
            &layout,
        ),
    );
    ok(
        t.path(),
        &[
            "raycast", "render", "ct.nvb", "--iso", "500", "--theta", "90", "--phi", "0", "--size", "96", "--method",
            "exact", "-o", "ct.png",
        ],
    );
    let a = silhouette_aspect(&t.path().join("ct.png"));
    assert!((a - 1.0).abs() < 0.1, "raycast: aspect {a}");
}

/// Every command that reads a volume offers the same flags, with the same meaning.
#[test]
fn one_set_of_volume_flags() {
    let t = tempfile::tempdir().unwrap();
    for cmd in [
        &["render"][..],
        &["raycast", "prepare"],
        &["isosurface"],
        &["inr", "fit"],
        &["bench", "render"],
    ] {
        let o = ok(t.path(), &[cmd, &["--help"][..]].concat());
        let h = String::from_utf8_lossy(&o.stdout);
        for flag in [
            "--dims",
            "--raw-dims",
            "--raw-dtype",
            "--raw-endian",
            "--raw-skip",
            "--spacing",
            "--array",
            "--component",
            "--nan-to",
        ] {
            assert!(h.contains(flag), "{cmd:?} lacks {flag}");
        }
    }
    // a wrong array name lists the arrays present, and writes nothing
    let f = fixtures().join("wavelet_appended_base64_zlib_u32.vti");
    let o = neuvis(
        t.path(),
        &[
            "isosurface",
            "--volume",
            f.to_str().unwrap(),
            "--array",
            "pressure",
            "-o",
            "p.vtp",
        ],
    );
    assert!(!o.status.success());
    let e = text(&o);
    assert!(e.contains("'RTData'") && e.contains("'gradient' (3 components)"), "{e}");
    assert!(!t.path().join("p.vtp").exists());
}

/// `--json`: stdout is exactly one JSON object holding what the text summary says (the text goes
/// to stderr), for render, isosurface, eval and amr.
#[test]
fn json_reports_are_one_object_on_stdout() {
    let t = tempfile::tempdir().unwrap();
    let parse = |o: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", text(o)))
    };
    let f = fixtures().join("wavelet_appended_raw_zlib_u32.vti");
    let v = parse(&ok(
        t.path(),
        &[
            "isosurface",
            "--volume",
            f.to_str().unwrap(),
            "--iso",
            "150",
            "-o",
            "w.vtp",
            "--json",
        ],
    ));
    let fe = &reference()["flying_edges"];
    assert_eq!(v["command"], "isosurface");
    assert_eq!(v["triangles"], fe["triangles"]);
    assert_eq!(v["vertices"], fe["points"]);
    let v = parse(&ok(
        t.path(),
        &[
            "render",
            "--volume",
            "marschner-lobb",
            "--size",
            "16",
            "--theta-step",
            "90",
            "--phi-step",
            "180",
            "-o",
            "m.cdb",
            "--json",
        ],
    ));
    assert_eq!(
        (v["command"].as_str(), v["images"].as_u64(), v["width"].as_u64()),
        (Some("render"), Some(4), Some(16))
    );
    let v = parse(&ok(t.path(), &["eval", "m.cdb", "m.cdb", "--json", "-q"]));
    assert_eq!((v["command"].as_str(), v["pairs"].as_u64()), (Some("eval"), Some(4)));
    assert!(v["psnr"].as_f64().unwrap() >= 99.0, "identical collections: {v}");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-amr/fixtures/sin_inv_r.json");
    let v = parse(&ok(
        t.path(),
        &[
            "amr",
            model.to_str().unwrap(),
            "--max-it",
            "2",
            "-o",
            "a",
            "--json",
            "-q",
        ],
    ));
    assert_eq!(v["history"].as_array().unwrap().len(), 3);
    assert_eq!(v["history"][1]["elements"], 4);
}

/// `bench --json`: one object with the table's rows keyed by column; `bench render` reads any
/// volume with the same flags (the VTK-written Wavelet here: its 13×11×9 grid names the run).
#[test]
fn bench_reports_json_and_reads_any_volume() {
    let t = tempfile::tempdir().unwrap();
    let f = fixtures().join("wavelet_appended_raw_zlib_u32.vti");
    let o = ok(
        t.path(),
        &[
            "bench",
            "render",
            "--volume",
            f.to_str().unwrap(),
            "--size",
            "24",
            "--views",
            "2",
            "--no-vtk",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", text(&o)));
    assert_eq!(v["benchmark"], "render");
    assert!(v["title"].as_str().unwrap().contains("13×11×9"), "{v}");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["mode"].as_str(), rows[1]["mode"].as_str()),
        (Some("ISO"), Some("DVR"))
    );
    assert!(rows[0]["neuvis ms/frame (median)"].as_f64().unwrap() >= 0.0);
    assert_eq!(rows[0]["VTK FixedPoint ms/frame (median)"], "skipped");
    assert_eq!(rows[0]["neuvis / VTK"], serde_json::Value::Null);
}

/// `-q` and `-v` are global and mean the same in every command: `-q` leaves stderr empty on
/// success, `-v` adds the backends first and the wall time and peak memory last, both together
/// are refused.
#[test]
fn quiet_and_verbose_everywhere() {
    let t = tempfile::tempdir().unwrap();
    let f = fixtures().join("wavelet_appended_raw_zlib_u32.vti");
    let f = f.to_str().unwrap();
    let o = ok(t.path(), &["-q", "isosurface", "--volume", f, "-o", "a.vtp"]);
    assert!(o.stderr.is_empty(), "{}", text(&o));
    let o = ok(t.path(), &["isosurface", "--volume", f, "-o", "b.vtp"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("isovalue"),
        "without -q the picked isovalue is reported"
    );
    let o = ok(t.path(), &["isosurface", "--volume", f, "-o", "c.vtp", "-q"]);
    assert!(o.stderr.is_empty(), "{}", text(&o));
    let o = ok(t.path(), &["isosurface", "--volume", f, "-o", "d.vtp", "-v"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.lines().next().unwrap().contains("compute backends"), "{e}");
    assert!(e.lines().last().unwrap().contains("peak memory"), "{e}");
    let o = neuvis(t.path(), &["isosurface", "--volume", f, "-o", "e.vtp", "-q", "-v"]);
    assert!(!o.status.success());
    assert!(!t.path().join("e.vtp").exists());
}

/// Decoded images land in the folders the source collection used: a model trained on steps 0
/// and 24 decodes into `t0000/` and `t0024/`, file for file as the ground truth names them.
#[test]
fn decompress_names_folders_as_the_source_does() {
    let t = tempfile::tempdir().unwrap();
    ok(
        t.path(),
        &[
            "render",
            "--volume",
            "tornado",
            "--dims",
            "24",
            "--size",
            "16",
            "--theta-step",
            "90",
            "--phi-step",
            "180",
            "--times",
            "0,24",
            "-o",
            "gt.cdb",
            "-q",
        ],
    );
    ok(
        t.path(),
        &[
            "compress", "gt.cdb", "-o", "m.nrvi", "--epochs", "1", "--ratio", "2", "-q",
        ],
    );
    ok(t.path(), &["decompress", "m.nrvi", "-o", "dec.cdb", "-q"]);
    let files = |db: &str| {
        let csv = std::fs::read_to_string(t.path().join(db).join("data.csv")).unwrap();
        let mut v: Vec<String> = csv
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let gt = files("gt.cdb");
    assert!(gt.iter().any(|f| f.starts_with("t0024/")), "{gt:?}");
    assert_eq!(files("dec.cdb"), gt);
}
