//! What a batch job sees: progress lines in a log file, and Ctrl-C/SIGTERM that keep the work done
//! so far and say how to continue it (issue #37, items 2 and 3).

mod common;

use common::{count_pngs, ml_args, neuvis, ok, text, tornado_collection};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Lines of `stderr` that are progress lines of `what` (`[hh:mm:ss] what: …`).
fn progress_lines<'a>(stderr: &'a str, what: &str) -> Vec<&'a str> {
    let tag = format!("] {what}: ");
    stderr
        .lines()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() > 11 && b[0] == b'[' && b[3] == b':' && b[6] == b':' && b[9] == b']' && l.contains(&tag)
        })
        .collect()
}

#[test]
fn a_log_file_gets_plain_progress_lines() {
    let d = tempfile::tempdir().unwrap();
    // stderr is a pipe here, as it is a file in `2>log` or a Slurm job: no bar, plain lines
    let o = ok(d.path(), &ml_args("ml.cdb", &["--progress-interval", "0"]));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let lines = progress_lines(&err, "render");
    assert!(lines.len() >= 2, "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/8 images (") && l.contains("images/s")),
        "{err}"
    );
    assert!(lines.iter().any(|l| l.contains(", ETA ")), "{err}");
    assert!(lines.last().unwrap().contains("8/8 images (100.0 %)"), "{err}");
    assert!(lines.last().unwrap().contains("finished in"), "{err}");
    // no terminal control characters (indicatif's redraws) in a log
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");

    let o = ok(
        d.path(),
        &[
            "compress",
            "ml.cdb",
            "-o",
            "ml.nrvi",
            "--c1",
            "8",
            "--epochs",
            "3",
            "--qat-epochs",
            "1",
            "--batch",
            "4",
            "--progress-interval",
            "0",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let lines = progress_lines(&err, "compress");
    // 8 images in batches of 4: 2 steps an epoch, 6 in all
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/6 steps (") && l.contains("epoch 1/3: loss ")),
        "{err}"
    );
    assert!(
        lines.iter().any(|l| l.contains("PSNR") && l.contains("images/s")),
        "{err}"
    );
    assert!(
        lines.last().unwrap().contains("6/6 steps (100.0 %), epoch 3/3"),
        "{err}"
    );

    // the default interval (30 s) prints nothing for a job this short, -q never
    let o = ok(
        d.path(),
        &["eval", "ml.cdb", "ml.cdb", "--progress-interval", "0", "-q"],
    );
    assert!(o.stderr.is_empty(), "{}", text(&o));
    let o = neuvis(d.path(), &["eval", "ml.cdb", "ml.cdb", "--progress-interval", "-1"]);
    assert!(
        !o.status.success() && text(&o).contains("--progress-interval"),
        "{}",
        text(&o)
    );
}

/// Starts `neuvis ARGS…` in `dir` with its output piped.
fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most 5 minutes) until `cond` holds; false if the child ended first.
fn wait_until(child: &mut Child, cond: impl Fn() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(300) {
        if cond() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("timed out waiting for the command to reach the point to interrupt");
}

fn signal(child: &Child, sig: &str) {
    let s = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(s.success());
}

/// Files named `.neuvis-tmp…` anywhere under `dir`.
fn temporaries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(".neuvis-tmp") {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn ctrl_c_keeps_the_rendered_images_and_says_how_to_continue() {
    let d = tempfile::tempdir().unwrap();
    // 36 × 72 = 2,592 views: long enough to interrupt after the first images
    let args = [
        "render",
        "--volume",
        "marschner-lobb",
        "--size",
        "96",
        "--theta-step",
        "5",
        "--phi-step",
        "5",
        "-o",
        "my data.cdb",
    ];
    let mut child = spawn(d.path(), &args);
    let partial = d.path().join(".my data.cdb.partial");
    let started = wait_until(&mut child, || {
        std::fs::read_dir(partial.join("t0000")).is_ok_and(|r| r.flatten().count() >= 3)
    });
    assert!(started, "the render ended before it could be interrupted");
    signal(&child, "-INT");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("Ctrl-C: stopping at the next safe point"), "{err}");
    let kept_line = err.lines().find(|l| l.starts_with("interrupted: ")).expect(&err);
    let kept: usize = kept_line["interrupted: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .expect(kept_line);
    assert!(
        kept_line.ends_with("of 2592 images are kept in .my data.cdb.partial"),
        "{kept_line}"
    );
    // the count is what is there: every image in the folder is whole, no temporary file is left
    assert_eq!(count_pngs(&partial), kept, "{err}");
    assert!(kept < 2592);
    assert!(temporaries(d.path()).is_empty(), "{:?}", temporaries(d.path()));
    assert!(!d.path().join("my data.cdb").exists());
    // the command it prints continues the run, as typed into a shell
    let cont = err.lines().find_map(|l| l.strip_prefix("to continue: ")).expect(&err);
    assert!(cont.ends_with("-o 'my data.cdb' --resume"), "{cont}");
    let o = Command::new("sh")
        .arg("-c")
        .arg(cont)
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("wrote 2592 images ({} rendered now)", 2592 - kept)),
        "{}",
        text(&o)
    );
    assert_eq!(count_pngs(&d.path().join("my data.cdb")), 2592);
    assert!(temporaries(d.path()).is_empty());
}

