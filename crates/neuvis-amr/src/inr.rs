//! Implicit neural representations: the JSON spec, the network in `f64`, loading and saving.
//!
//! An INR here is a coordinate MLP `f: ℝ^d → ℝ` (1 ≤ d ≤ 4) over an axis-aligned domain:
//! an optional fixed Gaussian random Fourier feature layer `γ(x) = [sin(2πxB), cos(2πxB)]`
//! (Tancik et al. 2020; `B` is `d × m`), hidden fully connected layers `y = g(xWᵀ + b)` of any
//! widths with one activation `g`, and a linear scalar output. Weights follow PyTorch's
//! `nn.Linear` convention (`W` is `out × in`), so a `state_dict` maps onto the spec by name.

use std::path::{Path, PathBuf};

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use serde::{Deserialize, Serialize};

use crate::weights::TensorMap;
use crate::{AmrError, Result};
use neuvis_base::named::Named;

/// Largest input dimension an INR may have (the mesh is a 2^d-tree with d ≤ 4).
pub const MAX_DIM: usize = 4;

/// Hidden-layer activation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// x·σ(x) (PyTorch's SiLU, also called swish).
    #[serde(alias = "swish")]
    Silu,
    /// tanh(x).
    Tanh,
    /// x·Φ(x) with the exact normal CDF (PyTorch's default GELU).
    Gelu,
    /// sin(ω₀·x) (SIREN); ω₀ comes from [`InrSpec::omega0`].
    Sine,
}

impl Named for Activation {
    const ALL: &'static [Activation] = &[
        Activation::Relu,
        Activation::Silu,
        Activation::Tanh,
        Activation::Gelu,
        Activation::Sine,
    ];

    fn name_of(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Silu => "silu",
            Activation::Tanh => "tanh",
            Activation::Gelu => "gelu",
            Activation::Sine => "sine",
        }
    }
}

impl Activation {
    /// Parses a name as the CLI and the spec spell it: a [`Named::names`] name or an alias
    /// (`swish`, `sin`, `siren`), in any case.
    pub fn parse(name: &str) -> Option<Activation> {
        match name.to_ascii_lowercase().as_str() {
            "swish" => Some(Activation::Silu),
            "sin" | "siren" => Some(Activation::Sine),
            n => Activation::from_name(n),
        }
    }

    /// The name the CLI and the spec write.
    pub fn name(self) -> &'static str {
        self.name_of()
    }

    /// Applies the activation in place (`omega0` is used by [`Activation::Sine`] only).
    pub fn apply(self, x: &mut [f64], omega0: f64) {
        match self {
            Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
            Activation::Silu => silu_in_place(x),
            Activation::Tanh => x.iter_mut().for_each(|v| *v = v.tanh()),
            Activation::Gelu => x
                .iter_mut()
                .for_each(|v| *v = 0.5 * *v * (1.0 + erf(*v / std::f64::consts::SQRT_2))),
            Activation::Sine => x.iter_mut().for_each(|v| *v = (omega0 * *v).sin()),
        }
    }
}

/// `x / (1 + e^{−x})` over a slice. The loop is branch-free so it vectorizes (AVX2 when the CPU
/// has it, chosen at run time): SiLU's `exp` was 30 % of a 4-D pruning pass through libm.
fn silu_in_place(x: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { silu_avx2(x) };
            return;
        }
    }
    silu_loop(x);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn silu_avx2(x: &mut [f64]) {
    silu_loop(x);
}

#[inline(always)]
fn silu_loop(x: &mut [f64]) {
    for v in x.iter_mut() {
        *v /= 1.0 + exp(-*v);
    }
}

