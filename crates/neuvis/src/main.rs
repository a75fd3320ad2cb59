//! `neuvis`: neural representations for scientific visualization, from the command line.
//!
//! Subcommands: `render` (ground-truth image collections), `compress` / `decompress` (the NeRVI
//! codec), `eval` (image metrics), `serve` (the explorer web page), `demo` (the README's main job)
//! `amr` (pruning-guided adaptive meshes for INRs), `inr fit` (make an INR) and `bench` (measured
//! performance against named baselines), `raycast` (speculative isosurface raycasting of bricked
//! volumes within a memory budget).

#[macro_use]
extern crate neuvis_cli;

mod amr_cmd;
mod codec_cmd;
mod demo;
mod devices;
mod eval;
mod merge;
mod ranks;
mod raycast_cmd;
mod render;
mod serve;
mod signals;
mod slurm;

mod bench_front;

// the shared command-line pieces, under the names the commands use
pub(crate) use neuvis_cli::report::{emit_json, json_mode, quiet, quietly};
pub(crate) use neuvis_cli::{num, outputs, progress, volume_args};

use clap::{Parser, Subcommand};

/// The help heading of the options every command takes, listed apart from each command's own.
const GLOBAL: &str = "Global options (every command)";

/// Spellings of earlier releases that still work, each with the one that replaces it: the command
/// they belong to, the old and the new flag. A use prints a warning naming the new spelling; the
/// old ones go in a later release.
const DEPRECATED_FLAGS: &[(&str, &str, &str)] = &[
    ("amr", "--t", "--error-threshold"),
    ("amr", "--T", "--error-threshold"),
    ("amr", "--p", "--proportion-threshold"),
    ("amr", "--P", "--proportion-threshold"),
    ("decompress", "--params", "--view"),
    ("demo", "--angle-step", "--theta-step and --phi-step"),
];

