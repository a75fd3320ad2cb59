//! End-to-end tests of `neuvis inr fit`, `neuvis amr` and `neuvis amr compare`.

use std::path::{Path, PathBuf};

mod common;
use common::{neuvis, text};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../neuvis-amr/fixtures")
        .join(name)
}

#[test]
fn amr_writes_history_mesh_and_slices_and_compare_plots_them() {
    let d = tempfile::tempdir().unwrap();
    let model = fixture("sin_inv_r.json");
    let model = model.to_str().unwrap();
    for m in ["pruning", "uniform"] {
        let o = neuvis(
            d.path(),
            &[
                "amr",
                model,
                "--method",
                m,
                "--proportion-threshold",
                "0.09",
                "--max-it",
                "4",
                "--total-error-samples",
                "5000",
                "--slice-px",
                "128",
                "-o",
                m,
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        for f in [
            "history.csv",
            "history.json",
            "mesh.vtu",
            "mesh.mesh",
            "mesh.gf",
            "mesh.png",
        ] {
            assert!(d.path().join(m).join(f).is_file(), "{m}/{f} missing: {}", text(&o));
        }
        let csv = std::fs::read_to_string(d.path().join(m).join("history.csv")).unwrap();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), 6, "{csv}");
        assert!(rows[0].starts_with("iteration,elements,dofs,conforming_dofs,total_error"));
        let img = image::open(d.path().join(m).join("mesh.png")).unwrap();
        // 128 px of mesh, then the colour bar and its labels
        assert_eq!(img.height(), 128);
        assert!(img.width() > 128 + 16, "{}", img.width());
    }
    // Uniform after 4 iterations: 16×16 elements, 17² DOFs.
    let csv = std::fs::read_to_string(d.path().join("uniform/history.csv")).unwrap();
    assert!(csv.lines().last().unwrap().starts_with("4,256,289,289,"), "{csv}");
    let o = neuvis(d.path(), &["amr", "compare", "pruning", "uniform", "-o", "cmp.svg"]);
    assert!(o.status.success(), "{}", text(&o));
    let svg = std::fs::read_to_string(d.path().join("cmp.svg")).unwrap();
    assert!(svg.contains("pruning (pruning)") && svg.contains("uniform (uniform)"));
    assert!(text(&o).contains("uniform (uniform)"));
    // a folder written before 2026-12-07 (no discontinuous_error: its total_error was that one)
    // still plots, labelled as such
    let old = d.path().join("old");
    std::fs::create_dir(&old).unwrap();
    let mut h: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("uniform/history.json")).unwrap()).unwrap();
    for r in h["history"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("discontinuous_error");
    }
    std::fs::write(old.join("history.json"), h.to_string()).unwrap();
    let o = neuvis(d.path(), &["amr", "compare", "old", "pruning", "-o", "cmp2.svg"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("old (uniform, discontinuous error)"), "{}", text(&o));
    assert!(!text(&o).contains("pruning (pruning, discontinuous"), "{}", text(&o));
}

