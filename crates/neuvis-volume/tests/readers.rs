//! Reader tests: every format is written byte by byte here (independently of our writers) and read
//! back; every kind of bad input must give an error naming the file.

use neuvis_volume::io::{read_nifti, read_nrrd, read_raw, read_vtk_legacy, write_nrrd};
use neuvis_volume::{open_series, read_volume, DType, Endian, OpenOptions, RawSpec, ReadOptions, ScalarField};
use std::io::Write;
use std::path::{Path, PathBuf};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// f(i, j, k) = i + 10 j + 100 k on a 4x3x2 grid: every sample is distinct and easy to check.
fn values() -> Vec<f32> {
    let mut v = Vec::new();
    for k in 0..2 {
        for j in 0..3 {
            for i in 0..4 {
                v.push((i + 10 * j + 100 * k) as f32);
            }
        }
    }
    v
}

fn check_values(f: &ScalarField) {
    assert_eq!(f.dims(), [4, 3, 2]);
    assert_eq!(f.data(), values().as_slice());
    assert_eq!(f.at(3, 2, 1), 123.0);
}

fn no_opts() -> ReadOptions {
    ReadOptions::default()
}

fn err_text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

#[test]
fn raw_u16_big_endian_with_header_skip() {
    let d = tmp();
    let mut bytes = vec![0xAB; 7]; // header to skip
    for v in values() {
        bytes.extend_from_slice(&(v as u16).to_be_bytes());
    }
    let p = write(&d.path().join("v.raw"), &bytes);
    let spec = RawSpec {
        dims: [4, 3, 2],
        dtype: DType::U16,
        endian: Endian::Big,
        header_skip: 7,
        spacing: [1.0, 2.0, 0.5],
    };
    let f = read_raw(&p, &spec, &no_opts()).unwrap();
    check_values(&f);
    assert_eq!(f.spacing(), [1.0, 2.0, 0.5]);
    // every raw dtype decodes
    for (dt, bytes) in [
        (DType::I8, vec![0xFFu8; 24]),
        (
            DType::F64,
            (0..24).flat_map(|i| (i as f64 * -0.5).to_le_bytes()).collect(),
        ),
        (DType::U32, (0..24u32).flat_map(|i| i.to_le_bytes()).collect()),
    ] {
        let p = write(&d.path().join("w.raw"), &bytes);
        let f = read_raw(&p, &RawSpec::new([4, 3, 2], dt), &no_opts()).unwrap();
        match dt {
            DType::I8 => assert!(f.data().iter().all(|&v| v == -1.0)),
            DType::F64 => assert_eq!(f.at(3, 2, 1), -11.5),
            _ => assert_eq!(f.at(3, 2, 1), 23.0),
        }
    }
}

#[test]
fn raw_size_mismatch_names_the_file_and_sizes() {
    let d = tmp();
    let p = write(&d.path().join("short.raw"), &[0u8; 47]);
    let e = err_text(read_raw(&p, &RawSpec::new([4, 3, 2], DType::U16), &no_opts()).unwrap_err());
    assert!(
        e.contains("short.raw") && e.contains("47") && e.contains("48") && e.contains("4x3x2 u16"),
        "{e}"
    );
    let e = err_text(read_volume(&p, None, &no_opts()).unwrap_err());
    assert!(e.contains("--raw-dims"), "raw without layout: {e}");
    let e = err_text(
        read_raw(
            &d.path().join("nope.raw"),
            &RawSpec::new([1, 1, 1], DType::U8),
            &no_opts(),
        )
        .unwrap_err(),
    );
    assert!(e.contains("nope.raw"), "{e}");
}

