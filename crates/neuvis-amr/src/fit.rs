//! Fitting coordinate-MLP INRs (`neuvis inr fit`): the networks `neuvis amr` visualizes.
//!
//! The network is exactly what [`crate::InrSpec`] describes (optional Gaussian Fourier
//! features, hidden layers, linear scalar output), trained with Adam on MSE against a target
//! function sampled at fresh seeded uniform points every step, so there is no fixed training set
//! to overfit and no data file is needed for analytic targets.

use crate::inr::{Dense, FourierSpec};
use crate::{Activation, InrSpec, Mlp};
use burn::module::Module;
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::{gelu, relu, silu};
use faer::Mat;
use neuvis_base::ranks::{Ranks, SingleProcess};
use neuvis_base::SplitMix64;
use neuvis_nn::parallel::{share_range, Group, StepScalars, StepSync};
use neuvis_nn::TrainError;

/// Settings of an INR fit.
#[derive(Debug, Clone, PartialEq)]
pub struct InrFitOptions {
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// ω₀ of the sine activation.
    pub omega0: f64,
    /// Fourier features: (m, σ), or none.
    pub fourier: Option<(usize, f64)>,
    /// Optimizer steps.
    pub steps: usize,
    /// Points per step.
    pub batch: usize,
    /// Peak learning rate (2% warm-up, cosine decay).
    pub lr: f64,
    /// Seed of the initialization, the Fourier matrix and every sample.
    pub seed: u64,
}

/// Standard deviation of the Gaussian Fourier frequencies when `neuvis inr fit --fourier M` is
/// given without `--sigma`.
pub const DEFAULT_FOURIER_SIGMA: f64 = 1.0;

impl Default for InrFitOptions {
    /// `neuvis inr fit`'s defaults: four hidden layers of 32 ReLU neurons, no Fourier features,
    /// 4,000 steps of 2,048 points at a peak rate of 10⁻³, seed 0 (ω₀ = 30 for `sine`).
    fn default() -> Self {
        InrFitOptions {
            hidden: vec![32; 4],
            activation: Activation::Relu,
            omega0: 30.0,
            fourier: None,
            steps: 4000,
            batch: 2048,
            lr: 1e-3,
            seed: 0,
        }
    }
}

/// A scalar field of a point of a fit's domain.
pub type FieldFn<'a> = Box<dyn Fn(&[f64]) -> f64 + Sync + 'a>;

/// What an INR is fitted to: a field over a box, named for reports and the spec's description.
pub struct FitTarget<'a> {
    /// The field at a point of the domain.
    pub field: FieldFn<'a>,
    /// The box, one `[lo, hi]` per input.
    pub domain: Vec<[f64; 2]>,
    /// The command-line flag that names it (`--function sin-inv-r`, `--volume head.vti`), for
    /// the spec's description.
    pub flag: String,
    /// What it is, for reports (`function sin-inv-r`, `volume head.vti`).
    pub what: String,
    /// Its whole value range where known (a volume's), the PSNR peak; otherwise the held-out
    /// points' range ([`FitReport::range`]) is.
    pub range: Option<f64>,
}

impl FitTarget<'static> {
    /// A named analytic function ([`crate::functions::by_name`]) over its natural domain.
    pub fn function(name: &str) -> Result<Self, TrainError> {
        let (f, domain) = crate::functions::by_name(name).ok_or_else(|| {
            TrainError::Options(format!(
                "--function {name:?}: known functions are sin-inv-r and dynamic-ct"
            ))
        })?;
        Ok(FitTarget {
            field: Box::new(f),
            domain,
            flag: format!("--function {name}"),
            what: format!("function {name}"),
            range: None,
        })
    }
}

impl InrFitOptions {
    /// The spec's description of a fit: the target, the command that made it (every setting,
    /// so the same command gives the same file) and the held-out RMSE.
    pub fn description(&self, target: &FitTarget<'_>, rmse: f64) -> String {
        let (m, sigma) = self.fourier.unwrap_or((0, DEFAULT_FOURIER_SIGMA));
        format!(
            "{}; made by: neuvis inr fit {} --hidden {} --activation {} --fourier {m} --sigma {sigma} --steps {} --batch {} --lr {} --seed {}; held-out RMSE {rmse:.4e}",
            target.what,
            target.flag,
            self.hidden.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(","),
            self.activation.name(),
            self.steps,
            self.batch,
            self.lr,
            self.seed,
        )
    }
}

