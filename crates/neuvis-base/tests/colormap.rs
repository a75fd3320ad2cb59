//! Colour interpolation in ParaView's colour spaces against VTK's `vtkColorTransferFunction`
//! (numbers computed by `tools/colormap_fixtures.py` with PyPI vtk, committed as a fixture).

use neuvis_base::colormap::{color_in, ColorPoint, ColorSpace};

#[test]
fn every_colour_space_matches_vtk_color_transfer_function() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vtk_colormaps.json"
    ))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let num = |x: &serde_json::Value| x.as_f64().unwrap();
    let mut worst = 0f64;
    let mut cases = 0;
    for c in v["cases"].as_array().unwrap() {
        let space = ColorSpace::parse(c["space"].as_str().unwrap()).unwrap();
        let p: Vec<f64> = c["rgb_points"].as_array().unwrap().iter().map(num).collect();
        let pts: Vec<ColorPoint> = p
            .chunks(4)
            .map(|q| (q[0] as f32, [q[1] as f32, q[2] as f32, q[3] as f32]))
            .collect();
        for (x, want) in c["x"].as_array().unwrap().iter().zip(c["rgb"].as_array().unwrap()) {
            let got = color_in(space, &pts, num(x) as f32);
            for k in 0..3 {
                let d = (got[k] as f64 - num(&want[k])).abs();
                worst = worst.max(d);
                assert!(
                    d < 1.0 / 512.0,
                    "{} {:?} at {}: {got:?} vs VTK {want}",
                    c["map"],
                    space,
                    num(x)
                );
            }
        }
        cases += 1;
    }
    assert_eq!(cases, 15);
    eprintln!("largest difference from VTK: {worst:.2e}");
}

/// ParaView's default map is Diverging: interpolating its points in RGB (what neuvis did) is off
/// by far more than a grey level at the quarter points.
#[test]
fn cool_to_warm_is_diverging_not_rgb() {
    let pts = neuvis_base::colormap::preset("cool-to-warm").unwrap();
    let d = color_in(ColorSpace::Diverging, &pts, 0.25);
    let r = color_in(ColorSpace::Rgb, &pts, 0.25);
    assert!(
        d.iter().zip(r).any(|(a, b)| (a - b).abs() > 20.0 / 255.0),
        "{d:?} {r:?}"
    );
    assert_eq!(
        neuvis_base::colormap::preset_space("cool-to-warm"),
        ColorSpace::Diverging
    );
}
