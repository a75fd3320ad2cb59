//! `neuvis inr fit`, `neuvis amr` and `neuvis amr compare`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::progress::Progress;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use neuvis_amr::fit::{fit_to_file, FitTarget, InrFitOptions};
use neuvis_amr::job::{table_header, table_row, write_outputs, AmrOptions, History};
use neuvis_amr::plot::plot_error_vs_dofs;
use neuvis_amr::{Activation, BasicError, Inr, Method};
use neuvis_cli::flags::{named, named_with};

/// `neuvis inr …`.
#[derive(Subcommand, Debug)]
pub enum InrCmd {
    /// Train a coordinate-MLP INR on an analytic function or a volume; writes spec + safetensors.
    Fit(FitArgs),
}

/// `neuvis inr fit`.
#[derive(Args, Debug)]
#[group(id = "target", required = true, multiple = false, args = ["function", "volume"])]
pub struct FitArgs {
    /// Analytic target: sin-inv-r (2-D, [0,1]², §4.1) or dynamic-ct (4-D, [−1,1]⁴, §4.2).
    #[arg(long)]
    pub function: Option<String>,
    /// Volume file (.vti .vtk .nrrd .nhdr .nii .nii.gz, raw with --raw-dims, or a procedural
    /// name); the INR's domain is its world-space bounding box.
    #[arg(long)]
    pub volume: Option<String>,
    /// How to read the volume.
    #[command(flatten)]
    pub vol: crate::volume_args::VolumeOptions,
    /// Which step of a series.
    #[command(flatten)]
    pub step: crate::volume_args::StepArg,
    /// Output spec (JSON); the weights go next to it as <stem>.safetensors.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    /// Hidden widths, comma-separated.
    #[arg(long, default_values_t = fit_defaults().hidden, value_delimiter = ',')]
    pub hidden: Vec<usize>,
    /// Activation: relu, silu (swish), tanh, gelu or sine.
    #[arg(long, default_value = fit_defaults().activation.name(), value_parser = named_with(Activation::parse))]
    pub activation: Activation,
    /// ω₀ of the sine activation.
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = fit_defaults().omega0)]
    pub omega0: f64,
    /// Gaussian random Fourier features: number of frequencies m (0 = none).
    #[arg(long, default_value_t = fit_defaults().fourier.map_or(0, |f| f.0))]
    pub fourier: usize,
    /// Standard deviation of the Fourier frequencies.
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = neuvis_amr::fit::DEFAULT_FOURIER_SIGMA)]
    pub sigma: f64,
    /// Optimizer steps.
    #[arg(long, default_value_t = fit_defaults().steps)]
    pub steps: usize,
    /// Random points per step.
    #[arg(long, default_value_t = fit_defaults().batch)]
    pub batch: usize,
    /// Peak learning rate (Adam, 2% warm-up, cosine decay).
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = fit_defaults().lr)]
    pub lr: f64,
    /// Seed.
    #[arg(long, default_value_t = fit_defaults().seed)]
    pub seed: u64,
    #[command(flatten)]
    pub device: neuvis_cli::flags::DeviceArg,
}

/// `inr fit`'s defaults: the library's.
fn fit_defaults() -> InrFitOptions {
    InrFitOptions::default()
}

impl FitArgs {
    /// The fit's settings.
    pub fn options(&self) -> InrFitOptions {
        InrFitOptions {
            hidden: self.hidden.clone(),
            activation: self.activation,
            omega0: self.omega0,
            fourier: (self.fourier > 0).then_some((self.fourier, self.sigma)),
            steps: self.steps,
            batch: self.batch,
            lr: self.lr,
            seed: self.seed,
        }
    }
}

/// Runs `neuvis inr fit` (under mpirun/srun on every rank, data-parallel; rank 0 writes).
pub fn inr(cmd: &InrCmd) -> Result<()> {
    let InrCmd::Fit(a) = cmd;
    crate::ranks::run(|ranks| inr_fit(a, ranks))
}

