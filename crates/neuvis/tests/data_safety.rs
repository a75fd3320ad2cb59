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
    ok(&["isosurface", "tornado", "--dims", "16", "--iso", "0.2", "-o", "t.vtp"]);
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
        &["raycast", "prepare", "v.nrrd", "-o", "v.nrrd", "--overwrite"],
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
        &["isosurface", "v.nrrd", "--iso", "0.5", "-o", "v.nrrd", "--overwrite"],
        "must end in .ply or .vtp",
    );
    refused(
        dir,
        &["isosurface", "t.vtp", "--iso", "0.5", "-o", "t.vtp", "--overwrite"],
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
