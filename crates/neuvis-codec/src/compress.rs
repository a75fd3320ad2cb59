//! `neuvis compress` as a library call: the policy that turns a collection and a size target into
//! a network (bit widths, probe sizing, the provenance the file records), trains it (checkpoints,
//! resume) and writes the `.nrvi` file. Two steps, so a caller can show the chosen network before
//! the training starts: [`plan`], then [`compress`].

use crate::codec::{build_container, overhead_bytes, predicted_bytes, size_for_target};
use crate::config::{Arch, NetConfig, Plan, Skip};
use crate::container::{Source, SourceBits};
use crate::quant::BitWidths;
use crate::train::{train_on, Checkpointing, EpochStats, Qat, TrainOptions};
use crate::{CodecError, Dataset};
use burn::prelude::Device;
use neuvis_base::ranks::{Ranks, SingleProcess};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// α of the NeRVI loss (eq. 2): the weight of the L1 terms against `1 − SSIM`.
pub const ALPHA: f64 = 0.7;

/// How big the network is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    /// The widest `c1 = c2` (and `C0` to match the plan) whose predicted file gives at least this
    /// compression ratio (raw RGBA bytes / file bytes).
    Ratio(f64),
    /// Explicit widths: MLP width `c1`, reshaped channels `c0` (default ⌈c1/2⌉, or 4·c1 with the
    /// paper plan) and first upscale channels `c2` (default c1, or 2·c1 with the paper plan).
    Widths {
        /// MLP width.
        c1: usize,
        /// Channels of the reshaped MLP output.
        c0: Option<usize>,
        /// Output channels of the first upscale block.
        c2: Option<usize>,
    },
}

/// Settings of a compression; [`Default`] holds `neuvis compress`'s defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CompressOptions {
    /// Network family.
    pub arch: Arch,
    /// Network size.
    pub size: Size,
    /// Upscale plan: `Plan::Start(8)` (an 8×8-or-larger start grid, 2× steps) or Table 1's.
    pub plan: Plan,
    /// NeRVI's skip connections.
    pub skip: Skip,
    /// Bits per weight of the upscale convolutions (and of NeRV's MLP), 1–16.
    pub bits: u32,
    /// Bits of the MLP blocks (default: `bits + 2` for NeRVI, `bits` for NeRV).
    pub mlp_bits: Option<u32>,
    /// SIREN frequency ω₀ (NeRVI only; default the paper's 30).
    pub omega0: Option<f64>,
    /// Training epochs.
    pub epochs: usize,
    /// Final epochs trained through the quantized weights (0: off).
    pub qat_epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// The MLP's learning rate as a multiple of `lr`.
    pub mlp_lr: f64,
    /// Fraction of the steps used for linear warm-up.
    pub warmup: f64,
    /// Images per step.
    pub batch: usize,
    /// Seed of the initialization and the shuffling.
    pub seed: u64,
    /// Write a checkpoint every this many epochs (0: never).
    pub checkpoint_every: usize,
    /// Continue an interrupted run from its checkpoint.
    pub resume: bool,
}

/// The compression ratio `neuvis compress` aims at without `--c1`: [`CompressOptions::default`]'s size.
pub const DEFAULT_RATIO: f64 = 200.0;
/// Smallest side of the default start grid ([`Plan::Start`]).
pub const DEFAULT_START_GRID: usize = 8;

impl Default for CompressOptions {
    /// NeRVI at ratio 200, 8×8 start grid, `project-tile` skips, 7-bit convolutions (9-bit MLP),
    /// 100 epochs at a peak rate of 10⁻³ with 20 % warm-up, batch 16, seed 0, a checkpoint every
    /// 10 epochs.
    fn default() -> Self {
        CompressOptions {
            arch: Arch::Nervi,
            size: Size::Ratio(DEFAULT_RATIO),
            plan: Plan::Start(DEFAULT_START_GRID),
            skip: Skip::ProjectTile,
            bits: 7,
            mlp_bits: None,
            omega0: None,
            epochs: 100,
            qat_epochs: 0,
            lr: 1e-3,
            mlp_lr: 1.0,
            warmup: 0.2,
            batch: 16,
            seed: 0,
            checkpoint_every: 10,
            resume: false,
        }
    }
}

