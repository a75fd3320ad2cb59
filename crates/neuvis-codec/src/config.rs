//! The shape of a NeRVI/NeRV network, serializable into the `.nrvi` container.

use serde::{Deserialize, Serialize};

/// Output channels the CPU engine's convolutions compute together (`cpu.rs`): each loaded input
/// value feeds this many row accumulators, which the decoder's memory bound counts.
pub(crate) const CPU_CONV_GROUP: usize = 4;

/// Which network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// NeRVI: SIREN residual MLP blocks, RGB + mask head, masked loss.
    Nervi,
    /// NeRV baseline: GELU MLP, RGB head only, loss over all pixels.
    Nerv,
}

impl neuvis_base::named::Named for Arch {
    const ALL: &'static [Arch] = &[Arch::Nervi, Arch::Nerv];

    fn name_of(self) -> &'static str {
        match self {
            Arch::Nervi => "nervi",
            Arch::Nerv => "nerv",
        }
    }
}

/// The skip connection of one of NeRVI's SIREN residual blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockSkip {
    /// A learned projection without bias where widths differ, the identity where they match.
    Project,
    /// Parameter-free: the input repeated cyclically to the output width, `x[j mod d_in]`
    /// (the identity where widths match).
    Tile,
    /// No skip connection: a plain SIREN layer.
    None,
}

/// Skip connections of NeRVI's two SIREN residual blocks (NeRV has none). The paper gives the
/// block as `sin(ω₀(Wx + b)) + x` without saying what happens where widths differ; at small sizes
/// the second block's learned projection `c₁ × C₀·h₀·w₀` takes a fifth of the network, which is
/// what the parameter-free variants are for (BENCHMARKS.md, codec section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skip {
    /// A learned projection in both blocks (where widths differ).
    #[default]
    Project,
    /// A learned projection in the first block, a parameter-free tiled skip in the second.
    ProjectTile,
    /// A learned projection in the first block, no skip in the second.
    ProjectNone,
    /// Parameter-free tiled skips in both blocks.
    Tile,
    /// No skip connections (a plain SIREN MLP).
    None,
}

impl neuvis_base::named::Named for Skip {
    const ALL: &'static [Skip] = &[
        Skip::Project,
        Skip::ProjectTile,
        Skip::ProjectNone,
        Skip::Tile,
        Skip::None,
    ];

    fn name_of(self) -> &'static str {
        match self {
            Skip::Project => "project",
            Skip::ProjectTile => "project-tile",
            Skip::ProjectNone => "project-none",
            Skip::Tile => "tile",
            Skip::None => "none",
        }
    }
}

impl Skip {
    /// The skip of block `i` (0 or 1).
    pub fn block(self, i: usize) -> BlockSkip {
        match (self, i) {
            (Skip::Project, _) | (Skip::ProjectTile | Skip::ProjectNone, 0) => BlockSkip::Project,
            (Skip::ProjectTile, _) | (Skip::Tile, _) => BlockSkip::Tile,
            (Skip::ProjectNone, _) | (Skip::None, _) => BlockSkip::None,
        }
    }
}

/// Everything that determines a network's layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// NeRVI or NeRV.
    pub arch: Arch,
    /// Number of input parameters (t, θ, φ).
    pub inputs: usize,
    /// Positional-encoding levels L.
    pub pe_levels: usize,
    /// Positional-encoding base c.
    pub pe_base: f64,
    /// SIREN frequency ω₀.
    pub omega0: f64,
    /// MLP width c₁ (output of the first block).
    pub c1: usize,
    /// Channels of the reshaped MLP output C₀ (Table 1: 4·c₁).
    pub c0: usize,
    /// Output channels of the first upscale block c₂ (halved per block).
    pub c2: usize,
    /// Floor of the halving channel count.
    pub c_min: usize,
    /// Height of the reshaped MLP output.
    pub h0: usize,
    /// Width of the reshaped MLP output.
    pub w0: usize,
    /// Upscale factor of each block; `h0·∏r = H`, `w0·∏r = W`.
    pub factors: Vec<usize>,
    /// NeRVI's skip connections (files written before this field existed used [`Skip::Project`]).
    #[serde(default)]
    pub skip: Skip,
}

