//! `--json` and `-q`: where a command's report goes. Set once from the parsed global flags
//! ([`set_json`], [`set_quiet`]); read by [`say!`](crate::say), [`info!`](crate::info), the
//! progress bars and [`emit_json`].

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by `-q/--quiet`: no progress bars and no informational lines on stderr (results still go
/// to stdout, errors and warnings to stderr).
static QUIET: AtomicBool = AtomicBool::new(false);

/// Set by `--json`.
static JSON: AtomicBool = AtomicBool::new(false);

/// Records `--json`.
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// Records `-q/--quiet`.
pub fn set_quiet(on: bool) {
    QUIET.store(on, Ordering::Relaxed);
}

/// Whether `--json` was given.
pub fn json_mode() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Prints a command's result object (under `--json`; a no-op otherwise).
pub fn emit_json(v: serde_json::Value) {
    if json_mode() {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()));
    }
}

/// Whether `-q` was given (or a step runs under [`quietly`]).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Runs `f` without progress bars or informational lines (a step inside another command, such
/// as the demo's decoding or a benchmark's fixture), then restores the user's choice.
pub fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let was = QUIET.swap(true, Ordering::Relaxed);
    let r = f();
    QUIET.store(was, Ordering::Relaxed);
    r
}

/// The error and its causes in one line, each cause added only if the text so far does not
/// already say it (many errors quote their source in their own message).
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let t = cause.to_string();
        if t.is_empty() || text.contains(&t) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&t);
    }
    text
}
