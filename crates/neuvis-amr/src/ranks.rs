//! The processes a run is shared by ([`from_launcher`]): MPI ranks when neuvis-amr was built with
//! its `mpi` feature and the process was started by `mpirun`/`srun`, this process alone otherwise.
//! Each rank tests its share of an iteration's elements and every rank gathers all decisions, so
//! every rank holds the same tree (the `Ranks` of [`crate::run_on`]).
//!
//! A build without MPI that finds itself started as one of several ranks refuses to run:
//! otherwise every rank would do the whole run and all would write the same output folder.

use crate::{AmrError, Ranks, Result, SingleProcess};

/// The number of ranks the launcher says this process is one of (Open MPI's `OMPI_COMM_WORLD_SIZE`,
/// MPICH/Hydra's `PMI_SIZE`, Slurm's `srun` `SLURM_NTASKS` with `SLURM_PROCID`), if any.
fn launched_size() -> Option<usize> {
    let get = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<usize>().ok());
    get("OMPI_COMM_WORLD_SIZE")
        .or_else(|| get("PMI_SIZE"))
        .or_else(|| get("PMIX_SIZE"))
        .or_else(|| std::env::var("SLURM_PROCID").ok().and(get("SLURM_NTASKS")))
}

/// The ranks of this run.
pub fn from_launcher() -> Result<Box<dyn Ranks>> {
    let launched = launched_size().unwrap_or(1);
    #[cfg(feature = "mpi")]
    {
        if launched > 1 || std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() || std::env::var_os("PMI_SIZE").is_some()
        {
            return Ok(Box::new(mpi_ranks::MpiRanks::init()?));
        }
    }
    if launched > 1 {
        return Err(AmrError::Config(format!(
            "started as one of {launched} MPI ranks, but this neuvis was built without MPI: rebuild with \
`cargo build --release --features neuvis/mpi` (needs mpicc and libclang-dev), or run one process"
        )));
    }
    Ok(Box::new(SingleProcess))
}

#[cfg(feature = "mpi")]
mod mpi_ranks {
    use crate::{AmrError, Result};
    use mpi::datatype::PartitionMut;
    use mpi::traits::*;

    /// MPI's world communicator (the universe is finalized when this is dropped).
    pub struct MpiRanks {
        world: mpi::topology::SimpleCommunicator,
        _universe: mpi::environment::Universe,
    }

    impl MpiRanks {
        /// Initializes MPI (funneled: only the main thread calls MPI; rayon's workers never do).
        pub fn init() -> Result<MpiRanks> {
            let Some((universe, _level)) = mpi::initialize_with_threading(mpi::Threading::Funneled) else {
                return Err(AmrError::Config("MPI was already initialized".into()));
            };
            Ok(MpiRanks {
                world: universe.world(),
                _universe: universe,
            })
        }
    }

    impl crate::Ranks for MpiRanks {
        fn rank(&self) -> usize {
            self.world.rank() as usize
        }
        fn size(&self) -> usize {
            self.world.size() as usize
        }
        fn all_gather(&self, local: &[f64], counts: &[usize]) -> Result<Vec<f64>> {
            let too_big = || AmrError::Config("an iteration's decisions exceed MPI's 32-bit counts".into());
            let c: Vec<i32> = counts
                .iter()
                .map(|&n| i32::try_from(n).map_err(|_| too_big()))
                .collect::<std::result::Result<_, _>>()?;
            let mut displs = Vec::with_capacity(c.len());
            let mut at = 0i32;
            for &n in &c {
                displs.push(at);
                at = at.checked_add(n).ok_or_else(too_big)?;
            }
            let mut buf = vec![0f64; at as usize];
            let mut part = PartitionMut::new(&mut buf[..], c, displs);
            self.world.all_gather_varcount_into(local, &mut part);
            Ok(buf)
        }
        fn abort(&self) {
            self.world.abort(1)
        }
    }
}