/// Why no network fits a request.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// The image size does not factor into small upscale steps.
    #[error("image size {width}x{height} cannot be reached by upscale steps of 2, 3, 4 and 5 from a small start grid: {why}")]
    Size {
        /// Width.
        width: usize,
        /// Height.
        height: usize,
        /// Details.
        why: String,
    },
    /// A field of a stored network configuration is outside what a decoder accepts.
    #[error("network field `{field}`: {why}")]
    Field {
        /// The field's name in the header JSON.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A width is zero or absurd.
    #[error("network widths must be between 1 and 65536 (c1 {c1}, c0 {c0}, c2 {c2})")]
    Widths {
        /// c₁.
        c1: usize,
        /// C₀.
        c0: usize,
        /// c₂.
        c2: usize,
    },
}

/// Whether `d` has no prime factors other than 2, 3 and 5.
fn smooth(mut d: usize) -> bool {
    for p in [2, 3, 5] {
        while d.is_multiple_of(p) {
            d /= p;
        }
    }
    d == 1
}

fn check_size(width: usize, height: usize) -> Result<(), ConfigError> {
    if width == 0 || height == 0 || width > 16384 || height > 16384 {
        return Err(ConfigError::Size {
            width,
            height,
            why: "sizes must be between 1 and 16384".into(),
        });
    }
    Ok(())
}

/// `p` split into prime steps 5, 3, 2 (largest first); `p` must be 2/3/5-smooth.
fn prime_steps(mut p: usize) -> Vec<usize> {
    let mut f = Vec::new();
    for q in [5, 3, 2] {
        while p.is_multiple_of(q) {
            f.push(q);
            p /= q;
        }
    }
    f
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Upscale factors for an image size: `(h0, w0, factors)`. The total factor `P` is the largest
/// divisor of gcd(W, H) made of 2s, 3s and 5s that leaves a start grid of at least 2 in both
/// directions; 2s are paired into 4s for the first two blocks (as NeRVI's Table 1 does), factors in
/// decreasing order. E.g. 1024² → 2×2 start, [4, 4, 2, 2, 2, 2, 2]; 64² → 2×2, [4, 4, 2];
/// 192×176 → 12×11, [4, 4].
pub fn upscale_plan(width: usize, height: usize) -> Result<(usize, usize, Vec<usize>), ConfigError> {
    let err = |why: String| ConfigError::Size { width, height, why };
    check_size(width, height)?;
    let g = gcd(width, height);
    let p = (1..=g)
        .rev()
        .find(|&d| g.is_multiple_of(d) && smooth(d) && width / d >= 2 && height / d >= 2)
        .unwrap_or(1);
    let (h0, w0) = (height / p, width / p);
    if p < 4 {
        return Err(err(format!("the largest usable total upscale factor is {p}")));
    }
    if h0 * w0 > 1024 {
        return Err(err(format!("the start grid would be {w0}x{h0}")));
    }
    let mut rest = p;
    let mut f = Vec::new();
    while f.len() < 2 && rest % 4 == 0 {
        f.push(4);
        rest /= 4;
    }
    f.extend(prime_steps(rest));
    f.sort_unstable_by(|a, b| b.cmp(a));
    Ok((h0, w0, f))
}

/// How the start grid and the upscale factors are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Plan {
    /// NeRVI's Table 1: the smallest start grid (≥ 2×2), 4s for the first two blocks
    /// ([`upscale_plan`]).
    Paper,
    /// The smallest total factor that leaves a start grid of at least `n` pixels on its short side,
    /// in steps of 2 (3 and 5 where the size needs them) ([`start_plan`]). Small networks learn
    /// much better from an 8×8 start than from 2×2 (BENCHMARKS.md, codec section).
    Start(usize),
}

