//! Cooperative interruption: Ctrl-C or a job scheduler's SIGTERM stops long work where what it
//! wrote can be resumed, and says so.
//!
//! The CLI turns the signal into [`request`]; loops that write resumable state (rendering a
//! collection image by image, training epoch by epoch) poll [`requested`] between units of work
//! and return an [`Interrupted`] error saying what they kept and whether `--resume` continues it.
//! Nothing here installs a signal handler: a library never changes a process's signal disposition.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

fn cell() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// The flag itself, for a signal handler that sets it (`signal_hook::flag::register`).
pub fn flag() -> Arc<AtomicBool> {
    Arc::clone(cell())
}

/// Asks the work in progress to stop at its next safe point.
pub fn request() {
    cell().store(true, Ordering::SeqCst);
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    cell().load(Ordering::Relaxed)
}

/// Clears a request (tests; a Python session that goes on after an interrupted call).
pub fn clear() {
    cell().store(false, Ordering::SeqCst);
}

/// Work stopped at a safe point because [`request`] was called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("interrupted: {kept}")]
pub struct Interrupted {
    /// What was kept and where (or that nothing was), in a sentence.
    pub kept: String,
    /// Whether running the same command with `--resume` continues from what was kept.
    pub resumable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_seen_and_cleared() {
        clear();
        assert!(!requested());
        request();
        assert!(requested());
        assert!(flag().load(Ordering::SeqCst));
        clear();
        assert!(!requested());
        let e = Interrupted {
            kept: "12 of 40 images in .t.cdb.partial".into(),
            resumable: true,
        };
        assert_eq!(e.to_string(), "interrupted: 12 of 40 images in .t.cdb.partial");
    }
}