#[test]
fn inr_fit_makes_a_loadable_inr() {
    let d = tempfile::tempdir().unwrap();
    let fit = |out: &str, seed: &str| {
        let args = [
            "inr",
            "fit",
            "--function",
            "sin-inv-r",
            "--hidden",
            "8,8",
            "--steps",
            "30",
            "--batch",
            "64",
            "--seed",
            seed,
            "-o",
            out,
        ];
        let o = neuvis(d.path(), &args);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("held-out RMSE"));
        std::fs::read(d.path().join(out.replace(".json", ".safetensors"))).unwrap()
    };
    let f = fit("f.json", "0");
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("f.json")).unwrap()).unwrap();
    assert_eq!(spec["weights"], "f.safetensors");
    assert_eq!(spec["hidden"], serde_json::json!([8, 8]));
    let o = neuvis(
        d.path(),
        &[
            "amr",
            "f.json",
            "--method",
            "uniform",
            "--max-it",
            "1",
            "--total-error-samples",
            "100",
            "-o",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    // Same seed, same file; another seed, other weights.
    assert_eq!(f, fit("g.json", "0"));
    assert_ne!(f, fit("h.json", "1"));
    // A volume target: the INR's domain is the volume's world bounding box.
    let o = neuvis(
        d.path(),
        &[
            "inr",
            "fit",
            "--volume",
            "marschner-lobb",
            "--dims",
            "9",
            "--hidden",
            "8",
            "--steps",
            "5",
            "--batch",
            "16",
            "-o",
            "v.json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("v.json")).unwrap()).unwrap();
    assert_eq!(spec["input_dim"], 3);
    assert_eq!(
        spec["domain"],
        serde_json::json!([[-1.0, 1.0], [-1.0, 1.0], [-1.0, 1.0]])
    );
    // an int16 volume (a CT's kind of data, -1024..2986): the value range and percentiles are
    // printed, and the PSNR is over the whole data range, as for any volume (issue #37, item 10)
    let vals: Vec<i16> = (0..4 * 4 * 4)
        .map(|i| {
            if i == 5 {
                -1024
            } else if i == 60 {
                2986
            } else {
                (i * 7) as i16
            }
        })
        .collect();
    let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(d.path().join("ct.raw"), bytes).unwrap();
    let o = neuvis(
        d.path(),
        &[
            "inr",
            "fit",
            "--volume",
            "ct.raw",
            "--raw-dims",
            "4x4x4",
            "--raw-dtype",
            "i16",
            "--hidden",
            "8",
            "--steps",
            "5",
            "--batch",
            "16",
            "-o",
            "ct.json",
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("ct.raw: values in [-1024, 2986]") && t.contains("percentiles"),
        "{t}"
    );
    assert!(t.contains("over the value range 4010.0000)"), "{t}");
}

#[test]
fn amr_bad_inputs_fail_cleanly_without_output() {
    let d = tempfile::tempdir().unwrap();
    let model = fixture("sin_inv_r.json");
    let model = model.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["amr", "missing.json", "-o", "o1"], "missing.json"),
        (
            vec!["amr", model, "--method", "magic", "-o", "o2"],
            "[possible values: pruning, basic, uniform]",
        ),
        (
            vec!["amr", model, "--error-threshold", "nan", "-o", "o3"],
            "'nan' is not a finite number",
        ),
        (
            vec!["amr", model, "--slice", "x=0", "-o", "o4"],
            "2-D INR is drawn whole",
        ),
        (vec!["amr", model, "--time-slices", "0", "-o", "o5"], "for 4-D INRs"),
        (vec!["amr", model, "--id-samples", "0", "-o", "o6"], "at least 1"),
        (vec!["amr", "compare", "nothere", "-o", "c.png"], "nothere/history.json"),
        (
            vec!["inr", "fit", "--function", "nope", "-o", "x.json"],
            "known functions",
        ),
        (
            vec![
                "inr",
                "fit",
                "--function",
                "sin-inv-r",
                "--activation",
                "elu",
                "-o",
                "x.json",
            ],
            "--activation",
        ),
        (
            vec!["inr", "fit", "--function", "sin-inv-r", "-o", "x.txt"],
            "must end in .json",
        ),
        (
            vec![
                "inr",
                "fit",
                "--function",
                "sin-inv-r",
                "--batch",
                "100000000",
                "-o",
                "x.json",
            ],
            "batch must be at most",
        ),
        (
            vec![
                "inr",
                "fit",
                "--function",
                "sin-inv-r",
                "--fourier",
                "8",
                "--sigma",
                "0",
                "-o",
                "x.json",
            ],
            "σ > 0",
        ),
        (
            vec!["inr", "fit", "--volume", "missing.nii", "-o", "x.json"],
            "missing.nii",
        ),
    ];
    for (args, want) in cases {
        let o = neuvis(d.path(), &args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let t = text(&o);
        assert!(t.contains(want), "{args:?}: {t}");
        assert!(!t.contains("panicked"), "{args:?}: {t}");
    }
    // A junk spec, and a 3-D spec sliced on an axis it has not.
    std::fs::write(d.path().join("junk.json"), "{ not json").unwrap();
    let o = neuvis(d.path(), &["amr", "junk.json", "-o", "o7"]);
    assert!(text(&o).contains("junk.json: not a valid INR spec"), "{}", text(&o));
    let tiny = fixture("tiny_fourier_silu.json");
    let o = neuvis(d.path(), &["amr", tiny.to_str().unwrap(), "--slice", "w=0", "-o", "o8"]);
    assert!(text(&o).contains("unknown axis"), "{}", text(&o));
    // Nothing was written for any failure.
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("junk.json")], "{left:?}");
}

#[test]
fn amr_on_a_pytorch_checkpoint_writes_slices() {
    let d = tempfile::tempdir().unwrap();
    let tiny = fixture("tiny_fourier_silu.json");
    let o = neuvis(
        d.path(),
        &[
            "amr",
            tiny.to_str().unwrap(),
            "--max-it",
            "2",
            "--proportion-threshold",
            "0.3",
            "--total-error-samples",
            "2000",
            "--slice",
            "z=1",
            "--slice-px",
            "64",
            "-o",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(d.path().join("out/mesh.vtu").is_file());
    assert!(d.path().join("out/slice_z=1.png").is_file(), "{}", text(&o));
}