impl CompressOptions {
    /// The quantization widths: the MLP at `mlp_bits`, or two bits finer than the convolutions
    /// for NeRVI (its `sin(ω₀x)` layers amplify weight errors).
    pub fn bit_widths(&self) -> BitWidths {
        BitWidths {
            mlp: self.mlp_bits.unwrap_or(if self.arch == Arch::Nervi {
                (self.bits + 2).min(16)
            } else {
                self.bits
            }),
            conv: self.bits,
        }
    }

    /// Checks the numbers; each error names the option as `neuvis compress` spells it, so the
    /// command repeats none of these checks.
    pub fn validate(&self) -> Result<(), CodecError> {
        let bad = |m: String| Err(CodecError::Input(m));
        if !(1..=16).contains(&self.bits) {
            return bad(format!("--bits {} must be in 1..=16", self.bits));
        }
        if let Some(b) = self.mlp_bits.filter(|b| !(1..=16).contains(b)) {
            return bad(format!("--mlp-bits {b} must be in 1..=16"));
        }
        self.bit_widths().check()?;
        if self.batch == 0 || self.epochs == 0 {
            return bad("--batch and --epochs must be at least 1".into());
        }
        if let Some(w) = self.omega0 {
            if self.arch != Arch::Nervi {
                return bad("--omega0 sets NeRVI's SIREN frequency; --arch nerv has no SIREN layers".into());
            }
            if !(w > 0.0 && w <= 1000.0) {
                return bad(format!("--omega0 {w} must be a number in (0, 1000]"));
            }
        }
        if !(self.mlp_lr > 0.0 && self.mlp_lr.is_finite()) {
            return bad(format!("--mlp-lr {} must be a positive number", self.mlp_lr));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad(format!("--lr {} must be a positive number", self.lr));
        }
        if !(0.0..=1.0).contains(&self.warmup) {
            return bad(format!("--warmup {} must be in [0, 1]", self.warmup));
        }
        if self.qat_epochs > self.epochs {
            return bad(format!(
                "--qat-epochs {} exceeds --epochs {}",
                self.qat_epochs, self.epochs
            ));
        }
        if let Size::Ratio(r) = self.size {
            if !(r > 1.0 && r.is_finite()) {
                return bad("--ratio must be greater than 1".into());
            }
        }
        Ok(())
    }
}

/// The network a compression will train, decided before training.
#[derive(Debug, Clone, PartialEq)]
pub struct CompressPlan {
    /// The network.
    pub net: NetConfig,
    /// The quantization widths.
    pub bits: BitWidths,
    /// Predicted file size in bytes.
    pub predicted_bytes: f64,
    /// What the file will record about its making (the final PSNR is filled in after training).
    pub source: Source,
}

/// Decides the network for `data` (read from a collection named `collection`, whose `meta.json`
/// render settings are `render`). Only what the inputs and the options determine goes into the
/// provenance, so the same seed gives the same file: no wall-clock time and the collection's name
/// without the directory it sat in.
pub fn plan(
    data: &Dataset,
    collection: &str,
    render: Option<serde_json::Value>,
    opts: &CompressOptions,
) -> Result<CompressPlan, CodecError> {
    opts.validate()?;
    let bits = opts.bit_widths();
    let source = Source {
        collection: collection.to_string(),
        render,
        images: data.len(),
        epochs: opts.epochs,
        qat_epochs: opts.qat_epochs,
        bits: SourceBits {
            mlp: bits.mlp,
            conv: bits.conv,
        },
        lr: opts.lr,
        mlp_lr: opts.mlp_lr,
        batch: opts.batch,
        seed: opts.seed,
        warmup: opts.warmup,
        // a number where the trained file will have one, so the size estimate counts its bytes
        final_train_psnr: Some(0.0),
        generator: format!("neuvis {}", env!("CARGO_PKG_VERSION")),
        holdout_times: None,
        time_steps: None,
    };
    let input = |e: crate::config::ConfigError| CodecError::Input(e.to_string());
    let mut probe = NetConfig::for_image_plan(opts.arch, data.width, data.height, 4, 4, 4, opts.plan).map_err(input)?;
    probe.skip = opts.skip;
    let overhead = overhead_bytes(&probe, data, bits, source.to_value())?;
    let paper = opts.plan == Plan::Paper;
    let mut net = match opts.size {
        Size::Widths { c1, c0, c2 } => NetConfig::for_image_plan(
            opts.arch,
            data.width,
            data.height,
            c1,
            c0.unwrap_or(if paper { 4 * c1 } else { c1.div_ceil(2) }),
            c2.unwrap_or(if paper { 2 * c1 } else { c1 }),
            opts.plan,
        )
        .map_err(input)?,
        Size::Ratio(ratio) => size_for_target(
            opts.arch,
            data.width,
            data.height,
            bits,
            data.raw_bytes() as f64 / ratio,
            overhead,
            opts.plan,
            opts.skip,
            opts.omega0.unwrap_or(probe.omega0),
        )?,
    };
    net.skip = opts.skip;
    if let Some(w) = opts.omega0 {
        net.omega0 = w;
    }
    Ok(CompressPlan {
        predicted_bytes: predicted_bytes(&net, bits, overhead),
        net,
        bits,
        source,
    })
}

