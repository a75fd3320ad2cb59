//! `neuvis slurm`: runs a shardable command (`render`, `decompress`, `eval --csv`, `raycast
//! prepare`) as a Slurm job array of N tasks plus a merge job that starts when every task succeeded
//! (`--dependency=afterok`). It writes the two `sbatch` scripts beside the output and, with
//! `--submit`, submits them.
//!
//! The scripts are plain `sbatch` files a user can read, edit and resubmit: the array task runs the
//! command with `--shard $SLURM_ARRAY_TASK_ID/N` (so task K writes part K of N, also when it is
//! rerun alone with `sbatch --array=K`), the merge job runs
//! `neuvis merge` on the output. If a task fails, Slurm cancels the merge job
//! (`--kill-on-invalid-dep=yes`); rerunning the failed task (`sbatch --array=K job.sh`) and then
//! the merge script finishes the job.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser};
use std::path::{Path, PathBuf};

/// Options of `neuvis slurm`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Example (a 4-task job array rendering 48 × 800 views, then the merge):
  neuvis slurm --tasks 4 --cpus-per-task 8 --time 02:00:00 --submit -- \\
      render --volume 'tornado_t*.nrrd' --size 256 -o tornado.cdb
  # writes tornado.slurm.sh (the array) and tornado.merge.slurm.sh (neuvis merge tornado.cdb)")]
pub struct SlurmArgs {
    /// Tasks in the job array (shards of the work).
    #[arg(long)]
    pub tasks: usize,
    /// Slurm partition (`#SBATCH --partition`).
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit of each task, as sbatch takes it (`--time`, e.g. 01:30:00).
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs per task (`--cpus-per-task`); neuvis uses that many threads.
    #[arg(long)]
    pub cpus_per_task: Option<usize>,
    /// Memory per task, as sbatch takes it (`--mem`, e.g. 8G).
    #[arg(long)]
    pub mem: Option<String>,
    /// Account to charge (`--account`).
    #[arg(long)]
    pub account: Option<String>,
    /// Job name (default: neuvis-COMMAND).
    #[arg(long)]
    pub job_name: Option<String>,
    /// Extra `#SBATCH` lines for both jobs (repeatable), e.g. `--sbatch=--qos=short`.
    #[arg(long = "sbatch", value_name = "OPTION", allow_hyphen_values = true)]
    pub extra: Vec<String>,
    /// Submit both jobs with sbatch (the merge job depends on the array).
    #[arg(long)]
    pub submit: bool,
    /// With --submit: wait until the merge job ends; fail if a task or the merge failed.
    #[arg(long, requires = "submit")]
    pub wait: bool,
    /// Replace existing scripts neuvis wrote.
    #[arg(long)]
    pub overwrite: bool,
    /// The neuvis command to shard, after `--`: render …, decompress …, eval … --csv F, raycast prepare ….
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Quotes `s` for a POSIX shell.
pub(crate) fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The output a shardable command names, or an error saying which commands shard.
fn sharded_output(command: &[String]) -> Result<(String, PathBuf)> {
    let mut argv = vec!["neuvis".to_string()];
    argv.extend(command.iter().cloned());
    let cli = crate::Cli::try_parse_from(&argv).map_err(|e| anyhow::anyhow!("the command after --: {e}"))?;
    let (name, out, shard) = match &cli.cmd {
        crate::Cmd::Render(a) => ("render", a.output.clone(), a.shard),
        crate::Cmd::Decompress(a) => ("decompress", a.output.clone(), a.shard),
        crate::Cmd::Eval(a) => match &a.csv {
            Some(c) => ("eval", c.clone(), a.shard),
            None => bail!("eval shards its per-image table: give --csv FILE"),
        },
        crate::Cmd::Raycast(r) => match r {
            crate::raycast_cmd::RaycastCmd::Prepare(a) => ("prepare", a.output.clone(), a.shard),
            _ => bail!("of the raycast commands only `raycast prepare` shards"),
        },
        _ => bail!(
            "`{}` does not shard: the sharded commands are render, decompress, eval --csv and raycast prepare (training is one process per model)",
            command.first().map(String::as_str).unwrap_or("")
        ),
    };
    if shard.is_some() {
        bail!("leave --shard out of the command: the job array adds --shard $SLURM_ARRAY_TASK_ID/N");
    }
    Ok((name.to_string(), out))
}

/// The scripts `neuvis slurm` writes: (array script, merge script, their text).
pub struct Scripts {
    /// The job-array script.
    pub array: (PathBuf, String),
    /// The merge script.
    pub merge: (PathBuf, String),
}

/// Builds the two scripts for `a` (nothing written).
pub fn scripts(a: &SlurmArgs) -> Result<Scripts> {
    if a.tasks == 0 || a.tasks > neuvis_base::shard::MAX_SHARDS {
        bail!("--tasks {}: expected 1 to {}", a.tasks, neuvis_base::shard::MAX_SHARDS);
    }
    let (name, out) = sharded_output(&a.command)?;
    let exe = std::env::current_exe().context("finding the neuvis binary")?;
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let out_abs = if out.is_absolute() { out.clone() } else { cwd.join(&out) };
    let dir = out_abs.parent().map(Path::to_path_buf).unwrap_or_else(|| cwd.clone());
    let stem = out_abs
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "neuvis".into());
    let job = a.job_name.clone().unwrap_or_else(|| format!("neuvis-{name}"));
    let header = |array: bool, job: &str| -> String {
        let mut h = String::from("#!/bin/bash\n");
        h.push_str(&format!(
            "{} {} (`neuvis slurm`; `--overwrite` replaces only scripts with this line)\n",
            std::str::from_utf8(SCRIPT_MARK).unwrap_or("#"),
            env!("CARGO_PKG_VERSION")
        ));
        h.push_str(&format!("#SBATCH --job-name={}\n", quote(job)));
        if array {
            h.push_str(&format!("#SBATCH --array=0-{}\n", a.tasks - 1));
            h.push_str(&format!(
                "#SBATCH --output={}\n",
                quote(&dir.join(format!("{stem}.slurm-%A_%a.log")).display().to_string())
            ));
        } else {
            h.push_str(&format!(
                "#SBATCH --output={}\n",
                quote(&dir.join(format!("{stem}.merge-%j.log")).display().to_string())
            ));
        }
        h.push_str("#SBATCH --ntasks=1\n");
        if let Some(c) = a.cpus_per_task {
            h.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
        }
        for (flag, v) in [
            ("partition", &a.partition),
            ("time", &a.time),
            ("mem", &a.mem),
            ("account", &a.account),
        ] {
            if let Some(v) = v {
                h.push_str(&format!("#SBATCH --{flag}={}\n", quote(v)));
            }
        }
        for e in &a.extra {
            h.push_str(&format!("#SBATCH {}\n", quote(e)));
        }
        h.push_str(&format!(
            "# written by neuvis {} (`neuvis slurm`); edit freely\nset -euo pipefail\ncd {}\n",
            env!("CARGO_PKG_VERSION"),
            quote(&cwd.display().to_string())
        ));
        h
    };
    let cmd: Vec<String> = a.command.iter().map(|s| quote(s)).collect();
    let mut array = header(true, &job);
    array.push_str(&format!(
        "# task $SLURM_ARRAY_TASK_ID of {n} writes its part {part}; the shard count is fixed here, so\n# `sbatch --array=K THIS_SCRIPT` reruns task K alone\nexec {exe} --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" {cmd} --shard \"$SLURM_ARRAY_TASK_ID/{n}\"\n",
        n = a.tasks,
        part = neuvis_base::Shard { index: 0, count: a.tasks }
            .part_path(&out)
            .display()
            .to_string()
            .replace("0000-of", "IIII-of"),
        exe = quote(&exe.display().to_string()),
        cmd = cmd.join(" "),
    ));
    let mut merge = header(false, &format!("{job}-merge"));
    merge.push_str(&format!(
        "exec {} --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" merge {}\n",
        quote(&exe.display().to_string()),
        quote(&out.display().to_string())
    ));
    Ok(Scripts {
        array: (dir.join(format!("{stem}.slurm.sh")), array),
        merge: (dir.join(format!("{stem}.merge.slurm.sh")), merge),
    })
}