/// Upscale factors for a start grid of at least `start` pixels on the short side: `(h0, w0,
/// factors)` with the total factor `P` the largest 2/3/5-smooth divisor of gcd(W, H) for which
/// `min(H, W)/P ≥ start`, split into prime steps (largest first). E.g. 64² with start 8 → 8×8,
/// [2, 2, 2]; 1024² → 8×8, [2; 7]; 96² → 8×8, [3, 2, 2]; 192×176 → 12×11, [2, 2, 2, 2].
pub fn start_plan(width: usize, height: usize, start: usize) -> Result<(usize, usize, Vec<usize>), ConfigError> {
    let err = |why: String| ConfigError::Size { width, height, why };
    check_size(width, height)?;
    let start = start.max(1);
    let g = gcd(width, height);
    let p = (2..=g)
        .rev()
        .find(|&d| g.is_multiple_of(d) && smooth(d) && width.min(height) / d >= start)
        .ok_or_else(|| {
            err(format!(
                "no upscale step of 2, 3 or 5 leaves a start grid of at least {start} pixels"
            ))
        })?;
    let (h0, w0) = (height / p, width / p);
    if h0 * w0 > 4096 {
        return Err(err(format!("the start grid would be {w0}x{h0}")));
    }
    Ok((h0, w0, prime_steps(p)))
}

impl NetConfig {
    /// Like [`NetConfig::for_image`], with the start grid and factors chosen by `plan`.
    pub fn for_image_plan(
        arch: Arch,
        width: usize,
        height: usize,
        c1: usize,
        c0: usize,
        c2: usize,
        plan: Plan,
    ) -> Result<Self, ConfigError> {
        let (h0, w0, factors) = match plan {
            Plan::Paper => upscale_plan(width, height)?,
            Plan::Start(n) => start_plan(width, height, n)?,
        };
        NetConfig::from_parts(arch, c1, c0, c2, h0, w0, factors)
    }

    fn from_parts(
        arch: Arch,
        c1: usize,
        c0: usize,
        c2: usize,
        h0: usize,
        w0: usize,
        factors: Vec<usize>,
    ) -> Result<Self, ConfigError> {
        if [c1, c0, c2].iter().any(|&c| c == 0 || c > 65536) {
            return Err(ConfigError::Widths { c1, c0, c2 });
        }
        Ok(NetConfig {
            arch,
            inputs: 3,
            pe_levels: 4,
            pe_base: 2.0,
            omega0: 30.0,
            c1,
            c0,
            c2,
            c_min: 8.min(c2),
            h0,
            w0,
            factors,
            skip: Skip::Project,
        })
    }

    /// A network for `width × height` images with MLP width `c1`, reshaped channels `c0` and first
    /// upscale channels `c2`; the rest at the paper's values (L = 4, c = 2, ω₀ = 30), channel floor min(8, c2).
    pub fn for_image(
        arch: Arch,
        width: usize,
        height: usize,
        c1: usize,
        c0: usize,
        c2: usize,
    ) -> Result<Self, ConfigError> {
        NetConfig::for_image_plan(arch, width, height, c1, c0, c2, Plan::Paper)
    }