/// Warnings for the deprecated spellings in `args` (the command line after the program name).
fn deprecation_warnings(args: &[String], cmd: &Cmd) -> Vec<String> {
    let name = cmd.name();
    let mut out: Vec<String> = Vec::new();
    for arg in args.iter().take_while(|a| *a != "--") {
        let flag = arg.split('=').next().unwrap_or(arg);
        for (c, old, new) in DEPRECATED_FLAGS {
            if *c == name && flag == *old {
                let w = format!("warning: `neuvis {name} {old}` is deprecated: use {new} (the old spelling goes in a later release)");
                if !out.contains(&w) {
                    out.push(w);
                }
            }
        }
    }
    let positional = match cmd {
        Cmd::Isosurface(a) => a.volume_positional.as_deref(),
        Cmd::Raycast(raycast_cmd::RaycastCmd::Prepare(a)) => a.volume_positional.as_deref(),
        _ => None,
    };
    if let Some(v) = positional {
        let sub = if name == "raycast" { "raycast prepare" } else { name };
        out.push(format!(
            "warning: `neuvis {sub} VOLUME` (a positional volume) is deprecated: write `neuvis {sub} --volume {v}`, as render and inr fit take it (the positional goes in a later release)"
        ));
    }
    out
}

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
    /// Print one JSON object with the results on stdout (the text report goes to stderr):
    /// render, compress, decompress, eval, amr, isosurface, raycast render, devices, bench. Each
    /// object's JSON Schema is in the repository's crates/neuvis/schemas/.
    #[arg(long, global = true, help_heading = GLOBAL)]
    json: bool,
    /// Worker threads (default: all cores; at most 8 × the cores).
    #[arg(long, global = true, help_heading = GLOBAL, value_parser = crate::num::threads)]
    threads: Option<usize>,
    /// No progress bars or informational lines on stderr (results still go to stdout, errors and
    /// warnings to stderr).
    #[arg(short, long, global = true, help_heading = GLOBAL, conflicts_with = "verbose")]
    quiet: bool,
    /// More on stderr: -v the build's backends and thread count first and the wall time and peak
    /// memory last; -vv also the settings as parsed.
    #[arg(short, long, global = true, help_heading = GLOBAL, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Seconds between progress lines when stderr is not a terminal (a log file, a Slurm job's
    /// output): elapsed time, position, loss or time step, rate, ETA. On a terminal a bar is drawn.
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "SECONDS", default_value_t = 30.0, allow_negative_numbers = true, value_parser = crate::num::seconds)]
    progress_interval: f64,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Render an image collection (Cinema spec D database) of a volume over (t, θ, φ).
    #[command(
        after_help = "Examples:\n  neuvis render --volume tornado --size 128 --theta-step 9 --phi-step 9 --times 0 -o t.cdb\n  neuvis render --volume run.pvd --array pressure --mode dvr --tf cool-to-warm -o run.cdb\n  neuvis render --volume ct.raw --raw-dims 512x512x300 --raw-dtype i16 --spacing 0.7,0.7,1.5 --iso 300 -o ct.cdb\n  neuvis render --volume perfusion.nii.gz --times all -o perf.cdb     (a 4-D NIfTI: its time steps, at its times)"
    )]
    Render(Box<render::RenderArgs>),
    /// Compress an image collection into a .nrvi model (NeRVI or NeRV).
    #[command(
        after_help = "Examples:\n  neuvis compress t.cdb -o t.nrvi --ratio 200 --epochs 200\n  neuvis compress t48.cdb -o t48.nrvi --ratio 1000 --holdout-times 4 --load stream --device gpu\n  mpirun -np 4 neuvis compress t.cdb -o t.nrvi     (a build with --features neuvis/mpi: one model, data-parallel; --batch stays the global batch)"
    )]
    Compress(Box<codec_cmd::CompressArgs>),
    /// Decode images from a .nrvi model (its training grid or any parameters).
    #[command(
        after_help = "Examples:\n  neuvis decompress t.nrvi -o decoded.cdb\n  neuvis decompress t.nrvi -o views.cdb --view 24,45,90 --view 24.5,45,90"
    )]
    Decompress(codec_cmd::DecompressArgs),
    /// Compare two image collections: PSNR, SSIM, MS-SSIM, FLIP, worst images, difference images.
    #[command(after_help = "Example:\n  neuvis eval t.cdb decoded.cdb --csv scores.csv --diff-images diffs/")]
    Eval(eval::EvalArgs),
    /// Serve a local web page to explore .nrvi models (decoded on demand).
    #[command(after_help = "Example:\n  neuvis serve t.nrvi --port 8080")]
    Serve(serve::ServeArgs),
    /// Run the end-to-end demo on built-in data and print where the results went.
    #[command(after_help = "Example:\n  neuvis demo            (writes neuvis-demo/; --overwrite to run it again)")]
    Demo(demo::DemoArgs),
    /// Refine an adaptive mesh for a pre-trained INR (pruning-guided AMR), or compare runs.
    #[command(
        after_help = "Examples:\n  neuvis amr crates/neuvis-amr/fixtures/sin_inv_r.json --proportion-threshold 0.09 -o amr-2d/\n  neuvis amr compare amr-2d/ amr-basic/ -o compare.png"
    )]
    Amr(Box<amr_cmd::AmrCmd>),
    /// Work with implicit neural representations (fit one to a function or a volume).
    #[command(subcommand)]
    #[command(
        after_help = "Example:\n  neuvis inr fit --volume head.vti --array density --steps 4000 -o head-inr.json"
    )]
    Inr(amr_cmd::InrCmd),
    /// Extract an isosurface with marching cubes into a .ply or .vtp mesh.
    #[command(
        after_help = "Examples:\n  neuvis isosurface --volume wavelet.vti --iso 150 -o wavelet.vtp\n  neuvis isosurface --volume ct.raw --raw-dims 512x512x300 --raw-dtype i16 --spacing 0.7,0.7,1.5 --iso 300 -o bone.ply"
    )]
    Isosurface(raycast_cmd::IsosurfaceArgs),
    /// Speculative isosurface raycasting within a memory budget (prepare a brick store, render).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  neuvis raycast prepare --volume turbulence --dims 512 -o turb.nvb\n  neuvis raycast render turb.nvb --budget-mb 64 --method neural -o frame.png\n  neuvis raycast render turb.nvb --budget-mb 134 --method exact --device gpu -o frame.png     (wgpu compute shaders; the budget bounds GPU memory)\n  neuvis raycast serve turb.nvb --budget-mb 134 --device gpu"
    )]
    Raycast(raycast_cmd::RaycastCmd),
    /// Measure performance against named baselines and print a comparison table (runs the
    /// neuvis-bench binary beside this one).
    #[command(
        after_help = "Examples:\n  neuvis bench render\n  neuvis bench render --volume ct.nii.gz --no-vtk --json\n  neuvis bench train --size 128 --steps 30"
    )]
    Bench(bench_front::BenchArgs),
    /// Assemble the parts of sharded runs (`--shard I/N`, e.g. Slurm job-array tasks) into one output.
    #[command(
        after_help = "Example:\n  neuvis merge tornado.cdb      (after: neuvis render ... --shard I/4 -o tornado.cdb)"
    )]
    Merge(merge::MergeArgs),
    /// Write (and submit) a Slurm job array for a shardable command and the merge job after it, or
    /// one MPI job (--nodes) for compress, inr fit or amr.
    #[command(
        after_help = "Examples:\n  neuvis slurm --tasks 16 -- render --volume tornado --size 256 --times all -o t.cdb\n  neuvis slurm --nodes 4 --gpus-per-node 4 --mpi pmix --submit -- compress t.cdb -o t.nrvi --device cuda"
    )]
    Slurm(slurm::SlurmArgs),
    /// List the compute backends of this build (--device) and the GPU adapters found.
    #[command(after_help = "Example:\n  neuvis devices --probe")]
    Devices(devices::DevicesArgs),
}

