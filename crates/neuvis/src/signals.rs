//! Ctrl-C and SIGTERM (Slurm's `scancel` and time limit send SIGTERM before SIGKILL).
//!
//! For the commands whose loops stop at a safe point (`render` between images, `compress` between
//! training steps, `decompress` and `eval` between images) the first signal asks them to stop
//! ([`neuvis_base::interrupt`]) and says so; the command then prints what it kept (and, for the
//! resumable ones, the command line that continues it; the others remove their partial output),
//! and exits with 128 + the signal's number (130 for Ctrl-C). A second signal stops at once. Every
//! other command, except the servers (which shut down on Ctrl-C themselves), stops at once with a
//! message.

use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

/// The signal that stopped the command (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The exit status of a command stopped by a signal: 128 + its number (130 for Ctrl-C).
pub(crate) fn exit_status() -> u8 {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => 130,
        s => (128 + s).clamp(0, 255) as u8,
    }
}

fn name(sig: i32) -> &'static str {
    if sig == SIGINT {
        "Ctrl-C"
    } else {
        "SIGTERM"
    }
}

/// Handles SIGINT and SIGTERM on a thread of their own: `graceful` commands are asked to stop at
/// their next safe point, the others stop at once.
pub(crate) fn install(graceful: bool) {
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("warning: Ctrl-C will stop neuvis without cleaning up: {e}");
            return;
        }
    };
    std::thread::spawn(move || {
        for sig in signals.forever() {
            let first = RECEIVED.swap(sig, Ordering::SeqCst) == 0;
            if graceful && first {
                neuvis_base::interrupt::request();
                eprintln!(
                    "\n{}: stopping at the next safe point ({} again stops at once)",
                    name(sig),
                    name(sig)
                );
            } else {
                eprintln!(
                    "\n{}: stopped{}",
                    name(sig),
                    if graceful {
                        " at once; temporary files may be left beside the output"
                    } else {
                        ""
                    }
                );
                std::process::exit(128 + sig);
            }
        }
    });
}

/// The command line as typed, with `--resume` added if it was not there: what continues an
/// interrupted run. Arguments are quoted for a POSIX shell where needed.
pub(crate) fn resume_command() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--resume") {
        args.push("--resume".into());
    }
    args.iter()
        .map(|a| neuvis_base::slurm::quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use neuvis_base::slurm::quote as shell_quote;

    #[test]
    fn words_are_quoted_only_when_a_shell_needs_it() {
        assert_eq!(shell_quote("t.cdb"), "t.cdb");
        assert_eq!(shell_quote("--theta-step=9"), "--theta-step=9");
        assert_eq!(shell_quote("my data/t.cdb"), "'my data/t.cdb'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }
}
