//! Data-parallel training over MPI ranks ([`neuvis_base::ranks::Ranks`]), as PyTorch's
//! DistributedDataParallel does it: every rank holds the same network and optimizer state, takes
//! its contiguous share of each seeded global batch ([`local_share`]), computes the gradients of
//! its share's part of the global batch's loss, and one all-reduce per step sums them
//! ([`StepSync`]: the gradients as one flat `f32` buffer, followed by the step's loss and MSE and
//! the ranks' stop requests), so every rank applies the same Adam step. `--batch` stays the global
//! batch: the losses are means over equally sized images, so the shares' gradients, each weighted
//! by its share of the batch, add up to the whole batch's gradient, and the result does not depend
//! on the number of ranks (up to the order of floating-point sums).
//!
//! Generic over burn modules: `neuvis-codec`'s trainer (`train::train_on`) uses it; the other
//! trainers could (see ARCHITECTURE.md).

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use neuvis_base::ranks::Ranks;
use neuvis_base::Shard;
use std::collections::HashSet;

use crate::TrainError;

/// Rank `rank` of `size`'s contiguous block of a global batch (empty when the batch has fewer
/// images than ranks and this rank's block is past its end).
pub fn local_share(batch: &[usize], rank: usize, size: usize) -> &[usize] {
    &batch[share_range(batch.len(), rank, size)]
}

/// The positions of [`local_share`]'s block in a batch of `n`.
pub fn share_range(n: usize, rank: usize, size: usize) -> std::ops::Range<usize> {
    Shard {
        index: rank,
        count: size,
    }
    .range(n)
}

/// The ids of a module's float parameters.
struct Ids(HashSet<ParamId>);

impl ModuleVisitor for Ids {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.insert(param.id);
    }
}

/// Appends the gradient of each visited parameter (zeros where `grads` has none) and a presence
/// flag per parameter.
struct Flatten<'a> {
    grads: &'a mut GradientsParams,
    skip: &'a HashSet<ParamId>,
    values: &'a mut Vec<f32>,
    present: &'a mut Vec<f32>,
    error: Option<String>,
}

impl ModuleVisitor for Flatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.skip.contains(&param.id) {
            return;
        }
        let n: usize = param.val().dims().iter().product();
        match self.grads.remove::<D>(param.id) {
            Some(g) => match g.into_data().try_to_vec::<f32>() {
                Ok(v) if v.len() == n => {
                    self.values.extend_from_slice(&v);
                    self.present.push(1.0);
                }
                Ok(v) => {
                    self.error
                        .get_or_insert(format!("a gradient of {} values for a parameter of {n}", v.len()));
                }
                Err(e) => {
                    self.error.get_or_insert(format!("a gradient: {e:?}"));
                }
            },
            None => {
                self.values.extend(std::iter::repeat_n(0.0, n));
                self.present.push(0.0);
            }
        }
    }
}

/// Registers the summed gradient of each visited parameter that any rank had one for.
struct Restore<'a> {
    grads: GradientsParams,
    skip: &'a HashSet<ParamId>,
    values: &'a [f32],
    present: &'a [f32],
    at: usize,
    param: usize,
    device: &'a Device,
}

impl ModuleVisitor for Restore<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.skip.contains(&param.id) {
            return;
        }
        let dims = param.val().dims();
        let n: usize = dims.iter().product();
        let (values, present) = (&self.values[self.at..self.at + n], self.present[self.param]);
        self.at += n;
        self.param += 1;
        if present > 0.0 {
            let g = Tensor::<1>::from_floats(values, self.device).reshape(dims);
            self.grads.register::<D>(param.id, g);
        }
    }
}

/// One parameter group's gradients: the parameters of `module` (in its visit order) less `skip`.
pub struct Group<'m, M: Module> {
    /// The module whose parameters the group holds.
    pub module: &'m M,
    /// Parameters of `module` that belong to another group.
    pub skip: &'m HashSet<ParamId>,
}

/// What a step's all-reduce carries besides the gradients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepScalars {
    /// This rank's share of the batch's loss (its mean loss × its share of the images).
    pub loss: f64,
    /// This rank's share of the batch's MSE.
    pub mse: f64,
    /// Whether this rank was asked to stop (Ctrl-C, SIGTERM).
    pub stop: bool,
}

/// Sums the gradients of every rank, in place.
pub struct StepSync;

impl StepSync {
    /// The ids of `module`'s parameters (to keep one group's parameters out of another).
    pub fn ids<M: Module>(module: &M) -> HashSet<ParamId> {
        let mut v = Ids(HashSet::new());
        module.visit(&mut v);
        v.0
    }

    /// Sums `grads[i]` (the gradients of `groups[i]`) and `scalars` over the ranks with one
    /// all-reduce; returns the summed gradients (on `device`) and scalars (`stop`: any rank's).
    pub fn all_reduce<M: Module>(
        ranks: &dyn Ranks,
        groups: &[Group<'_, M>],
        grads: Vec<GradientsParams>,
        scalars: StepScalars,
        device: &Device,
    ) -> Result<(Vec<GradientsParams>, StepScalars), TrainError> {
        let (mut values, mut present) = (Vec::new(), Vec::new());
        let mut counts = Vec::with_capacity(groups.len());
        for (g, mut gp) in groups.iter().zip(grads) {
            let (v0, p0) = (values.len(), present.len());
            let mut f = Flatten {
                grads: &mut gp,
                skip: g.skip,
                values: &mut values,
                present: &mut present,
                error: None,
            };
            g.module.visit(&mut f);
            if let Some(e) = f.error {
                return Err(TrainError::Readback(e));
            }
            counts.push((values.len() - v0, present.len() - p0));
        }
        let split = values.len();
        values.extend_from_slice(&present);
        values.extend([
            scalars.loss as f32,
            scalars.mse as f32,
            f32::from(u8::from(scalars.stop)),
        ]);
        ranks
            .all_reduce_sum(&mut values)
            .map_err(|e| TrainError::Collective(e.to_string()))?;
        let n = values.len();
        let summed = StepScalars {
            loss: values[n - 3] as f64,
            mse: values[n - 2] as f64,
            stop: values[n - 1] > 0.0,
        };
        let (grad_values, flags) = values.split_at(split);
        let (mut at, mut param) = (0, 0);
        let mut out = Vec::with_capacity(groups.len());
        for (g, (nv, np)) in groups.iter().zip(counts) {
            let mut r = Restore {
                grads: GradientsParams::new(),
                skip: g.skip,
                values: &grad_values[at..at + nv],
                present: &flags[param..param + np],
                at: 0,
                param: 0,
                device,
            };
            g.module.visit(&mut r);
            out.push(r.grads);
            at += nv;
            param += np;
        }
        Ok((out, summed))
    }
}

#[cfg(test)]
mod tests {
    use super::local_share;

    #[test]
    fn shares_cover_a_batch_once_in_order() {
        let batch: Vec<usize> = (10..17).collect();
        for size in 1..=9 {
            let joined: Vec<usize> = (0..size).flat_map(|r| local_share(&batch, r, size).to_vec()).collect();
            assert_eq!(joined, batch, "{size} ranks");
            let lens: Vec<usize> = (0..size).map(|r| local_share(&batch, r, size).len()).collect();
            assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1, "{lens:?}");
        }
    }
}
