//! The commands that run on MPI ranks under `mpirun`/`srun` (`amr`, `compress`, `inr fit`): the
//! ranks the launcher started ([`neuvis_amr::ranks::from_launcher`]), rank 0 alone printing, and
//! an error on one rank ending all of them (the others would wait in a collective for ever).

use anyhow::Result;
use neuvis_base::ranks::Ranks;

/// Runs `f` on this process's ranks; on ranks other than 0 informational output is off.
pub fn run<T>(f: impl FnOnce(&dyn Ranks) -> Result<T>) -> Result<T> {
    let ranks = neuvis_amr::ranks::from_launcher()?;
    if ranks.rank() != 0 {
        neuvis_cli::report::set_quiet(true);
    }
    let res = f(ranks.as_ref());
    if let (Err(e), true) = (&res, ranks.size() > 1) {
        // a stop request ends every rank after the same step; any other error leaves the others
        // waiting in a collective: end them all, after saying why
        if !e.chain().any(|c| c.is::<neuvis_base::Interrupted>()) {
            eprintln!("error (rank {} of {}): {e:#}", ranks.rank(), ranks.size());
            ranks.abort();
        }
    }
    res
}
