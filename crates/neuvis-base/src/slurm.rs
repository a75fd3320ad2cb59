//! Slurm job arrays of a sharded command: the two `sbatch` scripts `neuvis slurm` writes (an
//! array of N tasks, each running the command with `--shard $SLURM_ARRAY_TASK_ID/N`, and a merge
//! job), and `sbatch` itself.
//!
//! The scripts are plain `sbatch` files a user can read, edit and resubmit: task K writes part K
//! of N also when it is rerun alone with `sbatch --array=K`; the merge job runs `neuvis merge` on
//! the output. Submitted with `--dependency=afterok:ARRAY --kill-on-invalid-dep=yes`, the merge
//! starts only when every task succeeded.
//!
//! A command that runs on MPI ranks (`neuvis compress`'s data-parallel training, `neuvis amr`)
//! gets one job instead ([`mpi_script`]): `--nodes` × `--ntasks-per-node` ranks started by `srun`.

use crate::shard::{Shard, MAX_SHARDS};
use std::path::{Path, PathBuf};

/// Why the scripts cannot be made or submitted.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// Settings that cannot work (the message names the option).
    #[error("{0}")]
    Settings(String),
    /// `sbatch` could not run, failed or printed no job id.
    #[error("{0}")]
    Sbatch(String),
}

/// The `#SBATCH` settings of both jobs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobSpec {
    /// Tasks in the job array (shards of the work), 1 to [`MAX_SHARDS`].
    pub tasks: usize,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` of each task (as sbatch takes it, e.g. 01:30:00).
    pub time: Option<String>,
    /// `--cpus-per-task` (neuvis runs that many threads).
    pub cpus_per_task: Option<usize>,
    /// `--mem` per task (e.g. 8G).
    pub mem: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--job-name` (default: `neuvis-COMMAND`).
    pub job_name: Option<String>,
    /// Extra `#SBATCH` lines for both jobs, e.g. `--qos=short`.
    pub extra: Vec<String>,
}

/// The scripts of one sharded command: where each goes and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scripts {
    /// The job-array script (`OUT_STEM.slurm.sh` beside the output).
    pub array: (PathBuf, String),
    /// The merge script (`OUT_STEM.merge.slurm.sh`).
    pub merge: (PathBuf, String),
}

/// The comment on the second line of every script `neuvis slurm` writes (what `--overwrite`
/// looks for).
pub const SCRIPT_MARK: &[u8] = b"# written by neuvis";

/// Quotes `s` for a POSIX shell.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The folder the scripts go to (the output's, made absolute against `cwd`) and the output's stem.
fn dir_and_stem(cwd: &Path, out: &Path) -> (PathBuf, String) {
    let out_abs = if out.is_absolute() {
        out.to_path_buf()
    } else {
        cwd.join(out)
    };
    let dir = out_abs
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cwd.to_path_buf());
    let stem = out_abs
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "neuvis".into());
    (dir, stem)
}

/// The lines a script starts with: the mark, the job's name, `before_log` (the array line), its
/// log file, `tasks` (how many tasks, on which nodes), `spec`'s settings, and the move to `cwd`.
fn header(spec: &JobSpec, cwd: &Path, job: &str, before_log: &str, log: &Path, tasks: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut h = String::from("#!/bin/bash\n");
    h.push_str(&format!(
        "{} {version} (`neuvis slurm`; `--overwrite` replaces only scripts with this line)\n",
        std::str::from_utf8(SCRIPT_MARK).unwrap_or("#"),
    ));
    h.push_str(&format!("#SBATCH --job-name={}\n", quote(job)));
    h.push_str(before_log);
    h.push_str(&format!("#SBATCH --output={}\n", quote(&log.display().to_string())));
    h.push_str(tasks);
    if let Some(c) = spec.cpus_per_task {
        h.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
    }
    for (flag, v) in [
        ("partition", &spec.partition),
        ("time", &spec.time),
        ("mem", &spec.mem),
        ("account", &spec.account),
    ] {
        if let Some(v) = v {
            h.push_str(&format!("#SBATCH --{flag}={}\n", quote(v)));
        }
    }
    for e in &spec.extra {
        h.push_str(&format!("#SBATCH {}\n", quote(e)));
    }
    h.push_str(&format!(
        "# written by neuvis {version} (`neuvis slurm`); edit freely\nset -euo pipefail\ncd {}\n",
        quote(&cwd.display().to_string())
    ));
    h
}

