//! Sharded stages (`--shard I/N` + `neuvis merge`) and the Slurm job arrays.
//!
//! The reference for every merge is the single-process run of the same command: the merged
//! database, table or store must equal it byte for byte. The Slurm tests run only where a Slurm
//! cluster answers (`NEUVIS_SLURM_TEST=1`, with `SLURM_CONF` set: `.ci/run` starts a one-node
//! cluster with `tools/slurm_local.sh`); the rest needs nothing but the binary.

mod common;
use common::{neuvis, ok, text};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file under `dir`, relative path → bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut m = std::collections::BTreeMap::new();
    walk(dir, dir, &mut m);
    m
}

#[track_caller]
fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "{} and {} hold different files",
        a.display(),
        b.display()
    );
    for (k, v) in &ta {
        assert!(
            v == &tb[k],
            "{} differs between {} and {}",
            k.display(),
            a.display(),
            b.display()
        );
    }
}

const RENDER: &[&str] = &[
    "render",
    "--volume",
    "tornado",
    "--dims",
    "24",
    "--size",
    "24",
    "--theta-step",
    "45",
    "--phi-step",
    "60",
    "--times",
    "0:3",
    "-q",
];

/// `raycast prepare` of a 48³ turbulence field in bricks of 8 (6 brick layers).
const PREPARE: &[&str] = &[
    "raycast",
    "prepare",
    "--volume",
    "turbulence",
    "--dims",
    "48",
    "--brick",
    "8",
    "--base-factor",
    "2",
];

fn render(dir: &Path, out: &str, extra: &[&str]) {
    let mut args = RENDER.to_vec();
    args.extend_from_slice(extra);
    args.extend(["-o", out]);
    ok(dir, &args);
}

#[test]
fn sharded_render_merges_into_the_single_process_database() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    render(p, "single.cdb", &[]);
    // 3 steps × 4 θ × 6 φ = 72 images in 5 unequal blocks (14 or 15), crossing time steps
    for i in 0..5 {
        render(p, "sharded.cdb", &["--shard", &format!("{i}/5")]);
    }
    assert!(!p.join("sharded.cdb").exists(), "a part must not look like the output");
    let o = ok(p, &["merge", "sharded.cdb"]);
    assert!(text(&o).contains("72 images"), "{}", text(&o));
    assert_same_tree(&p.join("single.cdb"), &p.join("sharded.cdb"));
    // the parts stay unless asked; --remove-parts removes them
    assert!(p.join("sharded.part-0003-of-0005.cdb").is_dir());
    ok(p, &["merge", "sharded.cdb", "--overwrite", "--remove-parts"]);
    assert!(!p.join("sharded.part-0003-of-0005.cdb").exists());
    assert_same_tree(&p.join("single.cdb"), &p.join("sharded.cdb"));
}

#[test]
fn a_missing_or_foreign_part_is_reported_and_nothing_is_written() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    for i in [0, 1, 3] {
        render(p, "x.cdb", &["--shard", &format!("{i}/4")]);
    }
    let o = neuvis(p, &["merge", "x.cdb"]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("1 of 4 parts") && t.contains("task 2") && t.contains("x.part-0002-of-0004.cdb"),
        "{t}"
    );
    assert!(!p.join("x.cdb").exists() && !p.join(".x.cdb.partial").exists());
    // part 2 made with another isovalue: the parts are of different runs
    render(p, "x.cdb", &["--shard", "2/4", "--iso", "0.3"]);
    let o = neuvis(p, &["merge", "x.cdb"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("other settings"), "{}", text(&o));
    assert!(!p.join("x.cdb").exists() && !p.join(".x.cdb.partial").exists());
    // a stale part of a 2-task job beside the 4-task one
    render(p, "x.cdb", &["--shard", "2/4", "--overwrite"]);
    render(p, "x.cdb", &["--shard", "1/2"]);
    let o = neuvis(p, &["merge", "x.cdb"]);
    assert!(text(&o).contains("jobs of 2 and 4 tasks"), "{}", text(&o));
    std::fs::remove_dir_all(p.join("x.part-0001-of-0002.cdb")).unwrap();
    ok(p, &["merge", "x.cdb"]);
    // bad shard specifications
    for bad in ["4/4", "1/0", "a/b", "2"] {
        let mut args = RENDER.to_vec();
        args.extend(["--shard", bad, "-o", "y.cdb"]);
        let o = neuvis(p, &args);
        assert!(
            !o.status.success() && text(&o).contains("--shard"),
            "{bad}: {}",
            text(&o)
        );
    }
    // --shard slurm outside a job array says so
    let mut args = RENDER.to_vec();
    args.extend(["--shard", "slurm", "-o", "y.cdb"]);
    let o = Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .current_dir(p)
        .args(&args)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert!(text(&o).contains("SLURM_ARRAY_TASK_ID"), "{}", text(&o));
}

