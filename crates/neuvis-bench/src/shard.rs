//! `neuvis bench shard`: a sharded `render` (N tasks + `neuvis merge`) against the single-process
//! render of the same collection, in one run: wall time, images/s, the merge's cost, and whether
//! the merged database equals the single-process one byte for byte.
//!
//! Tasks run as local processes started together (`--threads` = cores / N each), or, with
//! `--slurm`, as a real job array through `neuvis slurm --submit --wait` (the time then includes
//! Slurm's scheduling).

use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Options of `neuvis bench shard`.
#[derive(Args, Debug)]
pub struct ShardBenchArgs {
    /// Task counts to compare with the single process (comma-separated).
    #[arg(long, default_value = "2,4")]
    pub tasks: String,
    /// Image edge length.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Time steps of the tornado (`render --times`; the paper's collection is all 48).
    #[arg(long, default_value = "all")]
    pub times: String,
    /// θ and φ step in degrees (9 gives the paper's 800 views per step).
    #[arg(long, default_value_t = 9.0)]
    pub angle_step: f64,
    /// Run the tasks as a Slurm job array (`neuvis slurm --submit --wait`) instead of local processes.
    #[arg(long)]
    pub slurm: bool,
    /// Scratch folder for the collections (must exist; default: a temporary folder, removed after).
    /// The benchmark's own `bench-shard-N.cdb` folders there (neuvis's, from an earlier run) are
    /// replaced; nothing else in it is touched.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Every file under `dir`: relative path → (length, FNV-1a hash).
fn digest(dir: &Path) -> Result<std::collections::BTreeMap<PathBuf, (u64, u64)>> {
    fn walk(root: &Path, d: &Path, out: &mut std::collections::BTreeMap<PathBuf, (u64, u64)>) -> Result<()> {
        for e in std::fs::read_dir(d).with_context(|| format!("listing {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else {
                let b = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                let h = b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
                    (h ^ x as u64).wrapping_mul(0x100_0000_01b3)
                });
                out.insert(p.strip_prefix(root)?.to_path_buf(), (b.len() as u64, h));
            }
        }
        Ok(())
    }
    let mut m = std::collections::BTreeMap::new();
    walk(dir, dir, &mut m)?;
    Ok(m)
}

