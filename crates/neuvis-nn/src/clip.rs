//! AutoClip (Seetharaman et al., "AutoClip: Adaptive gradient clipping for source separation
//! networks", MLSP 2020; the raycaster paper's reference 48): each step's gradient is scaled down
//! to the `p`-th percentile of the global gradient norms seen so far in the run whenever its own
//! norm exceeds it. A rare batch with a huge gradient (a brick unlike the others, a near-flat
//! SSIM window) then cannot throw Adam's moments off, which otherwise shows as loss spikes the
//! run takes thousands of steps to recover from.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// The clipping state of one run: the history of gradient norms.
#[derive(Debug, Clone)]
pub struct AutoClip {
    percentile: f64,
    /// Norms seen so far, sorted.
    sorted: Vec<f64>,
}

/// What one step's clipping did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clipped {
    /// Global L2 norm of the gradient before clipping.
    pub norm: f64,
    /// The threshold it was held to (the percentile of the history, this step's norm included).
    pub threshold: f64,
}

impl AutoClip {
    /// Clipping to the `percentile`-th percentile (0–100; AutoClip's paper recommends 10) of the
    /// norms seen.
    pub fn new(percentile: f64) -> AutoClip {
        AutoClip {
            percentile: percentile.clamp(0.0, 100.0),
            sorted: Vec::new(),
        }
    }

    /// Records the norm of `grads` (the gradients of `module`'s float parameters) and scales them
    /// down to the percentile of the history when they exceed it. A non-finite norm is returned as
    /// it is (the trainer reports the divergence) and not recorded.
    pub fn clip<M: Module>(&mut self, grads: GradientsParams, module: &M) -> (GradientsParams, Clipped) {
        let mut sq = SquaredNorm {
            grads: &grads,
            sum: 0.0,
        };
        module.visit(&mut sq);
        let norm = sq.sum.sqrt();
        if !norm.is_finite() {
            return (grads, Clipped { norm, threshold: norm });
        }
        let at = self.sorted.partition_point(|&v| v < norm);
        self.sorted.insert(at, norm);
        let rank = ((self.percentile / 100.0) * (self.sorted.len() - 1) as f64).round() as usize;
        let threshold = self.sorted[rank.min(self.sorted.len() - 1)];
        if norm <= threshold || norm == 0.0 {
            return (grads, Clipped { norm, threshold });
        }
        let mut scale = Scale {
            grads,
            factor: (threshold / norm) as f32,
        };
        module.visit(&mut scale);
        (scale.grads, Clipped { norm, threshold })
    }
}

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: f64,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            self.sum += g.square().sum().into_scalar::<f32>() as f64;
        }
    }
}

struct Scale {
    grads: GradientsParams,
    factor: f32,
}

impl ModuleVisitor for Scale {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register::<D>(param.id, g.mul_scalar(self.factor));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;

    #[derive(Module, Debug)]
    struct Two {
        a: Param<Tensor<1>>,
        b: Param<Tensor<2>>,
    }

    /// The gradients of `k·(Σ a·ca + Σ b·cb)`: `k·ca` and `k·cb`.
    fn grads(m: &Two, k: f32, ca: &[f32; 3], cb: &[[f32; 2]; 2], dev: &Device) -> GradientsParams {
        let ta = Tensor::<1>::from_floats(*ca, dev);
        let tb = Tensor::<2>::from_floats(*cb, dev);
        let loss = ((m.a.val() * ta).sum() + (m.b.val() * tb).sum()).mul_scalar(k);
        GradientsParams::from_grads(loss.backward(), m)
    }

    #[test]
    fn a_gradient_above_the_percentile_of_the_history_is_scaled_to_it() {
        let dev = Device::flex().autodiff();
        let m = Two {
            a: Param::from_tensor(Tensor::<1>::from_floats([0.1, 0.2, 0.3], &dev)),
            b: Param::from_tensor(Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &dev)),
        };
        let (ca, cb) = ([3.0, 0.0, -4.0], [[1.0, -2.0], [2.0, 0.0]]);
        let norm = (9.0f64 + 16.0 + 1.0 + 4.0 + 4.0).sqrt();
        let values = |g: &GradientsParams| {
            let mut v = g.get::<1>(m.a.id).unwrap().into_data().try_to_vec::<f32>().unwrap();
            v.extend(g.get::<2>(m.b.id).unwrap().into_data().try_to_vec::<f32>().unwrap());
            v
        };
        let want = [3.0, 0.0, -4.0, 1.0, -2.0, 2.0, 0.0];
        let mut clip = AutoClip::new(10.0);
        // the first step is its own history: kept
        let (g, c) = clip.clip(grads(&m, 1.0, &ca, &cb, &dev), &m);
        assert!((c.norm - norm).abs() < 1e-5 && c.threshold == c.norm, "{c:?}");
        assert_eq!(values(&g), want);
        // ten times larger: the 10th percentile of {n, 10n} is n, so it comes back to the first
        let (g, c) = clip.clip(grads(&m, 10.0, &ca, &cb, &dev), &m);
        assert!(
            (c.norm - 10.0 * norm).abs() < 1e-4 && (c.threshold - norm).abs() < 1e-5,
            "{c:?}"
        );
        for (x, y) in values(&g).iter().zip(want) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
        // below the threshold: untouched
        let (g, _) = clip.clip(grads(&m, 0.5, &ca, &cb, &dev), &m);
        assert_eq!(values(&g), want.map(|v| v * 0.5));
        // with 100 (no clipping) the large one passes
        let mut none = AutoClip::new(100.0);
        let _ = none.clip(grads(&m, 1.0, &ca, &cb, &dev), &m);
        let (g, _) = none.clip(grads(&m, 10.0, &ca, &cb, &dev), &m);
        assert_eq!(values(&g), want.map(|v| v * 10.0));
    }
}