/// `e^x` in f64, branch-free (so loops over it vectorize), within 2 ulp of libm's on
/// [−708, 709]; inputs outside are clamped there (giving ≈ 1e-308 and ≈ 8e307, which is all SiLU
/// needs). Cody–Waite reduction x = k ln 2 + r, |r| ≤ ln2/2, and a degree-13 Taylor polynomial
/// (truncation < 1e-17); 2^k is built from the rounding constant's mantissa bits.
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52: adding it rounds to an integer.
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000); // fdlibm's ln2_hi
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76); // fdlibm's ln2_lo
    let x = x.clamp(-708.0, 709.0);
    let y = x * std::f64::consts::LOG2_E + SHIFT;
    let k = y - SHIFT;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    // y's low mantissa bits hold 2^51 + k; shifting them into the exponent field leaves k << 52.
    let two_k = f64::from_bits((y.to_bits() << 52).wrapping_add(1023 << 52));
    p * two_k
}

/// erf with |error| < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit); enough for GELU in f64
/// against f32-trained weights.
fn erf(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        1.0 - r
    } else {
        r - 1.0
    }
}

/// The Fourier feature layer of a spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FourierSpec {
    /// Number of frequencies m (the layer outputs 2m features: all sines, then all cosines).
    pub features: usize,
    /// Standard deviation the frequencies were drawn with (informational).
    #[serde(default)]
    pub sigma: Option<f64>,
    /// Name of the `B` tensor in the weights file.
    #[serde(default = "default_fourier_tensor")]
    pub tensor: String,
    /// `"in_out"`: `B` is stored `d × m` (`γ = sin(2π x B)`); `"out_in"`: stored `m × d` like an
    /// `nn.Linear` weight without bias.
    #[serde(default = "default_layout")]
    pub layout: String,
}

fn default_fourier_tensor() -> String {
    "fourier.B".into()
}
fn default_layout() -> String {
    "in_out".into()
}
fn default_omega0() -> f64 {
    30.0
}

/// How a spec neuvis wrote begins its `generator` entry (what `--overwrite` looks for).
pub const SPEC_MARK: &[u8] = b"\"generator\": \"neuvis";

/// The JSON description of an INR: architecture, domain and where its weights are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InrSpec {
    /// Input dimension d (1–4).
    pub input_dim: usize,
    /// Axis-aligned domain, one `[lo, hi]` per input.
    pub domain: Vec<[f64; 2]>,
    /// Optional Gaussian random Fourier feature encoding.
    #[serde(default)]
    pub fourier: Option<FourierSpec>,
    /// Widths of the hidden layers, input side first.
    pub hidden: Vec<usize>,
    /// Activation of every hidden layer.
    pub activation: Activation,
    /// ω₀ for the sine activation.
    #[serde(default = "default_omega0")]
    pub omega0: f64,
    /// Tensor-name prefixes of the hidden layers and then the output layer (`"{prefix}.weight"`,
    /// `"{prefix}.bias"`); default `layers.0`, `layers.1`, … .
    #[serde(default)]
    pub layer_names: Option<Vec<String>>,
    /// Tensor-name patterns of each layer's weight and bias, `{i}` standing for the layer index
    /// (0 = the first hidden layer, the output layer last), for networks that do not keep
    /// `nn.Linear`s: e.g. `"weights_list.{i}"` and `"bias_list.{i}"` for weights held in
    /// `nn.ParameterList`s (LLNL's PruningAMR checkpoints). A pattern takes precedence over
    /// `layer_names` for its tensor.
    #[serde(default)]
    pub weight_pattern: Option<String>,
    /// See [`InrSpec::weight_pattern`].
    #[serde(default)]
    pub bias_pattern: Option<String>,
    /// How layer weights are stored: `"out_in"` (default; `nn.Linear`'s `out × in`, `y = x Wᵀ +
    /// b`) or `"in_out"` (`in × out`, `y = x W + b`, as raw parameter tensors often are).
    #[serde(default)]
    pub weight_layout: Option<String>,
    /// Weights file (safetensors, or a PyTorch `.pt`/`.pth` state dict), relative to the spec.
    #[serde(default)]
    pub weights: Option<String>,
    /// `"neuvis <version>"` in specs `neuvis inr fit` wrote ([`SPEC_MARK`]); absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// Key of a nested state dict inside a PyTorch checkpoint (e.g. `"state_dict"`).
    #[serde(default)]
    pub state_dict_key: Option<String>,
    /// Free-form description (what the INR represents, the command that made it).
    #[serde(default)]
    pub description: Option<String>,
}

