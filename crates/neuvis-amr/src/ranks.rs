//! The processes a run is shared by ([`from_launcher`]): MPI ranks when neuvis-amr was built with
//! its `mpi` feature and the process was started by `mpirun`/`srun`, this process alone otherwise.
//! The AMR tests its elements on them ([`crate::run_on`]), and `neuvis compress` trains one model
//! on them (`neuvis_codec::train::train_on`): the [`Ranks`] of [`neuvis_base::ranks`].
//!
//! The MPI binding lives here, behind this crate's `mpi` feature, so that building it recompiles
//! only this crate and the binary (the trait is in `neuvis-base`, which every crate shares).
//!
//! A build without MPI that finds itself started as one of several ranks refuses to run:
//! otherwise every rank would do the whole run and all would write the same output.

use crate::{AmrError, Result};
use neuvis_base::ranks::{launched_size, Ranks, SingleProcess};

/// The ranks of this run.
pub fn from_launcher() -> Result<Box<dyn Ranks>> {
    let launched = launched_size().unwrap_or(1);
    #[cfg(feature = "mpi")]
    {
        if launched > 1 || std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() || std::env::var_os("PMI_SIZE").is_some()
        {
            // srun without an MPI plugin gives the processes nothing to join (Open MPI aborts in
            // MPI_Init): say what is missing first
            let var = |k: &str| std::env::var_os(k).is_some();
            if var("SLURM_STEP_NUM_TASKS")
                && !["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_FD"]
                    .iter()
                    .any(|k| var(k))
            {
                return Err(AmrError::Config(format!(
                    "srun started {launched} processes without an MPI plugin, so they cannot form one MPI job: \
run `srun --mpi=pmix …` (or the plugin your MPI needs; `srun --mpi=list` lists them), or `neuvis slurm --mpi pmix …`"
                )));
            }
            let ranks = mpi_ranks::MpiRanks::init()?;
            // srun without an MPI plugin starts N processes that each see a world of one: every
            // one would run the whole job and write the same output
            if ranks.size() != launched {
                return Err(AmrError::Config(format!(
                    "the launcher started {launched} processes but MPI joins {} of them: with srun, \
pass the MPI plugin your MPI was built for (`srun --mpi=pmix`, or pmi2; `srun --mpi=list` lists them)",
                    ranks.size()
                )));
            }
            return Ok(Box::new(ranks));
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
    use mpi::collective::SystemOperation;
    use mpi::datatype::PartitionMut;
    use mpi::traits::*;
    use neuvis_base::ranks::RanksError;

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

    impl neuvis_base::ranks::Ranks for MpiRanks {
        fn rank(&self) -> usize {
            self.world.rank() as usize
        }
        fn size(&self) -> usize {
            self.world.size() as usize
        }
        fn all_gather(&self, local: &[f64], counts: &[usize]) -> std::result::Result<Vec<f64>, RanksError> {
            let too_big = || RanksError("an iteration's decisions exceed MPI's 32-bit counts".into());
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
        fn all_reduce_sum(&self, values: &mut [f32]) -> std::result::Result<(), RanksError> {
            if i32::try_from(values.len()).is_err() {
                return Err(RanksError(format!(
                    "{} values exceed MPI's 32-bit counts in one all-reduce",
                    values.len()
                )));
            }
            let local = values.to_vec();
            self.world.all_reduce_into(&local[..], values, SystemOperation::sum());
            Ok(())
        }
        fn abort(&self) {
            self.world.abort(1)
        }
    }
}
