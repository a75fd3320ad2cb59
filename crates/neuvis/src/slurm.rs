//! `neuvis slurm`: runs a shardable command (`render`, `decompress`, `eval --csv`, `raycast
//! prepare`) as a Slurm job array plus a merge job, or a command that runs on MPI ranks
//! (`compress`, `amr`) as one MPI job (`--nodes`); [`neuvis_base::slurm`] writes the scripts and
//! runs `sbatch`, here the command after `--` is parsed to find its output.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser};
use std::path::PathBuf;

/// Options of `neuvis slurm`.
#[derive(Args, Debug, Clone)]
pub struct SlurmArgs {
    /// Tasks in the job array (shards of the work) of a sharded command.
    #[arg(long, required_unless_present = "nodes", conflicts_with = "nodes")]
    pub tasks: Option<usize>,
    /// Run the command as one MPI job on this many nodes (compress and inr fit: data-parallel
    /// training; amr: element tests on every rank) instead of a job array.
    #[arg(long)]
    pub nodes: Option<usize>,
    /// With --nodes: MPI ranks per node (default: --gpus-per-node, else 1).
    #[arg(long, requires = "nodes")]
    pub tasks_per_node: Option<usize>,
    /// With --nodes: GPUs per node, one rank per GPU (`--gpus-per-task=1`: Slurm gives each rank
    /// its own GPU, which `--device cuda` then uses).
    #[arg(long, requires = "nodes")]
    pub gpus_per_node: Option<usize>,
    /// With --nodes: srun's MPI plugin (`srun --mpi=PLUGIN`, e.g. pmix for Open MPI) where the
    /// site's default (slurm.conf's MpiDefault) is not the one your MPI needs.
    #[arg(long, value_name = "PLUGIN", requires = "nodes")]
    pub mpi: Option<String>,
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
    /// Submit the jobs with sbatch (the merge job depends on the array).
    #[arg(long)]
    pub submit: bool,
    /// With --submit: wait until the merge job (or the MPI job) ends; fail if a task or the merge
    /// failed.
    #[arg(long, requires = "submit")]
    pub wait: bool,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    /// The neuvis command, after `--`: render …, decompress …, eval … --csv F, raycast prepare …
    /// (a job array), or compress …, inr fit …, amr … (one MPI job, with --nodes).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

use neuvis_base::slurm::{mpi_script, on_path, quote, sbatch, JobSpec, MpiShape, Scripts, SCRIPT_MARK};

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
        crate::Cmd::Compress(_) | crate::Cmd::Amr(_) | crate::Cmd::Inr(_) => bail!(
            "`{}` does not shard: it runs on MPI ranks; give --nodes N (one MPI job, from a neuvis built with --features neuvis/mpi) instead of --tasks",
            command.first().map(String::as_str).unwrap_or("")
        ),
        _ => bail!(
            "`{}` does not shard: the sharded commands are render, decompress, eval --csv and raycast prepare",
            command.first().map(String::as_str).unwrap_or("")
        ),
    };
    if shard.is_some() {
        bail!("leave --shard out of the command: the job array adds --shard $SLURM_ARRAY_TASK_ID/N");
    }
    Ok((name.to_string(), out))
}

/// The output of a command that runs on MPI ranks, or an error saying which commands do.
fn mpi_output(command: &[String]) -> Result<(String, PathBuf)> {
    let mut argv = vec!["neuvis".to_string()];
    argv.extend(command.iter().cloned());
    let cli = crate::Cli::try_parse_from(&argv).map_err(|e| anyhow::anyhow!("the command after --: {e}"))?;
    match &cli.cmd {
        crate::Cmd::Compress(a) => Ok(("compress".into(), a.output.clone())),
        crate::Cmd::Inr(crate::amr_cmd::InrCmd::Fit(a)) => Ok(("inr-fit".into(), a.output.clone())),
        crate::Cmd::Amr(a) => match a.output() {
            Some(o) => Ok(("amr".into(), o.to_path_buf())),
            None => bail!("--nodes runs `neuvis amr MODEL -o OUT` on MPI ranks, not `amr compare`"),
        },
        crate::Cmd::Render(_) | crate::Cmd::Decompress(_) | crate::Cmd::Eval(_) | crate::Cmd::Raycast(_) => bail!(
            "--nodes runs one MPI job (compress, inr fit, amr); `{}` shards as a job array: give --tasks N",
            command.first().map(String::as_str).unwrap_or("")
        ),
        _ => bail!(
            "`{}` does not run on MPI ranks: --nodes is for compress, inr fit and amr",
            command.first().map(String::as_str).unwrap_or("")
        ),
    }
}