impl InrSpec {
    /// Checks the spec on its own (no weights): dimensions, domain, widths.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |msg: String| Err(AmrError::spec(path, msg));
        if self.input_dim == 0 || self.input_dim > MAX_DIM {
            return bad(format!(
                "input_dim is {}; INRs of 1 to {MAX_DIM} inputs are supported",
                self.input_dim
            ));
        }
        if self.domain.len() != self.input_dim {
            return bad(format!(
                "domain has {} intervals for input_dim {}",
                self.domain.len(),
                self.input_dim
            ));
        }
        for (a, [lo, hi]) in self.domain.iter().enumerate() {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return bad(format!("domain of input {a} is [{lo}, {hi}]; need finite lo < hi"));
            }
        }
        if self.hidden.is_empty() {
            return bad("hidden is empty: an INR needs at least one hidden layer".into());
        }
        if let Some(w) = self.hidden.iter().find(|&&w| w == 0 || w > 1 << 16) {
            return bad(format!("hidden width {w} is out of range 1..=65536"));
        }
        if let Some(f) = &self.fourier {
            if f.features == 0 || f.features > 1 << 16 {
                return bad(format!("fourier.features {} is out of range 1..=65536", f.features));
            }
            if f.layout != "in_out" && f.layout != "out_in" {
                return bad(format!(
                    "fourier.layout {:?} must be \"in_out\" or \"out_in\"",
                    f.layout
                ));
            }
        }
        if !(self.omega0.is_finite() && self.omega0 > 0.0) {
            return bad(format!("omega0 {} must be a positive number", self.omega0));
        }
        for (key, p) in [
            ("weight_pattern", &self.weight_pattern),
            ("bias_pattern", &self.bias_pattern),
        ] {
            if let Some(p) = p {
                if p.matches("{i}").count() != 1 {
                    return bad(format!("{key} {p:?} must contain {{i}} exactly once (the layer index)"));
                }
            }
        }
        if let Some(l) = &self.weight_layout {
            if l != "out_in" && l != "in_out" {
                return bad(format!("weight_layout {l:?} must be \"out_in\" or \"in_out\""));
            }
        }
        if let Some(names) = &self.layer_names {
            if names.len() != self.hidden.len() + 1 {
                return bad(format!(
                    "layer_names has {} entries; need {} (each hidden layer, then the output layer)",
                    names.len(),
                    self.hidden.len() + 1
                ));
            }
        }
        Ok(())
    }

    /// Tensor-name prefix of layer `i` (hidden layers first, the output layer last).
    pub fn layer_name(&self, i: usize) -> String {
        match &self.layer_names {
            Some(n) => n[i].clone(),
            None => format!("layers.{i}"),
        }
    }

    /// The names of layer `i`'s weight and bias tensors: the patterns with `{i}` replaced, else
    /// `{prefix}.weight` and `{prefix}.bias`.
    pub fn tensor_names(&self, i: usize) -> (String, String) {
        let prefix = self.layer_name(i);
        let fill = |p: &Option<String>, suffix: &str| match p {
            Some(p) => p.replace("{i}", &i.to_string()),
            None => format!("{prefix}.{suffix}"),
        };
        (fill(&self.weight_pattern, "weight"), fill(&self.bias_pattern, "bias"))
    }
}

/// One fully connected layer: `W` is `out × in` (PyTorch's layout), `b` has `out` entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Weight matrix, `out × in`.
    pub w: Mat<f64>,
    /// Bias.
    pub b: Vec<f64>,
}

impl Dense {
    /// Output width.
    pub fn out_dim(&self) -> usize {
        self.w.nrows()
    }
}