/// Fits an INR to `target` ([`fit_on`] on `ranks`) and writes its spec to `spec_path` with the
/// weights beside it (`<stem>.safetensors`) and the description ([`InrFitOptions::description`]);
/// rank 0 alone writes, every rank returns the same result.
pub fn fit_to_file(
    target: &FitTarget<'_>,
    opts: &InrFitOptions,
    device: &Device,
    ranks: &dyn Ranks,
    spec_path: &std::path::Path,
    progress: impl FnMut(usize, f64),
) -> Result<(InrSpec, Mlp, FitReport), crate::AmrError> {
    let (mut spec, net, report) = fit_on(&*target.field, &target.domain, opts, device, ranks, progress)?;
    let stem = spec_path.file_stem().and_then(|s| s.to_str()).unwrap_or("inr");
    spec.weights = Some(format!("{stem}.safetensors"));
    spec.description = Some(opts.description(target, report.rmse));
    if ranks.rank() == 0 {
        crate::Inr::save(&spec, &net, spec_path)?;
    }
    Ok((spec, net, report))
}

/// What a fit reports.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// RMSE of the `f64` network (as `neuvis amr` evaluates it) on 65,536 held-out points.
    pub rmse: f64,
    /// The target's value range (max − min) on those points: the PSNR peak, as for volumes (a
    /// caller that knows the whole range, a volume's, may use that instead).
    pub range: f64,
    /// Final training loss (MSE of the last batch).
    pub last_loss: f64,
}

#[derive(Module, Debug)]
struct InrNet {
    layers: Vec<Linear>,
}

