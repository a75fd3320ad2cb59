//! `neuvis compress` and `neuvis decompress`.

use crate::progress::Progress;
use anyhow::{bail, Result};
use clap::Args;
use neuvis_base::named::Named;
use neuvis_cli::flags::named;
use neuvis_codec::codec::Decoder;
use neuvis_codec::compress::{CompressOptions, Size, DEFAULT_RATIO, DEFAULT_START_GRID};
use neuvis_codec::dataset::Residency;
use neuvis_codec::Nrvi;
use neuvis_codec::{Arch, Plan, Skip};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// `neuvis compress`'s defaults: the library's, which clap shows and fills in.
fn d() -> CompressOptions {
    CompressOptions::default()
}

/// Options of `neuvis compress`.
#[derive(Args, Debug, Clone)]
pub struct CompressArgs {
    /// Input collection (Cinema spec D directory).
    pub input: PathBuf,
    /// Output model file (.nrvi).
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    /// Network family: nervi (NeRVI: SIREN residual MLP, RGB + mask head, masked loss) or nerv
    /// (the NeRV baseline: GELU MLP, RGB head, loss over all pixels).
    #[arg(long, default_value = d().arch.name_of(), value_parser = named::<Arch>())]
    pub arch: Arch,
    /// Target compression ratio raw/file; picks c1 = c0 = c2 (or give the widths with --c1).
    #[arg(value_parser = crate::num::positive_f64, long, default_value_t = DEFAULT_RATIO)]
    pub ratio: f64,
    /// MLP width c1 (explicit size instead of --ratio; giving both is refused).
    #[arg(long, conflicts_with = "ratio")]
    pub c1: Option<usize>,
    /// Channels of the reshaped MLP output C0 (default ⌈c1/2⌉; 4·c1 with --paper-plan, as Table 1).
    #[arg(long)]
    pub c0: Option<usize>,
    /// Output channels of the first upscale block c2, halved per block (default c1; 2·c1 with
    /// --paper-plan).
    #[arg(long)]
    pub c2: Option<usize>,
    /// Smallest side of the start grid the MLP output is reshaped to; upscale steps of 2 (3, 5
    /// where the size needs them) go from there to the image size.
    #[arg(long, default_value_t = DEFAULT_START_GRID)]
    pub start_grid: usize,
    /// NeRVI's Table 1 plan instead: 2×2 start grid, 4× steps first (better for wide networks).
    #[arg(long)]
    pub paper_plan: bool,
    /// NeRVI's skip connections where a SIREN block changes width: project (learned projections in
    /// both blocks), project-tile (a projection in the first, the input tiled in the second),
    /// project-none (a projection in the first, none in the second), tile (tiled, parameter-free,
    /// in both) or none (BENCHMARKS.md compares them).
    #[arg(long, default_value = d().skip.name_of(), value_parser = named::<Skip>())]
    pub skip: Skip,
    /// Quantization bits per weight (1–16) of the upscale convolutions, and of NeRV's MLP (the head
    /// convolution takes the wider of --bits and --mlp-bits).
    #[arg(long, default_value_t = d().bits)]
    pub bits: u32,
    /// Bits of the MLP blocks (default: --bits + 2 for NeRVI, whose sin(ω₀·x) layers amplify
    /// weight errors; --bits for NeRV). With --omega0 10, --bits + 1 measured better (BENCHMARKS.md).
    #[arg(long)]
    pub mlp_bits: Option<u32>,
    /// SIREN frequency ω₀ of NeRVI's MLP blocks (default 30, as the paper; NeRV has no SIREN
    /// layers). BENCHMARKS.md measures 10 at small widths.
    #[arg(value_parser = crate::num::finite_f64, long)]
    pub omega0: Option<f64>,
    /// Training epochs.
    #[arg(long, default_value_t = d().epochs)]
    pub epochs: usize,
    /// Quantization-aware fine-tuning: the last N epochs train through the weights quantized to
    /// --bits / --mlp-bits, as the file stores them (straight-through estimator; 0: off; BENCHMARKS.md).
    #[arg(long, default_value_t = d().qat_epochs)]
    pub qat_epochs: usize,
    /// Peak learning rate (Adam, warm-up then cosine decay). 3e-3 is better for tiny networks
    /// (c1 ≤ ~10, e.g. CR ≥ 500 at 64²), 1e-3 for wider ones (BENCHMARKS.md).
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = d().lr)]
    pub lr: f64,
    /// The MLP's learning rate as a multiple of --lr (1: one rate for the whole network). 0.3 lets
    /// small NeRVI networks train with small batches (--batch 4 --omega0 10; BENCHMARKS.md).
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = d().mlp_lr)]
    pub mlp_lr: f64,
    /// Fraction of the steps used for linear warm-up.
    #[arg(value_parser = crate::num::finite_f64, long, default_value_t = d().warmup)]
    pub warmup: f64,
    /// Images per step.
    #[arg(long, default_value_t = d().batch)]
    pub batch: usize,
    /// Seed of the initialization and the shuffling.
    #[arg(long, default_value_t = d().seed)]
    pub seed: u64,
    /// Write a checkpoint every this many epochs (0: never).
    #[arg(long, default_value_t = d().checkpoint_every)]
    pub checkpoint_every: usize,
    /// Continue an interrupted run from its checkpoint (same options required).
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub device: neuvis_cli::flags::DeviceArg,
    /// Where the training images live: memory (decoded once), stream (decoded from the PNGs batch
    /// by batch on worker threads, ahead of the training step; memory does not grow with the
    /// number of images), auto (memory up to 512 MiB of pixels, stream beyond). Same model either way.
    #[arg(long, default_value = Residency::default().name_of(), value_parser = named::<Residency>())]
    pub load: Residency,
    /// Leave every K-th time step out of training (the first and last are always trained) to
    /// measure interpolation in time: `neuvis eval --holdout` reports them separately, the file
    /// records them, the explorer's time slider shows them.
    #[arg(long, value_name = "K")]
    pub holdout_times: Option<usize>,
}

