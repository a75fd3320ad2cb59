//! User data is sacred: every command that writes refuses an output that is one of its inputs (or
//! a folder holding one), `--overwrite` never replaces a foreign folder, the working directory or
//! `/`, existing outputs need `--overwrite`, and a refusal leaves every file as it was.

mod common;

use common::{neuvis, text};
use std::path::Path;

/// Every file under `dir` with its contents, sorted (to compare before and after).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                v.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    v.sort();
    v
}

#[track_caller]
fn refused(dir: &Path, args: &[&str], needle: &str) {
    let before = snapshot(dir);
    let o = neuvis(dir, args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?} should be refused: {t}");
    assert!(t.contains(needle), "{args:?}: expected {needle:?} in: {t}");
    assert!(!t.contains("panicked"), "{t}");
    assert_eq!(t.trim().lines().count(), 1, "{args:?}: one clear line, got: {t}");
    assert!(
        snapshot(dir) == before,
        "{args:?} changed files although it was refused"
    );
}

#[test]
fn outputs_that_are_inputs_foreign_folders_and_the_working_directory_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let ok = |args: &[&str]| {
        common::ok(dir, args);
    };
    // inputs of every kind
    common::tornado_collection(dir, "a.cdb", "16", "16");
    ok(&[
        "compress", "a.cdb", "-o", "m.nrvi", "--c1", "4", "--epochs", "1", "--batch", "2", "-q",
    ]);
    common::prepare_turbulence(dir, "s.nvb", "9", "4", &["--store", "exact"]);
    ok(&[
        "isosurface",
        "--volume",
        "tornado",
        "--dims",
        "16",
        "--iso",
        "0.2",
        "-o",
        "t.vtp",
    ]);
    std::fs::write(
        dir.join("v.nrrd"),
        b"NRRD0004\ntype: float\ndimension: 3\nsizes: 2 2 2\nencoding: ascii\n\n0 1 0 1 0 1 0 1\n",
    )
    .unwrap();
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-amr/fixtures/sin_inv_r.json");
    let spec = spec.to_str().unwrap();
    ok(&["amr", spec, "--max-it", "1", "-o", "run1"]);
    // a folder of someone else's files, and one file
    std::fs::create_dir(dir.join("photos")).unwrap();
    std::fs::write(dir.join("photos/data.csv"), "holiday,1\n").unwrap();
    std::fs::write(dir.join("photos/meta.json"), "{\"camera\": \"mine\"}").unwrap();
    std::fs::write(dir.join("notes.txt"), "my notes").unwrap();

    // output == input, for every command that writes
    refused(
        dir,
        &[
            "render",
            "--volume",
            "v.nrrd",
            "--size",
            "8",
            "-o",
            "v.nrrd",
            "--overwrite",
        ],
        "is also an input",
    );
    refused(
        dir,
        &["decompress", "m.nrvi", "-o", "m.nrvi", "--overwrite"],
        "is also an input",
    );
    refused(
        dir,
        &["eval", "a.cdb", "m.nrvi", "--csv", "m.nrvi", "--overwrite", "-q"],
        "is also an input",
    );
    refused(
        dir,
        &["eval", "a.cdb", "m.nrvi", "--diff-images", "a.cdb", "--overwrite", "-q"],
        "is also an input",
    );
    refused(
        dir,
        &[
            "raycast",
            "prepare",
            "--volume",
            "v.nrrd",
            "-o",
            "v.nrrd",
            "--overwrite",
        ],
        "must end in .nvb",
    );
    refused(
        dir,
        &["raycast", "render", "s.nvb", "--iso", "0", "-o", "s.nvb", "--overwrite"],
        "must end in .png",
    );
    refused(
        dir,
        &[
            "raycast",
            "render",
            "s.nvb",
            "--iso",
            "0",
            "-o",
            "f.png",
            "--frames",
            ".",
            "--overwrite",
        ],
        "working directory",
    );
    refused(
        dir,
        &[
            "isosurface",
            "--volume",
            "v.nrrd",
            "--iso",
            "0.5",
            "-o",
            "v.nrrd",
            "--overwrite",
        ],
        "must end in .ply or .vtp",
    );
    refused(
        dir,
        &[
            "isosurface",
            "--volume",
            "t.vtp",
            "--iso",
            "0.5",
            "-o",
            "t.vtp",
            "--overwrite",
        ],
        "is also an input",
    );
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-amr/fixtures");
    std::fs::create_dir(dir.join("inr")).unwrap();
    for f in ["sin_inv_r.json", "sin_inv_r.safetensors"] {
        std::fs::copy(fx.join(f), dir.join("inr").join(f)).unwrap();
    }
    refused(
        dir,
        &["amr", "inr/sin_inv_r.json", "-o", "inr", "--overwrite"],
        "holds the input",
    );
    refused(
        dir,
        &["amr", "compare", "run1", "-o", "run1", "--overwrite"],
        "is also an input",
    );
    // a Cinema database named like a model is still an input
    std::fs::rename(dir.join("a.cdb"), dir.join("a.nrvi")).unwrap();
    refused(
        dir,
        &["compress", "a.nrvi", "-o", "a.nrvi", "--overwrite"],
        "is also an input",
    );
    std::fs::rename(dir.join("a.nrvi"), dir.join("a.cdb")).unwrap();

    // --overwrite on a foreign folder, the working directory, its parent and /
    for out in ["photos", ".", "..", "/"] {
        let needle = if out == "photos" {
            "only replaces what neuvis wrote"
        } else {
            "working directory"
        };
        refused(dir, &["decompress", "m.nrvi", "-o", out, "--overwrite", "-q"], needle);
        refused(
            dir,
            &[
                "render",
                "--volume",
                "tornado",
                "--dims",
                "8",
                "--size",
                "8",
                "-o",
                out,
                "--overwrite",
                "-q",
            ],
            needle,
        );
        refused(dir, &["demo", "-o", out, "--overwrite"], needle);
    }
    // a foreign file is not replaced even with --overwrite; without it any existing output is refused
    refused(
        dir,
        &["eval", "a.cdb", "m.nrvi", "--csv", "notes.txt", "-q"],
        "already exists",
    );
    refused(dir, &["compress", "a.cdb", "-o", "m.nrvi", "-q"], "already exists");
    std::fs::write(dir.join("other.nrvi"), "not a model").unwrap();
    refused(
        dir,
        &["compress", "a.cdb", "-o", "other.nrvi", "--overwrite", "-q"],
        "only replaces what neuvis wrote",
    );
    std::fs::write(dir.join("notes.png"), "not an image").unwrap();
    refused(
        dir,
        &[
            "raycast",
            "render",
            "s.nvb",
            "--iso",
            "0",
            "-o",
            "notes.png",
            "--overwrite",
        ],
        "only replaces what neuvis wrote",
    );
    // missing folders are not created on the way
    refused(
        dir,
        &["eval", "a.cdb", "m.nrvi", "--csv", "nod/s.csv", "-q"],
        "does not exist",
    );
    refused(
        dir,
        &["raycast", "render", "s.nvb", "--iso", "0", "-o", "nod/f.png"],
        "does not exist",
    );

    // what neuvis wrote is replaced with --overwrite
    ok(&["decompress", "m.nrvi", "-o", "d.cdb", "-q"]);
    ok(&["decompress", "m.nrvi", "-o", "d.cdb", "--overwrite", "-q"]);
    ok(&[
        "compress",
        "a.cdb",
        "-o",
        "m.nrvi",
        "--c1",
        "4",
        "--epochs",
        "1",
        "--batch",
        "2",
        "--overwrite",
        "-q",
    ]);
    ok(&["amr", spec, "--max-it", "1", "-o", "run1", "--overwrite"]);
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "my notes");
    assert!(dir.join("photos/data.csv").is_file());
}