/// A coordinate MLP in `f64`: fixed Fourier layer, hidden layers, linear scalar output.
///
/// This is both the full INR and a pruned copy of it (narrower hidden layers).
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    /// Fourier frequencies `B`, `d × m`, if the INR encodes its input.
    pub fourier: Option<Mat<f64>>,
    /// Hidden layers, input side first.
    pub hidden: Vec<Dense>,
    /// Output layer (one row).
    pub output: Dense,
    /// Hidden activation.
    pub activation: Activation,
    /// ω₀ for the sine activation.
    pub omega0: f64,
}

impl Mlp {
    /// Input dimension d.
    pub fn input_dim(&self) -> usize {
        match &self.fourier {
            Some(b) => b.nrows(),
            None => self.hidden[0].w.ncols(),
        }
    }

    /// Total number of hidden neurons (what pruning counts).
    pub fn hidden_neurons(&self) -> usize {
        self.hidden.iter().map(Dense::out_dim).sum()
    }

    /// The encoded input: `X` itself, or `[sin(2πXB), cos(2πXB)]`. `x` is `n × d`.
    pub fn encode(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        match &self.fourier {
            None => x.to_owned(),
            Some(b) => {
                let n = x.nrows();
                let m = b.ncols();
                let mut p = Mat::<f64>::zeros(n, m);
                matmul(p.as_mut(), Accum::Replace, x, b.as_ref(), 1.0, Par::Seq);
                let tau = 2.0 * std::f64::consts::PI;
                Mat::from_fn(n, 2 * m, |i, j| {
                    if j < m {
                        (tau * p[(i, j)]).sin()
                    } else {
                        (tau * p[(i, j - m)]).cos()
                    }
                })
            }
        }
    }

    /// Applies hidden layer `l` to its input `h` (`n × in`), giving `n × out`.
    pub fn layer(&self, l: usize, h: MatRef<'_, f64>) -> Mat<f64> {
        let d = &self.hidden[l];
        let mut z = affine(d, h);
        for j in 0..z.ncols() {
            self.activation.apply(
                z.col_mut(j)
                    .try_as_col_major_mut()
                    .expect("owned Mat columns are contiguous")
                    .as_slice_mut(),
                self.omega0,
            );
        }
        z
    }

    /// The output for the last hidden activations `h`.
    pub fn head(&self, h: MatRef<'_, f64>) -> Vec<f64> {
        let y = affine(&self.output, h);
        (0..y.nrows()).map(|i| y[(i, 0)]).collect()
    }

    /// Evaluates the network at `n` points given row-major (`points.len() == n·d`), in one
    /// batch on the calling thread.
    ///
    /// # Panics
    /// If `points.len()` is not a multiple of the input dimension.
    pub fn eval_batch(&self, points: &[f64]) -> Vec<f64> {
        let d = self.input_dim();
        assert_eq!(points.len() % d, 0, "points must be n × {d}, row-major");
        let n = points.len() / d;
        let x = Mat::from_fn(n, d, |i, j| points[i * d + j]);
        let mut h = self.encode(x.as_ref());
        for l in 0..self.hidden.len() {
            h = self.layer(l, h.as_ref());
        }
        self.head(h.as_ref())
    }

    /// Evaluates at many points, in parallel chunks of 1024 (rayon; the AMR's MPI ranks split the
    /// points along the same chunks).
    pub fn eval(&self, points: &[f64]) -> Vec<f64> {
        use rayon::prelude::*;
        let d = self.input_dim();
        points
            .par_chunks(1024 * d)
            .flat_map_iter(|c| self.eval_batch(c))
            .collect()
    }
}

/// `h Wᵀ + b` for a dense layer.
fn affine(d: &Dense, h: MatRef<'_, f64>) -> Mat<f64> {
    let n = h.nrows();
    let mut z = Mat::<f64>::from_fn(n, d.out_dim(), |_, j| d.b[j]);
    matmul(z.as_mut(), Accum::Add, h, d.w.transpose(), 1.0, Par::Seq);
    z
}

/// A loaded INR: its spec, where it came from, and the network.
#[derive(Debug, Clone)]
pub struct Inr {
    /// The spec.
    pub spec: InrSpec,
    /// The network.
    pub net: Mlp,
    /// The spec file (or the weights file when there is no spec file), for messages.
    pub source: PathBuf,
}