#[test]
fn absurd_and_overflowing_dims_are_refused_before_allocating() {
    let d = tmp();
    let p = write(&d.path().join("tiny.raw"), &[0u8; 8]);
    let e = err_text(read_raw(&p, &RawSpec::new([usize::MAX / 4, 8, 8], DType::U8), &no_opts()).unwrap_err());
    assert!(e.contains("tiny.raw") && e.contains("overflow"), "{e}");
    let e = err_text(read_raw(&p, &RawSpec::new([100_000, 100_000, 100_000], DType::U8), &no_opts()).unwrap_err());
    assert!(e.contains("tiny.raw") && e.contains("memory"), "{e}");
    let e = err_text(read_raw(&p, &RawSpec::new([0, 8, 1], DType::U8), &no_opts()).unwrap_err());
    assert!(e.contains("zero"), "{e}");
    let nrrd = write(
        &d.path().join("huge.nrrd"),
        b"NRRD0004\ntype: float\ndimension: 3\nsizes: 100000 100000 100000\nencoding: raw\n\n",
    );
    let e = err_text(read_nrrd(&nrrd, &no_opts()).unwrap_err());
    assert!(e.contains("huge.nrrd") && e.contains("memory"), "{e}");
}

#[test]
fn non_finite_samples_are_counted_or_replaced() {
    let d = tmp();
    let mut v = values();
    v[3] = f32::NAN;
    v[7] = f32::INFINITY;
    v[8] = f32::NEG_INFINITY;
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let p = write(&d.path().join("nan.raw"), &bytes);
    let spec = RawSpec::new([4, 3, 2], DType::F32);
    let e = err_text(read_raw(&p, &spec, &no_opts()).unwrap_err());
    assert!(
        e.contains("nan.raw") && e.contains("3 non-finite") && e.contains("index 3") && e.contains("--nan-to"),
        "{e}"
    );
    let f = read_raw(
        &p,
        &spec,
        &ReadOptions {
            nan_to: Some(-1.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((f.at(3, 0, 0), f.at(3, 1, 0), f.at(0, 2, 0)), (-1.0, -1.0, -1.0));
    assert_eq!(f.range(), (-1.0, 123.0));
}

fn nrrd_header(encoding: &str, extra: &str) -> String {
    format!(
        "NRRD0004\n# a comment\ntype: short\ndimension: 3\nsizes: 4 3 2\nspace dimension: 3\n\
         space directions: (0.5,0,0) (0,2,0) (0,0,3)\nspace origin: (1,-2,5.5)\nendian: big\nencoding: {encoding}\n{extra}"
    )
}

fn be_i16() -> Vec<u8> {
    values().iter().flat_map(|v| (*v as i16).to_be_bytes()).collect()
}

#[test]
fn nrrd_attached_raw_gzip_ascii_and_detached() {
    let d = tmp();
    let mut raw = nrrd_header("raw", "\n").into_bytes();
    raw.extend(be_i16());
    let f = read_nrrd(&write(&d.path().join("a.nrrd"), &raw), &no_opts()).unwrap();
    check_values(&f);
    assert_eq!(f.spacing(), [0.5, 2.0, 3.0]);
    assert_eq!(f.origin(), [1.0, -2.0, 5.5]);

    let mut gz = nrrd_header("gzip", "\n").into_bytes();
    gz.extend(gzip(&be_i16()));
    check_values(&read_nrrd(&write(&d.path().join("g.nrrd"), &gz), &no_opts()).unwrap());

    let text: String = values().iter().map(|v| format!("{v} ")).collect();
    let ascii = format!("{}\n{text}\n", nrrd_header("ascii", ""));
    check_values(&read_nrrd(&write(&d.path().join("t.nrrd"), ascii.as_bytes()), &no_opts()).unwrap());

    // detached header + gzip data file, found relative to the header
    std::fs::create_dir(d.path().join("sub")).unwrap();
    write(&d.path().join("sub/data.raw.gz"), &gzip(&be_i16()));
    let hdr = nrrd_header("gz", "data file: data.raw.gz\n\n");
    let p = write(&d.path().join("sub/v.nhdr"), hdr.as_bytes());
    check_values(&read_volume(&p, None, &no_opts()).unwrap());

    // legacy "spacings" field, byte skip
    let mut sp =
        b"NRRD0001\ntype: uchar\ndimension: 3\nsizes: 4 3 2\nspacings: 2 2 2\nbyte skip: 3\nencoding: raw\n\n".to_vec();
    sp.extend([9, 9, 9]);
    sp.extend(values().iter().map(|v| (*v as u32 % 256) as u8));
    let f = read_nrrd(&write(&d.path().join("s.nrrd"), &sp), &no_opts()).unwrap();
    assert_eq!(f.spacing(), [2.0; 3]);
    assert_eq!(f.at(3, 2, 1), 123.0);
}

#[test]
fn nrrd_bad_inputs() {
    let d = tmp();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "enc.nrrd",
            nrrd_header("bzip2", "\n").into_bytes(),
            "unknown or unsupported NRRD encoding 'bzip2'",
        ),
        ("magic.nrrd", b"P5 4 3 255\n".to_vec(), "missing 'NRRD000X' magic"),
        (
            "type.nrrd",
            b"NRRD0004\ntype: complex\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n".to_vec(),
            "unsupported NRRD type",
        ),
        (
            "dims.nrrd",
            b"NRRD0004\ntype: float\ndimension: 3\nsizes: 4 3\nencoding: raw\n\n".to_vec(),
            "dimension is 3",
        ),
        (
            "noenc.nrrd",
            b"NRRD0004\ntype: float\ndimension: 3\nsizes: 1 1 1\n\n".to_vec(),
            "lacks 'encoding'",
        ),
        (
            "short.nrrd",
            [nrrd_header("raw", "\n").into_bytes(), vec![0; 47]].concat(),
            "47 bytes",
        ),
        (
            "trunc.nrrd",
            {
                let mut v = nrrd_header("gzip", "\n").into_bytes();
                let z = gzip(&be_i16());
                v.extend(&z[..z.len() / 2]);
                v
            },
            "truncated or corrupt",
        ),
        (
            "garbage.nrrd",
            [
                nrrd_header("gzip", "\n").into_bytes(),
                vec![0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8],
            ]
            .concat(),
            "truncated or corrupt",
        ),
        (
            "missing.nhdr",
            nrrd_header("raw", "data file: nothere.raw\n\n").into_bytes(),
            "nothere.raw",
        ),
    ];
    for (name, bytes, msg) in cases {
        let p = write(&d.path().join(name), &bytes);
        let e = err_text(read_nrrd(&p, &no_opts()).unwrap_err());
        let named = name == "missing.nhdr" || e.contains(name);
        assert!(named && e.contains(msg), "{name}: {e}");
    }
}

#[test]
fn nrrd_writer_round_trips_atomically() {
    let d = tmp();
    let f = ScalarField::new([4, 3, 2], [0.5, 2.0, 3.0], [1.0, -2.0, 5.5], values()).unwrap();
    for gz in [false, true] {
        let p = d.path().join(format!("w{gz}.nrrd"));
        write_nrrd(&p, &f, gz).unwrap();
        assert_eq!(read_nrrd(&p, &no_opts()).unwrap(), f);
    }
    // no temporary files left behind; a write into a missing directory fails cleanly
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(write_nrrd(&d.path().join("no/such/dir.nrrd"), &f, false).is_err());
}

/// A NIfTI-1 single-file header, laid out by hand from the standard (nifti1.h).
fn nifti_bytes(dim: [i16; 8], datatype: i16, bitpix: i16, slope: f32, inter: f32, data: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 352];
    h[0..4].copy_from_slice(&348i32.to_le_bytes());
    for (i, d) in dim.iter().enumerate() {
        h[40 + 2 * i..42 + 2 * i].copy_from_slice(&d.to_le_bytes());
    }
    h[70..72].copy_from_slice(&datatype.to_le_bytes());
    h[72..74].copy_from_slice(&bitpix.to_le_bytes());
    for (i, p) in [1.0f32, 0.5, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0].iter().enumerate() {
        h[76 + 4 * i..80 + 4 * i].copy_from_slice(&p.to_le_bytes());
    }
    h[108..112].copy_from_slice(&352f32.to_le_bytes()); // vox_offset
    h[112..116].copy_from_slice(&slope.to_le_bytes());
    h[116..120].copy_from_slice(&inter.to_le_bytes());
    h[254..256].copy_from_slice(&1i16.to_le_bytes()); // sform_code
    h[280 + 12..280 + 16].copy_from_slice(&(-10f32).to_le_bytes()); // srow_x[3]
    h[296 + 12..296 + 16].copy_from_slice(&20f32.to_le_bytes());
    h[312 + 12..312 + 16].copy_from_slice(&30f32.to_le_bytes());
    h[344..348].copy_from_slice(b"n+1\0");
    h.extend_from_slice(data);
    h
}