/// A collection opened for compression ([`open_input`]): its images, the held-out times, and
/// the plan.
pub struct CompressInput {
    /// The images the network trains on (held-out time steps removed).
    pub data: Dataset,
    /// The time steps left out of training (`holdout_every`), in increasing order.
    pub held_out: Vec<f64>,
    /// The distinct time steps of the collection before any was held out.
    pub all_times: usize,
    /// The network and the provenance the file will record.
    pub plan: CompressPlan,
}

impl std::fmt::Display for CompressInput {
    /// One line: the images, the network and its predicted size (`neuvis compress` prints it
    /// after the collection's name).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (data, net, predicted) = (&self.data, &self.plan.net, self.plan.predicted_bytes);
        write!(
            f,
            "{} images of {}x{} ({:.1} MB raw{}) → {:?}{} c1={} c0={} c2={} start {}x{} upscale {:?}: {} parameters at {} bits, predicted {:.1} kB (ratio ≈ {:.0})",
            data.len(),
            data.width,
            data.height,
            data.raw_bytes() as f64 / 1e6,
            if data.is_streamed() { ", streamed" } else { "" },
            net.arch,
            if net.arch == Arch::Nervi {
                format!(" (skip {:?})", net.skip)
            } else {
                String::new()
            },
            net.c1,
            net.c0,
            net.c2,
            net.w0,
            net.h0,
            net.factors,
            net.param_count(),
            self.plan.bits,
            predicted / 1e3,
            data.raw_bytes() as f64 / predicted
        )
    }
}

/// Opens the collection `input` for `neuvis compress`: its images (`residency`: in memory or
/// streamed), every `holdout_every`-th time step left out of training, and the [`plan`]. The
/// provenance records the held-out times and the collection's step folders (`t0024/` …, so
/// `decompress` names its folders the same way); the size estimate is made before they are
/// added, as files written before they existed were sized.
pub fn open_input(
    input: &Path,
    residency: crate::dataset::Residency,
    holdout_every: Option<usize>,
    opts: &CompressOptions,
) -> Result<CompressInput, CodecError> {
    let db = neuvis_collection::CinemaDb::open(input)?;
    let mut data = Dataset::open(&db, residency)?;
    let all_times = data.times().len();
    let mut held_out = Vec::new();
    if let Some(k) = holdout_every {
        let (kept, times) = data.hold_out_times(k)?;
        data = kept;
        held_out = times;
    }
    let collection = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| input.display().to_string());
    let render = db.meta.as_ref().and_then(|m| m.get("render")).cloned();
    let mut plan = plan(&data, &collection, render, opts)?;
    if let Some(every) = holdout_every {
        plan.source.holdout_times = Some(crate::container::HeldOutTimes {
            every,
            times: held_out.clone(),
        });
    }
    plan.source.time_steps = db.time_steps();
    Ok(CompressInput {
        data,
        held_out,
        all_times,
        plan,
    })
}

/// What a compression produced.
#[derive(Debug, Clone)]
pub struct CompressReport {
    /// The file written.
    pub output: PathBuf,
    /// Network parameters.
    pub params: usize,
    /// Bytes of the file.
    pub file_bytes: u64,
    /// Bytes of the collection as RGBA.
    pub raw_bytes: u64,
    /// Pixels of all images.
    pub pixels: u64,

    /// Wall time of the training, seconds.
    pub train_seconds: f64,
    /// One entry per epoch.
    pub history: Vec<EpochStats>,
    /// Whether the last epochs trained through the quantized weights.
    pub qat: bool,
    /// Processes that trained the network ([`compress_on`]'s ranks).
    pub ranks: usize,
    /// Seconds rank 0 spent exchanging gradients (read-back, all-reduce, upload; 0 in one process).
    pub allreduce_seconds: f64,
}

