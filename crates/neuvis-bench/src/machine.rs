//! Where the benchmarks run: the `neuvis` binary the command-line benchmarks start, the baseline
//! scripts, and the names of the GPUs a table reports.

use anyhow::{Context, Result};
use neuvis_cli::say;
use std::path::{Path, PathBuf};

/// The `neuvis` binary the command-line benchmarks run: `NEUVIS` when set, else the one beside
/// this binary (both are built into the same `target/…/` folder), else `neuvis` on the `PATH`.
pub(crate) fn neuvis_exe() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("NEUVIS").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("locating the neuvis-bench binary")?;
    let sibling = exe.with_file_name(format!("neuvis{}", std::env::consts::EXE_SUFFIX));
    Ok(if sibling.is_file() {
        sibling
    } else {
        PathBuf::from("neuvis")
    })
}

/// The first CUDA device's name and compute capability, for tables.
pub(crate) fn cuda_name() -> String {
    neuvis_nn::cuda::probe()
        .devices
        .first()
        .map(|d| format!("{} (sm_{}{}, NVRTC)", d.name, d.capability.0, d.capability.1))
        .unwrap_or_else(|| "no device".into())
}

/// The adapter `--device gpu` would take (the first wgpu lists), for tables.
pub(crate) fn gpu_name() -> String {
    neuvis_nn::device::adapters()
        .first()
        .map(|a| format!("{} ({})", a.name, a.backend))
        .unwrap_or_else(|| "no adapter".into())
}

/// Resolves a baseline script given as a relative path (the defaults, `bench/NAME.py`): as given
/// when it exists from the working directory, else relative to the repository the binary was
/// built in (`target/release/neuvis` → `../../`). An absolute path is taken as it is.
pub(crate) fn baseline_script(p: &std::path::Path) -> Result<PathBuf> {
    if p.is_absolute() || p.exists() {
        return Ok(p.to_path_buf());
    }
    let from_exe = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent()?.parent()?.parent().map(|root| root.join(p)));
    match from_exe {
        Some(q) if q.exists() => Ok(q),
        _ => anyhow::bail!(
            "{}: no such baseline script here or in the repository of this binary; pass its path (it ships in the repository's bench/ folder)",
            p.display()
        ),
    }
}

/// Runs the baseline script `script` (resolved by [`baseline_script`]) with `python` on `arg` and
/// returns the last line of its stdout that is a JSON object. A script that cannot start, fails
/// or prints no such line gives `None` and a line saying why, naming it `what` (the table then
/// has no baseline row rather than no table).
pub(crate) fn run_baseline(python: &str, script: &Path, arg: &Path, what: &str) -> Result<Option<serde_json::Value>> {
    let out = match std::process::Command::new(python)
        .arg(baseline_script(script)?)
        .arg(arg)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            say!("{what} not run: {e}");
            return Ok(None);
        }
    };
    if !out.status.success() {
        say!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        );
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok()))
}