/// What a compression run produced.
pub use neuvis_codec::compress::CompressReport;

impl CompressArgs {
    /// The library options these flags give.
    pub fn options(&self) -> CompressOptions {
        CompressOptions {
            arch: self.arch,
            size: match self.c1 {
                Some(c1) => Size::Widths {
                    c1,
                    c0: self.c0,
                    c2: self.c2,
                },
                None => Size::Ratio(self.ratio),
            },
            plan: if self.paper_plan {
                Plan::Paper
            } else {
                Plan::Start(self.start_grid)
            },
            skip: self.skip,
            bits: self.bits,
            mlp_bits: self.mlp_bits,
            omega0: self.omega0,
            epochs: self.epochs,
            qat_epochs: self.qat_epochs,
            lr: self.lr,
            mlp_lr: self.mlp_lr,
            warmup: self.warmup,
            batch: self.batch,
            seed: self.seed,
            checkpoint_every: self.checkpoint_every,
            resume: self.resume,
        }
    }
}

/// Runs `neuvis compress`.
pub fn compress(a: &CompressArgs) -> Result<Option<CompressReport>> {
    // under mpirun/srun every rank trains its share of each batch; rank 0 alone checks and writes
    // the output and prints (the others return None)
    crate::ranks::run(|ranks| Ok(compress_on(a, ranks)?.filter(|_| ranks.rank() == 0)))
}