#[test]
fn sharded_decompress_and_eval_merge_into_the_single_process_outputs() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    render(p, "gt.cdb", &[]);
    ok(
        p,
        &[
            "compress", "gt.cdb", "-o", "m.nrvi", "--epochs", "2", "--ratio", "20", "-q",
        ],
    );
    ok(p, &["decompress", "m.nrvi", "-o", "d1.cdb", "-q"]);
    for i in 0..3 {
        ok(
            p,
            &[
                "decompress",
                "m.nrvi",
                "-o",
                "d3.cdb",
                "-q",
                "--shard",
                &format!("{i}/3"),
            ],
        );
    }
    ok(p, &["merge", "d3.cdb"]);
    assert_same_tree(&p.join("d1.cdb"), &p.join("d3.cdb"));
    // eval: collection vs model (only the shard's images are decoded) and collection vs collection
    for (test, name) in [("m.nrvi", "em"), ("d1.cdb", "ec")] {
        let single = format!("{name}1.csv");
        let sharded = format!("{name}4.csv");
        ok(p, &["eval", "gt.cdb", test, "--csv", &single, "-q"]);
        for i in 0..4 {
            ok(
                p,
                &[
                    "eval",
                    "gt.cdb",
                    test,
                    "--csv",
                    &sharded,
                    "-q",
                    "--shard",
                    &format!("{i}/4"),
                ],
            );
        }
        ok(p, &["merge", &sharded]);
        let (a, b) = (
            std::fs::read_to_string(p.join(&single)).unwrap(),
            std::fs::read_to_string(p.join(&sharded)).unwrap(),
        );
        assert_eq!(a.lines().count(), 73, "{a}");
        assert!(a == b, "{single} and {sharded} differ");
    }
    // eval --shard needs the table it shards
    let o = neuvis(p, &["eval", "gt.cdb", "d1.cdb", "--shard", "0/2"]);
    assert!(!o.status.success() && text(&o).contains("--csv"), "{}", text(&o));
}

#[test]
fn sharded_prepare_merges_into_the_single_process_store() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let base = PREPARE;
    for (store, extra) in [
        ("exact", &[][..]),
        // the network is trained by the merge, on the same seeded sample of bricks
        (
            "both",
            &["--train-steps", "6", "--train-bricks", "12", "--channels", "4"][..],
        ),
    ] {
        let single = format!("{store}1.nvb");
        let sharded = format!("{store}3.nvb");
        let mut args = base.to_vec();
        args.extend(["--store", store]);
        args.extend_from_slice(extra);
        let mut one = args.clone();
        one.extend(["-o", &single]);
        ok(p, &one);
        for i in 0..3 {
            let s = format!("{i}/3");
            let mut part = args.clone();
            part.extend(["--shard", &s, "-o", &sharded]);
            ok(p, &part);
        }
        // a part is not a store
        let o = neuvis(
            p,
            &[
                "raycast",
                "render",
                &format!("{store}3.part-0000-of-0003.nvb"),
                "--iso",
                "0.5",
                "-o",
                "f.png",
            ],
        );
        assert!(!o.status.success() && text(&o).contains("neuvis merge"), "{}", text(&o));
        ok(p, &["merge", &sharded]);
        assert!(
            std::fs::read(p.join(&single)).unwrap() == std::fs::read(p.join(&sharded)).unwrap(),
            "{single} and {sharded} differ"
        );
    }
    // 48³ in bricks of 8 has 6 layers: at most 6 tasks
    let mut args = base.to_vec();
    args.extend(["--store", "exact", "--shard", "6/7", "-o", "z.nvb"]);
    let o = neuvis(p, &args);
    assert!(
        !o.status.success() && text(&o).contains("6 brick layers"),
        "{}",
        text(&o)
    );
}

