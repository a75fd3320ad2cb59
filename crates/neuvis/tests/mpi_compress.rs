//! `neuvis compress` and `neuvis inr fit` under `mpirun` (built with `--features mpi`):
//! data-parallel training, each rank on its share of every global batch, one all-reduce of the
//! gradients per step. Checked here (and for `inr fit`, the held-out RMSE within 1 % and the
//! unquantized weights within 1e-5 relative):
//! 2 and 3 ranks train the model one process trains (the same global batch and seed: the same
//! training PSNR and decoded quality within 0.02 dB, the difference being the order of
//! floating-point sums); an error on one rank ends every rank with a message naming it, and no
//! output; a job whose rank was killed leaves a checkpoint that one process resumes. Needs Open
//! MPI's `mpirun` (CI installs `openmpi-bin libopenmpi-dev`).

mod common;
use common::{ok, text};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn mpirun(dir: &Path, ranks: usize, args: &[&str]) -> Command {
    let mut c = Command::new("mpirun");
    c.current_dir(dir)
        .args(["--allow-run-as-root", "--oversubscribe", "-np", &ranks.to_string()])
        .arg(env!("CARGO_BIN_EXE_neuvis"))
        .args(args);
    c
}

/// Waits for `child` at most `limit`; a job that hangs (a rank left waiting in a collective) fails
/// the test instead of blocking it.
fn wait(mut child: Child, limit: Duration) -> Output {
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("mpirun still running after {limit:?}: a rank hangs");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn run_ranks(dir: &Path, ranks: usize, args: &[&str]) -> Output {
    let child = mpirun(dir, ranks, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait(child, Duration::from_secs(300))
}

/// The `--json` result: one object on stdout, rank 0's (a second rank's would not parse).
fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: one result object expected: {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

/// Mean PSNR of the model against the collection it was trained on, by `neuvis eval`.
fn eval_psnr(dir: &Path, model: &str) -> f64 {
    let o = ok(dir, &["eval", "t.cdb", model, "--json", "-q"]);
    serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["psnr"]
        .as_f64()
        .unwrap()
}

fn collection(dir: &Path) {
    ok(
        dir,
        &[
            "render",
            "--volume",
            "tornado",
            "--size",
            "32",
            "--theta-step",
            "45",
            "--phi-step",
            "60",
            "--times",
            "0,24",
            "-o",
            "t.cdb",
            "-q",
        ],
    );
}

/// 48 images in batches of 5: the last batch holds 3, and with 3 ranks the shares are uneven.
const TRAIN: &[&str] = &[
    "--epochs", "8", "--batch", "5", "--c1", "8", "--seed", "3", "--json", "-q",
];

#[test]
fn mpirun_trains_the_model_one_process_trains() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    collection(p);
    let mut one = vec!["compress", "t.cdb", "-o", "one.nrvi"];
    one.extend_from_slice(TRAIN);
    let o1 = ok(p, &one);
    let psnr1 = json(&o1)["final_train_psnr"].as_f64().unwrap();
    let eval1 = eval_psnr(p, "one.nrvi");
    assert!(psnr1 > 10.0 && eval1 > 10.0, "{psnr1} {eval1}");
    for ranks in [2, 3] {
        let name = format!("ranks{ranks}.nrvi");
        let mut args = vec!["compress", "t.cdb", "-o", &name];
        args.extend_from_slice(TRAIN);
        let o = run_ranks(p, ranks, &args);
        assert!(o.status.success(), "{ranks} ranks: {}", text(&o));
        assert!(
            text(&o).contains(&format!("{ranks} MPI ranks share each batch")),
            "{}",
            text(&o)
        );
        let psnr = json(&o)["final_train_psnr"].as_f64().unwrap();
        assert!(
            (psnr - psnr1).abs() < 0.02,
            "{ranks} ranks: training PSNR {psnr} vs {psnr1} in one process"
        );
        let eval = eval_psnr(p, &name);
        assert!(
            (eval - eval1).abs() < 0.02,
            "{ranks} ranks: decoded PSNR {eval} vs {eval1} in one process"
        );
    }
}

#[test]
fn an_error_on_one_rank_ends_every_rank_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    collection(p);
    // a damaged image, read only when a batch needs it (streamed): the rank whose share holds it
    // fails in the middle of an epoch while the other waits in the step's all-reduce
    let mut pngs: Vec<_> = std::fs::read_dir(p.join("t.cdb/t0000"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
        .collect();
    pngs.sort();
    let bytes = std::fs::read(&pngs[4]).unwrap();
    std::fs::write(&pngs[4], &bytes[..bytes.len() / 2]).unwrap();
    let o = run_ranks(
        p,
        2,
        &[
            "compress", "t.cdb", "-o", "bad.nrvi", "--epochs", "3", "--batch", "4", "--c1", "8", "--load", "stream",
        ],
    );
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("error (rank ") && t.contains(" of 2): "), "{t}");
    let name = pngs[4].file_name().unwrap().to_str().unwrap();
    assert!(t.contains(name), "the message names the damaged file: {t}");
    assert!(!p.join("bad.nrvi").exists());
}

/// The pids of `parent`'s children (Linux `/proc`).
fn children(parent: u32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …; comm may hold spaces, so read after the last ')'
        let after = &stat[stat.rfind(')').unwrap_or(0) + 1..];
        if after.split_whitespace().nth(1).and_then(|s| s.parse::<u32>().ok()) == Some(parent) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn a_killed_rank_ends_the_job_and_one_process_resumes_its_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    collection(p);
    let train = [
        "--epochs",
        "60",
        "--batch",
        "6",
        "--c1",
        "8",
        "--seed",
        "5",
        "--checkpoint-every",
        "1",
        "--json",
    ];
    let mut args = vec!["compress", "t.cdb", "-o", "m.nrvi"];
    args.extend_from_slice(&train);
    let child = mpirun(p, 2, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mpirun_pid = child.id();
    // once rank 0 has written a checkpoint of two epochs, kill rank 1 outright
    let state = p.join(".m.nrvi.ckpt/state.json");
    let t0 = Instant::now();
    loop {
        let done = std::fs::read(&state)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["epochs_done"].as_u64())
            .unwrap_or(0);
        if done >= 2 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "no checkpoint of 2 epochs");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ranks = children(mpirun_pid);
    assert_eq!(ranks.len(), 2, "{ranks:?}");
    let killed = Command::new("kill")
        .args(["-9", &ranks[1].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = wait(child, Duration::from_secs(60));
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("rank"), "mpirun names the rank: {}", text(&o));
    assert!(!p.join("m.nrvi").exists());
    // one process continues the two ranks' checkpoint and ends where one process alone ends
    let mut resume = args.clone();
    resume.push("--resume");
    let r = ok(p, &resume);
    assert!(text(&r).contains("resuming from epoch"), "{}", text(&r));
    let mut alone = vec!["compress", "t.cdb", "-o", "alone.nrvi"];
    alone.extend_from_slice(&train);
    let a = ok(p, &alone);
    let (pr, pa) = (
        json(&r)["final_train_psnr"].as_f64().unwrap(),
        json(&a)["final_train_psnr"].as_f64().unwrap(),
    );
    assert!((pr - pa).abs() < 0.02, "resumed {pr} vs uninterrupted {pa}");
    assert!(
        !p.join(".m.nrvi.ckpt").exists(),
        "the checkpoint goes once the file is written"
    );
}

#[test]
fn neuvis_slurm_runs_one_mpi_job_that_trains_the_model_one_process_trains() {
    if std::env::var_os("NEUVIS_SLURM_TEST").is_none_or(|v| v != "1") {
        eprintln!("skipped: set NEUVIS_SLURM_TEST=1 with a Slurm cluster (tools/slurm_local.sh start)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    collection(p);
    let mut one = vec!["compress", "t.cdb", "-o", "one.nrvi"];
    one.extend_from_slice(TRAIN);
    let psnr1 = json(&ok(p, &one))["final_train_psnr"].as_f64().unwrap();
    // the local cluster's MpiDefault is none: name Open MPI's plugin
    let mut args = vec![
        "slurm",
        "--nodes",
        "1",
        "--tasks-per-node",
        "2",
        "--mpi",
        "pmix",
        "--submit",
        "--wait",
        "--",
        "compress",
        "t.cdb",
        "-o",
        "job.nrvi",
    ];
    args.extend_from_slice(TRAIN);
    let o = ok(p, &args);
    assert!(text(&o).contains("MPI job"), "{}", text(&o));
    let script = std::fs::read_to_string(p.join("job.slurm.sh")).unwrap();
    assert!(
        script.contains("#SBATCH --ntasks-per-node=2") && script.contains("srun --mpi=pmix"),
        "{script}"
    );
    // the job's log holds rank 0's result object (the text report went to stderr, into the log too)
    let log = std::fs::read_dir(p)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("job.slurm-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .expect("the job's log");
    assert!(log.contains("2 MPI ranks share each batch"), "{log}");
    let start = log.find('{').expect("the result object");
    let end = log.rfind('}').expect("the result object");
    let v: serde_json::Value = serde_json::from_str(&log[start..=end]).unwrap();
    let psnr = v["final_train_psnr"].as_f64().unwrap();
    assert!((psnr - psnr1).abs() < 0.02, "Slurm job {psnr} vs one process {psnr1}");
    assert!((eval_psnr(p, "job.nrvi") - eval_psnr(p, "one.nrvi")).abs() < 0.02);
}

/// The held-out RMSE `inr fit` reports.
fn held_out_rmse(o: &Output) -> f64 {
    let t = String::from_utf8_lossy(&o.stdout);
    let at = t.find("held-out RMSE ").unwrap_or_else(|| panic!("{t}")) + "held-out RMSE ".len();
    t[at..].split_whitespace().next().unwrap().parse().unwrap()
}

/// The f32 tensors of a safetensors file, by name (the format: an 8-byte header length, a JSON
/// header of dtypes and offsets, the data).
fn tensors(path: &Path) -> std::collections::BTreeMap<String, Vec<f32>> {
    let b = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
    let data = &b[8 + n..];
    h.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(k, v)| {
            assert_eq!(v["dtype"], "F32", "{k}");
            let (s, e) = (
                v["data_offsets"][0].as_u64().unwrap() as usize,
                v["data_offsets"][1].as_u64().unwrap() as usize,
            );
            let w = data[s..e]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            (k.clone(), w)
        })
        .collect()
}

#[test]
fn mpirun_fits_the_inr_one_process_fits() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    // 500 points a step: shares of 250 (2 ranks) and 167, 167, 166 (3 ranks)
    let fit = [
        "inr",
        "fit",
        "--function",
        "sin-inv-r",
        "--hidden",
        "16,16",
        "--steps",
        "150",
        "--batch",
        "500",
        "--seed",
        "2",
    ];
    let mut one = fit.to_vec();
    one.extend(["-o", "one.json"]);
    let r1 = held_out_rmse(&ok(p, &one));
    for ranks in [2, 3] {
        let name = format!("ranks{ranks}.json");
        let mut args = fit.to_vec();
        args.extend(["-o", &name]);
        let o = run_ranks(p, ranks, &args);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains(&format!("{ranks} MPI ranks shared")), "{}", text(&o));
        let r = held_out_rmse(&o);
        assert!(
            (r - r1).abs() <= 0.01 * r1,
            "{ranks} ranks: RMSE {r} vs {r1} in one process"
        );
        assert!(p.join(&name).is_file());
        // the weights (stored unquantized) within 1e-5 of each tensor's largest magnitude
        let (a, b) = (
            tensors(&p.join("one.safetensors")),
            tensors(&p.join(format!("ranks{ranks}.safetensors"))),
        );
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (k, wa) in &a {
            let scale = wa.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = wa.iter().zip(&b[k]).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                worst <= 1e-5 * scale,
                "{ranks} ranks, {k}: |Δw| {worst} against max |w| {scale}"
            );
        }
    }
}