impl std::fmt::Display for CompressReport {
    /// One line: the file, its ratio and bits per pixel, the training (`neuvis compress` prints it
    /// after the file's name).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes, ratio {:.1}, {:.4} bits/pixel, {} parameters, trained {} epochs in {:.1} s (final epoch's PSNR of the pooled error {:.2} dB, {})",
            self.file_bytes,
            self.ratio(),
            self.bpp(),
            self.params,
            self.history.len(),
            self.train_seconds,
            self.history.last().map(|h| h.psnr).unwrap_or(f64::NAN),
            if self.qat {
                "through the quantized weights"
            } else {
                "before quantization"
            }
        )
    }
}

impl CompressReport {
    /// raw / file.
    pub fn ratio(&self) -> f64 {
        self.raw_bytes as f64 / self.file_bytes as f64
    }
    /// File bits per image pixel.
    pub fn bpp(&self) -> f64 {
        self.file_bytes as f64 * 8.0 / self.pixels as f64
    }
}

/// The checkpoint directory of the output `out`: `.NAME.ckpt` beside it.
pub fn checkpoint_dir(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!(".{name}.ckpt"))
}

/// Trains the planned network on `data` on `device`, quantizes and codes it, and writes `output`
/// atomically; the checkpoint beside it is removed once the file is written. `progress(epoch, step,
/// steps_per_epoch, loss, psnr)` is called after every step.
pub fn compress(
    data: &Dataset,
    plan: &CompressPlan,
    opts: &CompressOptions,
    output: &Path,
    device: &Device,
    progress: impl FnMut(usize, usize, usize, f64, f64),
) -> Result<CompressReport, CodecError> {
    compress_on(data, plan, opts, output, device, &SingleProcess, progress)
}

/// [`compress`] trained by `ranks` ([`crate::train::train_on`]: data-parallel, `opts.batch` the
/// global batch); rank 0 alone writes the checkpoints and the file, and every rank returns the
/// same report.
pub fn compress_on(
    data: &Dataset,
    plan: &CompressPlan,
    opts: &CompressOptions,
    output: &Path,
    device: &Device,
    ranks: &dyn Ranks,
    progress: impl FnMut(usize, usize, usize, f64, f64),
) -> Result<CompressReport, CodecError> {
    let topts = TrainOptions {
        net: plan.net.clone(),
        epochs: opts.epochs,
        lr: opts.lr,
        mlp_lr: opts.mlp_lr,
        warmup: opts.warmup,
        batch: opts.batch,
        seed: opts.seed,
        alpha: ALPHA,
        qat: (opts.qat_epochs > 0).then_some(Qat {
            bits: plan.bits,
            epochs: opts.qat_epochs,
        }),
    };
    let ck = Checkpointing {
        dir: checkpoint_dir(output),
        every: opts.checkpoint_every,
        resume: opts.resume,
    };
    if ck.dir.exists() && !opts.resume {
        return Err(CodecError::Checkpoint(format!(
            "{}: a checkpoint of an interrupted run exists; pass --resume to continue it or delete it",
            ck.dir.display()
        )));
    }
    let t0 = Instant::now();
    let (trained, history) = train_on(data, &topts, device, Some(&ck), ranks, progress)?;
    let train_seconds = t0.elapsed().as_secs_f64();
    let mut source = plan.source.clone();
    source.final_train_psnr = history.last().map(|h| h.psnr);
    let file = build_container(&trained, &plan.net, data, plan.bits, source.to_value())?;
    let bytes = file.to_bytes()?;
    if ranks.rank() == 0 {
        neuvis_base::write_atomic(output, |w| std::io::Write::write_all(w, &bytes)).map_err(|source| {
            CodecError::Io {
                path: output.to_path_buf(),
                source,
            }
        })?;
        // Remove the checkpoint only when it is one neuvis wrote (its `state.json` is there).
        if ck.dir.join("state.json").is_file() {
            let _ = std::fs::remove_dir_all(&ck.dir);
        }
    }
    let allreduce_seconds = history.iter().map(|h| h.allreduce_seconds).sum();
    Ok(CompressReport {
        output: output.to_path_buf(),
        params: plan.net.param_count(),
        file_bytes: bytes.len() as u64,
        raw_bytes: data.raw_bytes(),
        pixels: (data.len() * data.width * data.height) as u64,

        train_seconds,
        history,
        qat: opts.qat_epochs > 0,
        ranks: ranks.size(),
        allreduce_seconds,
    })
}
