//! Interpolative-decomposition (ID) pruning of an MLP on a region (Chee et al. 2022; §2.3 of
//! the AMR paper).
//!
//! For each hidden layer in order, with `Z` the layer's activations (samples × neurons) in the
//! already-pruned network, a column-pivoted QR `Z P = Q R` gives the rank
//! `k = #{i : |R_ii| ≥ ε |R_00|}` and the interpolation matrix `T = R₁₁⁻¹ R₁₂`, so that
//! `Z ≈ Z_{:,I} [I_k T] Pᵀ`. The layer keeps rows `I` of `W` and `b`; the next layer's weights
//! absorb the rest: `Ū = U T_fullᵀ`. The Fourier layer is fixed and never pruned.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::matmul::matmul;
use faer::linalg::qr::col_pivoting::factor::{qr_in_place, qr_in_place_scratch};
use faer::linalg::qr::no_pivoting::factor::recommended_block_size;
use faer::linalg::triangular_solve::solve_upper_triangular_in_place;
use faer::{Accum, Mat, MatRef, Par};

use crate::inr::{Dense, Mlp};

/// An interpolative decomposition `Z ≈ Z_{:,I} T` of a matrix with `n` columns.
#[derive(Debug, Clone)]
pub struct Id {
    /// The kept columns `I`, in pivot order.
    pub kept: Vec<usize>,
    /// The interpolation matrix, `k × n` (identity on the kept columns).
    pub t: Mat<f64>,
}

/// Computes the ID of `z` with relative tolerance `eps` on the diagonal of the pivoted `R`.
///
/// A zero matrix (e.g. every ReLU neuron dead on the samples) has rank 0: nothing is kept.
pub fn interpolative_decomposition(z: MatRef<'_, f64>, eps: f64) -> Id {
    let (m, n) = z.shape();
    let size = m.min(n);
    if size == 0 {
        return Id {
            kept: Vec::new(),
            t: Mat::zeros(0, n),
        };
    }
    let mut a = z.to_owned();
    let bs = recommended_block_size::<f64>(m, n);
    let mut q_coeff = Mat::<f64>::zeros(bs, size);
    let mut perm = vec![0usize; n];
    let mut perm_inv = vec![0usize; n];
    let mut mem = MemBuffer::new(qr_in_place_scratch::<usize, f64>(
        m,
        n,
        bs,
        Par::Seq,
        Default::default(),
    ));
    qr_in_place(
        a.as_mut(),
        q_coeff.as_mut(),
        &mut perm,
        &mut perm_inv,
        Par::Seq,
        MemStack::new(&mut mem),
        Default::default(),
    );
    let r00 = a[(0, 0)].abs();
    let k = if r00 > 0.0 && r00.is_finite() {
        (0..size).filter(|&i| a[(i, i)].abs() >= eps * r00).count()
    } else {
        0
    };
    let mut t_small = a.get(..k, k..).to_owned();
    if k > 0 && n > k {
        solve_upper_triangular_in_place(a.get(..k, ..k), t_small.as_mut(), Par::Seq);
    }
    let mut t = Mat::<f64>::zeros(k, n);
    for (j, &col) in perm.iter().enumerate() {
        if j < k {
            t[(j, col)] = 1.0;
        } else {
            for i in 0..k {
                t[(i, col)] = t_small[(i, j - k)];
            }
        }
    }
    Id {
        kept: perm[..k].to_vec(),
        t,
    }
}

/// The result of pruning: the smaller network and how many neurons each hidden layer kept.
#[derive(Debug, Clone)]
pub struct Pruned {
    /// The pruned network (same inputs and output as the original).
    pub net: Mlp,
    /// Neurons kept per hidden layer.
    pub kept: Vec<usize>,
}

impl Pruned {
    /// Kept hidden neurons / all hidden neurons of `original`.
    pub fn proportion(&self, original: &Mlp) -> f64 {
        self.kept.iter().sum::<usize>() as f64 / original.hidden_neurons() as f64
    }
}

/// Prunes `net` on the sample points `x` (`n × d`) with ID tolerance `eps`.
///
/// Layers are pruned sequentially from the input side: each ID is computed on the activations
/// of the network pruned so far.
pub fn prune(net: &Mlp, x: MatRef<'_, f64>, eps: f64) -> Pruned {
    let mut out = net.clone();
    let mut kept = Vec::with_capacity(net.hidden.len());
    let mut h = out.encode(x);
    for l in 0..out.hidden.len() {
        let z = out.layer(l, h.as_ref());
        let id = interpolative_decomposition(z.as_ref(), eps);
        let layer = &out.hidden[l];
        out.hidden[l] = Dense {
            w: Mat::from_fn(id.kept.len(), layer.w.ncols(), |i, j| layer.w[(id.kept[i], j)]),
            b: id.kept.iter().map(|&i| layer.b[i]).collect(),
        };
        let next = if l + 1 < out.hidden.len() {
            &mut out.hidden[l + 1]
        } else {
            &mut out.output
        };
        let mut w = Mat::<f64>::zeros(next.w.nrows(), id.kept.len());
        matmul(
            w.as_mut(),
            Accum::Replace,
            next.w.as_ref(),
            id.t.transpose(),
            1.0,
            Par::Seq,
        );
        next.w = w;
        h = Mat::from_fn(z.nrows(), id.kept.len(), |i, j| z[(i, id.kept[j])]);
        kept.push(id.kept.len());
    }
    Pruned { net: out, kept }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_of_low_rank_matrix_is_exact() {
        // Columns 2 = col0 + 2·col1, 3 = −col1; rank 2.
        let z = Mat::from_fn(6, 4, |i, j| {
            let a = (i as f64 * 0.7).sin();
            let b = (i as f64 * 1.3).cos();
            [a, b, a + 2.0 * b, -b][j]
        });
        let id = interpolative_decomposition(z.as_ref(), 1e-10);
        assert_eq!(id.kept.len(), 2);
        let zi = Mat::from_fn(6, 2, |i, j| z[(i, id.kept[j])]);
        let mut rec = Mat::<f64>::zeros(6, 4);
        matmul(rec.as_mut(), Accum::Replace, zi.as_ref(), id.t.as_ref(), 1.0, Par::Seq);
        for i in 0..6 {
            for j in 0..4 {
                assert!((rec[(i, j)] - z[(i, j)]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn zero_matrix_keeps_nothing() {
        let id = interpolative_decomposition(Mat::<f64>::zeros(5, 3).as_ref(), 1e-3);
        assert!(id.kept.is_empty());
        assert_eq!(id.t.shape(), (0, 3));
    }
}
