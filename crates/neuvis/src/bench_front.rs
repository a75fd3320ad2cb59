//! `neuvis bench …`: runs the `neuvis-bench` binary (crates/neuvis-bench), which holds the
//! benchmarks outside this one, as git and cargo run their external subcommands: the one beside
//! this binary (both are built into the same `target/…/` folder), else `neuvis-bench` on the
//! `PATH`. The global options given to `neuvis` go with it.

use anyhow::Result;
use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;

/// What `neuvis bench` passes on.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct BenchArgs {
    /// The benchmark and its options: render, metrics, train, decode, serve, raycast, shard,
    /// loader (`neuvis bench --help` lists them, `neuvis bench NAME --help` their options).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "BENCHMARK [OPTIONS]")]
    pub args: Vec<OsString>,
}

/// The global options of `neuvis` that `neuvis-bench` takes too.
#[derive(Debug, Clone, Copy)]
pub struct Globals {
    /// `--json`.
    pub json: bool,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `-q`.
    pub quiet: bool,
    /// `--progress-interval`.
    pub progress_interval: f64,
}

/// The `neuvis-bench` binary: beside this one, else the name for a `PATH` lookup.
fn bench_exe() -> PathBuf {
    let name = format!("neuvis-bench{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .map(|e| e.with_file_name(&name))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The command line `neuvis bench ARGS` runs: the globals, then `ARGS` as given.
fn command(a: &BenchArgs, g: &Globals) -> std::process::Command {
    let mut cmd = std::process::Command::new(bench_exe());
    if g.json {
        cmd.arg("--json");
    }
    if g.quiet {
        cmd.arg("--quiet");
    }
    if let Some(n) = g.threads {
        cmd.arg(format!("--threads={n}"));
    }
    cmd.arg(format!("--progress-interval={}", g.progress_interval));
    cmd.args(&a.args);
    cmd
}

/// Runs `neuvis-bench` with `a`'s arguments; on Unix it replaces this process (signals and the
/// exit status are its own), elsewhere this process waits and exits with its status.
pub fn run(a: &BenchArgs, g: &Globals) -> Result<()> {
    let mut cmd = command(a, g);
    let missing = |e: std::io::Error| {
        anyhow::Error::new(e).context(format!(
            "`neuvis bench` runs the neuvis-bench binary, found neither beside {} nor on the PATH; build it with `cargo build --release -p neuvis -p neuvis-bench` (the README's test command builds it too)",
            std::env::current_exe().map_or_else(|_| "this binary".into(), |p| p.display().to_string())
        ))
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(missing(cmd.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().map_err(missing)?;
        std::process::exit(status.code().unwrap_or(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The globals come first, the benchmark's own arguments after them untouched.
    #[test]
    fn globals_go_before_the_benchmark() {
        let a = BenchArgs {
            args: ["decode", "--size", "-3"].map(OsString::from).to_vec(),
        };
        let g = Globals {
            json: true,
            threads: Some(2),
            quiet: false,
            progress_interval: 5.0,
        };
        let cmd = command(&a, &g);
        let args: Vec<_> = cmd.get_args().map(|s| s.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "--json",
                "--threads=2",
                "--progress-interval=5",
                "decode",
                "--size",
                "-3"
            ]
        );
    }
}
