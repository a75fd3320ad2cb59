//! The NeRVI / NeRV network.

use crate::config::{Arch, BlockSkip, NetConfig};
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PixelShuffle, PixelShuffleConfig};
use burn::prelude::*;
use burn::tensor::activation::{gelu, sigmoid};
use neuvis_base::SplitMix64;
use neuvis_nn::init::{conv3x3, linear};

/// A fully connected block: NeRVI's SIREN residual block `sin(ω₀(Wx + b)) + Px`, or NeRV's
/// `GELU(Wx + b)`. P is what [`crate::config::Skip`] gives the block: a learned projection without bias
/// (where widths differ; the identity where they match), the input tiled (the identity where
/// widths match), or nothing at all.
#[derive(Module, Debug)]
pub struct MlpBlock {
    /// The fully connected layer.
    pub fc: Linear,
    /// The skip projection (NeRVI, widths differ, [`BlockSkip::Project`]).
    pub skip: Option<Linear>,
    /// The kind of skip connection (NeRVI).
    #[module(skip)]
    pub kind: BlockSkip,
}

/// An upscale block: 3×3 convolution `C_in → C_out·r²`, pixel shuffle by `r`, GELU.
#[derive(Module, Debug)]
pub struct UpBlock {
    /// The convolution.
    pub conv: Conv2d,
    /// The pixel shuffle.
    pub shuffle: PixelShuffle,
}

/// The image-wise network: parameters in, whole image (and mask) out.
#[derive(Module, Debug)]
pub struct NerviNet {
    /// The two MLP blocks.
    pub mlp: Vec<MlpBlock>,
    /// The upscale blocks.
    pub ups: Vec<UpBlock>,
    /// The 3×3 head convolution (4 channels for NeRVI, 3 for NeRV).
    pub head: Conv2d,
    nervi: bool,
    omega0: f64,
    c0: usize,
    h0: usize,
    w0: usize,
}

impl NerviNet {
    /// Builds a freshly initialized network. NeRVI's fully connected layers use SIREN
    /// initialization (Sitzmann et al.): `U(−1/n, 1/n)` for the first layer and
    /// `U(−√(6/n)/ω₀, √(6/n)/ω₀)` after it (n = fan-in), biases `U(−1/√n, 1/√n)`; projections and
    /// NeRV's layers use `U(−1/√n, 1/√n)`; convolutions PyTorch's default `U(−1/√n, 1/√n)`.
    /// All values come from [`SplitMix64`] seeded with `seed`, on the CPU, so the same seed gives the
    /// same network on every backend and in every process.
    pub fn new(cfg: &NetConfig, seed: u64, device: &Device) -> NerviNet {
        let mut rng = SplitMix64(seed ^ 0x4E65_5256_4921_0000);
        let nervi = cfg.arch == Arch::Nervi;
        let pe = cfg.pe_dim();
        let d = cfg.mlp_out();
        let mut block = |din: usize, dout: usize, first: bool| {
            let b = usize::from(!first);
            let std = 1.0 / (din as f64).sqrt();
            let bound = if !nervi {
                std
            } else if first {
                1.0 / din as f64
            } else {
                (6.0 / din as f64).sqrt() / cfg.omega0
            };
            // Biases U(−1/√n, 1/√n) (PyTorch's default); projections have none.
            let fc = linear(&mut rng, din, dout, bound, Some(std), device);
            let skip = cfg
                .projects(b, din, dout)
                .then(|| linear(&mut rng, din, dout, std, None, device));
            MlpBlock {
                fc,
                skip,
                kind: cfg.skip.block(b),
            }
        };
        let first = block(pe, cfg.c1, true);
        let second = block(cfg.c1, d, false);
        let mlp = vec![first, second];
        let mut ups = Vec::new();
        let mut cin = cfg.c0;
        for (i, &r) in cfg.factors.iter().enumerate() {
            let cout = cfg.block_channels(i);
            ups.push(UpBlock {
                conv: conv3x3(&mut rng, cin, cout * r * r, device),
                shuffle: PixelShuffleConfig::new(r).init(),
            });
            cin = cout;
        }
        let head = conv3x3(&mut rng, cin, cfg.out_channels(), device);
        NerviNet {
            mlp,
            ups,
            head,
            nervi,
            omega0: cfg.omega0,
            c0: cfg.c0,
            h0: cfg.h0,
            w0: cfg.w0,
        }
    }

    /// Forward pass: encoded parameters `[B, pe_dim]` → `[B, C, H, W]` in `(0, 1)` (sigmoid):
    /// RGB and, for NeRVI, the mask as channel 3.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<4> {
        let h = self.mlp_forward(x);
        let [batch, _] = h.dims();
        let mut y = h.reshape([batch, self.c0, self.h0, self.w0]);
        for u in &self.ups {
            y = gelu(u.shuffle.forward(u.conv.forward(y)));
        }
        sigmoid(self.head.forward(y))
    }

    /// The two fully connected blocks: encoded parameters `[B, pe_dim]` → `[B, C₀·h₀·w₀]`.
    pub fn mlp_forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        for b in &self.mlp {
            let y = b.fc.forward(h.clone());
            h = if self.nervi {
                let s = (y * self.omega0).sin();
                let [_, din] = h.dims();
                let [_, dout] = s.dims();
                match (&b.skip, b.kind) {
                    (Some(p), _) => s + p.forward(h),
                    (None, BlockSkip::None) => s,
                    (None, _) if din == dout => s + h,
                    (None, _) => {
                        let [n, _] = h.dims();
                        s + h.repeat_dim(1, dout.div_ceil(din)).slice([0..n, 0..dout])
                    }
                }
            } else {
                gelu(y)
            };
        }
        h
    }

    /// The inferred image `M̂ ⊙ f + (1 − M̂) ⊙ background` (NeRVI) or `f` (NeRV), `[B, 3, H, W]`, and
    /// the predicted mask `[B, 1, H, W]` (NeRVI only).
    pub fn infer(&self, x: Tensor<2>, background: [f32; 3]) -> (Tensor<4>, Option<Tensor<4>>) {
        let out = self.forward(x);
        if !self.nervi {
            return (out, None);
        }
        let [b, _, h, w] = out.dims();
        let f = out.clone().slice([0..b, 0..3, 0..h, 0..w]);
        let m = out.slice([0..b, 3..4, 0..h, 0..w]);
        let device = f.device();
        let bg = Tensor::<1>::from_floats(background, &device).reshape([1, 3, 1, 1]);
        let img = f * m.clone() + (m.clone().neg() + 1.0) * bg;
        (img, Some(m))
    }
}
