//! `neuvis`: neural representations for scientific visualization, from the command line.
//!
//! Subcommands: `render` (ground-truth image collections), `compress` / `decompress` (the NeRVI
//! codec), `eval` (image metrics), `serve` (the explorer web page), `demo` (the README's main job)
//! `amr` (pruning-guided adaptive meshes for INRs), `inr fit` (make an INR) and `bench` (measured
//! performance against named baselines), `raycast` (speculative isosurface raycasting of bricked
//! volumes within a memory budget).
#![deny(missing_docs)]

mod amr_cmd;
mod bench;
mod bench_loader;
mod bench_raycast;
mod bench_serve;
mod bench_shard;
mod codec_cmd;
mod demo;
mod devices;
mod eval;
mod merge;
mod num;
mod outputs;
mod ranks;
mod raycast_cmd;
mod render;
mod serve;
mod slurm;
mod volume_args;

use clap::{Parser, Subcommand};

/// Neural representations for scientific visualization.
#[derive(Parser, Debug)]
#[command(
    name = "neuvis",
    version,
    long_version = long_version(),
    about,
    long_about = None,
    after_help = "Outputs (every command): an output that is also an input, or a folder holding one, is refused; \
so are /, the working directory and its parents. The folder an output goes into must exist. An existing \
output is kept unless --overwrite is given, and --overwrite replaces only what neuvis wrote (a folder whose \
meta.json names neuvis as its generator, a .nrvi/.nvb/PNG file with its format's signature). A command that \
fails leaves no output behind."
)]
struct Cli {
    /// Worker threads (default: all cores; at most 8 × the cores).
    #[arg(long, global = true, value_parser = crate::num::threads)]
    threads: Option<usize>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Render an image collection (Cinema spec D database) of a volume over (t, θ, φ).
    Render(Box<render::RenderArgs>),
    /// Compress an image collection into a .nrvi model (NeRVI or NeRV).
    Compress(Box<codec_cmd::CompressArgs>),
    /// Decode images from a .nrvi model (its training grid or any parameters).
    Decompress(codec_cmd::DecompressArgs),
    /// Compare two image collections: PSNR, SSIM, MS-SSIM, FLIP, worst images, difference images.
    Eval(eval::EvalArgs),
    /// Serve a local web page to explore .nrvi models (decoded on demand).
    Serve(serve::ServeArgs),
    /// Run the end-to-end demo on built-in data and print where the results went.
    Demo(demo::DemoArgs),
    /// Refine an adaptive mesh for a pre-trained INR (pruning-guided AMR), or compare runs.
    Amr(Box<amr_cmd::AmrCmd>),
    /// Work with implicit neural representations (fit one to a function or a volume).
    #[command(subcommand)]
    Inr(amr_cmd::InrCmd),
    /// Extract an isosurface with marching cubes into a .ply or .vtp mesh.
    Isosurface(raycast_cmd::IsosurfaceArgs),
    /// Speculative isosurface raycasting within a memory budget (prepare a brick store, render).
    #[command(subcommand)]
    Raycast(raycast_cmd::RaycastCmd),
    /// Measure performance against named baselines and print a comparison table.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Assemble the parts of sharded runs (`--shard I/N`, e.g. Slurm job-array tasks) into one output.
    Merge(merge::MergeArgs),
    /// Write (and submit) a Slurm job array for a shardable command and the merge job after it.
    Slurm(slurm::SlurmArgs),
    /// List the compute backends of this build (--device) and the GPU adapters found.
    Devices(devices::DevicesArgs),
}

/// `neuvis --version`: the version and the compute backends compiled in.
fn long_version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(devices::backends_line)
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
fn tune_allocator() {
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

fn main() -> std::process::ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global() {
            eprintln!("warning: could not set thread count: {e}");
        }
    }
    let res = match cli.cmd {
        Cmd::Render(a) => render::run(&a).map(|s| render::print_summary(&s)),
        Cmd::Compress(a) => codec_cmd::compress(&a).map(|r| codec_cmd::print_compress(&r)),
        Cmd::Decompress(a) => codec_cmd::decompress(&a).map(|_| ()),
        Cmd::Eval(a) => eval::run(&a).map(|_| ()),
        Cmd::Serve(a) => serve::run(&a),
        Cmd::Demo(a) => demo::run(&a),
        Cmd::Bench(b) => bench::run(&b),
        Cmd::Amr(a) => amr_cmd::amr(&a),
        Cmd::Inr(i) => amr_cmd::inr(&i),
        Cmd::Raycast(r) => raycast_cmd::run(&r),
        Cmd::Isosurface(a) => raycast_cmd::isosurface(&a),
        Cmd::Merge(a) => merge::run(&a),
        Cmd::Slurm(a) => slurm::run(&a),
        Cmd::Devices(a) => devices::run(&a),
    };
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