#[test]
fn nifti_plain_gz_scaling_and_bad_files() {
    let d = tmp();
    // int16 with scl_slope 2, scl_inter 1: stored s gives 2 s + 1
    let stored: Vec<u8> = values().iter().flat_map(|v| (*v as i16).to_le_bytes()).collect();
    let bytes = nifti_bytes([3, 4, 3, 2, 1, 1, 1, 1], 4, 16, 2.0, 1.0, &stored);
    let p = write(&d.path().join("brain.nii"), &bytes);
    let f = read_nifti(&p, &no_opts()).unwrap();
    assert_eq!(f.dims(), [4, 3, 2]);
    assert_eq!(f.at(3, 2, 1), 247.0);
    assert_eq!(f.spacing(), [0.5, 2.0, 3.0]);
    assert_eq!(f.origin(), [-10.0, 20.0, 30.0]);
    let gz = write(&d.path().join("brain.nii.gz"), &gzip(&bytes));
    assert_eq!(read_volume(&gz, None, &no_opts()).unwrap(), f);
    // float32 without scaling (slope 0 means none)
    let fl: Vec<u8> = values().iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = write(
        &d.path().join("f.nii"),
        &nifti_bytes([3, 4, 3, 2, 1, 1, 1, 1], 16, 32, 0.0, 0.0, &fl),
    );
    check_values(&read_nifti(&p, &no_opts()).unwrap());

    let trunc = write(&d.path().join("trunc.nii"), &bytes[..bytes.len() - 5]);
    let e = err_text(read_nifti(&trunc, &no_opts()).unwrap_err());
    assert!(e.contains("trunc.nii"), "{e}");
    let four = write(
        &d.path().join("four.nii"),
        &nifti_bytes(
            [4, 4, 3, 2, 3, 1, 1, 1],
            4,
            16,
            1.0,
            0.0,
            &[stored.clone(), stored.clone(), stored].concat(),
        ),
    );
    let e = err_text(read_nifti(&four, &no_opts()).unwrap_err());
    assert!(e.contains("four.nii") && e.contains("3 volumes"), "{e}");
    let junk = write(&d.path().join("junk.nii"), &[7u8; 400]);
    let e = err_text(read_nifti(&junk, &no_opts()).unwrap_err());
    assert!(e.contains("junk.nii"), "{e}");
    let big = write(
        &d.path().join("big.nii"),
        &nifti_bytes([3, 32000, 32000, 32000, 1, 1, 1, 1], 16, 32, 0.0, 0.0, &[]),
    );
    let e = err_text(read_nifti(&big, &no_opts()).unwrap_err());
    assert!(e.contains("big.nii") && e.contains("memory"), "{e}");
}