impl Cmd {
    /// The subcommand's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Cmd::Render(_) => "render",
            Cmd::Compress(_) => "compress",
            Cmd::Decompress(_) => "decompress",
            Cmd::Eval(_) => "eval",
            Cmd::Serve(_) => "serve",
            Cmd::Demo(_) => "demo",
            Cmd::Amr(_) => "amr",
            Cmd::Inr(_) => "inr",
            Cmd::Isosurface(_) => "isosurface",
            Cmd::Raycast(_) => "raycast",
            Cmd::Bench(_) => "bench",
            Cmd::Merge(_) => "merge",
            Cmd::Slurm(_) => "slurm",
            Cmd::Devices(_) => "devices",
        }
    }

    /// Whether the command prints one JSON object under `--json`.
    fn prints_json(&self) -> bool {
        match self {
            Cmd::Render(_)
            | Cmd::Compress(_)
            | Cmd::Decompress(_)
            | Cmd::Eval(_)
            | Cmd::Amr(_)
            | Cmd::Isosurface(_)
            | Cmd::Devices(_)
            | Cmd::Bench(_) => true,
            Cmd::Raycast(r) => matches!(r, raycast_cmd::RaycastCmd::Render(_)),
            Cmd::Serve(_) | Cmd::Demo(_) | Cmd::Inr(_) | Cmd::Merge(_) | Cmd::Slurm(_) => false,
        }
    }
}

/// Parses the command line (exits with clap's message on an error). Every option that takes a
/// value accepts a negative number as that value, so `--ratio -5` is refused by the option's own
/// check, naming it, rather than read as an unknown flag `-5`.
fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let matches = neuvis_cli::negative_numbers(Cli::command()).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `neuvis --version`: the version and the compute backends compiled in.
fn long_version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(devices::backends_line)
}

