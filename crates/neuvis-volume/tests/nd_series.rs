//! Time series and vector volumes in one file, as nibabel and pynrrd write them
//! (`tools/nd_fixtures.py`; the values those libraries read back are in `reference.json`): a 4-D
//! NIfTI or NRRD opens as a series with the times the file states, a vector volume gives its
//! magnitude or `--component K`.

use std::path::PathBuf;

use neuvis_volume::{open_series, read_volume, OpenOptions, ReadOptions, ScalarField};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nd")
        .join(name)
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("reference.json")).unwrap()).unwrap()
}

fn probes(r: &serde_json::Value) -> Vec<[usize; 3]> {
    r["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let v: Vec<usize> = p
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            [v[0], v[1], v[2]]
        })
        .collect()
}

fn at(f: &ScalarField, p: [usize; 3]) -> f64 {
    let [nx, ny, _] = f.dims();
    f.data()[p[0] + nx * (p[1] + ny * p[2])] as f64
}

fn assert_probes(f: &ScalarField, r: &serde_json::Value, want: &serde_json::Value, what: &str) {
    for (p, w) in probes(r).into_iter().zip(want.as_array().unwrap()) {
        let (got, w) = (at(f, p), w.as_f64().unwrap());
        assert!(
            (got - w).abs() <= 1e-5 * w.abs().max(1.0),
            "{what} at {p:?}: {got} vs {w}"
        );
    }
}

#[test]
fn four_d_files_open_as_series_with_their_times() {
    let r = reference();
    for name in ["ts.nii.gz", "ts.nrrd", "ts_gzip.nrrd", "ts_timefirst.nrrd"] {
        let s = open_series(&[fixture(name).display().to_string()], &OpenOptions::default()).unwrap();
        let want = &r[name];
        assert_eq!(s.len(), 3, "{name}");
        for (k, t) in want["times"].as_array().unwrap().iter().enumerate() {
            assert_eq!(s.time(k), t.as_f64().unwrap(), "{name} time {k}");
            let f = s.load(k).unwrap();
            assert_eq!(f.dims(), [6, 5, 4]);
            let sp: Vec<f64> = want["spacing"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(f.spacing().map(|v| v as f64), [sp[0], sp[1], sp[2]], "{name} spacing");
            assert_probes(&f, &r, &want["steps"][k], &format!("{name} step {k}"));
        }
        assert!(s.step_name(2).ends_with("volume 2"), "{}", s.step_name(2));
        // --time-values still overrides what the file says
        let o = OpenOptions {
            times: Some(vec![0.0, 5.0, 7.0]),
            ..Default::default()
        };
        let s = open_series(&[fixture(name).display().to_string()], &o).unwrap();
        assert_eq!(s.time(1), 5.0);
        // a command that reads one volume says what the file is
        let e = read_volume(&fixture(name), None, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("time series of 3"), "{e}");
        assert!(e.contains(name), "{e}");
    }
}

#[test]
fn vector_volumes_give_magnitude_or_a_component() {
    let r = reference();
    for name in ["vec.nii", "vec.nii.gz", "vec.nrrd"] {
        let want = &r[name];
        let f = read_volume(&fixture(name), None, &ReadOptions::default()).unwrap();
        assert_eq!(f.dims(), [6, 5, 4]);
        assert_probes(&f, &r, &want["magnitude"], &format!("{name} magnitude"));
        for c in 0..3 {
            let o = ReadOptions {
                component: Some(c),
                ..Default::default()
            };
            let f = read_volume(&fixture(name), None, &o).unwrap();
            assert_probes(&f, &r, &want["components"][c], &format!("{name} component {c}"));
        }
        let o = ReadOptions {
            component: Some(3),
            ..Default::default()
        };
        let e = read_volume(&fixture(name), None, &o).unwrap_err().to_string();
        assert!(e.contains("3 components") && e.contains(name), "{e}");
    }
    assert_eq!(
        read_volume(&fixture("vec.nrrd"), None, &ReadOptions::default())
            .unwrap()
            .spacing(),
        [0.5, 0.5, 2.0]
    );
}
