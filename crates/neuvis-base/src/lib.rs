//! The shared base of neuvis: the few types and helpers that every layer needs and that belong to
//! none of them.
//!
//! - [`MaskedImage`]: an RGB image over a white background with a binary foreground mask, the
//!   unit that the renderer, the raycaster, the codec, the metrics and the collections exchange.
//! - [`rng::SplitMix64`]: the seeded generator behind every random step (initialization, sampling,
//!   shuffling), so the same seed gives the same file whatever a dependency's version.
//! - [`fs::write_atomic`]: writes through a temporary file in the same directory and a rename.
//! - [`mem`]: how much memory the process may still allocate, a check before large allocations,
//!   and the peak resident set size.
//! - [`colormap`]: the colour-map presets shared by the DVR transfer functions and the plots.
//! - [`lru::ByteLru`]: the byte-bounded LRU cache behind the explorer's frames and the raycaster's bricks.
//! - [`shard`]: which block of a job task I of N does, part names, and finding every part to merge.
//! - [`fmt_num`]: numbers for CSV files without trailing noise.
//! - [`interrupt`]: Ctrl-C as a request that long loops poll, and the error saying what they kept.
//! - [`named::Named`]: the one spelling of each value of a closed set (methods, kinds).
//! - [`activation`]: `e^x` and GELU in `f32` for the burn-free inference engines (codec, raycaster).
//! - [`future::block_on`]: waits for a future on this thread (wgpu's requests, for the codec's
//!   device listing and the raycaster's GPU engine).
//! - [`ranks`]: the processes a job is shared by (MPI ranks or this process), for the AMR and
//!   data-parallel training.
//!
//! Main design decision: this crate depends on nothing heavier than `image`, so any crate can use
//! it without pulling in burn, a file format or a server; a helper goes here only when at least two
//! crates of different layers need it (a helper living in a domain crate used to create a
//! dependency that existed only for the helper).

pub mod activation;
pub mod camera;
pub mod colormap;
pub mod fs;
pub mod future;
pub mod image;
pub mod interrupt;
pub mod lru;
pub mod mem;
pub mod named;
pub mod ranks;
pub mod rng;
pub mod shard;
pub mod slurm;
pub mod stats;

pub use crate::image::{ImageError, MaskedImage};
pub use fs::{check_output, create_output_folder, write_atomic, OutputError, OutputKind};
pub use interrupt::Interrupted;
pub use rng::SplitMix64;
pub use shard::{Shard, ShardError};

/// Formats a number without trailing noise (`45`, `22.5`; very small or large values in fixed
/// notation with nine decimals), as `data.csv` and the metric tables write them.
///
/// ```
/// assert_eq!(neuvis_base::fmt_num(45.0), "45");
/// assert_eq!(neuvis_base::fmt_num(22.5), "22.5");
/// assert_eq!(neuvis_base::fmt_num(-0.125), "-0.125");
/// ```
pub fn fmt_num(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('e') {
        format!("{x:.9}")
    } else {
        s
    }
}