/// Where the ranks of an MPI job (`neuvis slurm --nodes`) run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpiShape {
    /// Nodes.
    pub nodes: usize,
    /// Ranks on each node.
    pub ranks_per_node: usize,
    /// One GPU per rank: Slurm binds each rank to its own GPU, so every rank's `--device` is the
    /// GPU it was given.
    pub gpu_per_rank: bool,
    /// srun's MPI plugin (`srun --mpi=pmix`), where the site's default is not the one the MPI
    /// library needs; `None`: the site's default.
    pub plugin: Option<String>,
}

/// The script that runs `exe COMMAND` (the command named `name`, writing `out`) as one MPI job of
/// `shape` from `cwd`: `srun` starts the ranks, which share one run (`neuvis compress` trains one
/// model data-parallel, `neuvis amr` splits each iteration's element tests). Written beside the
/// output as `OUT_STEM.slurm.sh`; nothing is written here.
pub fn mpi_script(
    spec: &JobSpec,
    shape: &MpiShape,
    exe: &Path,
    cwd: &Path,
    name: &str,
    out: &Path,
    command: &[String],
) -> Result<(PathBuf, String), SlurmError> {
    if !(1..=MAX_SHARDS).contains(&shape.nodes) || !(1..=1024).contains(&shape.ranks_per_node) {
        return Err(SlurmError::Settings(format!(
            "--nodes {} with {} ranks per node: expected 1 to {MAX_SHARDS} nodes and 1 to 1024 ranks per node",
            shape.nodes, shape.ranks_per_node
        )));
    }
    let (dir, stem) = dir_and_stem(cwd, out);
    let job = spec.job_name.clone().unwrap_or_else(|| format!("neuvis-{name}"));
    let mut tasks = format!(
        "#SBATCH --nodes={}\n#SBATCH --ntasks-per-node={}\n",
        shape.nodes, shape.ranks_per_node
    );
    if shape.gpu_per_rank {
        tasks.push_str("#SBATCH --gpus-per-task=1\n");
    }
    let log = dir.join(format!("{stem}.slurm-%j.log"));
    let mut s = header(spec, cwd, &job, "", &log, &tasks);
    let cmd: Vec<String> = command.iter().map(|s| quote(s)).collect();
    s.push_str(&format!(
        "# {ranks} MPI ranks ({nodes} node{plural} × {per}) share one run; neuvis must be built with\n\
# `--features neuvis/mpi`. srun's MPI plugin is {which} (`srun --mpi=list` lists them;\n\
# `neuvis slurm --mpi pmix` names one).\nexec srun{plugin} {exe} --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" {cmd}\n",
        which = if shape.plugin.is_some() {
            "named here"
        } else {
            "the site's default"
        },
        plugin = shape
            .plugin
            .as_ref()
            .map_or(String::new(), |p| format!(" --mpi={}", quote(p))),
        ranks = shape.nodes * shape.ranks_per_node,
        nodes = shape.nodes,
        plural = if shape.nodes == 1 { "" } else { "s" },
        per = shape.ranks_per_node,
        exe = quote(&exe.display().to_string()),
        cmd = cmd.join(" "),
    ));
    Ok((dir.join(format!("{stem}.slurm.sh")), s))
}