fn main() -> std::process::ExitCode {
    // before any thread starts: burn's default device is the CPU unless BURN_DEVICE says otherwise
    neuvis_nn::device::pin_default();
    neuvis_cli::tune_allocator();
    let cli = parse();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for w in deprecation_warnings(&argv, &cli.cmd) {
        eprintln!("{w}");
    }
    neuvis_cli::report::set_json(cli.json);
    neuvis_cli::report::set_quiet(cli.quiet);
    progress::set_interval(cli.progress_interval);
    let started = std::time::Instant::now();
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global() {
            eprintln!("warning: could not set thread count: {e}");
        }
    }
    if cli.verbose >= 1 {
        eprintln!(
            "neuvis {}, {} worker threads",
            devices::backends_line(),
            rayon::current_num_threads()
        );
    }
    if cli.verbose >= 2 {
        eprintln!("settings: {:#?}", cli.cmd);
    }
    if cli.json && !cli.cmd.prints_json() {
        eprintln!(
            "error: --json: this command prints no result object (those that do: render, compress, decompress, eval, amr, isosurface, raycast render, devices, bench)"
        );
        return std::process::ExitCode::from(2);
    }
    // the servers shut down on Ctrl-C themselves; render, compress, decompress and eval stop at a
    // safe point
    match &cli.cmd {
        Cmd::Serve(_) | Cmd::Raycast(raycast_cmd::RaycastCmd::Serve(_)) => {}
        Cmd::Render(_) | Cmd::Compress(_) | Cmd::Decompress(_) | Cmd::Eval(_) => signals::install(true),
        _ => signals::install(false),
    }
    let globals = bench_front::Globals {
        json: cli.json,
        threads: cli.threads,
        quiet: cli.quiet,
        progress_interval: cli.progress_interval,
    };
    let res = match cli.cmd {
        Cmd::Render(a) => render::run(&a).map(|s| render::print_summary(&s)),
        Cmd::Compress(a) => codec_cmd::compress(&a).map(|r| r.iter().for_each(codec_cmd::print_compress)),
        Cmd::Decompress(a) => codec_cmd::decompress(&a).map(|_| ()),
        Cmd::Eval(a) => eval::run(&a).map(|_| ()),
        Cmd::Serve(a) => serve::run(&a),
        Cmd::Demo(a) => demo::run(&a),
        Cmd::Bench(b) => bench_front::run(&b, &globals),
        Cmd::Amr(a) => amr_cmd::amr(&a),
        Cmd::Inr(i) => amr_cmd::inr(&i),
        Cmd::Raycast(r) => raycast_cmd::run(&r),
        Cmd::Isosurface(a) => raycast_cmd::isosurface(&a),
        Cmd::Merge(a) => merge::run(&a),
        Cmd::Slurm(a) => slurm::run(&a),
        Cmd::Devices(a) => devices::run(&a),
    };
    if cli.verbose >= 1 {
        let peak = neuvis_base::mem::peak_rss().map_or("unknown".into(), |b| format!("{:.1} MB", b as f64 / 1e6));
        eprintln!(
            "{} after {:.2} s; peak memory (resident) {peak}",
            if res.is_ok() { "done" } else { "failed" },
            started.elapsed().as_secs_f64()
        );
    }
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if let Some(i) = e.chain().find_map(|c| c.downcast_ref::<neuvis_base::Interrupted>()) {
                eprintln!("{i}");
                if i.resumable {
                    eprintln!("to continue: {}", signals::resume_command());
                }
                return std::process::ExitCode::from(signals::exit_status());
            }
            eprintln!("error: {}", neuvis_cli::report::error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};

    /// Every command's `--help` ends with examples, and every example parses as written.
    #[test]
    fn every_help_example_parses() {
        let cmd = Cli::command();
        let mut n = 0;
        for sub in cmd.get_subcommands() {
            let help = sub
                .get_after_help()
                .unwrap_or_else(|| panic!("`neuvis {}` has no example", sub.get_name()))
                .to_string();
            for line in help.lines().map(str::trim).filter(|l| l.starts_with("neuvis ")) {
                let line = line.split(" (").next().unwrap_or(line);
                let args: Vec<&str> = line.split_whitespace().collect();
                if let Err(e) = Cli::try_parse_from(&args) {
                    panic!("example `{line}` does not parse: {e}");
                }
                n += 1;
            }
        }
        assert!(n >= 20, "{n} examples");
    }
}
