//! Transfer-function tests: ParaView's exported JSON, presets, and malformed input.

use neuvis_render::TransferFunction;
use std::path::Path;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

#[test]
fn reads_paraview_json_in_its_colour_space() {
    let tf = TransferFunction::from_paraview_json(&data("paraview_tf.json"), None).unwrap();
    assert_eq!(tf.name, "Custom Tornado");
    assert_eq!(tf.nan, ([1.0, 1.0, 0.0], 1.0));
    assert_eq!(tf.eval(f32::NAN).0, [1.0, 1.0, 0.0]);
    // the file's ColorSpace is Diverging; PyPI vtk 9.7's vtkColorTransferFunction with the same
    // points (SetColorSpaceToDiverging) gives GetColor(0.1) = (0.740565, 0.601895, 1.0) and
    // GetColor(0.25) = (1.0, 0.603308, 0.503413) (RGB interpolation would give (0.5, 0.5, 1.0))
    let close = |c: [f32; 3], w: [f32; 3]| c.iter().zip(w).all(|(a, b)| (a - b).abs() < 1e-5);
    let (c, o) = tf.eval(0.1);
    assert!(close(c, [0.740_565_5, 0.601_894_9, 1.0]), "{c:?}");
    assert_eq!(o, 0.0);
    let (c, o) = tf.eval(0.25);
    assert!(close(c, [1.0, 0.603_308_26, 0.503_412_9]), "{c:?}");
    assert!((o - 0.6).abs() < 1e-6, "opacity {o}"); // 0.1 → 0, 0.3 → 0.8
                                                    // clamped outside the points
    assert_eq!(tf.eval(5.0).1, 0.8);
    assert_eq!(tf.eval(-5.0).0, [0.0, 0.0, 1.0]);
}

#[test]
fn paraview_json_can_be_rescaled_to_the_data_range() {
    let tf = TransferFunction::from_paraview_json(&data("paraview_tf.json"), Some((10.0, 40.0))).unwrap();
    assert_eq!(tf.color.first().unwrap().0, 10.0);
    assert_eq!(tf.color.last().unwrap().0, 40.0);
    // 0 → 10, 0.3 → 40: value 0.25 maps to 35
    assert!((tf.eval(35.0).1 - 0.6).abs() < 1e-5);
}

#[test]
fn presets_span_the_range() {
    for name in TransferFunction::PRESETS {
        let tf = TransferFunction::preset(name, (2.0, 4.0), 0.7).unwrap();
        tf.validate().unwrap();
        assert_eq!(tf.eval(2.0).1, 0.0);
        assert!((tf.eval(4.0).1 - 0.7).abs() < 1e-6);
    }
    let g = TransferFunction::preset("grayscale", (0.0, 1.0), 1.0).unwrap();
    // an unsupported colour space is an error naming it
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("lab2000.json");
    std::fs::write(
        &p,
        r#"[{"ColorSpace": "Lab/CIEDE2000", "RGBPoints": [0, 0, 0, 0, 1, 1, 1, 1]}]"#,
    )
    .unwrap();
    let e = TransferFunction::from_paraview_json(&p, None).unwrap_err().to_string();
    assert!(e.contains("Lab/CIEDE2000") && e.contains("lab2000.json"), "{e}");
    assert_eq!(g.eval(0.25).0, [0.25; 3]);
    assert!(TransferFunction::preset("nope", (0.0, 1.0), 1.0).is_none());
}

#[test]
fn opacity_spec_replaces_the_ramp() {
    let tf = TransferFunction::preset("viridis", (0.0, 10.0), 1.0)
        .unwrap()
        .with_opacity_spec("0:0,0.5:0,1:0.4", (0.0, 10.0))
        .unwrap();
    assert_eq!(tf.eval(4.0).1, 0.0);
    assert!((tf.eval(7.5).1 - 0.2).abs() < 1e-6);
    let base = || TransferFunction::preset("viridis", (0.0, 1.0), 1.0).unwrap();
    assert!(base().with_opacity_spec("0:0,1:2", (0.0, 1.0)).is_err());
    assert!(base().with_opacity_spec("1:0,0:1", (0.0, 1.0)).is_err(), "unsorted");
    assert!(base().with_opacity_spec("zero", (0.0, 1.0)).is_err());
}

#[test]
fn malformed_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("not json", "not JSON"),
        ("[{\"Name\": \"x\"}]", "RGBPoints"),
        ("[{\"RGBPoints\": [0, 1, 1]}]", "groups of 4"),
        ("[{\"RGBPoints\": [0, 2, 0, 0, 1, 1, 1, 1]}]", "[0, 1]"),
        ("[]", "empty"),
    ];
    for (i, (text, msg)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("tf{i}.json"));
        std::fs::write(&p, text).unwrap();
        let e = TransferFunction::from_paraview_json(&p, None).unwrap_err().to_string();
        assert!(e.contains(&format!("tf{i}.json")) && e.contains(msg), "{e}");
    }
    let e = TransferFunction::from_paraview_json(&dir.path().join("missing.json"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.json"), "{e}");
}