/// Whether an executable file `name` is in a folder of `PATH`.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let p = dir.join(name);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                p.metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            }
            #[cfg(not(unix))]
            {
                p.is_file()
            }
        })
    })
}

/// Runs `sbatch ARGS`, returning the job id (`--parsable` prints `ID` or `ID;CLUSTER`).
fn sbatch(args: &[&str]) -> Result<String> {
    let out = std::process::Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .output()
        .context("running sbatch (is Slurm installed and SLURM_CONF set?)")?;
    if !out.status.success() {
        bail!(
            "sbatch {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch printed '{}', not a job id", text.trim());
    }
    Ok(id)
}

/// The comment on the second line of every script `neuvis slurm` writes.
pub const SCRIPT_MARK: &[u8] = b"# written by neuvis";

/// Runs `neuvis slurm`.
pub fn run(a: &SlurmArgs) -> Result<()> {
    if a.submit && !on_path("sbatch") {
        bail!(
            "--submit: sbatch is not on PATH (is Slurm installed here?); nothing was written. \
             Without --submit the scripts are written for you to submit where Slurm is"
        );
    }
    let s = scripts(a)?;
    for (p, _) in [&s.array, &s.merge] {
        let kind = crate::outputs::OutputKind::FileWithMark(SCRIPT_MARK, "a script neuvis slurm wrote");
        crate::outputs::check(p, kind, a.overwrite, &[])?;
    }
    for (p, text) in [&s.array, &s.merge] {
        neuvis_base::write_atomic(p, |w| std::io::Write::write_all(w, text.as_bytes()))
            .with_context(|| format!("writing {}", p.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
        }
    }
    println!("wrote {} (job array of {} tasks)", s.array.0.display(), a.tasks);
    println!("wrote {} (merge, after every task succeeded)", s.merge.0.display());
    if !a.submit {
        println!(
            "submit with:\n  jid=$(sbatch --parsable {})\n  sbatch --dependency=afterok:$jid --kill-on-invalid-dep=yes {}",
            quote(&s.array.0.display().to_string()),
            quote(&s.merge.0.display().to_string())
        );
        return Ok(());
    }
    let array_path = s.array.0.display().to_string();
    let merge_path = s.merge.0.display().to_string();
    let jid = sbatch(&[&array_path])?;
    let dep = format!("--dependency=afterok:{jid}");
    let mut margs = vec![dep.as_str(), "--kill-on-invalid-dep=yes"];
    if a.wait {
        margs.push("--wait");
    }
    margs.push(&merge_path);
    println!("submitted job array {jid}");
    let mid = sbatch(&margs).map_err(|e| {
        if a.wait {
            e.context(format!(
                "the merge did not run or failed: a task of job array {jid} failed (see its logs; rerun it with sbatch --array=K {array_path}) or the merge failed (see its log)"
            ))
        } else {
            e
        }
    })?;
    if a.wait {
        println!("merge job {mid} finished");
    } else {
        println!("submitted merge job {mid} (starts when job {jid} succeeded)");
    }
    Ok(())
}