fn inr_fit(a: &FitArgs, ranks: &dyn neuvis_base::ranks::Ranks) -> Result<()> {
    let root = ranks.rank() == 0;
    if a.output.extension().and_then(|e| e.to_str()) != Some("json") {
        bail!(
            "{}: the output is the INR's spec and must end in .json",
            a.output.display()
        );
    }
    {
        let inputs: Vec<&Path> = a.volume.iter().map(Path::new).collect();
        let weights = a.output.with_extension("safetensors");
        use crate::outputs::OutputKind::FileWithMark;
        let kinds = [
            FileWithMark(neuvis_amr::inr::SPEC_MARK, "an INR spec neuvis inr fit wrote"),
            FileWithMark(
                neuvis_amr::weights::SAFETENSORS_MARK,
                "safetensors weights neuvis wrote",
            ),
        ];
        for (p, kind) in [&a.output, &weights].into_iter().zip(kinds).filter(|_| root) {
            crate::outputs::check(p, kind, a.out.overwrite, &inputs)?;
        }
    }
    let field;
    let target = match (&a.function, &a.volume) {
        (Some(name), _) => FitTarget::function(name)?,
        (None, Some(v)) => {
            field = a
                .vol
                .read_one(v, a.seed, &a.step)
                .with_context(|| format!("{v}: cannot load the volume"))?;
            info!("{v}: {}", field.value_summary());
            let ((lo, hi), (blo, bhi)) = (field.range(), field.bounds());
            let f = &field;
            FitTarget {
                field: Box::new(move |p: &[f64]| f.sample([p[0] as f32, p[1] as f32, p[2] as f32]) as f64),
                domain: (0..3).map(|a| [blo[a] as f64, bhi[a] as f64]).collect(),
                flag: format!("--volume {v}"),
                what: format!("volume {v}"),
                range: Some(hi as f64 - lo as f64),
            }
        }
        (None, None) => bail!("give --function or --volume"),
    };
    let opts = a.options();
    let device = neuvis_nn::device::device(&a.device).map_err(anyhow::Error::msg)?;
    let pb = Progress::new(
        "inr fit",
        "steps",
        Some(a.steps as u64),
        "[{elapsed_precise}] {bar:30} step {pos}/{len} {msg}, ETA {eta}",
    )
    .with_rate("samples", a.batch as f64);
    let t0 = Instant::now();
    let mut running = f64::NAN;
    let (spec, net, report) = fit_to_file(&target, &opts, &device, ranks, &a.output, |s, loss| {
        running = if running.is_nan() {
            loss
        } else {
            0.98 * running + 0.02 * loss
        };
        pb.set_position(s as u64);
        if s % 25 == 0 {
            pb.set_message(format!("loss {running:.3e}"));
        }
    })?;
    pb.finish();
    if !root {
        return Ok(());
    }
    if ranks.size() > 1 {
        say!("{} MPI ranks shared each batch of {} points", ranks.size(), a.batch);
    }
    let range = target.range.unwrap_or(report.range);
    say!(
        "fitted {}: {} parameters, {} hidden neurons, {:.1} s; held-out RMSE {:.4e} (PSNR {:.2} dB over the value range {:.4})",
        target.what,
        net.hidden.iter().map(|l| l.w.nrows() * (l.w.ncols() + 1)).sum::<usize>() + net.output.w.ncols() + 1,
        net.hidden_neurons(),
        t0.elapsed().as_secs_f64(),
        report.rmse,
        20.0 * (range / report.rmse.max(1e-300)).log10(),
        range
    );
    say!(
        "wrote {} and {}",
        a.output.display(),
        spec.weights.as_deref().unwrap_or("")
    );
    Ok(())
}

/// `neuvis amr`: refine a mesh for an INR, or `neuvis amr compare`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AmrCmd {
    #[command(subcommand)]
    sub: Option<AmrSub>,
    #[command(flatten)]
    run: AmrArgs,
}

#[derive(Subcommand, Debug)]
enum AmrSub {
    /// Plot total error against DOFs of several `neuvis amr` output folders (log–log).
    Compare(CompareArgs),
}

/// `neuvis amr compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Output folders of `neuvis amr` runs.
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Plot file (.png or .svg).
    #[arg(short, long, default_value = "amr-compare.png")]
    pub output: PathBuf,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    /// Plot title.
    #[arg(long, default_value = "Total error vs. degrees of freedom")]
    pub title: String,
}