#[test]
fn sigterm_stops_training_at_a_step_and_keeps_the_last_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    tornado_collection(d.path(), "t.cdb", "24", "32");
    let mut child = spawn(
        d.path(),
        &[
            "compress",
            "t.cdb",
            "-o",
            "t.nrvi",
            "--c1",
            "8",
            "--epochs",
            "100000",
            "--checkpoint-every",
            "1",
            "--batch",
            "2",
        ],
    );
    let ck = d.path().join(".t.nrvi.ckpt");
    let started = wait_until(&mut child, || ck.join("state.json").is_file());
    assert!(started, "training ended before it could be interrupted");
    // Slurm's scancel and time limit send SIGTERM
    signal(&child, "-TERM");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(err.contains("SIGTERM: stopping at the next safe point"), "{err}");
    let line = err.lines().find(|l| l.starts_with("interrupted: ")).expect(&err);
    // the epoch the message names is the one the checkpoint holds
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ck.join("state.json")).unwrap()).unwrap();
    let done = state["epochs_done"].as_u64().unwrap();
    assert!(
        line.contains(&format!("the checkpoint after epoch {done} is kept in .t.nrvi.ckpt")),
        "{line} (state.json: {done})"
    );
    assert!(err.contains("to continue: ") && err.contains("--resume"), "{err}");
    assert!(!d.path().join("t.nrvi").exists());
    assert!(temporaries(d.path()).is_empty(), "{:?}", temporaries(d.path()));
}

#[test]
fn ctrl_c_stops_decoding_and_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    tornado_collection(d.path(), "t.cdb", "24", "32");
    ok(
        d.path(),
        &[
            "compress", "t.cdb", "-o", "t.nrvi", "--c1", "4", "--epochs", "1", "--batch", "4", "-q",
        ],
    );
    // the same grid from a network that makes 1024² images: seconds of decoding
    let big = common::resized_model(&std::fs::read(d.path().join("t.nrvi")).unwrap(), 1024);
    std::fs::write(d.path().join("big.nrvi"), big).unwrap();
    let mut params = Vec::new();
    for k in 0..64 {
        params.push("--view".to_string());
        params.push(format!("0,{},{}", k % 2 * 90, k * 5));
    }
    let mut args = vec!["decompress", "big.nrvi", "-o", "out.cdb", "--batch", "1"];
    args.extend(params.iter().map(String::as_str));
    let mut child = spawn(d.path(), &args);
    let partial = d.path().join(".out.cdb.partial");
    let started = wait_until(&mut child, || count_pngs_if(&partial) >= 1);
    assert!(started, "the decode ended before it could be interrupted");
    signal(&child, "-INT");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("of 64 images; nothing was kept (the partial out.cdb is removed)"),
        "{err}"
    );
    assert!(!err.contains("to continue"), "{err}");
    assert!(!partial.exists() && !d.path().join("out.cdb").exists());
    assert!(temporaries(d.path()).is_empty(), "{:?}", temporaries(d.path()));
}

/// PNGs under `dir`, 0 if it does not exist (yet).
fn count_pngs_if(dir: &Path) -> usize {
    if dir.is_dir() {
        count_pngs(dir)
    } else {
        0
    }
}

#[test]
fn a_step_that_fails_to_load_keeps_the_earlier_images_for_resume() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    // two 16³ u8 volumes (a ball); the second one truncated on disk
    let ball: Vec<u8> = (0i32..16 * 16 * 16)
        .map(|i| {
            let (x, y, z) = (i % 16, (i / 16) % 16, i / 256);
            let r2 = (x - 8).pow(2) + (y - 8).pow(2) + (z - 8).pow(2);
            if r2 < 25 {
                200
            } else {
                10
            }
        })
        .collect();
    std::fs::write(p.join("v_0.raw"), &ball).unwrap();
    std::fs::write(p.join("v_1.raw"), &ball[..1000]).unwrap();
    let args = [
        "render",
        "--volume",
        "v_0.raw",
        "v_1.raw",
        "--raw-dims",
        "16x16x16",
        "--size",
        "16",
        "--theta-step",
        "90",
        "--phi-step",
        "180",
        "--iso",
        "100",
        "-o",
        "s.cdb",
        "-q",
    ];
    let o = neuvis(p, &args);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("v_1.raw") && t.contains("kept in") && t.contains(".s.cdb.partial") && t.contains("--resume"),
        "{t}"
    );
    assert!(p.join(".s.cdb.partial").is_dir() && !p.join("s.cdb").exists());
    // the input fixed, --resume renders the rest
    std::fs::write(p.join("v_1.raw"), &ball).unwrap();
    let mut resume = args.to_vec();
    resume.push("--resume");
    ok(p, &resume);
    assert!(p.join("s.cdb/data.csv").is_file() && !p.join(".s.cdb.partial").exists());
}
