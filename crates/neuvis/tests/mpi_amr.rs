//! `neuvis amr` under `mpirun -np 2` (built with `--features mpi`): the element tests of every
//! iteration are split between the ranks, and the result equals the single-process run: the same
//! history (timings aside), byte-identical meshes and images. Needs Open MPI's `mpirun` (CI
//! installs `openmpi-bin libopenmpi-dev`).

mod common;
use common::{ok, text};
use std::path::Path;
use std::process::Command;

/// `history.csv` without its timing columns (`seconds`, `elapsed`).
fn history_without_times(dir: &Path) -> Vec<String> {
    let t = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    let mut lines = t.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| header[i] != "seconds" && header[i] != "elapsed")
        .collect();
    assert_eq!(keep.len(), header.len() - 2, "{header:?}");
    t.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            keep.iter().map(|&i| f[i]).collect::<Vec<_>>().join(",")
        })
        .collect()
}

#[test]
fn mpirun_np_2_equals_the_single_process_run() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-amr/fixtures");
    for (name, extra) in [
        ("sin_inv_r.json", &["--max-it", "8"][..]),
        ("sin_inv_r.json", &["--max-it", "6", "--method", "basic"][..]),
    ] {
        let model = fixtures.join(name);
        let model = model.to_str().unwrap();
        let tag = extra.join("_").replace("--", "");
        let (one, two) = (format!("one_{tag}"), format!("two_{tag}"));
        let mut args = vec!["amr", model];
        args.extend_from_slice(extra);
        let mut a1 = args.clone();
        a1.extend(["-o", &one]);
        ok(p, &a1);
        let o = Command::new("mpirun")
            .current_dir(p)
            .args(["--allow-run-as-root", "--oversubscribe", "-np", "2"])
            .arg(env!("CARGO_BIN_EXE_neuvis"))
            .args(&args)
            .args(["-o", &two])
            .output()
            .unwrap();
        assert!(o.status.success(), "mpirun: {}", text(&o));
        assert!(text(&o).contains("2 MPI ranks"), "{}", text(&o));
        let h1 = history_without_times(&p.join(&one));
        assert!(h1.len() > 3, "{h1:?}");
        assert_eq!(h1, history_without_times(&p.join(&two)));
        for f in ["mesh.vtu", "mesh.png"] {
            assert!(
                std::fs::read(p.join(&one).join(f)).unwrap() == std::fs::read(p.join(&two).join(f)).unwrap(),
                "{f} differs between 1 and 2 ranks"
            );
        }
    }
}

#[test]
fn an_error_on_rank_0_ends_every_rank() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::create_dir(p.join("taken")).unwrap();
    std::fs::write(p.join("taken/data.txt"), "not neuvis's").unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-amr/fixtures/sin_inv_r.json");
    let o = Command::new("timeout")
        .current_dir(p)
        .args(["120", "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2"])
        .arg(env!("CARGO_BIN_EXE_neuvis"))
        .args(["amr", model.to_str().unwrap(), "-o", "taken", "--overwrite"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert_ne!(o.status.code(), Some(124), "the ranks hung: {}", text(&o));
    assert!(text(&o).contains("taken"), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(p.join("taken/data.txt")).unwrap(),
        "not neuvis's"
    );
}
