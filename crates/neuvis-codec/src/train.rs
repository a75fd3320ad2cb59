//! Training a NeRVI/NeRV network on a [`Dataset`]: loss eq. 2, Adam, warm-up + cosine learning
//! rate, seeded shuffling, atomic checkpoints and exact resume.

use crate::config::{Arch, NetConfig};
use crate::dataset::{Dataset, HostBatch, Prefetch};
use crate::net::NerviNet;
use crate::CodecError;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::store::ModuleRecord;
use neuvis_base::ranks::{Ranks, SingleProcess};
use neuvis_base::SplitMix64;
use neuvis_nn::parallel::{local_share, Group, StepScalars, StepSync};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Training hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Network shape.
    pub net: NetConfig,
    /// Epochs.
    pub epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Fraction of all steps spent warming up linearly to the peak (NeRV: 0.2).
    pub warmup: f64,
    /// Images per step.
    pub batch: usize,
    /// Seed of the initialization and of the shuffling.
    pub seed: u64,
    /// α of eq. 2 (0.7).
    pub alpha: f64,
    /// Quantization-aware fine-tuning at the end of training (off when `None`).
    #[serde(default)]
    pub qat: Option<Qat>,
    /// The MLP's learning rate as a multiple of `lr` (1: one rate for the whole network). A SIREN
    /// MLP is sensitive to step size (its `sin(ω₀x)` turns a weight change into a phase change ω₀
    /// times larger), so it can need a smaller rate than the convolutions.
    #[serde(default = "one")]
    pub mlp_lr: f64,
}

fn one() -> f64 {
    1.0
}

/// Quantization-aware fine-tuning (not in the NeRVI paper): in the last `epochs` epochs every
/// step runs its forward and backward pass on the weights quantized per tensor to `bits`, exactly
/// as [`crate::codec::build_container`] will store them, and applies the gradients to the float
/// weights (the straight-through estimator of BinaryConnect, Courbariaux et al. 2015). The network
/// thereby learns to work with the weights the file holds instead of being rounded afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qat {
    /// Bits per weight, as the file will store them.
    pub bits: crate::quant::BitWidths,
    /// How many final epochs run quantization-aware.
    pub epochs: usize,
}

/// `net` with every tensor quantized to `bits` and back (trainable parameters stay trainable and
/// keep their ids, so gradients computed through it update `net`'s parameters).
fn fake_quantized(net: &NerviNet, bits: crate::quant::BitWidths, device: &Device) -> Result<NerviNet, CodecError> {
    let mut tensors = crate::weights::collect(net);
    for t in &mut tensors {
        if t.data.iter().any(|v| !v.is_finite()) {
            return Err(CodecError::Diverged(format!("weights of {} are not finite", t.name)));
        }
        let b = bits.for_tensor(&t.name);
        let (q, lo, hi) = crate::quant::quantize(&t.data, b);
        t.data = crate::quant::dequantize(&q, lo, hi, b);
    }
    crate::weights::load(net.clone(), &tensors, device)
}

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Mean loss over the epoch.
    pub loss: f64,
    /// PSNR of the composited predictions over the epoch's batches, from the squared error pooled
    /// over all their pixels (before quantization, unless the epoch was quantization-aware). The
    /// mean of per-image PSNRs that `neuvis eval` and the paper report is higher: by 0.31 dB on
    /// the 64² tornado collection, where views with little surface score high.
    pub psnr: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Seconds this rank spent in the steps' all-reduces (0 in one process).
    #[serde(default)]
    pub allreduce_seconds: f64,
}

/// Saved between epochs so an interrupted run can continue exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointState {
    options: TrainOptions,
    epochs_done: usize,
    history: Vec<EpochStats>,
}

/// Where and how often to checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpointing {
    /// Directory of the checkpoint (replaced atomically).
    pub dir: PathBuf,
    /// Write one every this many epochs (0: never).
    pub every: usize,
    /// Continue from an existing checkpoint with the same options.
    pub resume: bool,
}

pub use neuvis_nn::schedule::learning_rate;

/// Batches assembled ahead of the training step: 2, double-buffered (one uploading and training,
/// the next being decoded).
pub const PREFETCH_DEPTH: usize = 2;