/// `neuvis amr MODEL …`. Every default is [`AmrOptions::default`]'s.
#[derive(Args, Debug)]
pub struct AmrArgs {
    /// INR spec (JSON naming its weights: safetensors or a PyTorch .pt/.pth state dict).
    #[arg(required = true)]
    pub model: Option<PathBuf>,
    /// Weights file overriding the spec's.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Output folder (history.csv/json, VTU meshes, PNG slices).
    #[arg(short, long, required = true)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    /// pruning (Algorithm 1), basic (interpolation error) or uniform.
    #[arg(long, default_value = AmrOptions::default().method.name(), value_parser = named::<Method>())]
    pub method: Method,
    /// The paper's T: refine an element while the pruned INR's relative error on it exceeds this
    /// (`--t`/`--T` of earlier releases still work, with a warning).
    #[arg(value_parser = crate::num::finite_f64, long, value_name = "T", aliases = ["t", "T"], default_value_t = AmrOptions::default().t)]
    pub error_threshold: f64,
    /// The paper's P: refine an element while the proportion of neurons pruning keeps exceeds this
    /// (`--p`/`--P` of earlier releases still work, with a warning).
    #[arg(value_parser = crate::num::finite_f64, long, value_name = "P", aliases = ["p", "P"], default_value_t = AmrOptions::default().p)]
    pub proportion_threshold: f64,
    /// ε of the interpolative decomposition.
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = AmrOptions::default().eps)]
    pub eps: f64,
    /// τ of the basic method.
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = AmrOptions::default().tau)]
    pub tau: f64,
    /// The basic method's relative error: `reference` (mean|f − g| · mean(1/|f|) ≥ τ, LLNL's
    /// implementation, so its τ values carry over) or `pointwise` (mean(|f − g| / max(|f|, δ)) > τ).
    #[arg(long, default_value_t = AmrOptions::default().basic_error, value_parser = named::<BasicError>())]
    pub basic_error: BasicError,
    /// Points per element for the ID.
    #[arg(long, default_value_t = AmrOptions::default().id_samples)]
    pub id_samples: usize,
    /// Points per element for the error estimate.
    #[arg(long, default_value_t = AmrOptions::default().error_samples)]
    pub error_samples: usize,
    /// Maximum iterations.
    #[arg(long, default_value_t = AmrOptions::default().max_it)]
    pub max_it: usize,
    /// Stop once the mesh has more DOFs than this.
    #[arg(long, default_value_t = AmrOptions::default().max_dofs)]
    pub max_dofs: usize,
    /// Never let an iteration grow the mesh past this many elements.
    #[arg(long, default_value_t = AmrOptions::default().max_elements)]
    pub max_elements: usize,
    /// The first N iterations refine uniformly (recorded, and counted toward --max-it).
    #[arg(long, default_value_t = AmrOptions::default().initial_refinements)]
    pub initial_refinements: usize,
    /// Seed of all random samples.
    #[arg(long, default_value_t = AmrOptions::default().seed)]
    pub seed: u64,
    /// Points for the total error (default 262,144 in 2-D, 1,048,576 otherwise).
    #[arg(long)]
    pub total_error_samples: Option<usize>,
    /// Floor δ of relative errors |f−g|/max(|f|, δ) (default: 1% of max |f|).
    #[arg(value_parser = crate::num::finite_f64, long)]
    pub rel_floor: Option<f64>,
    /// Slices to draw for 3-D/4-D INRs, e.g. x=0 (repeatable; default: x at the domain's middle).
    #[arg(long)]
    pub slice: Vec<String>,
    /// Times of the 3-D slices of a 4-D INR (VTU + PNG each), comma-separated (default: first,
    /// middle and last time of the domain).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub time_slices: Vec<f64>,
    /// Pixels along the longer side of PNG slices (16 to 8192).
    #[arg(long, default_value_t = AmrOptions::default().slice_px)]
    pub slice_px: u32,
    /// Colour range LO,HI of PNG slices (default: the range of the vertex values).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub range: Vec<f64>,
}

impl AmrArgs {
    /// The library's settings these flags give.
    fn options(&self) -> Result<AmrOptions> {
        let range = match self.range[..] {
            [] => None,
            [lo, hi] => Some([lo, hi]),
            _ => bail!("--range needs LO,HI with LO < HI"),
        };
        Ok(AmrOptions {
            method: self.method,
            t: self.error_threshold,
            p: self.proportion_threshold,
            eps: self.eps,
            tau: self.tau,
            basic_error: self.basic_error,
            id_samples: self.id_samples,
            error_samples: self.error_samples,
            max_it: self.max_it,
            max_dofs: self.max_dofs,
            max_elements: self.max_elements,
            initial_refinements: self.initial_refinements,
            seed: self.seed,
            total_error_samples: self.total_error_samples,
            rel_floor: self.rel_floor,
            slices: self.slice.clone(),
            time_slices: self.time_slices.clone(),
            slice_px: self.slice_px,
            range,
        })
    }
}