fn vtk_header(kind: &str, n: usize) -> String {
    format!(
        "# vtk DataFile Version 3.0\nneuvis test\n{kind}\nDATASET STRUCTURED_POINTS\nDIMENSIONS 4 3 2\nORIGIN 1 2 3\n\
         SPACING 0.5 0.5 2\nPOINT_DATA {n}\nSCALARS density float 1\nLOOKUP_TABLE default\n"
    )
}

#[test]
fn vtk_legacy_ascii_and_binary() {
    let d = tmp();
    let text: String = values().iter().map(|v| format!("{v}\n")).collect();
    let p = write(
        &d.path().join("a.vtk"),
        format!("{}{text}", vtk_header("ASCII", 24)).as_bytes(),
    );
    let f = read_vtk_legacy(&p, &no_opts()).unwrap();
    check_values(&f);
    assert_eq!(f.origin(), [1.0, 2.0, 3.0]);
    assert_eq!(f.spacing(), [0.5, 0.5, 2.0]);
    // binary legacy VTK is big-endian
    let mut bin = vtk_header("BINARY", 24).into_bytes();
    bin.extend(values().iter().flat_map(|v| v.to_be_bytes()));
    bin.push(b'\n');
    let p = write(&d.path().join("b.vtk"), &bin);
    check_values(&read_volume(&p, None, &no_opts()).unwrap());
    // truncated binary data
    let mut short = vtk_header("BINARY", 24).into_bytes();
    short.extend(values().iter().take(10).flat_map(|v| v.to_be_bytes()));
    let e = err_text(read_vtk_legacy(&write(&d.path().join("short.vtk"), &short), &no_opts()).unwrap_err());
    assert!(e.contains("short.vtk"), "{e}");
    // other dataset types and non-VTK files
    let grid = "# vtk DataFile Version 3.0\nx\nASCII\nDATASET UNSTRUCTURED_GRID\nPOINTS 0 float\n";
    let e = err_text(read_vtk_legacy(&write(&d.path().join("u.vtk"), grid.as_bytes()), &no_opts()).unwrap_err());
    assert!(e.contains("u.vtk") && e.contains("UNSTRUCTURED_GRID"), "{e}");
    let e = err_text(read_vtk_legacy(&write(&d.path().join("png.vtk"), b"\x89PNG\r\n"), &no_opts()).unwrap_err());
    assert!(e.contains("png.vtk") && e.contains("not a VTK legacy file"), "{e}");
    let huge = "# vtk DataFile Version 3.0\nx\nBINARY\nDATASET STRUCTURED_POINTS\nDIMENSIONS 90000 90000 90000\n";
    let e = err_text(read_vtk_legacy(&write(&d.path().join("huge.vtk"), huge.as_bytes()), &no_opts()).unwrap_err());
    assert!(e.contains("huge.vtk") && e.contains("memory"), "{e}");
}