/// The image order of epoch `e` (0-based): a Fisher–Yates shuffle seeded by (seed, e), so a resumed
/// run sees exactly the batches the uninterrupted run would have.
pub fn epoch_order(n: usize, seed: u64, e: usize) -> Vec<usize> {
    let mut rng = SplitMix64(seed ^ (e as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

/// Uploads one host batch: encoded parameters `[B, F]`, RGB `[B, 3, H, W]` and mask `[B, 1, H, W]`.
pub fn batch_tensors(
    b: &HostBatch,
    width: usize,
    height: usize,
    net: &NetConfig,
    device: &Device,
) -> (Tensor<2>, Tensor<4>, Tensor<4>) {
    let n = b.len;
    (
        Tensor::<1>::from_floats(b.x.as_slice(), device).reshape([n, net.pe_dim()]),
        Tensor::<1>::from_floats(b.rgb.as_slice(), device).reshape([n, 3, height, width]),
        Tensor::<1>::from_floats(b.mask.as_slice(), device).reshape([n, 1, height, width]),
    )
}

/// Loss eq. 2 and the batch MSE of the composited image (for the running PSNR).
///
/// NeRVI: `α(‖M ⊙ (f − I)‖₁ + ‖M̂ − M‖₁) + (1 − α)(1 − SSIM(f, I))`, means over pixels;
/// NeRV: `α‖f − I‖₁ + (1 − α)(1 − SSIM(f, I))` over all pixels.
pub fn loss(out: Tensor<4>, rgb: Tensor<4>, mask: Tensor<4>, arch: Arch, alpha: f64) -> (Tensor<1>, Tensor<1>) {
    let [b, _, h, w] = out.dims();
    let f = out.clone().slice([0..b, 0..3, 0..h, 0..w]);
    let ssim = neuvis_nn::ssim::ssim(f.clone(), rgb.clone());
    match arch {
        Arch::Nervi => {
            let m = out.slice([0..b, 3..4, 0..h, 0..w]);
            let l_img = ((f.clone() - rgb.clone()) * mask.clone()).abs().mean();
            let l_mask = (m.clone() - mask).abs().mean();
            let comp = f.detach() * m.clone().detach() + (m.detach().neg() + 1.0);
            let mse = (comp - rgb).powf_scalar(2.0).mean();
            ((l_img + l_mask) * alpha + (ssim.neg() + 1.0) * (1.0 - alpha), mse)
        }
        Arch::Nerv => {
            let l1 = (f.clone() - rgb.clone()).abs().mean();
            let mse = (f.detach() - rgb).powf_scalar(2.0).mean();
            (l1 * alpha + (ssim.neg() + 1.0) * (1.0 - alpha), mse)
        }
    }
}

/// The step's loss and MSE, in one read-back (it waits for the device to finish the step's work).
fn read_loss(l: Tensor<1>, mse: Tensor<1>) -> Result<(f64, f64), CodecError> {
    let lm = Tensor::cat(vec![l.detach(), mse], 0)
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| CodecError::Device(format!("reading the loss back: {e:?}")))?;
    Ok((lm[0] as f64, lm[1] as f64))
}

fn save_checkpoint(
    ck: &Checkpointing,
    net: &NerviNet,
    optim: &ModuleOptimizer,
    state: &CheckpointState,
) -> Result<(), CodecError> {
    let io = |e: std::io::Error| CodecError::Io {
        path: ck.dir.clone(),
        source: e,
    };
    let tmp = ck.dir.with_extension("tmp-ckpt");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io)?;
    }
    std::fs::create_dir_all(&tmp).map_err(io)?;
    net.clone()
        .into_record()
        .save(tmp.join("model.bin"))
        .map_err(|e| CodecError::Checkpoint(format!("saving model: {e:?}")))?;
    optim
        .save(tmp.join("optim.bin"))
        .map_err(|e| CodecError::Checkpoint(format!("saving optimizer: {e:?}")))?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| CodecError::Checkpoint(e.to_string()))?;
    std::fs::write(tmp.join("state.json"), json).map_err(io)?;
    // replace the old checkpoint: rename it away, move the new one in, then delete the old one
    let old = ck.dir.with_extension("old-ckpt");
    if ck.dir.exists() {
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(&ck.dir, &old).map_err(io)?;
    }
    std::fs::rename(&tmp, &ck.dir).map_err(io)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Epochs completed by the checkpoint in `dir` (its `state.json`), if there is a readable one.
pub fn checkpoint_epochs(dir: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(dir.join("state.json")).ok()?;
    serde_json::from_str::<CheckpointState>(&text)
        .ok()
        .map(|s| s.epochs_done)
}

