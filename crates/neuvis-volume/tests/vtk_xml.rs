//! VTK XML ImageData, ParaView collections and multi-array legacy files written by VTK itself
//! (`tools/vtk_fixtures.py`, PyPI vtk 9), read by neuvis and compared with what VTK read back
//! from the same files (`tests/fixtures/vtk/reference.json`).

use neuvis_volume::io::{read_pvd, read_volume};
use neuvis_volume::{open_series, OpenOptions, ReadOptions, ScalarField};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vtk")
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("reference.json")).unwrap()).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * (1.0 + a.abs().max(b.abs()))
}

fn opts(array: &str, component: Option<usize>) -> ReadOptions {
    ReadOptions {
        array: Some(array.into()),
        component,
        ..Default::default()
    }
}

/// The grid and the values of `arr` against VTK's numbers for the same file.
fn check(file: &str, f: &ScalarField, r: &Value, arr: &Value, cells: bool) {
    let dims: Vec<usize> = f64s(&r["dims"]).iter().map(|&d| d as usize).collect();
    let (sp, o, ext) = (f64s(&r["spacing"]), f64s(&r["origin"]), f64s(&r["extent"]));
    let want: Vec<usize> = dims.iter().map(|&d| if cells { (d - 1).max(1) } else { d }).collect();
    assert_eq!(f.dims().to_vec(), want, "{file}");
    for i in 0..3 {
        assert!(close(f.spacing()[i] as f64, sp[i], 1e-6), "{file} spacing");
        // VTK's origin is at extent index 0; ours at the first sample (a cell's centre for cell data)
        let first = o[i] + ext[2 * i] * sp[i] + if cells { 0.5 * sp[i] } else { 0.0 };
        assert!(
            close(f.origin()[i] as f64, first, 1e-6),
            "{file} origin {:?}",
            f.origin()
        );
    }
    let d = f.data();
    let sum: f64 = d.iter().map(|&v| v as f64).sum();
    assert!(
        close(sum, arr["sum"].as_f64().unwrap(), 1e-5),
        "{file}: sum {sum} vs {}",
        arr["sum"]
    );
    let (lo, hi) = f.range();
    assert!(close(lo as f64, arr["min"].as_f64().unwrap(), 1e-6), "{file} min");
    assert!(close(hi as f64, arr["max"].as_f64().unwrap(), 1e-6), "{file} max");
    for (k, v) in arr["samples"].as_object().unwrap() {
        let i: usize = k.parse().unwrap();
        assert!(
            close(d[i] as f64, v.as_f64().unwrap(), 1e-6),
            "{file}[{i}]: {} vs {v}",
            d[i]
        );
    }
}

#[test]
fn every_encoding_vtk_writes_reads_as_vtk_reads_it() {
    let r = reference();
    let files = r["files"].as_object().unwrap();
    let mut n = 0;
    for (file, fr) in files {
        let path = dir().join(file);
        for (name, arr) in fr["arrays"].as_object().unwrap() {
            let f = read_volume(&path, None, &opts(name, None)).unwrap_or_else(|e| panic!("{file} {name}: {e}"));
            check(&format!("{file}:{name}"), &f, fr, arr, false);
            if arr["components"].as_u64() == Some(3) {
                let c = read_volume(&path, None, &opts(name, Some(0))).unwrap();
                let s: f64 = c.data().iter().map(|&v| v as f64).sum();
                assert!(
                    close(s, arr["component0_sum"].as_f64().unwrap(), 1e-5),
                    "{file}:{name}[0]"
                );
            }
            n += 1;
        }
        for (name, arr) in fr["cell_arrays"].as_object().unwrap() {
            let f = read_volume(&path, None, &opts(name, None)).unwrap_or_else(|e| panic!("{file} {name}: {e}"));
            check(&format!("{file}:{name} (cells)"), &f, fr, arr, true);
            n += 1;
        }
    }
    // 14 .vti encodings and 2 legacy files × 5 arrays, and the cell-data file
    assert_eq!(n, 16 * 5 + 1);
}

