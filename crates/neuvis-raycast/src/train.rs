//! Training the brick super-resolution network of the speculative raycaster on burn.
//!
//! The architecture and its inputs are defined in [`crate::sr`] (which also evaluates the
//! trained network without burn): `hidden` valid 3×3×3 convolutions with GELU and a 1×1×1 head
//! to `f³` channels of residuals over trilinear upsampling. Here it is trained on the volume's own
//! bricks with MSE on the residual plus `ssim_weight·(1 − SSIM)` of the reconstructed brick
//! (and, with `gradient_weight`, that weight times the mean squared difference of neighbouring
//! samples' errors, what the shading's normals see), the SSIM taken over its z-slices with an
//! 11×11 Gaussian window on values scaled to `[0, 1]` by the volume's range (bricks of under 8
//! cells, whose sides the 11-sample window does not fit, train without it). Adam's steps take AutoClip'd gradients ([`neuvis_nn::clip`]: held to the
//! 10th percentile of the norms seen so far), which keeps a rare large gradient from throwing the
//! run off for thousands of steps. A tenth of the bricks (at least one) is held out to report the
//! reconstruction's PSNR against trilinear upsampling.

use crate::prepare::TrainingData;
use crate::sr::{input_patch, residual_target, trilinear_brick, Norm, SrConfig, SrNet};
use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::gelu;
use burn::tensor::module::conv3d;
use burn::tensor::ops::ConvOptions;
use neuvis_base::SplitMix64;
use neuvis_nn::clip::AutoClip;
use neuvis_nn::TrainError;

pub use crate::sr::SrTrainOptions;

/// What training reports.
#[derive(Debug, Clone, PartialEq)]
pub struct SrReport {
    /// Steps run.
    pub steps: usize,
    /// Parameters.
    pub params: usize,
    /// Training bricks / held-out bricks.
    pub split: (usize, usize),
    /// PSNR (peak = value range) of trilinear upsampling on the held-out bricks.
    pub psnr_trilinear: f64,
    /// PSNR of the network's reconstruction on the held-out bricks.
    pub psnr_network: f64,
    /// Last training loss.
    pub last_loss: f64,
    /// Wall time of the training and the held-out evaluation, seconds.
    pub seconds: f64,
}

impl std::fmt::Display for SrReport {
    /// One line: the network, its training, and the held-out bricks' PSNR against trilinear.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} parameters, {} steps in {:.1} s on {} bricks; held-out {} bricks: trilinear {:.2} dB -> network {:.2} dB",
            self.params, self.steps, self.seconds, self.split.0, self.split.1, self.psnr_trilinear, self.psnr_network
        )
    }
}

#[derive(Module, Debug)]
struct SrModel {
    ws: Vec<Param<Tensor<5>>>,
    bs: Vec<Param<Tensor<1>>>,
}

impl SrModel {
    fn forward(&self, mut x: Tensor<5>) -> Tensor<5> {
        let n = self.ws.len();
        for (i, (w, b)) in self.ws.iter().zip(&self.bs).enumerate() {
            x = conv3d(x, w.val(), Some(b.val()), ConvOptions::new([1; 3], [0; 3], [1; 3], 1));
            if i + 1 < n {
                x = gelu(x);
            }
        }
        x
    }
}

struct Sample {
    input: Vec<f32>,
    target: Vec<f32>,
    mask: Vec<f32>,
    tri_n: Vec<f32>,
    brick_n: Vec<f32>,
}

fn psnr(mse: f64) -> f64 {
    if mse <= 0.0 {
        f64::INFINITY
    } else {
        -10.0 * mse.log10()
    }
}