#[test]
fn unknown_file_type_is_an_error() {
    let d = tmp();
    let p = write(&d.path().join("picture.png"), b"\x89PNG");
    let e = err_text(read_volume(&p, None, &no_opts()).unwrap_err());
    assert!(
        e.contains("picture.png") && e.contains("unknown volume file type"),
        "{e}"
    );
}

#[test]
fn globbed_files_form_a_sorted_time_series() {
    let d = tmp();
    for (i, name) in ["t2.nrrd", "t0.nrrd", "t1.nrrd"].iter().enumerate() {
        let f = ScalarField::new([2, 2, 2], [1.0; 3], [0.0; 3], vec![i as f32; 8]).unwrap();
        write_nrrd(&d.path().join(name), &f, false).unwrap();
    }
    let pat = d.path().join("t*.nrrd").to_string_lossy().into_owned();
    let s = open_series(&[pat], &OpenOptions::default()).unwrap();
    assert_eq!(s.len(), 3);
    // t0 was written second (value 1), t1 third (value 2), t2 first (value 0)
    let firsts: Vec<f32> = (0..3).map(|i| s.load(i).unwrap().at(0, 0, 0)).collect();
    assert_eq!(firsts, vec![1.0, 2.0, 0.0]);
    let e = err_text(
        open_series(
            &[d.path().join("none*.nrrd").to_string_lossy().into_owned()],
            &OpenOptions::default(),
        )
        .err()
        .unwrap(),
    );
    assert!(e.contains("matches no file"), "{e}");
    let e = err_text(
        open_series(&["tornadoo".to_string()], &OpenOptions::default())
            .err()
            .unwrap(),
    );
    assert!(
        e.contains("tornadoo") && e.contains("does not exist (nor is it a built-in volume"),
        "{e}"
    );
}