impl Inr {
    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.spec.input_dim
    }

    /// Loads a spec JSON and the weights it names (or `weights` if given, which overrides the
    /// spec's own). Safetensors and PyTorch checkpoints are told apart by their content.
    pub fn load(spec_path: &Path, weights: Option<&Path>) -> Result<Inr> {
        let text = std::fs::read_to_string(spec_path).map_err(|e| AmrError::io(spec_path, e))?;
        let spec: InrSpec = serde_json::from_str(&text)
            .map_err(|e| AmrError::spec(spec_path, format!("not a valid INR spec (JSON): {e}")))?;
        spec.validate(spec_path)?;
        let wpath = match (weights, &spec.weights) {
            (Some(w), _) => w.to_path_buf(),
            (None, Some(w)) => spec_path.parent().unwrap_or(Path::new(".")).join(w),
            (None, None) => {
                return Err(AmrError::spec(
                    spec_path,
                    "no weights: set \"weights\" in the spec or pass --weights",
                ))
            }
        };
        let tensors = TensorMap::load(&wpath, spec.state_dict_key.as_deref())?;
        let net = Self::build(&spec, &tensors, &wpath)?;
        Ok(Inr {
            spec,
            net,
            source: spec_path.to_path_buf(),
        })
    }

    /// Builds the network of `spec` from named tensors; every missing tensor and wrong shape
    /// is listed in one error, and non-finite weights are refused.
    pub fn build(spec: &InrSpec, t: &TensorMap, path: &Path) -> Result<Mlp> {
        spec.validate(path)?;
        let d = spec.input_dim;
        let mut problems = Vec::new();
        let fourier = spec.fourier.as_ref().map(|f| {
            let want = if f.layout == "in_out" {
                [d, f.features]
            } else {
                [f.features, d]
            };
            let m = t.matrix(&f.tensor, want, &mut problems);
            advise_layout(&mut problems, "fourier.layout", f.layout == "in_out");
            if f.layout == "in_out" {
                m
            } else {
                m.transpose().to_owned()
            }
        });
        let mut fan_in = match &spec.fourier {
            Some(f) => 2 * f.features,
            None => d,
        };
        let mut dense = Vec::new();
        let widths: Vec<usize> = spec.hidden.iter().copied().chain([1]).collect();
        let in_out = spec.weight_layout.as_deref() == Some("in_out");
        for (i, &w) in widths.iter().enumerate() {
            let (wn, bn) = spec.tensor_names(i);
            let wm = if in_out {
                t.matrix(&wn, [fan_in, w], &mut problems).transpose().to_owned()
            } else {
                t.matrix(&wn, [w, fan_in], &mut problems)
            };
            advise_layout(&mut problems, "weight_layout", in_out);
            let b = t.vector(&bn, w, &mut problems);
            dense.push(Dense { w: wm, b });
            fan_in = w;
        }
        if !problems.is_empty() {
            return Err(AmrError::weights(
                path,
                format!("does not match the spec:\n  {}", problems.join("\n  ")),
            ));
        }
        let output = dense.pop().expect("widths has the output layer");
        Ok(Mlp {
            fourier,
            hidden: dense,
            output,
            activation: spec.activation,
            omega0: spec.omega0,
        })
    }

    /// Writes the spec (as `spec_path`) and the weights as safetensors next to it (file name
    /// from `spec.weights`), both atomically.
    pub fn save(spec: &InrSpec, net: &Mlp, spec_path: &Path) -> Result<()> {
        let wname = spec
            .weights
            .clone()
            .ok_or_else(|| AmrError::spec(spec_path, "spec.weights must name the weights file"))?;
        let wpath = spec_path.parent().unwrap_or(Path::new(".")).join(&wname);
        let mut named: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        if let (Some(f), Some(b)) = (&spec.fourier, &net.fourier) {
            let m = if f.layout == "in_out" {
                b.clone()
            } else {
                b.transpose().to_owned()
            };
            named.push((f.tensor.clone(), vec![m.nrows(), m.ncols()], row_major(&m)));
        }
        for (i, l) in net.hidden.iter().chain([&net.output]).enumerate() {
            let name = spec.layer_name(i);
            named.push((
                format!("{name}.weight"),
                vec![l.w.nrows(), l.w.ncols()],
                row_major(&l.w),
            ));
            named.push((
                format!("{name}.bias"),
                vec![l.b.len()],
                l.b.iter().map(|&v| v as f32).collect(),
            ));
        }
        crate::weights::write_safetensors(&wpath, &named)?;
        let json = serde_json::to_string_pretty(spec).map_err(|e| AmrError::spec(spec_path, e.to_string()))?;
        crate::atomic(spec_path, |w| {
            use std::io::Write;
            w.write_all(json.as_bytes())?;
            w.write_all(b"\n")
        })
    }
}