#[test]
fn default_array_is_the_active_scalars_and_errors_list_the_arrays() {
    let r = reference();
    for file in [
        "wavelet_appended_raw_zlib_u32.vti",
        "wavelet_fields.vtk",
        "wavelet_cells.vti",
    ] {
        let f = read_volume(&dir().join(file), None, &ReadOptions::default()).unwrap();
        let fr = &r["files"][file];
        let (arr, cells) = match fr["arrays"].get("RTData") {
            Some(a) => (a, false),
            None => (&fr["cell_arrays"]["RTData"], true),
        };
        check(file, &f, fr, arr, cells);
    }
    // a FIELD-only legacy file (no SCALARS): the first one-component array
    let f = read_volume(&dir().join("wavelet_fieldonly.vtk"), None, &ReadOptions::default()).unwrap();
    assert_eq!(f.dims(), [13, 11, 9]);
    let e = read_volume(
        &dir().join("wavelet_binary_zlib_u64.vti"),
        None,
        &opts("pressure", None),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("wavelet_binary_zlib_u64.vti") && e.contains("--array 'pressure'"),
        "{e}"
    );
    for a in [
        "'RTData' (1 component)",
        "'gradient' (3 components)",
        "'rt_int16'",
        "'rt_uint8'",
        "'rt_float64'",
    ] {
        assert!(e.contains(a), "{e} lacks {a}");
    }
    let e = read_volume(&dir().join("wavelet_fields.vtk"), None, &opts("RTData", Some(1)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("--component 1") && e.contains("1 component"), "{e}");
}

#[test]
fn pvd_series_keeps_its_times_and_globs_sort_naturally() {
    let r = reference();
    let series = r["series"].as_array().unwrap();
    let pvd = dir().join("series/wave.pvd");
    let steps = read_pvd(&pvd).unwrap();
    assert_eq!(steps.len(), 3);
    let s = open_series(&[pvd.display().to_string()], &OpenOptions::default()).unwrap();
    assert_eq!(s.len(), 3);
    for (i, want) in series.iter().enumerate() {
        assert_eq!(s.time(i), want["time"].as_f64().unwrap());
        assert!(steps[i].path.ends_with(want["file"].as_str().unwrap()));
        let sum: f64 = s.load(i).unwrap().data().iter().map(|&v| v as f64).sum();
        assert!(close(sum, want["sum"].as_f64().unwrap(), 1e-5), "step {i}");
    }
    // a glob: wave_t_1, wave_t_2, wave_t_10 (not 1, 10, 2), numbered 0, 1, 2
    let glob = dir().join("series/wave_t_*.vti").display().to_string();
    let g = open_series(std::slice::from_ref(&glob), &OpenOptions::default()).unwrap();
    for (i, want) in series.iter().enumerate() {
        assert_eq!(g.time(i), i as f64);
        let sum: f64 = g.load(i).unwrap().data().iter().map(|&v| v as f64).sum();
        assert!(close(sum, want["sum"].as_f64().unwrap(), 1e-5), "glob step {i}");
    }
    // --time-values replaces the numbering; it must match the steps and increase
    let o = OpenOptions {
        times: Some(vec![10.0, 20.0, 40.0]),
        ..Default::default()
    };
    assert_eq!(open_series(std::slice::from_ref(&glob), &o).unwrap().time(2), 40.0);
    let bad = OpenOptions {
        times: Some(vec![1.0, 2.0]),
        ..Default::default()
    };
    assert!(open_series(std::slice::from_ref(&glob), &bad).is_err());
    // a single-volume reader given a series says what to do
    let e = read_volume(&pvd, None, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("3 steps") && e.contains("wave_t_1.vti"), "{e}");
}

#[test]
fn natural_order() {
    use neuvis_volume::series::natural_cmp;
    let mut v = vec!["t_10.vti", "t_2.vti", "t_1.vti", "t_010a.vti", "a.vti", "t_9.vti"];
    v.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(v, ["a.vti", "t_1.vti", "t_2.vti", "t_9.vti", "t_10.vti", "t_010a.vti"]);
}

/// Damaged and hostile files: truncated anywhere, bytes flipped, absurd sizes: an error naming
/// the file, never a panic or a huge allocation.
#[test]
fn damaged_vti_files_are_errors() {
    let t = tempfile::tempdir().unwrap();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for file in [
        "wavelet_appended_raw_zlib_u32.vti",
        "wavelet_appended_base64_none_u64.vti",
        "wavelet_binary_zlib_u32.vti",
        "wavelet_ascii_none_u32.vti",
    ] {
        let bytes = std::fs::read(dir().join(file)).unwrap();
        let p = t.path().join(file);
        for i in 0..60 {
            let mut b = bytes.clone();
            if i % 2 == 0 {
                b.truncate((next() % b.len() as u64) as usize);
            } else {
                for _ in 0..1 + next() % 4 {
                    let at = (next() % b.len() as u64) as usize;
                    b[at] = next() as u8;
                }
            }
            std::fs::write(&p, &b).unwrap();
            if let Err(e) = read_volume(&p, None, &ReadOptions::default()) {
                assert!(e.to_string().contains(file), "{e}");
            }
        }
    }
    let head = |extent: &str, extra: &str| {
        format!(
            "<VTKFile type=\"ImageData\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\" {extra}>\
             <ImageData WholeExtent=\"{extent}\" Origin=\"0 0 0\" Spacing=\"1 1 1\"><Piece Extent=\"{extent}\">\
             <PointData><DataArray type=\"Float32\" Name=\"a\" format=\"appended\" offset=\"0\"/></PointData>\
             </Piece></ImageData><AppendedData encoding=\"raw\">_"
        )
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "huge.vti",
            head("0 4000000 0 4000000 0 4000000", "").into_bytes(),
            "4000001",
        ),
        ("negative.vti", head("0 -5 0 1 0 1", "").into_bytes(), "WholeExtent"),
        (
            "lz4.vti",
            head("0 1 0 1 0 1", "compressor=\"vtkLZ4DataCompressor\"").into_bytes(),
            "vtkLZ4DataCompressor",
        ),
        (
            "claims.vti",
            [head("0 1 0 1 0 1", "").as_bytes(), &u64::MAX.to_le_bytes()].concat(),
            "header's byte count",
        ),
        (
            "blocks.vti",
            [
                head("0 1 0 1 0 1", "compressor=\"vtkZLibDataCompressor\"").as_bytes(),
                &[u64::MAX / 2, 16, 0]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<u8>>(),
            ]
            .concat(),
            "blocks",
        ),
        (
            "poly.vti",
            b"<VTKFile type=\"PolyData\"><PolyData/></VTKFile>".to_vec(),
            "PolyData",
        ),
    ];
    for (name, bytes, want) in cases {
        let p = t.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = read_volume(&p, None, &ReadOptions::default()).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains(want), "{name}: {e}");
    }
}
