//! `neuvis bench loader`: does the streaming loader keep the training step fed? Images/s of the
//! loader alone (PNG decode + batch assembly on worker threads) against the training step's
//! images/s on the device, and the step with streamed against in-memory images.

use anyhow::{bail, Context, Result};
use clap::Args;
use neuvis_codec::dataset::{Dataset, Prefetch, Residency};
use neuvis_codec::train::{epoch_order, train, TrainOptions, PREFETCH_DEPTH};
use neuvis_collection::CinemaDb;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `neuvis bench loader`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  neuvis bench loader --size 256 --images 800            # renders 800 tornado views of 256² first
  neuvis bench loader --input big.cdb --device gpu       # a collection of yours, GPU training step")]
pub struct LoaderBenchArgs {
    /// A collection to read (default: render `--images` tornado views of `--size`² into a
    /// temporary folder).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Image edge length of the rendered collection.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Images of the rendered collection.
    #[arg(long, default_value_t = 400)]
    pub images: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Compression ratio the training step's network is sized for (as `compress --ratio`).
    #[arg(value_parser = neuvis_cli::num::finite_f64, long, default_value_t = 200.0)]
    pub ratio: f64,
    /// Training steps timed (after one warm-up epoch of as many steps).
    #[arg(long, default_value_t = 8)]
    pub steps: usize,
    #[command(flatten)]
    pub device: neuvis_cli::flags::DeviceArg,
}

/// Runs `neuvis bench loader`.
pub fn run(a: &LoaderBenchArgs) -> Result<()> {
    if a.batch == 0 || a.steps == 0 || a.images == 0 {
        bail!("--batch, --steps and --images must be at least 1");
    }
    let tmp = tempfile::tempdir()?;
    let input = match &a.input {
        Some(p) => p.clone(),
        None => {
            // θ rows × φ columns of tornado views, as close to --images as the 9° grid allows
            let out = tmp.path().join("views.cdb");
            let phis = 40usize.min(a.images).max(1);
            let thetas = a.images.div_ceil(phis).clamp(1, 21);
            let steps = (180.0 / (thetas.max(2) - 1) as f64, 360.0 / phis as f64);
            neuvis_cli::report::quietly(|| crate::fixture::tornado(&out, a.size, steps, None))
                .context("rendering the benchmark collection")?;
            out
        }
    };
    let db = CinemaDb::open(&input)?;
    let stream = Dataset::open(&db, Residency::Stream)?;
    let n = stream.len();
    let opts = neuvis_codec::compress::CompressOptions {
        size: neuvis_codec::compress::Size::Ratio(a.ratio),
        batch: a.batch,
        ..Default::default()
    };
    let plan = neuvis_codec::compress::plan(&stream, "bench", None, &opts)?;
    // 1. the loader alone over one epoch: decode + batch assembly, no training
    let order = epoch_order(n, 0, 0);
    let t0 = Instant::now();
    let mut batches = 0usize;
    Prefetch::run(
        &stream,
        &plan.net,
        &order,
        a.batch,
        PREFETCH_DEPTH,
        (),
        |(), _, _, b| {
            batches += 1;
            std::hint::black_box(&b);
            Ok::<_, neuvis_codec::CodecError>(())
        },
    )?;
    let loader_s = t0.elapsed().as_secs_f64();
    // 2. training steps on the device, images streamed and in memory
    let device = neuvis_nn::device::device(&a.device)?;
    let take = (a.steps * a.batch).min(n);
    let keep: Vec<usize> = order[..take].to_vec();
    let topts = TrainOptions {
        net: plan.net.clone(),
        epochs: 2,
        lr: 1e-3,
        warmup: 0.2,
        batch: a.batch,
        seed: 0,
        alpha: neuvis_codec::compress::ALPHA,
        qat: None,
        mlp_lr: 1.0,
    };
    let step_rate = |data: &Dataset| -> Result<f64> {
        // epoch 1 warms up (kernel compilation on a GPU); epoch 2 is timed
        let mut t_epoch2 = None;
        let t0 = Instant::now();
        train(data, &topts, &device, None, |e, k, _, _, _| {
            if e == 2 && k == 1 && t_epoch2.is_none() {
                t_epoch2 = Some(Instant::now());
            }
        })?;
        // the first step of epoch 2 ends when the callback first runs: time from there on
        let steps_timed = take.div_ceil(a.batch).saturating_sub(1).max(1);
        let secs = t_epoch2
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(t0.elapsed().as_secs_f64());
        Ok((steps_timed * a.batch).min(take) as f64 / secs.max(1e-9))
    };
    let streamed = stream.subset(&keep, false);
    let mut sub = db.clone();
    sub.entries = keep.iter().map(|&i| db.entries[i].clone()).collect();
    let in_memory = Dataset::open(&sub, Residency::Memory)?;
    let step_stream = step_rate(&streamed)?;
    let step_memory = step_rate(&in_memory)?;
    let mut table = crate::table::Table::new(
        "loader",
        format!(
        "loader benchmark: {n} images of {}x{} from {}, batch {}, {} threads; training step: NeRVI c1={} ({} parameters, ratio {}) on --device {}",
        stream.width,
        stream.height,
        input.display(),
        a.batch,
        rayon::current_num_threads(),
        plan.net.c1,
        plan.net.param_count(),
        a.ratio,
        a.device
    ),
        &["stage", "images/s"],
    );
    table.row(vec![
        format!("streaming loader alone (PNG decode + batch assembly, {batches} batches, {PREFETCH_DEPTH} ahead)"),
        format!("{:.1}", n as f64 / loader_s),
    ]);
    table.row(vec!["training, images streamed".into(), format!("{step_stream:.1}")]);
    table.row(vec!["training, images in memory".into(), format!("{step_memory:.1}")]);
    table.note(format!(
        "the loader {} the step ({:.1}× its rate); streaming costs the step {:+.1} %",
        if n as f64 / loader_s >= step_memory {
            "keeps up with"
        } else {
            "is slower than"
        },
        n as f64 / loader_s / step_memory.max(1e-9),
        100.0 * (step_memory / step_stream.max(1e-9) - 1.0)
    ));
    if let Some(b) = neuvis_base::mem::peak_rss() {
        table.note(format!("peak memory of this process: {:.1} MB", b as f64 / 1e6));
    }
    table.print();
    Ok(())
}
