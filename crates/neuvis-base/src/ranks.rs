//! The processes one job is shared by: MPI ranks under `mpirun`/`srun`, or this process alone.
//!
//! [`Ranks`] is what the parallel algorithms need of them (the AMR's element tests, the codec's
//! data-parallel training): a rank, a size, two collectives and a way to stop everybody. This
//! crate holds the trait, [`SingleProcess`] and [`launched_size`]; the MPI implementation is built
//! only with `neuvis-amr`'s `mpi` feature (`neuvis_amr::ranks::from_launcher`), so nothing else
//! links an MPI library.

/// Why a collective failed.
#[derive(Debug, thiserror::Error)]
#[error("MPI: {0}")]
pub struct RanksError(pub String);

/// The processes that share a job.
pub trait Ranks {
    /// This process's rank, `0..size`.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn size(&self) -> usize;
    /// Gathers every rank's `local` values (rank `r` contributes `counts[r]` of them) into one
    /// vector in rank order, on every rank.
    fn all_gather(&self, local: &[f64], counts: &[usize]) -> Result<Vec<f64>, RanksError>;
    /// Replaces `values` on every rank with their element-wise sum over the ranks (every rank
    /// passes the same length). The sum's order is the implementation's, the same on every rank.
    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<(), RanksError>;
    /// Ends every rank after an error on this one (a rank alone cannot leave a collective run);
    /// nothing for a single process.
    fn abort(&self) {}
}

/// This process alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Ranks for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_gather(&self, local: &[f64], _counts: &[usize]) -> Result<Vec<f64>, RanksError> {
        Ok(local.to_vec())
    }
    fn all_reduce_sum(&self, _values: &mut [f32]) -> Result<(), RanksError> {
        Ok(())
    }
}

/// The number of ranks the launcher says this process is one of (Open MPI's `OMPI_COMM_WORLD_SIZE`,
/// MPICH/Hydra's `PMI_SIZE`, PMIx's `PMIX_SIZE`, the tasks of the `srun` step it is one of:
/// `SLURM_STEP_NUM_TASKS`), if any. A Slurm batch script's own process is not a rank, however many
/// tasks the job has (`SLURM_NTASKS`): a command run there directly is one process.
pub fn launched_size() -> Option<usize> {
    launched_size_in(&|k| std::env::var(k).ok())
}

/// [`launched_size`] with the environment read by `env`.
pub fn launched_size_in(env: &dyn Fn(&str) -> Option<String>) -> Option<usize> {
    let get = |k: &str| env(k).and_then(|v| v.trim().parse::<usize>().ok());
    get("OMPI_COMM_WORLD_SIZE")
        .or_else(|| get("PMI_SIZE"))
        .or_else(|| get("PMIX_SIZE"))
        .or_else(|| get("SLURM_STEP_NUM_TASKS"))
}

/// This process's rank among the ranks on its node (Open MPI's `OMPI_COMM_WORLD_LOCAL_RANK`,
/// Slurm's `SLURM_LOCALID`, MPICH's `MPI_LOCALRANKID`; 0 outside a launcher), read by `env`: the
/// rank picks its GPU by it.
pub fn local_rank(env: &dyn Fn(&str) -> Option<String>) -> usize {
    [
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "SLURM_LOCALID",
        "MPI_LOCALRANKID",
        "PMI_LOCAL_RANK",
    ]
    .iter()
    .find_map(|k| env(k).and_then(|v| v.trim().parse::<usize>().ok()))
    .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_script_is_one_process_and_an_srun_step_is_its_tasks() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(launched_size_in(&env(&[])), None);
        // `sbatch --ntasks=4` runs the script as one process with these
        assert_eq!(
            launched_size_in(&env(&[("SLURM_NTASKS", "4"), ("SLURM_PROCID", "0")])),
            None
        );
        // each task of `srun -n 4`
        const STEP: &[(&str, &str)] = &[
            ("SLURM_NTASKS", "4"),
            ("SLURM_PROCID", "2"),
            ("SLURM_STEP_NUM_TASKS", "4"),
        ];
        assert_eq!(launched_size_in(&env(STEP)), Some(4));
        assert_eq!(launched_size_in(&env(&[("OMPI_COMM_WORLD_SIZE", "3")])), Some(3));
    }

    #[test]
    fn the_local_rank_comes_from_the_launcher() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(local_rank(&env(&[])), 0);
        assert_eq!(local_rank(&env(&[("OMPI_COMM_WORLD_LOCAL_RANK", "3")])), 3);
        assert_eq!(local_rank(&env(&[("SLURM_LOCALID", "2"), ("MPI_LOCALRANKID", "5")])), 2);
        assert_eq!(local_rank(&env(&[("SLURM_LOCALID", "x")])), 0);
    }

    #[test]
    fn a_single_process_gathers_and_sums_what_it_has() {
        let r = SingleProcess;
        assert_eq!((r.rank(), r.size()), (0, 1));
        assert_eq!(r.all_gather(&[1.0, 2.0], &[2]).unwrap(), vec![1.0, 2.0]);
        let mut v = [1.5f32, -2.0];
        r.all_reduce_sum(&mut v).unwrap();
        assert_eq!(v, [1.5, -2.0]);
    }
}