fn render_args(a: &ShardBenchArgs, out: &Path) -> Vec<String> {
    let step = a.angle_step.to_string();
    [
        "render",
        "--volume",
        "tornado",
        "--size",
        &a.size.to_string(),
        "--theta-step",
        &step,
        "--phi-step",
        &step,
        "--times",
        &a.times,
        "-q",
        "-o",
        &out.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_ok(cmd: &mut Command, what: &str) -> Result<()> {
    let o = cmd.output().with_context(|| format!("starting {what}"))?;
    if !o.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    Ok(())
}

/// Runs `neuvis bench shard`.
pub fn run(a: &ShardBenchArgs) -> Result<()> {
    let tasks: Vec<usize> = a
        .tasks
        .split(',')
        .map(|s| s.trim().parse::<usize>().ok().filter(|&n| (1..=1024).contains(&n)))
        .collect::<Option<_>>()
        .with_context(|| format!("--tasks '{}': expected task counts like 2,4", a.tasks))?;
    neuvis_cli::num::image_size(&a.size.to_string()).map_err(|e| anyhow::anyhow!("--size {e}"))?;
    let exe = crate::machine::neuvis_exe()?;
    let tmp;
    let dir = match &a.dir {
        Some(d) => {
            if !d.is_dir() {
                bail!("--dir {}: no such folder", d.display());
            }
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    eprintln!("rendering the single-process baseline…");
    let base = dir.join("bench-shard-1.cdb");
    let t0 = Instant::now();
    run_ok(
        Command::new(&exe).args(render_args(a, &base)).arg("--overwrite"),
        "the single-process render",
    )?;
    let base_s = t0.elapsed().as_secs_f64();
    let reference = digest(&base)?;
    let images = reference.len().saturating_sub(2);
    let bytes: u64 = reference.values().map(|v| v.0).sum();
    let mut table = crate::table::Table::new(
        "shard",
        format!(
            "shard benchmark: tornado, {} images of {}² ({:.0} MB), {} cores, tasks as {}",
            images,
            a.size,
            bytes as f64 / 1e6,
            cores,
            if a.slurm {
                "a Slurm job array (neuvis slurm --submit --wait)"
            } else {
                "local processes"
            }
        ),
        &[
            "run",
            "tasks",
            "threads/task",
            "wall s",
            "images/s",
            "vs 1 process",
            "of which merge s",
            "identical",
        ],
    );
    table.row(vec![
        "single process (baseline)".into(),
        "1".into(),
        cores.to_string(),
        format!("{base_s:.1}"),
        format!("{:.1}", images as f64 / base_s),
        "1.00×".into(),
        "–".into(),
        "–".into(),
    ]);
    for &n in &tasks {
        let out = dir.join(format!("bench-shard-{n}.cdb"));
        for p in [out.clone()]
            .into_iter()
            .chain((0..n).map(|i| neuvis_base::Shard { index: i, count: n }.part_path(&out)))
        {
            if p.exists() && neuvis_base::fs::is_neuvis_folder(&p) {
                std::fs::remove_dir_all(&p)?;
            }
        }
        let threads = (cores / n).max(1);
        eprintln!("{n} tasks…");
        let t = Instant::now();
        let merge_s = if a.slurm {
            let mut args: Vec<String> = vec![
                "slurm".into(),
                "--tasks".into(),
                n.to_string(),
                "--cpus-per-task".into(),
                threads.to_string(),
                "--submit".into(),
                "--wait".into(),
                "--overwrite".into(),
                "--".into(),
            ];
            args.extend(render_args(a, &out));
            run_ok(Command::new(&exe).args(&args).current_dir(&dir), "the Slurm job array")?;
            // the merge ran inside Slurm: its own log has its time; time it again here
            let log: Option<String> = std::fs::read_dir(&dir)?
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|f| f.to_string_lossy().starts_with(&format!("bench-shard-{n}.merge-")))
                })
                .max()
                .and_then(|p| std::fs::read_to_string(p).ok());
            log.and_then(|l| {
                l.split(" in ")
                    .last()
                    .and_then(|x| x.trim().trim_end_matches(" s").parse::<f64>().ok())
            })
            .unwrap_or(f64::NAN)
        } else {
            let children: Vec<std::process::Child> = (0..n)
                .map(|i| {
                    Command::new(&exe)
                        .arg("--threads")
                        .arg(threads.to_string())
                        .args(render_args(a, &out))
                        .arg("--shard")
                        .arg(format!("{i}/{n}"))
                        .stdout(std::process::Stdio::null())
                        .spawn()
                        .context("starting a task")
                })
                .collect::<Result<_>>()?;
            for mut c in children {
                if !c.wait()?.success() {
                    bail!("a task of {n} failed");
                }
            }
            let tm = Instant::now();
            run_ok(
                Command::new(&exe).args(["merge", &out.display().to_string()]),
                "the merge",
            )?;
            tm.elapsed().as_secs_f64()
        };
        let wall = t.elapsed().as_secs_f64();
        let same = digest(&out)? == reference;
        table.row(vec![
            format!("{n} {}", if a.slurm { "array tasks" } else { "processes" }),
            n.to_string(),
            threads.to_string(),
            format!("{wall:.1}"),
            format!("{:.1}", images as f64 / wall),
            format!("{:.2}×", base_s / wall),
            format!("{merge_s:.2}"),
            if same { "yes" } else { "NO" }.into(),
        ]);
        if !same {
            bail!("the merged database of {n} tasks differs from the single-process one");
        }
        for i in 0..n {
            let p = neuvis_base::Shard { index: i, count: n }.part_path(&out);
            if neuvis_base::fs::is_neuvis_folder(&p) {
                std::fs::remove_dir_all(&p)?;
            }
        }
        if a.dir.is_none() {
            std::fs::remove_dir_all(&out)?;
        }
    }
    table.print();
    Ok(())
}