fn compress_on(a: &CompressArgs, ranks: &dyn neuvis_base::ranks::Ranks) -> Result<Option<CompressReport>> {
    let root = ranks.rank() == 0;
    let opts = a.options();
    // before anything is read: the numbers (each error names its flag), then the output
    opts.validate()?;
    if a.output.extension().is_none_or(|e| e != "nrvi") {
        bail!("{}: the output file should end in .nrvi", a.output.display());
    }
    if root {
        crate::outputs::check(&a.output, crate::outputs::NRVI, a.out.overwrite, &[&a.input])?;
    }
    let device = neuvis_nn::device::device(&a.device)?;
    let input = neuvis_codec::compress::open_input(&a.input, a.load, a.holdout_times, &opts)?;
    if let Some(k) = a.holdout_times {
        info!(
            "holding out {} of {} time steps (every {k}th): {}",
            input.held_out.len(),
            input.all_times,
            input
                .held_out
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if root {
        say!("{}: {input}", a.input.display());
        if ranks.size() > 1 {
            say!(
                "{} MPI ranks share each batch of {} images (about {} each)",
                ranks.size(),
                a.batch,
                a.batch.div_ceil(ranks.size())
            );
        }
    }
    let (data, plan) = (&input.data, &input.plan);
    let steps = (data.len().div_ceil(a.batch) * a.epochs) as u64;
    let pb = Progress::new(
        "compress",
        "steps",
        Some(steps),
        "[{elapsed_precise}] {bar:30} {msg}, ETA {eta}",
    )
    .with_rate("images", a.batch.min(data.len()) as f64);
    if a.resume {
        let ck = neuvis_codec::compress::checkpoint_dir(&a.output);
        match neuvis_codec::train::checkpoint_epochs(&ck) {
            Some(done) => info!("resuming from epoch {} of {} ({})", done + 1, a.epochs, ck.display()),
            None => info!(
                "nothing to resume: no checkpoint at {}; training starts from epoch 1",
                ck.display()
            ),
        }
    }
    let mut running = (0.0, 0.0);
    let report =
        neuvis_codec::compress::compress_on(data, plan, &opts, &a.output, &device, ranks, |e, k, per, loss, psnr| {
            running = if k == 1 {
                (loss, psnr)
            } else {
                (0.9 * running.0 + 0.1 * loss, 0.9 * running.1 + 0.1 * psnr)
            };
            pb.set_position(((e - 1) * per + k) as u64);
            pb.set_message(format!(
                "epoch {e}/{}: loss {:.4}, PSNR {:.2} dB",
                a.epochs, running.0, running.1
            ));
        })?;
    pb.finish();
    Ok(Some(report))
}

/// Prints the compression summary.
pub fn print_compress(r: &CompressReport) {
    crate::emit_json(json!({
        "command": "compress", "output": r.output, "file_bytes": r.file_bytes, "raw_bytes": r.raw_bytes,
        "ratio": r.ratio(), "bits_per_pixel": r.bpp(), "parameters": r.params, "epochs": r.history.len(),
        "train_seconds": r.train_seconds, "final_train_psnr": r.history.last().map(|h| h.psnr),
        "quantization_aware": r.qat, "peak_rss_bytes": neuvis_base::mem::peak_rss(),
        "ranks": r.ranks, "allreduce_seconds": r.allreduce_seconds,
    }));
    say!("wrote {}: {r}", r.output.display());
    if let Some(b) = neuvis_base::mem::peak_rss() {
        say!("peak memory (resident set): {:.1} MB", b as f64 / 1e6);
    }
}

/// Options of `neuvis decompress`.
#[derive(Args, Debug, Clone)]
pub struct DecompressArgs {
    /// Model file (.nrvi).
    pub model: PathBuf,
    /// Output collection (Cinema spec D directory).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Decode this view "t,θ,φ" (repeatable; degrees, as `render --theta-step/--phi-step` and
    /// `raycast render --theta/--phi`) instead of the training grid; values between grid points are
    /// interpolated by the network. (`--params` of earlier releases still works, with a warning.)
    #[arg(
        long = "view",
        alias = "params",
        value_name = "T,THETA,PHI",
        allow_hyphen_values = true
    )]
    pub views: Vec<String>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[command(flatten)]
    pub device: neuvis_cli::flags::DeviceArg,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    /// Refuse to write more images than this (a model's grid can claim millions).
    #[arg(long, default_value_t = 100_000)]
    pub max_images: usize,
    /// Decode only block I of N of the images into OUT.part-IIII-of-NNNN.cdb (0-based; `slurm`
    /// takes it from the job array); `neuvis merge OUT` assembles the parts.
    #[arg(long, value_name = "I/N|slurm", value_parser = crate::num::shard)]
    pub shard: Option<neuvis_base::Shard>,
}