fn load_checkpoint(
    dir: &Path,
    opts: &TrainOptions,
    device: &Device,
) -> Result<Option<(NerviNet, ModuleOptimizer, CheckpointState)>, CodecError> {
    let state_path = dir.join("state.json");
    if !state_path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&state_path).map_err(|e| CodecError::Io {
        path: state_path.clone(),
        source: e,
    })?;
    let state: CheckpointState =
        serde_json::from_str(&text).map_err(|e| CodecError::Checkpoint(format!("{}: {e}", state_path.display())))?;
    if &state.options != opts {
        let (was, now) = (
            serde_json::to_value(&state.options).unwrap_or_default(),
            serde_json::to_value(opts).unwrap_or_default(),
        );
        let mut diff = Vec::new();
        json_differences("", &was, &now, &mut diff);
        return Err(CodecError::Checkpoint(format!(
            "{} was made with other options: {}; repeat the interrupted run's options or delete the checkpoint",
            dir.display(),
            diff.join(", ")
        )));
    }
    let record =
        ModuleRecord::load(dir.join("model.bin")).map_err(|e| CodecError::Checkpoint(format!("model.bin: {e:?}")))?;
    let net = NerviNet::new(&opts.net, opts.seed, device).load_record(record);
    // burn loads the optimizer's state onto its default device (see `pin_default`)
    neuvis_nn::device::pin_default();
    let optim = AdamConfig::new()
        .init()
        .load(dir.join("optim.bin"))
        .map_err(|e| CodecError::Checkpoint(format!("optim.bin: {e:?}")))?;
    Ok(Some((net, optim, state)))
}

/// The leaves where two JSON values differ, as `path: was A, now B` (the options of a checkpoint
/// and of the run that tries to resume it).
fn json_differences(path: &str, was: &serde_json::Value, now: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (was, now) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                json_differences(
                    &p,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(format!("{path} was {a}, now {b}")),
        _ => {}
    }
}

/// What an interrupt in epoch `e` (0-based) of `epochs` leaves: the last checkpoint, if any.
fn interrupted(e: usize, epochs: usize, ck: Option<&Checkpointing>) -> neuvis_base::Interrupted {
    match ck.and_then(|c| checkpoint_epochs(&c.dir).map(|done| (c, done))) {
        Some((c, done)) => neuvis_base::Interrupted {
            kept: format!(
                "stopped in epoch {} of {epochs}; the checkpoint after epoch {done} is kept in {} (--resume continues from it)",
                e + 1,
                c.dir.display()
            ),
            resumable: true,
        },
        None => neuvis_base::Interrupted {
            kept: format!(
                "stopped in epoch {} of {epochs}, before the first checkpoint{}: nothing was kept",
                e + 1,
                match ck {
                    Some(c) if c.every > 0 => format!(" (one every {} epochs)", c.every),
                    _ => String::new(),
                }
            ),
            resumable: false,
        },
    }
}

/// Trains a network on `data`. `progress(epoch, step_in_epoch, steps_per_epoch, loss, psnr)` is
/// called after every step. With `ck`, a checkpoint is written every `ck.every` epochs, and with
/// `ck.resume` training continues from it (same weights, optimizer state and batch order).
pub fn train(
    data: &Dataset,
    opts: &TrainOptions,
    device: &Device,
    ck: Option<&Checkpointing>,
    progress: impl FnMut(usize, usize, usize, f64, f64),
) -> Result<(NerviNet, Vec<EpochStats>), CodecError> {
    train_on(data, opts, device, ck, &SingleProcess, progress)
}

