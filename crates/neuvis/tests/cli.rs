//! End-to-end tests of the `neuvis` binary, run as a user would.

mod common;
use common::{count_pngs, neuvis, text};

#[test]
fn renders_the_issue_collections_in_both_modes() {
    let d = tempfile::tempdir().unwrap();
    for mode in ["iso", "dvr"] {
        let out = format!("t-{mode}.cdb");
        let o = neuvis(
            d.path(),
            &[
                "render",
                "--volume",
                "tornado",
                "--mode",
                mode,
                "--size",
                "64",
                "--theta-step",
                "45",
                "--phi-step",
                "45",
                "--times",
                "0:4:1",
                "-o",
                &out,
                "-q",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
        let db = d.path().join(&out);
        assert_eq!(count_pngs(&db), 128);
        let csv = std::fs::read_to_string(db.join("data.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 129);
        assert_eq!(lines[0], "time,theta,phi,FILE");
        assert!(lines.contains(&"3,135,315,t0003/th135_ph315.png"));
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(db.join("meta.json")).unwrap()).unwrap();
        assert_eq!(meta["render"]["mode"], mode);
        assert_eq!(meta["image_size"], serde_json::json!([64, 64]));
        // the images are 64x64 RGBA with foreground in the middle of a side view
        let img = image::open(db.join("t0001/th090_ph045.png")).unwrap().to_rgba8();
        assert_eq!(img.dimensions(), (64, 64));
        assert_eq!(img.get_pixel(32, 32).0[3], 255, "centre pixel is foreground");
        assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255, 0], "corner is white background");
    }
}

#[test]
fn resume_renders_only_what_is_missing() {
    let d = tempfile::tempdir().unwrap();
    let args = common::ml_args("ml.cdb", &["-q"]);
    let o = neuvis(d.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    // simulate a run killed after some images: the partial directory without data.csv and
    // with two images missing
    std::fs::rename(d.path().join("ml.cdb"), d.path().join(".ml.cdb.partial")).unwrap();
    std::fs::remove_file(d.path().join(".ml.cdb.partial/data.csv")).unwrap();
    std::fs::remove_file(d.path().join(".ml.cdb.partial/t0000/th000_ph090.png")).unwrap();
    std::fs::remove_file(d.path().join(".ml.cdb.partial/t0000/th090_ph180.png")).unwrap();
    // and one image cut short by the crash: kept files are checked, so it is rendered again
    let cut = d.path().join(".ml.cdb.partial/t0000/th000_ph000.png");
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    // and the 0-byte temporary file of the image being written when it died, which the resumed
    // run removes (issue #37, item 3), while a user's file of another name stays
    std::fs::write(d.path().join(".ml.cdb.partial/t0000/.neuvis-tmpAb12Cd"), b"").unwrap();
    std::fs::write(d.path().join(".ml.cdb.partial/t0000/notes.txt"), b"mine").unwrap();
    let o = neuvis(d.path(), &args);
    assert!(!o.status.success() && text(&o).contains("--resume"), "{}", text(&o));
    let mut with_resume = args.to_vec();
    with_resume.push("--resume");
    let o = neuvis(d.path(), &with_resume);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("wrote 8 images (3 rendered now)"), "{}", text(&o));
    assert!(neuvis_base::MaskedImage::load_png(&d.path().join("ml.cdb/t0000/th000_ph000.png")).is_ok());
    assert_eq!(count_pngs(&d.path().join("ml.cdb")), 8);
    assert!(!d.path().join(".ml.cdb.partial").exists());
    assert!(!d.path().join("ml.cdb/t0000/.neuvis-tmpAb12Cd").exists());
    assert_eq!(std::fs::read(d.path().join("ml.cdb/t0000/notes.txt")).unwrap(), b"mine");
}

#[test]
fn bad_inputs_fail_cleanly_without_output() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("v.raw"), vec![0u8; 100]).unwrap();
    let nan: Vec<u8> = (0..8)
        .flat_map(|i| if i == 5 { f32::NAN } else { i as f32 }.to_le_bytes())
        .collect();
    std::fs::write(d.path().join("nan.raw"), nan).unwrap();
    std::fs::write(
        d.path().join("bad.nrrd"),
        "NRRD0004\ntype: float\ndimension: 3\nsizes: 2 2 2\nencoding: lz4\n\n",
    )
    .unwrap();
    std::fs::write(d.path().join("tf.json"), "{oops").unwrap();
    let base = ["render", "--size", "16", "--phi-step", "90", "-o", "out.cdb", "-q"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--volume", "missing.nrrd"], "missing.nrrd"),
        (vec!["--volume", "v.raw"], "--raw-dims"),
        (
            vec!["--volume", "v.raw", "--raw-dims", "4x4x4", "--raw-dtype", "u16"],
            "v.raw: file holds 100 bytes",
        ),
        (
            vec!["--volume", "v.raw", "--raw-dims", "4x4x4", "--raw-dtype", "q8"],
            "--raw-dtype 'q8'",
        ),
        (
            vec!["--volume", "nan.raw", "--raw-dims", "2x2x2", "--raw-dtype", "f32"],
            "1 non-finite",
        ),
        (vec!["--volume", "bad.nrrd"], "encoding 'lz4'"),
        (
            vec!["--volume", "tornado", "--dims", "16", "--times", "0:60"],
            "out of range",
        ),
        (vec!["--volume", "tornado", "--dims", "0"], "zero"),
        (vec!["--volume", "tornado", "--dims", "100000"], "memory"),
        (
            vec![
                "--volume", "tornado", "--dims", "16", "--mode", "dvr", "--tf", "tf.json",
            ],
            "tf.json",
        ),
        (
            vec![
                "--volume", "tornado", "--dims", "16", "--mode", "dvr", "--tf", "rainbowz",
            ],
            "not a preset",
        ),
        (vec!["--volume", "tornado", "--dims", "16", "--size", "0"], "--size"),
        (
            vec!["--volume", "tornado", "--dims", "16", "--theta-step", "-5"],
            "invalid value '-5' for '--theta-step <THETA_STEP>': '-5' is not positive",
        ),
        (
            vec!["--volume", "tornado", "--dims", "16", "--cameras", "nocams.csv"],
            "nocams.csv",
        ),
    ];
    for (extra, msg) in cases {
        let mut args = base.to_vec();
        args.extend(extra.iter());
        if !extra.contains(&"--theta-step") {
            args.extend(["--theta-step", "90"]);
        }
        let o = neuvis(d.path(), &args);
        let t = text(&o);
        assert!(!o.status.success(), "{extra:?} succeeded: {t}");
        assert!(t.contains(msg), "{extra:?}: expected '{msg}' in: {t}");
        assert!(!t.contains("panicked"), "{extra:?} panicked: {t}");
        assert!(
            !d.path().join("out.cdb").exists() && !d.path().join(".out.cdb.partial").exists(),
            "{extra:?} left output"
        );
    }
    // --nan-to makes the NaN volume usable
    let mut args = base.to_vec();
    args.extend([
        "--theta-step",
        "90",
        "--volume",
        "nan.raw",
        "--raw-dims",
        "2x2x2",
        "--raw-dtype",
        "f32",
        "--nan-to",
        "0",
    ]);
    let o = neuvis(d.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn reads_volume_files_and_camera_lists() {
    let d = tempfile::tempdir().unwrap();
    // two NIfTI-free formats, written here: a NRRD series and a camera list
    for t in 0..2 {
        let mut bytes = b"NRRD0004\ntype: uchar\ndimension: 3\nsizes: 8 8 8\nencoding: raw\n\n".to_vec();
        bytes.extend((0..512).map(|i| ((i % 8) * 30 + t * 10) as u8));
        std::fs::write(d.path().join(format!("s{t}.nrrd")), bytes).unwrap();
    }
    std::fs::write(d.path().join("cams.csv"), "theta,phi\n10,20\n170,350\n").unwrap();
    let o = neuvis(
        d.path(),
        &[
            "render",
            "--volume",
            "s*.nrrd",
            "--iso",
            "100",
            "--cameras",
            "cams.csv",
            "--size",
            "20x12",
            "-o",
            "s.cdb",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(d.path().join("s.cdb/data.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.contains("1,170,350,t0001/th170_ph350.png"));
    let img = image::open(d.path().join("s.cdb/t0001/th010_ph020.png")).unwrap();
    assert_eq!((img.width(), img.height()), (20, 12));
}

#[test]
fn eval_reports_metrics_and_rejects_mismatches() {
    let d = tempfile::tempdir().unwrap();
    let render = |out: &str, iso: &str, extra: &[&str]| {
        let size = if extra.contains(&"--size") {
            vec![]
        } else {
            vec!["--size", "48"]
        };
        let mut args = vec!["render", "--volume", "tornado", "--dims", "32"];
        args.extend(size);
        args.extend([
            "--theta-step",
            "90",
            "--phi-step",
            "180",
            "--times",
            "0:2",
            "--iso",
            iso,
            "-o",
            out,
            "-q",
        ]);
        args.extend(extra);
        let o = neuvis(d.path(), &args);
        assert!(o.status.success(), "{}", text(&o));
    };
    render("a.cdb", "0.17", &[]);
    render("b.cdb", "0.18", &[]);
    let o = neuvis(
        d.path(),
        &[
            "eval",
            "a.cdb",
            "b.cdb",
            "--csv",
            "s.csv",
            "--diff-images",
            "diffs",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("8 image pairs of 48x48")
            && t.contains("| PSNR")
            && t.contains("MS-SSIM (3 scales)")
            && t.contains("worst 5 by PSNR"),
        "{t}"
    );
    let csv = std::fs::read_to_string(d.path().join("s.csv")).unwrap();
    assert_eq!(csv.lines().count(), 9);
    // eight difference images and the meta.json that marks the folder as neuvis's
    assert_eq!(std::fs::read_dir(d.path().join("diffs")).unwrap().count(), 9);
    assert!(d.path().join("diffs/meta.json").is_file());
    // a collection with other parameters, other sizes, a missing image, a model file
    std::fs::write(d.path().join("cams.csv"), "0,0\n0,180\n90,0\n90,90\n").unwrap();
    render("c.cdb", "0.17", &["--cameras", "cams.csv"]);
    let o = neuvis(d.path(), &["eval", "a.cdb", "c.cdb", "-q"]);
    let t = text(&o);
    assert!(
        !o.status.success() && t.contains("only in a.cdb (2)") && t.contains("only in c.cdb (2): t=0 θ=90 φ=90"),
        "{t}"
    );
    render("e.cdb", "0.17", &["--size", "40"]);
    let o = neuvis(d.path(), &["eval", "a.cdb", "e.cdb", "-q"]);
    assert!(!o.status.success() && text(&o).contains("is 48x48 but"), "{}", text(&o));
    std::fs::remove_file(d.path().join("b.cdb/t0001/th090_ph180.png")).unwrap();
    let o = neuvis(d.path(), &["eval", "a.cdb", "b.cdb", "-q"]);
    assert!(
        !o.status.success() && text(&o).contains("t0001/th090_ph180.png"),
        "{}",
        text(&o)
    );
    std::fs::write(d.path().join("m.nrvi"), b"x").unwrap();
    let o = neuvis(d.path(), &["eval", "a.cdb", "m.nrvi", "-q"]);
    assert!(!o.status.success() && text(&o).contains("m.nrvi"), "{}", text(&o));
    assert!(!text(&o).contains("panicked"));
}

#[test]
fn compress_decompress_round_trip_and_bad_inputs() {
    let d = tempfile::tempdir().unwrap();
    let o = neuvis(
        d.path(),
        &[
            "render",
            "--volume",
            "marschner-lobb",
            "--dims",
            "24",
            "--size",
            "32",
            "--theta-step",
            "60",
            "--phi-step",
            "90",
            "--iso",
            "0.5",
            "-o",
            "ml.cdb",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let compress = |input: &str, output: &str| {
        let args = [
            "compress",
            input,
            "-o",
            output,
            "--c1",
            "8",
            "--epochs",
            "3",
            "--qat-epochs",
            "1",
            "--omega0",
            "10",
            "--batch",
            "4",
            "-q",
        ];
        neuvis(d.path(), &args)
    };
    let o = compress("ml.cdb", "ml.nrvi");
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("wrote ml.nrvi") && t.contains("ratio") && t.contains("bits/pixel"),
        "{t}"
    );
    // the default widths: convolutions at 7 bits, NeRVI's MLP two bits finer
    assert!(
        t.contains("at 7 (MLP 9) bits") && t.contains("through the quantized weights"),
        "{t}"
    );
    // the chosen SIREN frequency is in the file (the decoder needs it)
    let file = neuvis_codec::Nrvi::from_bytes(&std::fs::read(d.path().join("ml.nrvi")).unwrap()).unwrap();
    assert_eq!(file.header.net.omega0, 10.0);
    assert!(
        !d.path().join(".ml.nrvi.ckpt").exists(),
        "checkpoint removed after success"
    );
    // the same seed gives the same file, byte for byte: nothing run-dependent is recorded,
    // neither the training time nor the directory the collection was read from
    let abs = d.path().join("ml.cdb");
    let o = compress(abs.to_str().unwrap(), "again.nrvi");
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        std::fs::read(d.path().join("again.nrvi")).unwrap() == std::fs::read(d.path().join("ml.nrvi")).unwrap(),
        "same seed, same file"
    );
    let o = neuvis(d.path(), &["decompress", "ml.nrvi", "-o", "out.cdb", "-q"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(count_pngs(&d.path().join("out.cdb")), 12);
    let o = neuvis(
        d.path(),
        &[
            "decompress",
            "ml.nrvi",
            "-o",
            "unseen.cdb",
            "--view",
            "0,30,45",
            "--view",
            "0,95,400",
            "-q",
        ],
    );
    assert!(
        o.status.success() && text(&o).contains("2 at unseen parameters"),
        "{}",
        text(&o)
    );
    let o = neuvis(d.path(), &["eval", "ml.cdb", "ml.nrvi", "-q"]);
    assert!(
        o.status.success() && text(&o).contains("compression ratio"),
        "{}",
        text(&o)
    );
    // bad requests and damaged files
    let mut bytes = std::fs::read(d.path().join("ml.nrvi")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(d.path().join("bad.nrvi"), &bytes).unwrap();
    std::fs::write(d.path().join("short.nrvi"), &bytes[..40]).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["decompress", "bad.nrvi", "-o", "x.cdb"], "CRC"),
        (vec!["decompress", "short.nrvi", "-o", "x.cdb"], "short.nrvi"),
        (vec!["decompress", "nothere.nrvi", "-o", "x.cdb"], "nothere.nrvi"),
        (
            vec!["decompress", "ml.nrvi", "-o", "x.cdb", "--view", "0,200,0"],
            "outside [0, 180]",
        ),
        (
            vec!["decompress", "ml.nrvi", "-o", "x.cdb", "--view", "7,20,0"],
            "time 7 is outside",
        ),
        (
            vec!["decompress", "ml.nrvi", "-o", "x.cdb", "--view", "1,2"],
            "expected t,theta,phi",
        ),
        (vec!["compress", "nope.cdb", "-o", "y.nrvi"], "nope.cdb"),
        (vec!["compress", "ml.cdb", "-o", "y.nrvi", "--bits", "0"], "--bits"),
        (
            vec!["compress", "ml.cdb", "-o", "y.nrvi", "--mlp-bits", "17"],
            "--mlp-bits 17 must be in 1..=16",
        ),
        (
            vec![
                "compress",
                "ml.cdb",
                "-o",
                "y.nrvi",
                "--epochs",
                "3",
                "--qat-epochs",
                "4",
            ],
            "--qat-epochs 4 exceeds --epochs 3",
        ),
        (
            vec!["compress", "ml.cdb", "-o", "y.nrvi", "--mlp-lr=-1"],
            "--mlp-lr -1 must be a positive number",
        ),
        (
            vec!["compress", "ml.cdb", "-o", "y.nrvi", "--mlp-lr", "nan"],
            "invalid value 'nan' for '--mlp-lr <MLP_LR>': 'nan' is not a finite number",
        ),
        (
            vec!["compress", "ml.cdb", "-o", "y.nrvi", "--omega0", "0"],
            "--omega0 0 must be a number in (0, 1000]",
        ),
        (
            vec!["compress", "ml.cdb", "-o", "y.nrvi", "--omega0", "NaN"],
            "invalid value 'NaN' for '--omega0 <OMEGA0>': 'NaN' is not a finite number",
        ),
        (
            vec!["compress", "ml.cdb", "-o", "y.nrvi", "--arch", "nerv", "--omega0", "10"],
            "no SIREN layers",
        ),
        (
            vec!["compress", "ml.cdb", "-o", "y.nrvi", "--ratio", "1000000"],
            "no network fits",
        ),
        (vec!["compress", "ml.cdb", "-o", "y.txt"], ".nrvi"),
    ];
    for (args, msg) in cases {
        let o = neuvis(d.path(), &args);
        let t = text(&o);
        assert!(
            !o.status.success() && t.contains(msg) && !t.contains("panicked"),
            "{args:?}: {t}"
        );
    }
    assert!(!d.path().join("x.cdb").exists() && !d.path().join("y.nrvi").exists());
}