fn row_major(m: &Mat<f64>) -> Vec<f32> {
    let mut v = Vec::with_capacity(m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            v.push(m[(i, j)] as f32);
        }
    }
    v
}

/// Completes the last problem, if it is a tensor stored transposed, with the layout that reads it:
/// the other one than the spec's `field` says (`in_out` when `in_out`, else `out_in`).
fn advise_layout(problems: &mut [String], field: &str, in_out: bool) {
    if let Some(p) = problems.last_mut().filter(|p| p.ends_with("(it is stored transposed)")) {
        p.truncate(p.len() - 1);
        p.push_str(&format!(
            ": set \"{field}\" to \"{}\" in the spec)",
            if in_out { "out_in" } else { "in_out" }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transposed_tensor_is_told_which_layout_reads_it() {
        let mut p = vec!["tensor w has shape [2, 32] but the spec needs [32, 2] (it is stored transposed)".to_string()];
        advise_layout(&mut p, "weight_layout", false);
        assert!(
            p[0].ends_with("(it is stored transposed: set \"weight_layout\" to \"in_out\" in the spec)"),
            "{}",
            p[0]
        );
        let mut p = vec!["tensor w has shape [32, 2] but the spec needs [2, 32] (it is stored transposed)".to_string()];
        advise_layout(&mut p, "weight_layout", true);
        assert!(p[0].contains("to \"out_in\""), "{}", p[0]);
        // other problems are left as they are
        let mut p = vec!["missing tensor b".to_string()];
        advise_layout(&mut p, "weight_layout", true);
        assert_eq!(p[0], "missing tensor b");
    }

    #[test]
    fn erf_matches_known_values() {
        // Abramowitz & Stegun table 7.1.
        for (x, e) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (2.0, 0.995_322_265_0),
        ] {
            assert!((erf(x) - e).abs() < 2e-7, "erf({x})");
            assert!((erf(-x) + e).abs() < 2e-7);
        }
    }

    #[test]
    fn fast_exp_is_within_two_ulp_of_libm() {
        let mut worst: f64 = 0.0;
        let mut x = -708.0;
        while x < 709.0 {
            let (a, b) = (exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.012_345_678_9;
        }
        for x in [0.0, 1e-300, -1e-300, 0.5, -0.5, 1.0, 700.0, -700.0] {
            let (a, b) = (exp(x), f64::exp(x));
            worst = worst.max(((a - b) / b).abs());
        }
        assert!(worst < 4.5e-16, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-300 && exp(1000.0) > 1e307);
    }

    #[test]
    fn activations_match_definitions() {
        let mut v = vec![-1.0, 0.0, 2.0];
        Activation::Silu.apply(&mut v, 30.0);
        assert!((v[0] - (-1.0 / (1.0 + 1f64.exp()))).abs() < 1e-15);
        assert!((v[2] - 2.0 / (1.0 + (-2f64).exp())).abs() < 1e-15);
        let mut s = vec![0.1];
        Activation::Sine.apply(&mut s, 30.0);
        assert!((s[0] - 3f64.sin()).abs() < 1e-15);
        assert_eq!(Activation::parse("swish"), Some(Activation::Silu));
        assert_eq!(Activation::parse("elu"), None);
    }
}