    /// Checks a configuration read from a file before anything is sized from it: three inputs
    /// (t, θ, φ), positional-encoding levels 1–32 with a finite base and ω₀, widths 1–65536 with
    /// `c_min ≤ c2`, a start grid of 1–4096 per side, at most 16 upscale factors of 1–8 each, an
    /// image of at most 16384 per side, and a parameter count below 2³¹; every product is checked,
    /// so a hostile file cannot wrap an image size or a buffer length.
    ///
    /// ```
    /// use neuvis_codec::{Arch, NetConfig};
    /// let mut cfg = NetConfig::for_image(Arch::Nervi, 64, 64, 14, 7, 14).unwrap();
    /// assert!(cfg.validate().is_ok());
    /// cfg.factors[0] = 1 << 62;
    /// assert!(cfg.validate().unwrap_err().to_string().contains("factors"));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, why: String| Err(ConfigError::Field { field, why });
        if self.inputs != 3 {
            return bad(
                "inputs",
                format!("{} inputs; a NeRVI model takes 3 (t, θ, φ)", self.inputs),
            );
        }
        if !(1..=32).contains(&self.pe_levels) {
            return bad("pe_levels", format!("{} outside 1–32", self.pe_levels));
        }
        if !(self.pe_base.is_finite() && self.pe_base > 0.0 && self.pe_base <= 1e3) {
            return bad(
                "pe_base",
                format!("{} is not a finite value in (0, 1000]", self.pe_base),
            );
        }
        if !(self.omega0.is_finite() && self.omega0.abs() <= 1e4) {
            return bad("omega0", format!("{} is not a finite value within ±10000", self.omega0));
        }
        for (field, v) in [("c1", self.c1), ("c0", self.c0), ("c2", self.c2), ("c_min", self.c_min)] {
            if !(1..=65536).contains(&v) {
                return bad(field, format!("{v} outside 1–65536"));
            }
        }
        if self.c_min > self.c2 {
            return bad("c_min", format!("{} above c2 = {}", self.c_min, self.c2));
        }
        for (field, v) in [("h0", self.h0), ("w0", self.w0)] {
            if !(1..=4096).contains(&v) {
                return bad(field, format!("{v} outside 1–4096"));
            }
        }
        if self.factors.len() > 16 {
            return bad("factors", format!("{} upscale blocks, at most 16", self.factors.len()));
        }
        if let Some(r) = self.factors.iter().find(|r| !(1..=8).contains(*r)) {
            return bad("factors", format!("upscale factor {r} outside 1–8"));
        }
        let p = self
            .factors
            .iter()
            .try_fold(1usize, |a, &r| a.checked_mul(r).filter(|&v| v <= 16384));
        let fits = p
            .and_then(|p| Some((self.w0.checked_mul(p)?, self.h0.checked_mul(p)?)))
            .is_some_and(|(w, h)| w <= 16384 && h <= 16384);
        if !fits {
            return bad(
                "factors",
                format!(
                    "w0 {} · h0 {} times the upscale factors exceed 16384 pixels per side",
                    self.w0, self.h0
                ),
            );
        }
        let count = self.checked_param_count();
        match count {
            Some(n) if (n as u64) < (1u64 << 31) => Ok(()),
            _ => bad("c1/c0/c2", "the network has more than 2³¹ parameters".into()),
        }
    }

    /// [`NetConfig::param_count`] with every product and sum checked.
    fn checked_param_count(&self) -> Option<usize> {
        let pe = 2usize.checked_mul(self.pe_levels)?.checked_mul(self.inputs)?;
        let d = self.c0.checked_mul(self.h0)?.checked_mul(self.w0)?;
        let mut n = pe.checked_mul(self.c1)?.checked_add(self.c1)?;
        n = n.checked_add(self.c1.checked_mul(d)?)?.checked_add(d)?;
        for (b, (i, o)) in [(0, (pe, self.c1)), (1, (self.c1, d))] {
            if self.projects(b, i, o) {
                n = n.checked_add(i.checked_mul(o)?)?;
            }
        }
        let mut cin = self.c0;
        for (i, &r) in self.factors.iter().enumerate() {
            let cout = self.block_channels(i).checked_mul(r)?.checked_mul(r)?;
            n = n.checked_add(9usize.checked_mul(cin)?.checked_mul(cout)?.checked_add(cout)?)?;
            cin = self.block_channels(i);
        }
        n.checked_add(9 * cin * self.out_channels() + self.out_channels())
    }

    /// Bytes of working memory the CPU decoder needs for one image: the most that is alive at once
    /// (the MLP's three vectors, a convolution's input, output and row accumulators, the pixel
    /// shuffle's input and output, the head's input and output, then the composited image), as
    /// `cpu.rs` allocates them; `None` on overflow. Call after
    /// [`NetConfig::validate`].
    pub fn decode_bytes(&self) -> Option<u64> {
        let pe = self.pe_dim() as u64;
        let c1 = self.c1 as u64;
        let (mut h, mut w) = (self.h0 as u64, self.w0 as u64);
        let d = (self.c0 as u64).checked_mul(h)?.checked_mul(w)?;
        // the MLP blocks: the input, the block's output and its skip term
        let mut peak = pe
            .checked_add(c1.checked_mul(2)?)?
            .max(c1.checked_add(d.checked_mul(2)?)?);
        // a convolution's row accumulators (`GROUP` output channels and a row of zeros)
        let rows = |w: u64| w.checked_mul(CPU_CONV_GROUP as u64 + 1);
        let mut x = d;
        for (i, &r) in self.factors.iter().enumerate() {
            let r = r as u64;
            let c = self.block_channels(i) as u64;
            // the convolution's output (c·r² channels), then the pixel shuffle into x' (c channels)
            let tmp = c.checked_mul(r.checked_mul(r)?)?.checked_mul(h)?.checked_mul(w)?;
            peak = peak.max(x.checked_add(tmp)?.checked_add(rows(w)?)?);
            h = h.checked_mul(r)?;
            w = w.checked_mul(r)?;
            let nx = c.checked_mul(h)?.checked_mul(w)?;
            peak = peak.max(tmp.checked_add(nx)?);
            x = nx;
        }
        let out = (self.out_channels() as u64).checked_mul(h)?.checked_mul(w)?;
        peak = peak.max(x.checked_add(out)?.checked_add(rows(w)?)?);
        // f32s, then the composited RGB and mask bytes made while the output is alive
        peak.checked_mul(4)?.checked_add(h.checked_mul(w)?.checked_mul(4)?)
    }

    /// Positional-encoding features: `2 · L · inputs`.
    pub fn pe_dim(&self) -> usize {
        2 * self.pe_levels * self.inputs
    }

    /// Width of the second MLP block's output, `C₀ · h₀ · w₀`.
    pub fn mlp_out(&self) -> usize {
        self.c0 * self.h0 * self.w0
    }

    /// Output channels of upscale block `i`.
    pub fn block_channels(&self, i: usize) -> usize {
        (self.c2 >> i.min(63)).max(self.c_min)
    }

    /// Whether MLP block `b` (going from `din` to `dout` features) has a learned skip projection.
    pub fn projects(&self, b: usize, din: usize, dout: usize) -> bool {
        self.arch == Arch::Nervi && din != dout && self.skip.block(b) == BlockSkip::Project
    }

    /// Head output channels: RGB + mask for NeRVI, RGB for NeRV.
    pub fn out_channels(&self) -> usize {
        match self.arch {
            Arch::Nervi => 4,
            Arch::Nerv => 3,
        }
    }

    /// Output image size (width, height).
    pub fn image_size(&self) -> (usize, usize) {
        let p: usize = self.factors.iter().product();
        (self.w0 * p, self.h0 * p)
    }

    /// Number of trainable parameters, computed from the shapes (checked against burn's count in
    /// the tests).
    pub fn param_count(&self) -> usize {
        self.mlp_param_count() + self.conv_param_count()
    }

    /// Parameters of the two MLP blocks (layers, biases and skip projections).
    pub fn mlp_param_count(&self) -> usize {
        let pe = self.pe_dim();
        let d = self.mlp_out();
        let skip = |b: usize, i: usize, o: usize| {
            if self.projects(b, i, o) {
                i * o
            } else {
                0
            }
        };
        pe * self.c1 + self.c1 + skip(0, pe, self.c1) + self.c1 * d + d + skip(1, self.c1, d)
    }

    /// Parameters of the upscale blocks and the head.
    pub fn conv_param_count(&self) -> usize {
        self.upscale_param_count() + self.head_param_count()
    }

    /// Parameters of the upscale blocks' convolutions (weights and biases).
    pub fn upscale_param_count(&self) -> usize {
        let mut n = 0;
        let mut cin = self.c0;
        for (i, &r) in self.factors.iter().enumerate() {
            let cout = self.block_channels(i) * r * r;
            n += 9 * cin * cout + cout;
            cin = self.block_channels(i);
        }
        n
    }

    /// Parameters of the 3×3 head convolution (weights and biases).
    pub fn head_param_count(&self) -> usize {
        let cin = match self.factors.len() {
            0 => self.c0,
            k => self.block_channels(k - 1),
        };
        9 * cin * self.out_channels() + self.out_channels()
    }
}