/// [`train`] shared by `ranks` ([`neuvis_nn::parallel`]): each rank trains on its share of every
/// global batch of `opts.batch` images, one all-reduce per step sums the gradients, and every
/// rank applies the same step, so every rank ends with the same network, the network one process
/// would train (up to the order of floating-point sums). Rank 0 alone writes checkpoints; a
/// checkpoint resumes with any number of ranks. A stop request on any rank stops all of them
/// after the same step.
pub fn train_on(
    data: &Dataset,
    opts: &TrainOptions,
    device: &Device,
    ck: Option<&Checkpointing>,
    ranks: &dyn Ranks,
    mut progress: impl FnMut(usize, usize, usize, f64, f64),
) -> Result<(NerviNet, Vec<EpochStats>), CodecError> {
    if data.is_empty() || opts.batch == 0 || opts.epochs == 0 {
        return Err(CodecError::Input(
            "training needs images, a batch of at least 1 and at least 1 epoch".into(),
        ));
    }
    let valid = opts.lr > 0.0
        && opts.lr.is_finite()
        && opts.mlp_lr > 0.0
        && opts.mlp_lr.is_finite()
        && (0.0..=1.0).contains(&opts.warmup)
        && (0.0..=1.0).contains(&opts.alpha);
    if !valid {
        return Err(CodecError::Input(
            "lr and the MLP's lr factor must be positive, warmup and alpha in [0, 1]".into(),
        ));
    }
    if let Some(q) = opts.qat {
        q.bits.check()?;
        if q.epochs > opts.epochs {
            return Err(CodecError::Input(format!(
                "{} quantization-aware epochs exceed the {} epochs",
                q.epochs, opts.epochs
            )));
        }
    }
    // Subnormal gradients (saturating mask logits) cost ~100 cycles each on x86; see the module.
    let _ftz = neuvis_nn::denormals::FlushDenormals::for_training();
    let ad = device.clone().autodiff();
    let mut start = 0;
    let mut history = Vec::new();
    let (mut net, mut optim) = (
        NerviNet::new(&opts.net, opts.seed, &ad),
        AdamConfig::new().with_beta_1(0.9).with_beta_2(0.999).init(),
    );
    if let Some(ck) = ck.filter(|c| c.resume) {
        if let Some((n, o, s)) = load_checkpoint(&ck.dir, opts, &ad)? {
            net = n;
            optim = o;
            start = s.epochs_done;
            history = s.history;
        }
    }
    let n = data.len();
    let per_epoch = n.div_ceil(opts.batch);
    let total = per_epoch * opts.epochs;
    let (rank, size) = (ranks.rank(), ranks.size());
    // the parameter groups the all-reduce carries: the MLP's (with its own rate) and the rest
    let all_ids = StepSync::ids(&net);
    let mlp_ids = StepSync::ids(&net.mlp);
    let not_mlp: HashSet<_> = all_ids.difference(&mlp_ids).copied().collect();
    let none = HashSet::new();
    for e in start..opts.epochs {
        let order = epoch_order(n, opts.seed, e);
        let global: Vec<&[usize]> = order.chunks(opts.batch).collect();
        let local: Vec<&[usize]> = global.iter().map(|b| local_share(b, rank, size)).collect();
        let (mut loss_sum, mut mse_sum) = (0.0, 0.0);
        let mut lr = 0.0;
        let mut allreduce_seconds = 0.0;
        // the next batches (this rank's shares) are assembled while this one trains
        net = Prefetch::run_batches(data, &opts.net, &local, PREFETCH_DEPTH, net, |mut net, k, idx, host| {
            if size > 1 {
                lr = learning_rate(opts.lr, opts.warmup, e * per_epoch + k, total);
                let groups: Vec<Group<'_, NerviNet>> = if opts.mlp_lr != 1.0 {
                    vec![
                        Group {
                            module: &net,
                            skip: &not_mlp,
                        },
                        Group {
                            module: &net,
                            skip: &mlp_ids,
                        },
                    ]
                } else {
                    vec![Group {
                        module: &net,
                        skip: &none,
                    }]
                };
                let share = idx.len() as f64 / global[k].len() as f64;
                let (grads, lv, mv) = if idx.is_empty() {
                    (groups.iter().map(|_| GradientsParams::new()).collect(), 0.0, 0.0)
                } else {
                    let (x, rgb, mask) = batch_tensors(&host, data.width, data.height, &opts.net, &ad);
                    let qnet = match opts.qat.filter(|q| e + q.epochs >= opts.epochs) {
                        Some(q) => Some(fake_quantized(&net, q.bits, &ad)?),
                        None => None,
                    };
                    let fwd = qnet.as_ref().unwrap_or(&net);
                    let (l, mse) = loss(fwd.forward(x), rgb, mask, opts.net.arch, opts.alpha);
                    // this share's part of the global batch's mean loss
                    let mut g = (l.clone() * share).backward();
                    let mut grads = Vec::new();
                    if opts.mlp_lr != 1.0 {
                        grads.push(GradientsParams::from_module(&mut g, &fwd.mlp));
                    }
                    grads.push(GradientsParams::from_grads(g, fwd));
                    let (lv, mv) = read_loss(l, mse)?;
                    (grads, lv * share, mv * share)
                };
                drop(host);
                let scalars = StepScalars {
                    loss: lv,
                    mse: mv,
                    stop: neuvis_base::interrupt::requested(),
                };
                let t = std::time::Instant::now();
                let (summed, s) = StepSync::all_reduce(ranks, &groups, grads, scalars, device)
                    .map_err(|e| CodecError::Device(e.to_string()))?;
                allreduce_seconds += t.elapsed().as_secs_f64();
                drop(groups);
                if s.stop {
                    return Err(CodecError::from(interrupted(e, opts.epochs, ck)));
                }
                let mut summed = summed.into_iter();
                if opts.mlp_lr != 1.0 {
                    if let Some(mlp) = summed.next() {
                        net = optim.step(lr * opts.mlp_lr, net, mlp);
                    }
                }
                if let Some(rest) = summed.next() {
                    net = optim.step(lr, net, rest);
                }
                if !s.loss.is_finite() {
                    return Err(CodecError::Diverged(format!(
                        "loss became {} in epoch {} (try a lower --lr)",
                        s.loss,
                        e + 1
                    )));
                }
                loss_sum += s.loss * global[k].len() as f64;
                mse_sum += s.mse * global[k].len() as f64;
                progress(e + 1, k + 1, per_epoch, s.loss, -10.0 * (s.mse.max(1e-12)).log10());
                return Ok(net);
            }
            if neuvis_base::interrupt::requested() {
                return Err(CodecError::from(interrupted(e, opts.epochs, ck)));
            }
            let (x, rgb, mask) = batch_tensors(&host, data.width, data.height, &opts.net, &ad);
            drop(host);
            let qnet = match opts.qat.filter(|q| e + q.epochs >= opts.epochs) {
                Some(q) => Some(fake_quantized(&net, q.bits, &ad)?),
                None => None,
            };
            // Gradients are taken through the network that ran the forward pass (the fake-quantized
            // copy shares the parameter ids) and applied to `net`.
            let fwd = qnet.as_ref().unwrap_or(&net);
            let (l, mse) = loss(fwd.forward(x), rgb, mask, opts.net.arch, opts.alpha);
            let mut g = l.backward();
            lr = learning_rate(opts.lr, opts.warmup, e * per_epoch + k, total);
            if opts.mlp_lr != 1.0 {
                let mlp = GradientsParams::from_module(&mut g, &fwd.mlp);
                net = optim.step(lr * opts.mlp_lr, net, mlp);
            }
            let grads = GradientsParams::from_grads(g, qnet.as_ref().unwrap_or(&net));
            net = optim.step(lr, net, grads);
            let (lv, mv) = read_loss(l, mse)?;
            if !lv.is_finite() {
                return Err(CodecError::Diverged(format!(
                    "loss became {lv} in epoch {} (try a lower --lr)",
                    e + 1
                )));
            }
            loss_sum += lv * idx.len() as f64;
            mse_sum += mv * idx.len() as f64;
            progress(e + 1, k + 1, per_epoch, lv, -10.0 * (mv.max(1e-12)).log10());
            Ok(net)
        })?;
        history.push(EpochStats {
            epoch: e + 1,
            loss: loss_sum / n as f64,
            psnr: -10.0 * (mse_sum / n as f64).max(1e-12).log10(),
            lr,
            allreduce_seconds,
        });
        if let Some(ck) = ck.filter(|_| rank == 0) {
            if ck.every > 0 && ((e + 1) % ck.every == 0 || e + 1 == opts.epochs) {
                let state = CheckpointState {
                    options: opts.clone(),
                    epochs_done: e + 1,
                    history: history.clone(),
                };
                save_checkpoint(ck, &net, &optim, &state)?;
            }
        }
    }
    Ok((net.valid(), history))
}

#[cfg(test)]
mod tests {
    #[test]
    fn option_differences_name_each_field() {
        let was = serde_json::json!({"epochs": 100, "lr": 0.001, "net": {"c1": 8, "c0": 4}});
        let now = serde_json::json!({"epochs": 300, "lr": 0.001, "net": {"c1": 16, "c0": 4}});
        let mut d = Vec::new();
        super::json_differences("", &was, &now, &mut d);
        assert_eq!(d, vec!["epochs was 100, now 300", "net.c1 was 8, now 16"]);
    }
}