#[test]
fn slurm_scripts_name_the_shard_and_the_merge() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut args = vec![
        "slurm",
        "--tasks",
        "4",
        "--cpus-per-task",
        "2",
        "--time",
        "00:10:00",
        "--",
    ];
    args.extend_from_slice(RENDER);
    args.extend(["-o", "it's.cdb"]);
    ok(p, &args);
    let array = std::fs::read_to_string(p.join("it's.slurm.sh")).unwrap();
    let merge = std::fs::read_to_string(p.join("it's.merge.slurm.sh")).unwrap();
    assert!(
        array.contains("#SBATCH --array=0-3") && array.contains("#SBATCH --cpus-per-task=2"),
        "{array}"
    );
    assert!(
        array.contains("--shard \"$SLURM_ARRAY_TASK_ID/4\"") && array.contains("'it'\\''s.cdb'"),
        "{array}"
    );
    assert!(
        merge.contains(" merge 'it'\\''s.cdb'") && !merge.contains("--array"),
        "{merge}"
    );
    // the scripts are outputs like any other
    let o = neuvis(p, &args);
    assert!(!o.status.success() && text(&o).contains("--overwrite"), "{}", text(&o));
    // only the shardable commands
    let o = neuvis(p, &["slurm", "--tasks", "2", "--", "compress", "a.cdb", "-o", "m.nrvi"]);
    assert!(
        !o.status.success() && text(&o).contains("does not shard") && text(&o).contains("--nodes"),
        "{}",
        text(&o)
    );
    let o = neuvis(p, &["slurm", "--tasks", "2", "--", "eval", "a.cdb", "b.cdb"]);
    assert!(!o.status.success() && text(&o).contains("--csv"), "{}", text(&o));
}

#[test]
fn slurm_writes_one_mpi_job_for_the_commands_that_run_on_ranks() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let o = ok(
        p,
        &[
            "slurm",
            "--nodes",
            "2",
            "--gpus-per-node",
            "4",
            "--cpus-per-task",
            "8",
            "--time",
            "01:00:00",
            "--",
            "compress",
            "a.cdb",
            "-o",
            "m.nrvi",
            "--batch",
            "64",
            "--device",
            "cuda",
        ],
    );
    assert!(text(&o).contains("2 nodes × 4 ranks"), "{}", text(&o));
    let s = std::fs::read_to_string(p.join("m.slurm.sh")).unwrap();
    for line in [
        "#SBATCH --nodes=2\n",
        "#SBATCH --ntasks-per-node=4\n",
        "#SBATCH --gpus-per-task=1\n",
        "#SBATCH --cpus-per-task=8\n",
        "#SBATCH --time=01:00:00\n",
    ] {
        assert!(s.contains(line), "{line}: {s}");
    }
    assert!(
        s.contains("exec srun ") && s.contains(" compress a.cdb -o m.nrvi --batch 64 --device cuda\n"),
        "{s}"
    );
    assert!(!s.contains("--array") && !s.contains("--shard") && !p.join("m.merge.slurm.sh").exists());
    // amr runs on ranks too; the plugin is named where the site's default is not the MPI's
    ok(
        p,
        &[
            "slurm",
            "--nodes",
            "1",
            "--tasks-per-node",
            "8",
            "--mpi",
            "pmix",
            "--",
            "amr",
            "x.json",
            "-o",
            "out",
        ],
    );
    let s = std::fs::read_to_string(p.join("out.slurm.sh")).unwrap();
    assert!(
        s.contains("#SBATCH --ntasks-per-node=8\n") && !s.contains("gpus"),
        "{s}"
    );
    assert!(
        s.contains("exec srun --mpi=pmix ") && s.contains(" amr x.json -o out\n"),
        "{s}"
    );
    // inr fit trains on ranks too
    ok(
        p,
        &[
            "slurm",
            "--nodes",
            "2",
            "--",
            "inr",
            "fit",
            "--function",
            "sin-inv-r",
            "-o",
            "f.json",
        ],
    );
    let s = std::fs::read_to_string(p.join("f.slurm.sh")).unwrap();
    assert!(
        s.contains("#SBATCH --job-name=neuvis-inr-fit\n") && s.contains(" inr fit --function sin-inv-r -o f.json\n"),
        "{s}"
    );
    let o = neuvis(p, &["slurm", "--nodes", "2", "--", "serve", "m.nrvi"]);
    assert!(
        !o.status.success() && text(&o).contains("does not run on MPI ranks"),
        "{}",
        text(&o)
    );
    // a sharded command is a job array, not an MPI job
    let o = neuvis(
        p,
        &[
            "slurm", "--nodes", "2", "--", "render", "--volume", "tornado", "-o", "r.cdb",
        ],
    );
    assert!(!o.status.success() && text(&o).contains("--tasks"), "{}", text(&o));
    let o = neuvis(
        p,
        &[
            "slurm",
            "--nodes",
            "2",
            "--tasks-per-node",
            "2",
            "--gpus-per-node",
            "4",
            "--",
            "compress",
            "a.cdb",
            "-o",
            "n.nrvi",
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("one rank per GPU"),
        "{}",
        text(&o)
    );
}

