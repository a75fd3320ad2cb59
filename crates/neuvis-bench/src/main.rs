//! `neuvis-bench` (also run as `neuvis bench`): measured performance against named baselines,
//! each printed as a table (or one JSON object under `--json`) with the baseline in the same run.
//!
//! The benchmarks live here, outside the shipping `neuvis` binary: `neuvis bench ARGS` runs this
//! binary (found beside `neuvis`, else on the `PATH`) as git and cargo run their external
//! subcommands. Benchmarks that time a command line (`raycast`, `shard`, `loader`'s fixture) run
//! the `neuvis` binary found the same way (`NEUVIS` names another); the others call the libraries.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod decode;
mod fixture;
mod loader;
mod machine;
mod metrics;
mod raycast;
mod render;
mod serve;
mod shard;
mod table;
mod train;

/// The help heading of the options every benchmark takes.
const GLOBAL: &str = "Global options (every benchmark)";

/// `neuvis-bench`: the command line.
#[derive(Parser, Debug)]
#[command(
    name = "neuvis-bench",
    version,
    about = "Measured performance of neuvis against named baselines, each printed as a table with the baseline in the same run (also run as `neuvis bench`)",
    after_help = "Examples:\n  neuvis-bench render\n  neuvis-bench render --volume ct.nii.gz --no-vtk --json\n  neuvis-bench train --size 128 --steps 30\n  neuvis bench decode --size 256 (the same, through the neuvis binary)"
)]
struct Cli {
    /// Print the table as one JSON object on stdout (the text goes to stderr); its JSON Schema is
    /// crates/neuvis/schemas/bench.schema.json.
    #[arg(long, global = true, help_heading = GLOBAL)]
    json: bool,
    /// Worker threads (default: all cores; at most 8 × the cores).
    #[arg(long, global = true, help_heading = GLOBAL, value_parser = neuvis_cli::num::threads)]
    threads: Option<usize>,
    /// No progress bars or informational lines on stderr.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    quiet: bool,
    /// Seconds between progress lines when stderr is not a terminal.
    #[arg(long, global = true, help_heading = GLOBAL, value_parser = neuvis_cli::num::seconds, default_value_t = 30.0)]
    progress_interval: f64,
    #[command(subcommand)]
    cmd: BenchCmd,
}

fn main() -> std::process::ExitCode {
    neuvis_nn::device::pin_default();
    neuvis_cli::tune_allocator();
    let cli = {
        use clap::{CommandFactory, FromArgMatches};
        let matches = neuvis_cli::negative_numbers(Cli::command()).get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    };
    neuvis_cli::report::set_json(cli.json);
    neuvis_cli::report::set_quiet(cli.quiet);
    neuvis_cli::progress::set_interval(cli.progress_interval);
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global() {
            eprintln!("warning: could not set thread count: {e}");
        }
    }
    match run(&cli.cmd) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", neuvis_cli::report::error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Benchmarks.
#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Milliseconds per frame of the IR and DVR raycaster next to VTK's CPU ray caster
    /// (vtkFixedPointVolumeRayCastMapper), same volume, cameras, transfer function and step.
    Render(Box<render::RenderBenchArgs>),
    /// Images per second of the metrics on a rendered collection, next to the Python reference
    /// implementations (scikit-image, pytorch-msssim, flip-evaluator) on the same images.
    Metrics(metrics::MetricsBenchArgs),
    /// Milliseconds per NeRVI training step in neuvis (burn, flex CPU backend) next to the same
    /// network, loss and optimizer in PyTorch on the CPU with the same thread count.
    Train(train::TrainBenchArgs),
    /// Decoded images per second at a given size (target: ≥ 100 images/s at 256² on 2 cores).
    Decode(decode::DecodeBenchArgs),
    /// Explorer frame latency (cold, cached) and frames/s while animating, over real HTTP.
    Serve(serve::ServeBenchArgs),
    /// Speculative isosurface raycasting over an orbit: frame time, time to first and converged
    /// frame, peak RSS (one process per method), store size, PSNR/SSIM against `full`.
    Raycast(raycast::RaycastBenchArgs),
    /// A sharded render (N tasks + merge, local processes or a Slurm job array) against the
    /// single-process render: wall time, merge cost, byte-identical result.
    Shard(shard::ShardBenchArgs),
    /// Images/s of the streaming loader (PNG decode + batch assembly) against the training step on
    /// a device, and the step with streamed against in-memory images.
    Loader(loader::LoaderBenchArgs),
}

/// Runs a benchmark.
fn run(b: &BenchCmd) -> Result<()> {
    match b {
        BenchCmd::Render(a) => render::render_bench(a),
        BenchCmd::Metrics(a) => metrics::metrics_bench(a),
        BenchCmd::Train(a) => train::train_bench(a),
        BenchCmd::Decode(a) => decode::decode_bench(a),
        BenchCmd::Serve(a) => serve::run(a),
        BenchCmd::Raycast(a) => raycast::run(a),
        BenchCmd::Shard(a) => shard::run(a),
        BenchCmd::Loader(a) => loader::run(a),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};

    /// The help ends with examples, and each parses as written (through `neuvis bench` too).
    #[test]
    fn help_examples_parse() {
        let help = Cli::command().get_after_help().expect("examples").to_string();
        let mut n = 0;
        for line in help.lines().map(str::trim) {
            let line = line.split(" (").next().unwrap_or(line);
            let args: Vec<&str> = match line.strip_prefix("neuvis bench ") {
                Some(rest) => std::iter::once("neuvis-bench").chain(rest.split_whitespace()).collect(),
                None if line.starts_with("neuvis-bench ") => line.split_whitespace().collect(),
                None => continue,
            };
            if let Err(e) = Cli::try_parse_from(&args) {
                panic!("example `{line}` does not parse: {e}");
            }
            n += 1;
        }
        assert_eq!(n, 4);
    }
}