/// Text and image outputs: `--overwrite` replaces only files carrying neuvis's mark (a CSV's
/// header row, a PNG text chunk, a comment in VTP/PLY, `generator` in JSON and safetensors), and an
/// output inside an input folder is refused, so a collection's own index cannot be replaced.
#[test]
fn text_and_image_outputs_replace_only_what_neuvis_marked() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    common::tornado_collection(dir, "a.cdb", "16", "16");
    common::ok(
        dir,
        &[
            "compress", "a.cdb", "-o", "m.nrvi", "--c1", "4", "--epochs", "1", "--batch", "2", "-q",
        ],
    );
    common::prepare_turbulence(dir, "s.nvb", "9", "4", &["--store", "exact"]);
    // inside an input collection: its own index, or a new file beside it
    for out in ["a.cdb/data.csv", "a.cdb/scores.csv"] {
        refused(
            dir,
            &["eval", "a.cdb", "m.nrvi", "--csv", out, "--overwrite", "-q"],
            "is inside the input a.cdb",
        );
    }
    refused(
        dir,
        &[
            "compress",
            "a.cdb",
            "-o",
            "a.cdb/model.nrvi",
            "--c1",
            "4",
            "--epochs",
            "1",
            "-q",
        ],
        "is inside the input a.cdb",
    );
    // a user's files of the output's kind
    std::fs::write(dir.join("grades.csv"), "name,grade\nada,1\n").unwrap();
    std::fs::write(dir.join("notes.md"), "# notes\n").unwrap();
    std::fs::write(
        dir.join("mine.vtp"),
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"PolyData\"/>\n",
    )
    .unwrap();
    image::RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]))
        .save(dir.join("photo.png"))
        .unwrap();
    for csv in ["grades.csv", "notes.md"] {
        refused(
            dir,
            &["eval", "a.cdb", "m.nrvi", "--csv", csv, "--overwrite", "-q"],
            "is not a table neuvis eval wrote",
        );
    }
    refused(
        dir,
        &[
            "raycast",
            "render",
            "s.nvb",
            "--iso",
            "0",
            "-o",
            "photo.png",
            "--overwrite",
        ],
        "is not a PNG image neuvis wrote",
    );
    refused(
        dir,
        &[
            "isosurface",
            "--volume",
            "tornado",
            "--dims",
            "16",
            "--iso",
            "0.2",
            "-o",
            "mine.vtp",
            "--overwrite",
        ],
        "is not a VTP mesh neuvis wrote",
    );
    // what neuvis wrote is replaced
    for _ in 0..2 {
        common::ok(
            dir,
            &["eval", "a.cdb", "m.nrvi", "--csv", "scores.csv", "--overwrite", "-q"],
        );
        common::ok(
            dir,
            &[
                "raycast",
                "render",
                "s.nvb",
                "--iso",
                "0",
                "--method",
                "exact",
                "--size",
                "16",
                "-o",
                "r.png",
                "--overwrite",
            ],
        );
        for mesh in ["t.vtp", "t.ply"] {
            common::ok(
                dir,
                &[
                    "isosurface",
                    "--volume",
                    "tornado",
                    "--dims",
                    "16",
                    "--iso",
                    "0.2",
                    "-o",
                    mesh,
                    "--overwrite",
                ],
            );
        }
    }
    // the marks are where other programs ignore them: the table's header is the CSV header row, the
    // PNG still decodes, the VTP still starts with its XML declaration
    let table = std::fs::read_to_string(dir.join("scores.csv")).unwrap();
    assert!(table.starts_with("time,theta,phi,psnr"), "{table}");
    let png = image::open(dir.join("r.png")).unwrap();
    assert_eq!((png.width(), png.height()), (16, 16));
    let vtp = std::fs::read(dir.join("t.vtp")).unwrap();
    assert!(vtp.starts_with(b"<?xml version=\"1.0\"?>\n<!-- written by neuvis"));
    // and the user's files are as they were
    assert_eq!(
        std::fs::read_to_string(dir.join("grades.csv")).unwrap(),
        "name,grade\nada,1\n"
    );
    assert_eq!(image::open(dir.join("photo.png")).unwrap().width(), 4);
}
