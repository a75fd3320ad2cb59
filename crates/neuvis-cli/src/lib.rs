//! What the `neuvis` and `neuvis-bench` binaries share on the command line, and nothing of the
//! product: flag groups ([`flags::OutputArgs`], [`flags::DeviceArg`], the volume flags of
//! [`volume_args`]), value parsers that refuse NaN and out-of-range numbers with the flag's name
//! ([`num`]), the output rule's checks ([`outputs`]), progress on stderr ([`progress`]) and the
//! report plumbing of `--json` and `-q` ([`report`], the [`say!`] and [`info!`] macros). The
//! model is ripgrep's `grep-cli`: the binaries turn flags into the libraries' typed options and
//! print what those return; every default and schema lives in the libraries.

/// `cmd` with `allow_negative_numbers` on every option of it and its subcommands that takes values.
pub fn negative_numbers(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| {
        if a.get_action().takes_values() {
            a.allow_negative_numbers(true)
        } else {
            a
        }
    })
    .mut_subcommands(negative_numbers)
}

/// Makes glibc's allocator keep freed memory for reuse instead of handing it back to the kernel.
///
/// burn allocates every intermediate tensor afresh. glibc serves blocks above its mmap threshold
/// (dynamic, at most 32 MB) with `mmap` and shrinks the heap above its trim threshold, so a training
/// step's large buffers (im2col copies, activations) came back as fresh zero-filled pages each step:
/// about 7,000 minor page faults per step and 20 % of the CPU time in the kernel at the codec's
/// 64² target network; keeping them makes a step 15–22 % faster (BENCHMARKS.md, training step). Raising
/// both thresholds to 1 GiB keeps those pages mapped; blocks above 1 GiB (whole volumes) still go
/// to `mmap` and back. `NEUVIS_SYSTEM_MALLOC=1`, or a `GLIBC_TUNABLES` that sets `glibc.malloc`
/// parameters, keeps glibc's defaults.
pub fn tune_allocator() {
    let user_choice = std::env::var_os("NEUVIS_SYSTEM_MALLOC").is_some_and(|v| v != "0")
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc"));
    if user_choice {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called first thing in main, before
    // any other thread exists, and glibc documents both parameters as settable at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

pub mod flags;
pub mod num;
pub mod outputs;
pub mod progress;
pub mod report;
pub mod volume_args;

/// Prints a line of a command's human-readable report: to stdout, or under `--json` (whose stdout
/// holds only the one JSON object) to stderr.
#[macro_export]
macro_rules! say {
    ($($t:tt)*) => {
        if $crate::report::json_mode() {
            eprintln!($($t)*)
        } else {
            println!($($t)*)
        }
    };
}

/// Prints an informational line on stderr unless `-q` was given.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => {
        if !$crate::report::quiet() {
            eprintln!($($t)*)
        }
    };
}