/// Trains the network on `data`; `progress(step, total, loss)` is called every step.
pub fn train(
    data: &TrainingData,
    opts: &SrTrainOptions,
    device: &Device,
    mut progress: impl FnMut(usize, usize, f64),
) -> Result<(SrNet, SrReport), TrainError> {
    let t0 = std::time::Instant::now();
    let g = data.geometry;
    let cfg = SrConfig {
        factor: g.factor,
        brick: g.brick,
        channels: opts.channels,
        hidden: opts.hidden,
        pe_freqs: opts.pe_freqs,
    };
    cfg.validate().map_err(|e| TrainError::Options(e.0))?;
    let _ftz = neuvis_nn::denormals::FlushDenormals::for_training();
    if data.bricks.is_empty() {
        return Err(TrainError::Options("no bricks to train the network on".into()));
    }
    opts.validate().map_err(|e| TrainError::Options(e.0))?;
    let norm = Norm::of(&data.base);
    let span = (data.range.1 - data.range.0).max(1e-12);
    let samples: Vec<Sample> = data
        .bricks
        .iter()
        .map(|(id, brick)| {
            let b = g.coords(*id);
            let tri = trilinear_brick(&g, &data.base, b);
            let (target, mask) = residual_target(&cfg, &g, brick, &tri, norm);
            Sample {
                input: input_patch(&cfg, &g, &data.base, norm, b),
                target,
                mask,
                tri_n: tri.iter().map(|v| (v - data.range.0) / span).collect(),
                brick_n: brick.iter().map(|v| (v - data.range.0) / span).collect(),
            }
        })
        .collect();
    // seeded split: every 10th brick of a shuffled order is held out
    let mut rng = SplitMix64(opts.seed ^ 0x5E_3D);
    let mut order: Vec<usize> = (0..samples.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    let n_hold = if samples.len() >= 2 {
        (samples.len() / 10).max(1)
    } else {
        0
    };
    let (hold, train_idx) = order.split_at(n_hold);
    let train_idx: Vec<usize> = if train_idx.is_empty() {
        hold.to_vec()
    } else {
        train_idx.to_vec()
    };

    let ad = device.clone().autodiff();
    let mut ws = Vec::new();
    let mut bs = Vec::new();
    let mut wrng = SplitMix64(opts.seed ^ 0x3D_5E);
    let shapes = cfg.shapes();
    for (i, (wshape, bn)) in shapes.iter().enumerate() {
        let fan: usize = wshape[1..].iter().product();
        let k = 1.0 / (fan as f64).sqrt() * if i + 1 == shapes.len() { 0.1 } else { 1.0 };
        let n: usize = wshape.iter().product();
        let w: Vec<f32> = (0..n).map(|_| wrng.uniform(-k, k) as f32).collect();
        let b: Vec<f32> = (0..*bn).map(|_| wrng.uniform(-k, k) as f32).collect();
        let s: [usize; 5] = wshape
            .as_slice()
            .try_into()
            .map_err(|_| TrainError::Options(format!("weight shape {wshape:?} is not 5-D")))?;
        ws.push(Param::from_tensor(
            Tensor::<1>::from_floats(w.as_slice(), &ad).reshape(s),
        ));
        bs.push(Param::from_tensor(Tensor::<1>::from_floats(b.as_slice(), &ad)));
    }
    let mut model = SrModel { ws, bs };
    let mut optim = AdamConfig::new().with_beta_1(0.9).with_beta_2(0.999).init();
    let mut clip = AutoClip::new(opts.clip_percentile);
    let (p, po, oc, cin) = (cfg.in_side(), cfg.out_side(), cfg.out_channels(), cfg.in_channels());
    let f = g.factor;
    let s = g.side();
    let batch = opts.batch.min(train_idx.len());
    let mut brng = SplitMix64(opts.seed ^ 0xBA7C);
    let stack = |idx: &[usize], pick: &dyn Fn(&Sample) -> &Vec<f32>, dev: &Device| -> Tensor<1> {
        let mut v = Vec::new();
        for &i in idx {
            v.extend_from_slice(pick(&samples[i]));
        }
        Tensor::<1>::from_floats(v.as_slice(), dev)
    };
    let mut total = opts.steps.unwrap_or(usize::MAX);
    let mut after_first: Option<std::time::Instant> = None;
    let started = std::time::Instant::now();
    let mut last_loss = f64::NAN;
    let mut step = 0;
    while step < total {
        let idx: Vec<usize> = (0..batch)
            .map(|_| train_idx[(brng.next_u64() % train_idx.len() as u64) as usize])
            .collect();
        let nb = idx.len();
        let x = stack(&idx, &|s| &s.input, &ad).reshape([nb, cin, p, p, p]);
        let t = stack(&idx, &|s| &s.target, &ad).reshape([nb, oc, po, po, po]);
        let m = stack(&idx, &|s| &s.mask, &ad).reshape([nb, oc, po, po, po]);
        let out = model.forward(x);
        let d = (out.clone() - t) * m.clone();
        let mse = (d.clone() * d).sum() / m.sum();
        let mut loss = mse;
        let ssim_on = opts.ssim_weight > 0.0 && s >= neuvis_nn::ssim::WINDOW;
        if ssim_on || opts.gradient_weight > 0.0 {
            // fine brick in [0,1]: trilinear + residual·std/span, via the voxel shuffle
            let fine = out
                .reshape([nb, f, f, f, po, po, po])
                .permute([0, 4, 1, 5, 2, 6, 3])
                .reshape([nb, po * f, po * f, po * f])
                .slice([0..nb, f - 1..f - 1 + s, f - 1..f - 1 + s, f - 1..f - 1 + s]);
            let tri = stack(&idx, &|s| &s.tri_n, &ad).reshape([nb, s, s, s]);
            let truth = stack(&idx, &|s| &s.brick_n, &ad).reshape([nb, s, s, s]);
            let rec = tri + fine.mul_scalar(norm.std / span);
            if opts.gradient_weight > 0.0 && s >= 2 {
                // differences of neighbouring errors along each axis, scaled back to the
                // residual's units (÷ std/span) so that the weight compares with the MSE's
                let e = (rec.clone() - truth.clone()).mul_scalar(span / norm.std);
                let mut g = e.clone().slice([0..nb, 1..s, 0..s, 0..s]) - e.clone().slice([0..nb, 0..s - 1, 0..s, 0..s]);
                let mut gl = (g.clone() * g).mean();
                g = e.clone().slice([0..nb, 0..s, 1..s, 0..s]) - e.clone().slice([0..nb, 0..s, 0..s - 1, 0..s]);
                gl = gl + (g.clone() * g).mean();
                g = e.clone().slice([0..nb, 0..s, 0..s, 1..s]) - e.slice([0..nb, 0..s, 0..s, 0..s - 1]);
                gl = gl + (g.clone() * g).mean();
                loss = loss + gl.mul_scalar(opts.gradient_weight / 3.0);
            }
            // bricks of fewer than 8 cells (sides below the 11-sample SSIM window) train without it
            if ssim_on {
                let ss = neuvis_nn::ssim::ssim(rec.reshape([nb * s, 1, s, s]), truth.reshape([nb * s, 1, s, s]));
                loss = loss + (ss.neg().add_scalar(1.0)).mul_scalar(opts.ssim_weight);
            }
        }
        let (grads, _) = clip.clip(GradientsParams::from_grads(loss.backward(), &model), &model);
        if opts.steps.is_none() && matches!(step, 5 | 50 | 500) {
            // time per step after the first (which pays for warm-up), then the steps that fit in
            // what is left of the budget; re-estimated as the run goes
            let done = step - 1;
            let per = after_first.map_or(0.0, |t: std::time::Instant| t.elapsed().as_secs_f64()) / done as f64;
            let left = opts.minutes * 60.0 - started.elapsed().as_secs_f64();
            total = step + (left.max(0.0) / per.max(1e-9)).floor() as usize;
        }
        let sched_total = if total == usize::MAX { 1000 } else { total };
        let lr = neuvis_nn::schedule::learning_rate(opts.lr, 0.05, step, sched_total);
        model = optim.step(lr, model, grads);
        last_loss = loss.into_scalar::<f32>() as f64;
        if !last_loss.is_finite() {
            return Err(TrainError::Diverged {
                step: step + 1,
                loss: last_loss,
            });
        }
        step += 1;
        if step == 1 {
            after_first = Some(std::time::Instant::now());
        }
        progress(step, total, last_loss);
        if opts.steps.is_none() && started.elapsed().as_secs_f64() >= opts.minutes * 60.0 {
            break;
        }
    }
    let to_vec = |t: Tensor<1>| -> Result<Vec<f32>, TrainError> {
        t.into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| TrainError::Readback(format!("{e:?}")))
    };
    let mut layers = Vec::new();
    for (w, b) in model.ws.iter().zip(&model.bs) {
        let n = w.val().dims().iter().product::<usize>();
        layers.push((to_vec(w.val().reshape([n]))?, to_vec(b.val())?));
    }
    let net = SrNet {
        config: cfg,
        norm,
        layers,
    };
    net.validate().map_err(|e| TrainError::Options(e.0))?;
    let (mut e_tri, mut e_net, mut cnt) = (0f64, 0f64, 0usize);
    for &i in hold {
        let (id, truth) = &data.bricks[i];
        let b = g.coords(*id);
        let rec = net.reconstruct(&g, &data.base, b);
        let tri = trilinear_brick(&g, &data.base, b);
        for k in 0..truth.len() {
            e_tri += ((tri[k] - truth[k]) as f64 / span as f64).powi(2);
            e_net += ((rec[k] - truth[k]) as f64 / span as f64).powi(2);
        }
        cnt += truth.len();
    }
    let cnt = cnt.max(1) as f64;
    let report = SrReport {
        steps: step,
        params: cfg.params(),
        split: (train_idx.len(), hold.len()),
        psnr_trilinear: psnr(e_tri / cnt),
        psnr_network: psnr(e_net / cnt),
        last_loss,
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok((net, report))
}

/// The network's output for one input patch computed by burn (`[f³, Po³]`), to check the
/// plain-Rust forward pass of [`SrNet`] against.
pub fn burn_forward(net: &SrNet, input: &[f32], device: &Device) -> Result<Vec<f32>, TrainError> {
    let cfg = net.config;
    let p = cfg.in_side();
    let mut x = Tensor::<1>::from_floats(input, device).reshape([1, cfg.in_channels(), p, p, p]);
    let shapes = cfg.shapes();
    for (i, ((w, b), (ws, _))) in net.layers.iter().zip(&shapes).enumerate() {
        let s: [usize; 5] = ws
            .as_slice()
            .try_into()
            .map_err(|_| TrainError::Options(format!("layer {i}: weight shape {ws:?} is not 5-D")))?;
        let wt = Tensor::<1>::from_floats(w.as_slice(), device).reshape(s);
        let bt = Tensor::<1>::from_floats(b.as_slice(), device);
        x = conv3d(x, wt, Some(bt), ConvOptions::new([1; 3], [0; 3], [1; 3], 1));
        if i + 1 < shapes.len() {
            x = gelu(x);
        }
    }
    let n = x.dims().iter().product::<usize>();
    x.reshape([n])
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| TrainError::Readback(format!("{e:?}")))
}