/// The scripts that run `exe COMMAND` (the command named `name`, writing `out`) as `spec`'s job
/// array from the working directory `cwd`, then `exe merge OUT`. Nothing is written.
pub fn scripts(
    spec: &JobSpec,
    exe: &Path,
    cwd: &Path,
    name: &str,
    out: &Path,
    command: &[String],
) -> Result<Scripts, SlurmError> {
    if spec.tasks == 0 || spec.tasks > MAX_SHARDS {
        return Err(SlurmError::Settings(format!(
            "--tasks {}: expected 1 to {MAX_SHARDS}",
            spec.tasks
        )));
    }
    let (dir, stem) = dir_and_stem(cwd, out);
    let job = spec.job_name.clone().unwrap_or_else(|| format!("neuvis-{name}"));
    let array_lines = format!("#SBATCH --array=0-{}\n", spec.tasks - 1);
    let array_log = dir.join(format!("{stem}.slurm-%A_%a.log"));
    let merge_log = dir.join(format!("{stem}.merge-%j.log"));
    let cmd: Vec<String> = command.iter().map(|s| quote(s)).collect();
    let exe = quote(&exe.display().to_string());
    let mut array = header(spec, cwd, &job, &array_lines, &array_log, "#SBATCH --ntasks=1\n");
    array.push_str(&format!(
        "# task $SLURM_ARRAY_TASK_ID of {n} writes its part {part}; the shard count is fixed here, so\n# `sbatch --array=K THIS_SCRIPT` reruns task K alone\nexec {exe} --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" {cmd} --shard \"$SLURM_ARRAY_TASK_ID/{n}\"\n",
        n = spec.tasks,
        part = Shard { index: 0, count: spec.tasks }
            .part_path(out)
            .display()
            .to_string()
            .replace("0000-of", "IIII-of"),
        cmd = cmd.join(" "),
    ));
    let mut merge = header(
        spec,
        cwd,
        &format!("{job}-merge"),
        "",
        &merge_log,
        "#SBATCH --ntasks=1\n",
    );
    merge.push_str(&format!(
        "exec {exe} --threads \"${{SLURM_CPUS_PER_TASK:-1}}\" merge {}\n",
        quote(&out.display().to_string())
    ));
    Ok(Scripts {
        array: (dir.join(format!("{stem}.slurm.sh")), array),
        merge: (dir.join(format!("{stem}.merge.slurm.sh")), merge),
    })
}

/// Whether an executable file `name` is in a folder of `PATH` (`sbatch` before `--submit`).
pub fn on_path(name: &str) -> bool {
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

/// Runs `sbatch --parsable ARGS` and returns the job id (`--parsable` prints `ID` or
/// `ID;CLUSTER`).
pub fn sbatch(args: &[&str]) -> Result<String, SlurmError> {
    let out = std::process::Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .output()
        .map_err(|e| SlurmError::Sbatch(format!("running sbatch (is Slurm installed and SLURM_CONF set?): {e}")))?;
    if !out.status.success() {
        return Err(SlurmError::Sbatch(format!(
            "sbatch {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(SlurmError::Sbatch(format!(
            "sbatch printed '{}', not a job id",
            text.trim()
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What POSIX sh makes of a quoted word: the word itself (checked with the shell).
    #[test]
    fn quoting_survives_the_shell() {
        for s in ["plain", "with space", "it's", "$HOME", "a\"b", "", "t*.nrrd"] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(s)))
                .output()
                .expect("running sh");
            assert_eq!(String::from_utf8_lossy(&out.stdout), s, "{}", quote(s));
        }
    }

    #[test]
    fn task_counts_are_checked() {
        let spec = JobSpec::default();
        let e = scripts(
            &spec,
            Path::new("/bin/neuvis"),
            Path::new("/w"),
            "render",
            Path::new("a.cdb"),
            &[],
        );
        assert!(matches!(e, Err(SlurmError::Settings(m)) if m.contains("--tasks 0")));
    }
}