/// The job settings of `a`.
fn spec(a: &SlurmArgs) -> JobSpec {
    JobSpec {
        tasks: a.tasks.unwrap_or(0),
        partition: a.partition.clone(),
        time: a.time.clone(),
        cpus_per_task: a.cpus_per_task,
        mem: a.mem.clone(),
        account: a.account.clone(),
        job_name: a.job_name.clone(),
        extra: a.extra.clone(),
    }
}

/// The binary and the working directory the scripts run.
fn exe_and_cwd() -> Result<(PathBuf, PathBuf)> {
    Ok((
        std::env::current_exe().context("finding the neuvis binary")?,
        std::env::current_dir().context("reading the working directory")?,
    ))
}

/// Builds the two scripts for `a` (nothing written).
pub fn scripts(a: &SlurmArgs) -> Result<Scripts> {
    let (name, out) = sharded_output(&a.command)?;
    let (exe, cwd) = exe_and_cwd()?;
    Ok(neuvis_base::slurm::scripts(
        &spec(a),
        &exe,
        &cwd,
        &name,
        &out,
        &a.command,
    )?)
}

/// Writes a script neuvis slurm made (refusing to replace anything else) and makes it executable.
fn write_script(path: &std::path::Path, text: &str) -> Result<()> {
    neuvis_base::write_atomic(path, |w| std::io::Write::write_all(w, text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
    }
    Ok(())
}

/// `neuvis slurm --nodes`: one MPI job.
fn run_mpi(a: &SlurmArgs, nodes: usize) -> Result<()> {
    let (name, out) = mpi_output(&a.command)?;
    let shape = MpiShape {
        nodes,
        ranks_per_node: a.tasks_per_node.or(a.gpus_per_node).unwrap_or(1),
        gpu_per_rank: a.gpus_per_node.is_some(),
        plugin: a.mpi.clone(),
    };
    if let (Some(t), Some(g)) = (a.tasks_per_node, a.gpus_per_node) {
        if t != g {
            bail!("--tasks-per-node {t} with --gpus-per-node {g}: one rank per GPU; give one of them");
        }
    }
    let (exe, cwd) = exe_and_cwd()?;
    let (path, text) = mpi_script(&spec(a), &shape, &exe, &cwd, &name, &out, &a.command)?;
    let kind = crate::outputs::OutputKind::FileWithMark(SCRIPT_MARK, "a script neuvis slurm wrote");
    crate::outputs::check(&path, kind, a.out.overwrite, &[])?;
    write_script(&path, &text)?;
    println!(
        "wrote {} (one MPI job: {nodes} node{} × {} rank{})",
        path.display(),
        if nodes == 1 { "" } else { "s" },
        shape.ranks_per_node,
        if shape.ranks_per_node == 1 { "" } else { "s" }
    );
    let p = path.display().to_string();
    if !a.submit {
        println!("submit with:\n  sbatch {}", quote(&p));
        return Ok(());
    }
    let mut args = Vec::new();
    if a.wait {
        args.push("--wait");
    }
    args.push(p.as_str());
    let jid = sbatch(&args)?;
    if a.wait {
        println!("MPI job {jid} finished");
    } else {
        println!("submitted MPI job {jid}");
    }
    Ok(())
}

/// Runs `neuvis slurm`.
pub fn run(a: &SlurmArgs) -> Result<()> {
    if a.submit && !on_path("sbatch") {
        bail!(
            "--submit: sbatch is not on PATH (is Slurm installed here?); nothing was written. \
             Without --submit the scripts are written for you to submit where Slurm is"
        );
    }
    if let Some(nodes) = a.nodes {
        return run_mpi(a, nodes);
    }
    let s = scripts(a)?;
    for (p, _) in [&s.array, &s.merge] {
        let kind = crate::outputs::OutputKind::FileWithMark(SCRIPT_MARK, "a script neuvis slurm wrote");
        crate::outputs::check(p, kind, a.out.overwrite, &[])?;
    }
    for (p, text) in [&s.array, &s.merge] {
        write_script(p, text)?;
    }
    println!(
        "wrote {} (job array of {} tasks)",
        s.array.0.display(),
        a.tasks.unwrap_or(0)
    );
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
        let e = anyhow::Error::from(e);
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