/// Runs `neuvis decompress`; returns (images, seconds spent decoding).
pub fn decompress(a: &DecompressArgs) -> Result<(usize, f64)> {
    let shard = a.shard.unwrap_or(neuvis_base::Shard::WHOLE);
    let target = shard.part_path(&a.output);
    crate::outputs::check(
        &target,
        crate::outputs::OutputKind::NeuvisFolder,
        a.out.overwrite,
        &[&a.model],
    )?;
    crate::outputs::check_folder_name(&a.output, "the decoded collection")?;
    let file = Nrvi::read(&a.model)?;
    let device = neuvis_nn::device::device(&a.device)?;
    let dec = Decoder::new(&file, &device)?;
    let params = dec.views(&a.views)?;
    if params.len() > a.max_images {
        bail!(
            "{}: the model's grid (field `grid`) holds {} images, more than --max-images {}; raise it or pick views with --view",
            a.model.display(),
            params.len(),
            a.max_images
        );
    }
    let unseen = params.iter().filter(|p| !dec.on_grid(**p)).count();
    let meta = neuvis_codec::codec::decoded_meta(&a.model, &dec.header, unseen);
    let t0 = Instant::now();
    let pb = Progress::new(
        "decompress",
        "images",
        Some(shard.range(params.len()).len() as u64),
        "[{elapsed_precise}] {bar:40} {pos}/{len} images, {per_sec}, ETA {eta}",
    );
    let decode_s =
        neuvis_codec::codec::decode_to_db(&dec, &params, &a.output, &meta, a.out.overwrite, a.batch, shard, |n| {
            pb.inc(n as u64)
        })?;
    pb.finish();
    let views_len = shard.range(params.len()).len();
    crate::emit_json(json!({
        "command": "decompress", "output": target, "images": views_len, "unseen": unseen,
        "grid_images": params.len(), "seconds": t0.elapsed().as_secs_f64(),
        "images_per_second_decoding": views_len as f64 / decode_s.max(1e-9),
    }));
    say!(
        "decoded {} images ({} at unseen parameters{}) to {} in {:.1} s ({:.1} images/s decoding)",
        views_len,
        unseen,
        if shard.is_whole() {
            String::new()
        } else {
            format!(" in all {} of the grid; shard {shard}", params.len())
        },
        target.display(),
        t0.elapsed().as_secs_f64(),
        views_len as f64 / decode_s.max(1e-9)
    );
    Ok((views_len, decode_s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        compress: CompressArgs,
    }

    /// clap's defaults are the library's (`CompressOptions::default`), and every flag reaches
    /// its field.
    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["compress", "a.cdb", "-o", "m.nrvi"]).unwrap();
        assert_eq!(cli.compress.options(), CompressOptions::default());
        let cli = Cli::try_parse_from([
            "compress",
            "a.cdb",
            "-o",
            "m.nrvi",
            "--arch",
            "nerv",
            "--c1",
            "12",
            "--c0",
            "6",
            "--c2",
            "10",
            "--paper-plan",
            "--skip",
            "tile",
            "--bits",
            "6",
            "--mlp-bits",
            "8",
            "--epochs",
            "5",
            "--qat-epochs",
            "2",
            "--lr",
            "0.003",
            "--mlp-lr",
            "0.3",
            "--warmup",
            "0.1",
            "--batch",
            "4",
            "--seed",
            "9",
            "--checkpoint-every",
            "2",
            "--resume",
        ])
        .unwrap();
        let want = CompressOptions {
            arch: Arch::Nerv,
            size: Size::Widths {
                c1: 12,
                c0: Some(6),
                c2: Some(10),
            },
            plan: Plan::Paper,
            skip: Skip::Tile,
            bits: 6,
            mlp_bits: Some(8),
            omega0: None,
            epochs: 5,
            qat_epochs: 2,
            lr: 0.003,
            mlp_lr: 0.3,
            warmup: 0.1,
            batch: 4,
            seed: 9,
            checkpoint_every: 2,
            resume: true,
        };
        assert_eq!(cli.compress.options(), want);
        let cli = Cli::try_parse_from([
            "compress",
            "a.cdb",
            "-o",
            "m.nrvi",
            "--omega0",
            "10",
            "--start-grid",
            "4",
        ])
        .unwrap();
        assert_eq!(cli.compress.options().omega0, Some(10.0));
        assert_eq!(cli.compress.options().plan, Plan::Start(4));
    }
}