/// One rule for every file that names another (a `.pvd` DataSet, a detached NRRD's data file): a
/// relative path inside the naming file's folder; anything else is refused before it is opened or
/// even measured (issue #37, item 9).
#[test]
fn files_named_by_a_file_stay_in_its_folder() {
    let d = tmp();
    std::fs::create_dir(d.path().join("outside")).unwrap();
    std::fs::create_dir(d.path().join("run")).unwrap();
    std::fs::create_dir(d.path().join("run/data")).unwrap();
    // a readable 2×2×2 raw file outside the folder of the files that name it
    write(&d.path().join("outside/secret.raw"), &[7u8; 8]);
    write(&d.path().join("run/data/v.raw"), &be_i16());
    let outside = d.path().join("outside/secret.raw");
    let pvd = |file: &str| {
        format!(
            "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\">\n<Collection>\n\
             <DataSet timestep=\"0\" part=\"0\" file=\"{file}\"/>\n</Collection>\n</VTKFile>\n"
        )
    };
    let abs = outside.display().to_string();
    for (name, text) in [
        ("up.pvd", pvd("../outside/secret.vti")),
        ("abs.pvd", pvd(&abs)),
        ("mid.pvd", pvd("data/../../outside/secret.vti")),
    ] {
        let p = write(&d.path().join("run").join(name), text.as_bytes());
        let e = err_text(neuvis_volume::io::read_pvd(&p).unwrap_err());
        assert!(
            e.contains(name) && e.contains("DataSet file: '") && e.contains("without '..'"),
            "{name}: {e}"
        );
    }
    // a 4-D detached NRRD (a time axis) pointing outside: refused before its size is looked at,
    // so the error never tells the outside file's byte count
    for (name, df) in [
        ("up4.nhdr", "../outside/secret.raw".to_string()),
        ("abs4.nhdr", abs.clone()),
    ] {
        let hdr = format!(
            "NRRD0004\ntype: uint8\ndimension: 4\nsizes: 2 2 1 2\nkinds: domain domain domain time\nencoding: raw\ndata file: {df}\n\n"
        );
        let p = write(&d.path().join("run").join(name), hdr.as_bytes());
        let e = err_text(
            open_series(&[p.display().to_string()], &OpenOptions::default())
                .err()
                .unwrap(),
        );
        assert!(
            e.contains("field 'data file': '") && e.contains("without '..'"),
            "{name}: {e}"
        );
        assert!(
            !e.contains(" 8 ") && !e.contains("8 data bytes"),
            "{name} told the size: {e}"
        );
    }
    let hdr = nrrd_header("raw", "data file: ../outside/secret.raw\n\n");
    let p = write(&d.path().join("run/up3.nhdr"), hdr.as_bytes());
    let e = err_text(read_nrrd(&p, &no_opts()).unwrap_err());
    assert!(e.contains("up3.nhdr") && e.contains("without '..'"), "{e}");
    // below the folder is fine, for both
    let hdr = nrrd_header("raw", "data file: data/v.raw\n\n");
    let p = write(&d.path().join("run/ok.nhdr"), hdr.as_bytes());
    check_values(&read_nrrd(&p, &no_opts()).unwrap());
    let p = write(&d.path().join("run/ok.pvd"), pvd("data/step0.vti").as_bytes());
    let steps = neuvis_volume::io::read_pvd(&p).unwrap();
    assert_eq!(steps[0].path, d.path().join("run/data/step0.vti"));
}