fn gaussian(rng: &mut SplitMix64) -> f64 {
    // Box–Muller.
    let u1 = rng.uniform(f64::MIN_POSITIVE, 1.0);
    let u2 = rng.uniform(0.0, 1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Fits an INR of `opts`'s shape to `target` over `domain`; returns the spec (without a weights
/// file name) and the `f64` network. `progress(step, loss)` is called every step.
pub fn fit(
    target: &(dyn Fn(&[f64]) -> f64 + Sync),
    domain: &[[f64; 2]],
    opts: &InrFitOptions,
    device: &Device,
    progress: impl FnMut(usize, f64),
) -> Result<(InrSpec, Mlp, FitReport), TrainError> {
    fit_on(target, domain, opts, device, &SingleProcess, progress)
}

/// [`fit`] shared by `ranks` (data-parallel, [`neuvis_nn::parallel`]): every rank draws the same
/// seeded batch of points, evaluates the target and the network on its share of them, and one
/// all-reduce a step sums the gradients, so every rank ends with the network one process fits (up
/// to the order of floating-point sums).
pub fn fit_on(
    target: &(dyn Fn(&[f64]) -> f64 + Sync),
    domain: &[[f64; 2]],
    opts: &InrFitOptions,
    device: &Device,
    ranks: &dyn Ranks,
    mut progress: impl FnMut(usize, f64),
) -> Result<(InrSpec, Mlp, FitReport), TrainError> {
    let d = domain.len();
    if !(1..=4).contains(&d) || opts.hidden.is_empty() || opts.steps == 0 || opts.batch == 0 {
        return Err(TrainError::Options(
            "an INR fit needs 1–4 inputs, hidden layers, steps ≥ 1 and batch ≥ 1".into(),
        ));
    }
    if opts.batch > 1 << 22 || opts.hidden.iter().any(|&w| w == 0 || w > 1 << 16) {
        return Err(TrainError::Options(
            "batch must be at most 4,194,304 and hidden widths 1–65,536".into(),
        ));
    }
    if let Some((m, sigma)) = opts.fourier {
        if m > 1 << 16 || !(sigma.is_finite() && sigma > 0.0) {
            return Err(TrainError::Options(format!(
                "Fourier features: {m} frequencies with σ = {sigma}; need at most 65,536 and σ > 0"
            )));
        }
    }
    if domain
        .iter()
        .any(|[lo, hi]| !(lo.is_finite() && hi.is_finite() && lo < hi))
    {
        return Err(TrainError::Options(format!(
            "domain {domain:?} needs finite lo < hi on every axis"
        )));
    }
    if !(opts.lr.is_finite() && opts.lr > 0.0) {
        return Err(TrainError::Options(format!(
            "learning rate {} must be positive",
            opts.lr
        )));
    }
    let _ftz = neuvis_nn::denormals::FlushDenormals::for_training();
    let mut rng = SplitMix64(opts.seed ^ 0x1A2B_3C4D);
    let fourier: Option<Vec<f64>> = opts
        .fourier
        .map(|(m, sigma)| (0..d * m).map(|_| sigma * gaussian(&mut rng)).collect());
    let fan0 = opts.fourier.map(|(m, _)| 2 * m).unwrap_or(d);
    let ad = device.clone().autodiff();
    let mut layers = Vec::new();
    let mut fan = fan0;
    let sine = opts.activation == Activation::Sine;
    for (i, &w) in opts.hidden.iter().chain([&1]).enumerate() {
        let k = 1.0 / (fan as f64).sqrt();
        // SIREN init: U(−1/n, 1/n) first, U(−√(6/n)/ω₀, √(6/n)/ω₀) after; PyTorch's default otherwise.
        let wb = if sine && i == 0 {
            1.0 / fan as f64
        } else if sine {
            (6.0 / fan as f64).sqrt() / opts.omega0
        } else {
            k
        };
        layers.push(neuvis_nn::init::linear(&mut rng, fan, w, wb, Some(k), &ad));
        fan = w;
    }
    let mut net = InrNet { layers };
    let b_t = fourier.as_ref().map(|b| {
        Tensor::<1>::from_floats(b.iter().map(|&v| v as f32).collect::<Vec<_>>().as_slice(), &ad)
            .reshape([d, b.len() / d])
    });
    let act = opts.activation;
    let omega0 = opts.omega0;
    let forward = |net: &InrNet, x: Tensor<2>| -> Tensor<2> {
        let mut h = match &b_t {
            Some(b) => {
                let p = x.matmul(b.clone()).mul_scalar(2.0 * std::f64::consts::PI);
                Tensor::cat(vec![p.clone().sin(), p.cos()], 1)
            }
            None => x,
        };
        let n = net.layers.len();
        for (i, l) in net.layers.iter().enumerate() {
            h = l.forward(h);
            if i + 1 < n {
                h = match act {
                    Activation::Relu => relu(h),
                    Activation::Silu => silu(h),
                    Activation::Tanh => h.tanh(),
                    Activation::Gelu => gelu(h),
                    Activation::Sine => h.mul_scalar(omega0).sin(),
                };
            }
        }
        h
    };
    let mut optim = AdamConfig::new().with_beta_1(0.9).with_beta_2(0.999).init();
    let mut data_rng = SplitMix64(opts.seed ^ 0xDA7A);
    let mut last_loss = f64::NAN;
    let (rank, size) = (ranks.rank(), ranks.size());
    let none = std::collections::HashSet::new();
    for step in 0..opts.steps {
        if size > 1 {
            // every rank draws the whole batch (the same points), and uses its share of it
            let share = share_range(opts.batch, rank, size);
            let mut xs = Vec::with_capacity(share.len() * d);
            let mut ys = Vec::with_capacity(share.len());
            for i in 0..opts.batch {
                let p: Vec<f64> = domain.iter().map(|[lo, hi]| data_rng.uniform(*lo, *hi)).collect();
                if share.contains(&i) {
                    ys.push(target(&p) as f32);
                    xs.extend(p.iter().map(|&v| v as f32));
                }
            }
            let (grads, local_loss) = if share.is_empty() {
                (GradientsParams::new(), 0.0)
            } else {
                let n = share.len();
                let x = Tensor::<1>::from_floats(xs.as_slice(), &ad).reshape([n, d]);
                let y = Tensor::<1>::from_floats(ys.as_slice(), &ad).reshape([n, 1]);
                let diff = forward(&net, x) - y;
                // this share's part of the whole batch's mean
                let loss = (diff.clone() * diff).sum().div_scalar(opts.batch as f64);
                let grads = GradientsParams::from_grads(loss.backward(), &net);
                (grads, loss.into_scalar::<f32>() as f64)
            };
            let groups = [Group {
                module: &net,
                skip: &none,
            }];
            let scalars = StepScalars {
                loss: local_loss,
                mse: 0.0,
                stop: false,
            };
            let (summed, s) = StepSync::all_reduce(ranks, &groups, vec![grads], scalars, device)?;
            let lr = neuvis_nn::schedule::learning_rate(opts.lr, 0.02, step, opts.steps);
            if let Some(g) = summed.into_iter().next() {
                net = optim.step(lr, net, g);
            }
            last_loss = s.loss;
            if !last_loss.is_finite() {
                return Err(TrainError::Diverged {
                    step: step + 1,
                    loss: last_loss,
                });
            }
            progress(step + 1, last_loss);
            continue;
        }
        let mut xs = Vec::with_capacity(opts.batch * d);
        let mut ys = Vec::with_capacity(opts.batch);
        for _ in 0..opts.batch {
            let p: Vec<f64> = domain.iter().map(|[lo, hi]| data_rng.uniform(*lo, *hi)).collect();
            ys.push(target(&p) as f32);
            xs.extend(p.iter().map(|&v| v as f32));
        }
        let x = Tensor::<1>::from_floats(xs.as_slice(), &ad).reshape([opts.batch, d]);
        let y = Tensor::<1>::from_floats(ys.as_slice(), &ad).reshape([opts.batch, 1]);
        let diff = forward(&net, x) - y;
        let loss = (diff.clone() * diff).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let lr = neuvis_nn::schedule::learning_rate(opts.lr, 0.02, step, opts.steps);
        net = optim.step(lr, net, grads);
        last_loss = loss.into_scalar::<f32>() as f64;
        if !last_loss.is_finite() {
            return Err(TrainError::Diverged {
                step: step + 1,
                loss: last_loss,
            });
        }
        progress(step + 1, last_loss);
    }
    // Export to the f64 network (PyTorch layout: W is out × in; burn stores in × out).
    let mut dense = Vec::new();
    for l in &net.layers {
        let [din, dout] = l.weight.val().dims();
        let w: Vec<f32> = l
            .weight
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| TrainError::Readback(format!("{e:?}")))?;
        let b: Vec<f32> = match &l.bias {
            Some(b) => b
                .val()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .map_err(|e| TrainError::Readback(format!("{e:?}")))?,
            None => vec![0.0; dout],
        };
        dense.push(Dense {
            w: Mat::from_fn(dout, din, |o, i| w[i * dout + o] as f64),
            b: b.iter().map(|&v| v as f64).collect(),
        });
    }
    let output = dense.pop().ok_or_else(|| TrainError::Options("no layers".into()))?;
    let mlp = Mlp {
        // Stored as f32 in the file: round now so the reported RMSE is that of the saved INR.
        fourier: fourier.map(|b| Mat::from_fn(d, b.len() / d, |i, j| b[i * (b.len() / d) + j] as f32 as f64)),
        hidden: dense,
        output,
        activation: opts.activation,
        omega0: opts.omega0,
    };
    let spec = InrSpec {
        input_dim: d,
        domain: domain.to_vec(),
        fourier: opts.fourier.map(|(m, sigma)| FourierSpec {
            features: m,
            sigma: Some(sigma),
            tensor: "fourier.B".into(),
            layout: "in_out".into(),
        }),
        hidden: opts.hidden.clone(),
        activation: opts.activation,
        omega0: opts.omega0,
        layer_names: None,
        weight_pattern: None,
        bias_pattern: None,
        weight_layout: None,
        weights: None,
        generator: Some(format!("neuvis {}", env!("CARGO_PKG_VERSION"))),
        state_dict_key: None,
        description: None,
    };
    // Held-out error of the f64 network.
    let mut test_rng = SplitMix64(opts.seed ^ 0x7E57);
    let n = 65_536;
    let pts: Vec<f64> = (0..n)
        .flat_map(|_| {
            domain
                .iter()
                .map(|[lo, hi]| test_rng.uniform(*lo, *hi))
                .collect::<Vec<_>>()
        })
        .collect();
    let pred = mlp.eval(&pts);
    let (mut sse, mut lo, mut hi) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
    for (p, y) in pts.chunks_exact(d).zip(&pred) {
        let t = target(p);
        sse += (t - y) * (t - y);
        lo = lo.min(t);
        hi = hi.max(t);
    }
    Ok((
        spec,
        mlp,
        FitReport {
            rmse: (sse / n as f64).sqrt(),
            range: (hi - lo).max(0.0),
            last_loss,
        },
    ))
}
