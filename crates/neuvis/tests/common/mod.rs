//! Helpers shared by the CLI tests: run the binary as a user would and read what it printed.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `neuvis ARGS…` in `dir`.
pub fn neuvis(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// Everything the command printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