impl AmrCmd {
    /// The output folder of `neuvis amr MODEL -o OUT` (none for `amr compare`).
    pub fn output(&self) -> Option<&Path> {
        match self.sub {
            Some(_) => None,
            None => self.run.output.as_deref(),
        }
    }
}

/// Runs `neuvis amr`.
pub fn amr(cmd: &AmrCmd) -> Result<()> {
    if let Some(AmrSub::Compare(c)) = &cmd.sub {
        return compare(c);
    }
    let a = &cmd.run;
    let (Some(model), Some(out)) = (&a.model, &a.output) else {
        bail!("usage: neuvis amr MODEL.json -o OUT/ [options], or neuvis amr compare OUT1 OUT2 …");
    };
    // under mpirun every rank runs this; rank 0 alone checks and writes the outputs and prints
    crate::ranks::run(|ranks| amr_run(a, model, out, ranks))
}

fn amr_run(a: &AmrArgs, model: &Path, out: &Path, ranks: &dyn neuvis_amr::Ranks) -> Result<()> {
    let mut inputs = vec![model];
    inputs.extend(a.weights.as_deref());
    let root = ranks.rank() == 0;
    let options = a.options()?;
    if root {
        crate::outputs::check(out, crate::outputs::OutputKind::NeuvisFolder, a.out.overwrite, &inputs)?;
    }
    let inr = Inr::load(model, a.weights.as_deref())?;
    let d = inr.dim();
    let cfg = options.config(d)?;
    let plan = options.plan(&inr.spec)?;
    if !root {
        // a rank other than 0 takes its share of every iteration, writes and prints nothing
        neuvis_amr::run_on(&inr.net, &inr.spec.domain, &cfg, ranks, |_| {}, &|_, _, _| {})?;
        return Ok(());
    }
    if ranks.size() > 1 {
        say!("{} MPI ranks share each iteration's element tests", ranks.size());
    }
    say!(
        "{}: {d}-D INR, {} hidden neurons in {} layers; {cfg}",
        model.display(),
        inr.net.hidden_neurons(),
        inr.net.hidden.len(),
    );
    say!("{}", table_header());
    // A bar over the elements of long iterations, shown only while an iteration examines its
    // elements (indicatif draws nothing when stderr is not a terminal).
    let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
    pb.set_style(
        ProgressStyle::with_template("  iteration {msg}: {bar:30} {pos}/{len} elements, ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let run = neuvis_amr::run_on(
        &inr.net,
        &inr.spec.domain,
        &cfg,
        ranks,
        |r| {
            pb.finish_and_clear();
            pb.set_draw_target(ProgressDrawTarget::hidden());
            say!("{}", table_row(r));
        },
        &|it, n, total| {
            if (pb.is_hidden() || pb.message() != it.to_string()) && !crate::quiet() {
                pb.reset();
                pb.set_length(total as u64);
                pb.set_message(it.to_string());
                pb.set_draw_target(ProgressDrawTarget::stderr());
            }
            // Workers report out of order; never move the bar backwards.
            pb.set_position((n as u64).max(pb.position()));
        },
    )?;
    pb.set_draw_target(ProgressDrawTarget::hidden());
    say!(
        "stopped: {} (relative-error floor {:.3e})",
        run.stop_reason,
        run.rel_floor
    );
    let name = model.display().to_string();
    // the folder is made once the run succeeded: a failed or interrupted run leaves nothing
    crate::outputs::create_folder(out, a.out.overwrite, &inputs, neuvis_amr::job::FOLDER_CONTENTS)?;
    let written = write_outputs(&run, &inr, &plan, out, &name)?;
    for w in &written.warnings {
        eprintln!("warning: {w}");
    }
    if let Some((lo, hi)) = written.png_range {
        say!("PNG colour range (viridis): [{lo:.4}, {hi:.4}]");
    }
    crate::emit_json(serde_json::json!({
        "command": "amr", "model": name, "output": out, "method": cfg.method.name(),
        "stop_reason": run.stop_reason, "rel_floor": run.rel_floor, "history": run.history, "written": written.files,
    }));
    say!("wrote {} in {}", written.files.join(", "), out.display());
    Ok(())
}

fn compare(c: &CompareArgs) -> Result<()> {
    let inputs: Vec<&Path> = c.runs.iter().map(PathBuf::as_path).collect();
    crate::outputs::check(
        &c.output,
        neuvis_amr::plot::output_kind(&c.output),
        c.out.overwrite,
        &inputs,
    )?;
    let curves = c
        .runs
        .iter()
        .map(|d| History::curve(d))
        .collect::<neuvis_amr::Result<Vec<_>>>()?;
    say!(
        "{:<32} {:>4} {:>10} {:>10} {:>12}",
        "run",
        "it",
        "DOFs",
        "conf.DOFs",
        "RMSE"
    );
    for c in &curves {
        for r in &c.history {
            say!(
                "{:<32} {:>4} {:>10} {:>10} {:>12.4e}",
                c.label,
                r.iteration,
                r.dofs,
                r.conforming_dofs,
                r.total_error
            );
        }
    }
    plot_error_vs_dofs(&curves, &c.output, &c.title)?;
    say!("wrote {}", c.output.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        amr: AmrArgs,
    }

    #[derive(Parser)]
    struct FitCli {
        #[command(flatten)]
        fit: FitArgs,
    }

    /// `inr fit`'s flag defaults are `InrFitOptions::default()`, and each flag reaches its field.
    #[test]
    fn fit_flag_defaults_are_the_library_defaults() {
        let cli = FitCli::try_parse_from(["fit", "--function", "sin-inv-r", "-o", "f.json"]).unwrap();
        assert_eq!(cli.fit.options(), InrFitOptions::default());
        let cli = FitCli::try_parse_from([
            "fit",
            "--function",
            "sin-inv-r",
            "-o",
            "f.json",
            "--hidden",
            "5,6",
            "--activation",
            "swish",
            "--omega0",
            "7",
            "--fourier",
            "3",
            "--sigma",
            "2.5",
            "--steps",
            "9",
            "--batch",
            "10",
            "--lr",
            "0.5",
            "--seed",
            "11",
        ])
        .unwrap();
        let want = InrFitOptions {
            hidden: vec![5, 6],
            activation: Activation::Silu,
            omega0: 7.0,
            fourier: Some((3, 2.5)),
            steps: 9,
            batch: 10,
            lr: 0.5,
            seed: 11,
        };
        assert_eq!(cli.fit.options(), want);
    }

    /// clap's defaults are the library's: no default is typed twice (and none drifts).
    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["amr", "m.json", "-o", "out"]).unwrap();
        assert_eq!(cli.amr.options().unwrap(), AmrOptions::default());
        // and every flag reaches its field
        let cli = Cli::try_parse_from([
            "amr",
            "m.json",
            "-o",
            "out",
            "--method",
            "basic",
            "--error-threshold",
            "0.2",
            "--proportion-threshold",
            "0.3",
            "--eps",
            "0.01",
            "--tau",
            "0.4",
            "--basic-error",
            "pointwise",
            "--id-samples",
            "5",
            "--error-samples",
            "6",
            "--max-it",
            "7",
            "--max-dofs",
            "8",
            "--max-elements",
            "9",
            "--initial-refinements",
            "1",
            "--seed",
            "11",
            "--total-error-samples",
            "12",
            "--rel-floor",
            "0.5",
            "--slice",
            "y=1",
            "--time-slices",
            "-0.5,1",
            "--slice-px",
            "64",
            "--range",
            "-1,2",
        ])
        .unwrap();
        let want: AmrOptions = serde_json::from_value(serde_json::json!({
            "method": "basic", "t": 0.2, "p": 0.3, "eps": 0.01, "tau": 0.4, "basic_error": "pointwise",
            "id_samples": 5, "error_samples": 6, "max_it": 7, "max_dofs": 8, "max_elements": 9,
            "initial_refinements": 1, "seed": 11, "total_error_samples": 12, "rel_floor": 0.5,
            "slices": ["y=1"], "time_slices": [-0.5, 1.0], "slice_px": 64, "range": [-1.0, 2.0],
        }))
        .unwrap();
        assert_eq!(cli.amr.options().unwrap(), want);
    }
}