/// Whether the Slurm tests run here.
fn slurm() -> bool {
    std::env::var_os("NEUVIS_SLURM_TEST").is_some_and(|v| v == "1")
}

fn sh(cmd: &str, dir: &Path) -> String {
    let o = Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{cmd}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn slurm_job_arrays_equal_the_single_process_run() {
    if !slurm() {
        eprintln!("skipped: set NEUVIS_SLURM_TEST=1 with a Slurm cluster (tools/slurm_local.sh start)");
        return;
    }
    let d = tempfile::tempdir_in(std::env::var("NEUVIS_SLURM_SCRATCH").unwrap_or_else(|_| "/tmp".into())).unwrap();
    let p = d.path();
    // render: a 4-task array and its merge job, submitted and waited for
    render(p, "single.cdb", &[]);
    let mut args = vec!["slurm", "--tasks", "4", "--submit", "--wait", "--"];
    args.extend_from_slice(RENDER);
    args.extend(["-o", "array.cdb"]);
    ok(p, &args);
    assert_same_tree(&p.join("single.cdb"), &p.join("array.cdb"));
    // raycast prepare (store bytes) and eval (CSV)
    let prep: Vec<&str> = PREPARE.iter().copied().chain(["--store", "exact"]).collect();
    let mut one = prep.to_vec();
    one.extend(["-o", "s1.nvb"]);
    ok(p, &one);
    let mut args = vec!["slurm", "--tasks", "4", "--submit", "--wait", "--"];
    args.extend_from_slice(&prep);
    args.extend(["-o", "s4.nvb"]);
    ok(p, &args);
    assert!(std::fs::read(p.join("s1.nvb")).unwrap() == std::fs::read(p.join("s4.nvb")).unwrap());
    ok(p, &["eval", "single.cdb", "array.cdb", "--csv", "e1.csv", "-q"]);
    ok(
        p,
        &[
            "slurm",
            "--tasks",
            "4",
            "--submit",
            "--wait",
            "--",
            "eval",
            "single.cdb",
            "array.cdb",
            "--csv",
            "e4.csv",
            "-q",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(p.join("e1.csv")).unwrap(),
        std::fs::read_to_string(p.join("e4.csv")).unwrap()
    );
}

#[test]
fn a_killed_slurm_task_leaves_the_merge_reporting_its_part() {
    if !slurm() {
        eprintln!("skipped: set NEUVIS_SLURM_TEST=1 with a Slurm cluster (tools/slurm_local.sh start)");
        return;
    }
    let d = tempfile::tempdir_in(std::env::var("NEUVIS_SLURM_SCRATCH").unwrap_or_else(|_| "/tmp".into())).unwrap();
    let p = d.path();
    let mut args = vec!["slurm", "--tasks", "4", "--"];
    args.extend_from_slice(RENDER);
    args.extend(["-o", "k.cdb"]);
    ok(p, &args);
    // submit held, kill task 2, release: the merge job (afterok) is cancelled, not run on 3 parts
    let jid = sh("sbatch --parsable --hold k.slurm.sh | cut -d';' -f1", p);
    let mid = sh(
        &format!(
            "sbatch --parsable --dependency=afterok:{jid} --kill-on-invalid-dep=yes k.merge.slurm.sh | cut -d';' -f1"
        ),
        p,
    );
    sh(&format!("scancel {jid}_2 && scontrol release {jid}"), p);
    // wait for the array and the merge job to leave the queue
    let mut gone = false;
    for _ in 0..240 {
        let q = sh(&format!("squeue -h -j {jid},{mid} -o %i || true"), p);
        if q.is_empty() {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(gone, "jobs {jid} and {mid} did not finish");
    assert!(!p.join("k.cdb").exists(), "the merge must not have run");
    assert!(p.join("k.part-0003-of-0004.cdb").is_dir() && !p.join("k.part-0002-of-0004.cdb").exists());
    let o = neuvis(p, &["merge", "k.cdb"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("task 2") && text(&o).contains("k.part-0002-of-0004.cdb"),
        "{}",
        text(&o)
    );
    assert!(!p.join("k.cdb").exists());
    // rerunning the failed task, then the merge, finishes the job
    sh("sbatch --wait --array=2 k.slurm.sh >/dev/null", p);
    ok(p, &["merge", "k.cdb"]);
    // 72 images, data.csv and meta.json
    assert_eq!(tree(&p.join("k.cdb")).len(), 74);
}

#[cfg(not(feature = "mpi"))]
#[test]
fn a_build_without_mpi_refuses_to_run_as_one_of_several_ranks() {
    let d = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-amr/fixtures/sin_inv_r.json");
    let o = Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .current_dir(d.path())
        .args(["amr", fixture.to_str().unwrap(), "-o", "out", "--max-it", "1"])
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .env("OMPI_COMM_WORLD_RANK", "1")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("built without MPI"), "{}", text(&o));
    assert!(!d.path().join("out").exists());
    // a task of an `srun -n 2` step is one of two ranks too
    let run = |env: &[(&str, &str)], out: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_neuvis"));
        c.current_dir(d.path())
            .args(["amr", fixture.to_str().unwrap(), "-o", out, "--max-it", "1"])
            .env_remove("OMPI_COMM_WORLD_SIZE")
            .env_remove("PMI_SIZE")
            .env_remove("PMIX_SIZE")
            .env_remove("SLURM_STEP_NUM_TASKS");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let o = run(
        &[
            ("SLURM_NTASKS", "2"),
            ("SLURM_PROCID", "1"),
            ("SLURM_STEP_NUM_TASKS", "2"),
        ],
        "step",
    );
    assert!(
        !o.status.success() && text(&o).contains("built without MPI"),
        "{}",
        text(&o)
    );
    // but a batch script of a 2-task job (`sbatch --ntasks=2`) running neuvis directly is one process
    let o = run(&[("SLURM_NTASKS", "2"), ("SLURM_PROCID", "0")], "batch");
    assert!(o.status.success(), "{}", text(&o));
    assert!(d.path().join("batch/history.csv").is_file());
}

#[test]
fn more_tasks_than_images_leave_empty_parts_that_merge() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let args = |out: &str, shard: Option<String>| {
        let mut v: Vec<String> = [
            "render",
            "--volume",
            "tornado",
            "--dims",
            "16",
            "--size",
            "16",
            "--theta-step",
            "90",
            "--phi-step",
            "180",
            "--times",
            "0",
            "-q",
            "-o",
            out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(s) = shard {
            v.extend(["--shard".to_string(), s]);
        }
        v
    };
    let one = args("one.cdb", None);
    ok(p, &one.iter().map(String::as_str).collect::<Vec<_>>());
    for i in 0..6 {
        let a = args("six.cdb", Some(format!("{i}/6")));
        ok(p, &a.iter().map(String::as_str).collect::<Vec<_>>());
    }
    ok(p, &["merge", "six.cdb"]);
    assert_same_tree(&p.join("one.cdb"), &p.join("six.cdb"));
}
