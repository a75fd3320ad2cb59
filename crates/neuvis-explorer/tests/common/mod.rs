//! The explorer tests' model and its ground truth: a committed fixture (written by
//! `cargo run --release --example explorer_fixture` at the workspace root), copied into the test's folder.

use std::path::{Path, PathBuf};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// 2 times × 3 θ × 6 φ views of 32²: a disc whose position follows (θ, φ) and whose colour
/// follows t, on white (`gt.cdb`), and a NeRVI model trained on it (`m.nrvi`), copied into `dir`.
pub fn model(dir: &Path) -> (PathBuf, PathBuf) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/disc");
    let (m, gt) = (dir.join("m.nrvi"), dir.join("gt.cdb"));
    std::fs::copy(fixture.join("m.nrvi"), &m).unwrap();
    copy_dir(&fixture.join("gt.cdb"), &gt);
    (m, gt)
}
