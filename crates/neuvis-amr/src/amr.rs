//! The refinement drivers: Algorithm 1 ("pruning"), the "basic" interpolation-error baseline and
//! "uniform" refinement, with the total-error history of §4.1.

use std::collections::HashMap;
use std::time::Instant;

use faer::Mat;
use neuvis_base::SplitMix64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::inr::Mlp;
use crate::prune::prune;
use crate::tree::{multilinear, Key, Tree};
use crate::{AmrError, Result};
use neuvis_base::named::Named;

/// How elements are chosen for refinement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Algorithm 1: refine where ID pruning keeps more than P of the neurons or loses more than
    /// T relative accuracy.
    Pruning,
    /// Refine where the element's multilinear interpolant is off by more than τ (relative).
    Basic,
    /// Refine every element.
    Uniform,
}

impl Method {
    /// Parses `pruning`, `basic` or `uniform`.
    pub fn parse(s: &str) -> Option<Method> {
        Method::from_name(s)
    }

    /// The name [`Method::parse`] reads.
    pub fn name(self) -> &'static str {
        self.name_of()
    }
}

impl Named for Method {
    const ALL: &'static [Method] = &[Method::Pruning, Method::Basic, Method::Uniform];

    fn name_of(self) -> &'static str {
        match self {
            Method::Pruning => "pruning",
            Method::Basic => "basic",
            Method::Uniform => "uniform",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The relative error of the basic method's interpolant `g` against the INR `f` at an
/// element's sample points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BasicError {
    /// `mean|f − g| · mean(1/|f|)`, refining when it is ≥ τ: what LLNL's reference
    /// implementation computes, so a τ from its runs (the paper's) gives the same meshes. The
    /// default.
    #[default]
    Reference,
    /// `mean(|f − g| / max(|f|, δ))`, refining when it is > τ: the pointwise relative error with
    /// the floor δ (`rel_floor`) that keeps near-zero values from dominating; neuvis's earlier
    /// definition.
    Pointwise,
}

impl BasicError {
    /// The error of the interpolant values `g` against the INR values `f` (`floor`: δ of
    /// the pointwise definition).
    pub fn error(self, f: &[f64], g: &[f64], floor: f64) -> f64 {
        match self {
            BasicError::Reference => reference_relative(f, g),
            BasicError::Pointwise => mean_relative(f, g, floor),
        }
    }

    /// Whether an element with error `err` is refined at threshold `tau` (NaN and ∞ refine).
    pub fn refines(self, err: f64, tau: f64) -> bool {
        match self {
            BasicError::Reference => err >= tau || err.is_nan(),
            BasicError::Pointwise => err > tau || !err.is_finite(),
        }
    }

    /// Parses `reference` or `pointwise`.
    pub fn parse(s: &str) -> Option<BasicError> {
        BasicError::from_name(s)
    }

    /// The name [`BasicError::parse`] reads.
    pub fn name(self) -> &'static str {
        self.name_of()
    }
}

impl Named for BasicError {
    const ALL: &'static [BasicError] = &[BasicError::Reference, BasicError::Pointwise];

    fn name_of(self) -> &'static str {
        match self {
            BasicError::Reference => "reference",
            BasicError::Pointwise => "pointwise",
        }
    }
}

impl std::fmt::Display for BasicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for AmrConfig {
    /// The settings in one line, as `neuvis amr` prints them before the first iteration.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "method {}, T {}, P {}, ε {}, τ {}, ID samples {}, error samples {}, max_it {}, max_dofs {}, {} initial refinements, {} total-error points",
            self.method,
            self.t,
            self.p,
            self.eps,
            self.tau,
            self.id_samples,
            self.error_samples,
            self.max_it,
            self.max_dofs,
            self.initial_refinements,
            self.total_error_samples
        )
    }
}

/// Settings of one AMR run (the paper's Tables 1 and 2 plus the run limits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmrConfig {
    /// Refinement method.
    pub method: Method,
    /// T: relative error of the pruned INR above which an element is refined.
    pub t: f64,
    /// P: proportion of kept neurons above which an element is refined.
    pub p: f64,
    /// ε: relative tolerance of the interpolative decomposition.
    pub eps: f64,
    /// τ: relative interpolation error threshold of the basic method.
    pub tau: f64,
    /// How the basic method measures the relative error it compares with τ.
    #[serde(default)]
    pub basic_error: BasicError,
    /// Points per element for the ID.
    pub id_samples: usize,
    /// Points per element for the error estimate.
    pub error_samples: usize,
    /// Maximum number of refinement iterations.
    pub max_it: usize,
    /// Stop once the mesh has more DOFs (all corners) than this.
    pub max_dofs: usize,
    /// Never let one iteration grow the mesh past this many elements.
    pub max_elements: usize,
    /// The first this many iterations refine uniformly, whatever the method (the paper's 4-D
    /// runs start from one element with three uniform refinements). They are recorded in the
    /// history and count toward `max_it`.
    pub initial_refinements: usize,
    /// Seed of every random sample.
    pub seed: u64,
    /// Points for the total error (RMSE over the domain).
    pub total_error_samples: usize,
    /// Floor δ of the relative-error denominator, `|f − g| / max(|f|, δ)`; `None` = 1% of the
    /// largest |f| seen on the total-error points.
    pub rel_floor: Option<f64>,
}

impl AmrConfig {
    /// Checks value ranges.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(AmrError::Config(m));
        for (name, v) in [("T", self.t), ("P", self.p), ("eps", self.eps), ("tau", self.tau)] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} = {v} must be a finite number ≥ 0"));
            }
        }
        if self.id_samples == 0 || self.error_samples == 0 || self.total_error_samples == 0 {
            return bad("sample counts must be at least 1".into());
        }
        if self.id_samples > 1 << 20 || self.error_samples > 1 << 20 || self.total_error_samples > 1 << 26 {
            return bad("sample counts are absurdly large (limits: 2^20 per element, 2^26 total)".into());
        }
        if let Some(f) = self.rel_floor {
            if !(f.is_finite() && f > 0.0) {
                return bad(format!("rel-floor {f} must be > 0"));
            }
        }
        if self.initial_refinements > self.max_it {
            return bad(format!(
                "{} initial refinements exceed max_it = {} (they count toward it)",
                self.initial_refinements, self.max_it
            ));
        }
        Ok(())
    }
}

/// One row of the history: the mesh after an iteration (iteration 0 = the initial mesh).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationRecord {
    /// Iteration number (0 = initial mesh).
    pub iteration: usize,
    /// Elements (leaves).
    pub elements: usize,
    /// All distinct element corners, hanging ones included.
    pub dofs: usize,
    /// Corners that are not hanging.
    pub conforming_dofs: usize,
    /// RMSE between the INR and the field the mesh files hold, the conforming interpolant
    /// (hanging vertices constrained by the coarser element, [`crate::tree::Tree::conforming_values`]:
    /// what MFEM loads from `mesh.gf` and the authors' "true RMSE" measures), at the total-error
    /// points.
    pub total_error: f64,
    /// Largest absolute error of that field at those points.
    pub max_error: f64,
    /// RMSE of the discontinuous interpolant instead: each element's multilinear interpolant of
    /// the INR's own values at its corners (hanging ones included), what neuvis reported as
    /// `total_error` before 2026-12-07. `None` in histories written before.
    #[serde(default)]
    pub discontinuous_error: Option<f64>,
    /// Elements refined in this iteration.
    pub refined: usize,
    /// Elements examined in this iteration.
    pub examined: usize,
    /// Mean kept-neuron proportion over examined elements (pruning only).
    pub mean_proportion: Option<f64>,
    /// Seconds this iteration took (deciding, refining, new vertex values; not the total error).
    pub seconds: f64,
    /// Seconds since the run started, including total-error evaluations.
    pub elapsed: f64,
}

/// A finished (or running) refinement: tree, INR values at the vertices, history.
#[derive(Debug, Clone)]
pub struct AmrRun {
    /// The mesh.
    pub tree: Tree,
    /// INR value at every leaf corner.
    pub values: HashMap<Key, f64>,
    /// Per-iteration history.
    pub history: Vec<IterationRecord>,
    /// Why the run stopped.
    pub stop_reason: String,
    /// The relative-error floor δ that was used.
    pub rel_floor: f64,
    /// The settings.
    pub config: AmrConfig,
}

/// Uniform random points in a box, `n × d` row-major.
fn sample_box(rng: &mut SplitMix64, lo: &[f64; 4], hi: &[f64; 4], d: usize, n: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(n * d);
    for _ in 0..n {
        for a in 0..d {
            v.push(rng.uniform(lo[a], hi[a]));
        }
    }
    v
}

fn element_seed(seed: u64, tree: &Tree, i: usize) -> u64 {
    let n = tree.nodes[i];
    let mut h = seed ^ 0xA076_1D64_78BD_642F;
    for v in [n.level as u32, n.idx[0], n.idx[1], n.idx[2], n.idx[3]] {
        h = SplitMix64(h ^ v as u64).next_u64();
    }
    h
}

/// Relative error `mean |f − g| / max(|f|, δ)`.
fn mean_relative(f: &[f64], g: &[f64], floor: f64) -> f64 {
    f.iter()
        .zip(g)
        .map(|(a, b)| (a - b).abs() / a.abs().max(floor))
        .sum::<f64>()
        / f.len() as f64
}

/// LLNL's relative error `mean|f − g| · mean(1/|f|)` (infinite where some f is 0).
fn reference_relative(f: &[f64], g: &[f64]) -> f64 {
    let n = f.len() as f64;
    let abs = f.iter().zip(g).map(|(a, b)| (a - b).abs()).sum::<f64>() / n;
    let inv = f.iter().map(|a| 1.0 / a.abs()).sum::<f64>() / n;
    abs * inv
}

/// Decision for one element: refine?, kept proportion.
fn decide(net: &Mlp, run: &AmrRun, i: usize, method: Method) -> (bool, Option<f64>) {
    let cfg = &run.config;
    let tree = &run.tree;
    let d = tree.dim;
    let (lo, hi) = tree.bounds(i);
    let mut rng = SplitMix64(element_seed(cfg.seed, tree, i));
    match method {
        Method::Uniform => (true, None),
        Method::Pruning => {
            let xs = sample_box(&mut rng, &lo, &hi, d, cfg.id_samples);
            let x = Mat::from_fn(cfg.id_samples, d, |r, c| xs[r * d + c]);
            let pruned = prune(net, x.as_ref(), cfg.eps);
            let proportion = pruned.proportion(net);
            let xe = sample_box(&mut rng, &lo, &hi, d, cfg.error_samples);
            let f = net.eval_batch(&xe);
            let g = pruned.net.eval_batch(&xe);
            let err = mean_relative(&f, &g, run.rel_floor);
            (err > cfg.t || proportion > cfg.p || !err.is_finite(), Some(proportion))
        }
        Method::Basic => {
            let vals: Vec<f64> = tree.corners(i).iter().map(|k| run.values[k]).collect();
            let xe = sample_box(&mut rng, &lo, &hi, d, cfg.error_samples);
            let f = net.eval_batch(&xe);
            let g: Vec<f64> = xe
                .chunks_exact(d)
                .map(|p| {
                    let xi: Vec<f64> = (0..d).map(|a| (p[a] - lo[a]) / (hi[a] - lo[a])).collect();
                    multilinear(&vals, &xi)
                })
                .collect();
            let e = cfg.basic_error;
            (e.refines(e.error(&f, &g, run.rel_floor), cfg.tau), None)
        }
    }
}

/// The total-error points and the INR's values there.
pub struct Reference {
    /// Points, `n × d` row-major.
    pub points: Vec<f64>,
    /// INR values.
    pub values: Vec<f64>,
}

impl Reference {
    /// Draws `n` seeded uniform points in the domain of `tree` and evaluates the INR there.
    pub fn new(net: &Mlp, tree: &Tree, n: usize, seed: u64) -> Reference {
        let mut rng = SplitMix64(seed ^ 0x5EED_F00D_7E57_0001);
        let points = sample_box(&mut rng, &tree.lo, &tree.hi, tree.dim, n);
        let values = net.eval(&points);
        Reference { points, values }
    }

    /// [`Reference::new`] with the INR evaluations split across `ranks` (the same values).
    pub fn new_on(net: &Mlp, tree: &Tree, n: usize, seed: u64, ranks: &dyn Ranks) -> Result<Reference> {
        let mut rng = SplitMix64(seed ^ 0x5EED_F00D_7E57_0001);
        let points = sample_box(&mut rng, &tree.lo, &tree.hi, tree.dim, n);
        let values = eval_on(net, &points, tree.dim, ranks)?;
        Ok(Reference { points, values })
    }
}

/// The INR at the `d`-dimensional points `pts`, each rank evaluating its block of them and all
/// gathering the values. Blocks are whole chunks of [`Mlp::eval`]'s 1024 points, so every point is
/// evaluated in the same batch as in a single process, and the values are bit for bit the same.
fn eval_on(net: &Mlp, pts: &[f64], d: usize, ranks: &dyn Ranks) -> Result<Vec<f64>> {
    let size = ranks.size();
    if size == 1 {
        return Ok(net.eval(pts));
    }
    const CHUNK: usize = 1024;
    let n = pts.len() / d;
    let chunks = n.div_ceil(CHUNK);
    let block = |r: usize| {
        let c = neuvis_base::Shard { index: r, count: size }.range(chunks);
        (c.start * CHUNK).min(n)..(c.end * CHUNK).min(n)
    };
    let mine = block(ranks.rank());
    let local = net.eval(&pts[mine.start * d..mine.end * d]);
    let counts: Vec<usize> = (0..size).map(|r| block(r).len()).collect();
    let all = ranks.all_gather(&local, &counts)?;
    if all.len() != n {
        return Err(AmrError::Config(format!(
            "the ranks gathered {} values for {n} points",
            all.len()
        )));
    }
    Ok(all)
}

impl AmrRun {
    /// Interpolated value of the mesh at `p` (the containing leaf's multilinear interpolant of
    /// its own corner values, `p` mapped to the leaf's local coordinates).
    pub fn interpolate(&self, p: &[f64]) -> f64 {
        self.interpolate_in(self.tree.locate(p), p)
    }

    /// Interpolant of leaf `leaf` at `p` (clamped into the leaf).
    pub fn interpolate_in(&self, leaf: usize, p: &[f64]) -> f64 {
        let d = self.tree.dim;
        let (lo, hi) = self.tree.bounds(leaf);
        let mut vals = [0.0; 16];
        for (c, k) in self.tree.corners(leaf).iter().enumerate() {
            vals[c] = self.values[k];
        }
        let mut xi = [0.0; 4];
        for a in 0..d {
            xi[a] = ((p[a] - lo[a]) / (hi[a] - lo[a])).clamp(0.0, 1.0);
        }
        multilinear(&vals[..1 << d], &xi[..d])
    }

    /// (RMSE, max abs error) of the conforming interpolant (the field the mesh files hold) against
    /// the reference values.
    pub fn total_error(&self, r: &Reference) -> (f64, f64) {
        self.error_of(r, &self.tree.conforming_values(&self.values))
    }

    /// (RMSE, max abs error) of the discontinuous interpolant: each leaf's multilinear
    /// interpolant of the INR values at its own corners.
    pub fn discontinuous_error(&self, r: &Reference) -> (f64, f64) {
        self.error_of(r, &self.values)
    }

    /// (RMSE, max abs error) against the reference values of the per-leaf multilinear
    /// interpolant of `values` at the leaf corners.
    fn error_of(&self, r: &Reference, values: &HashMap<Key, f64>) -> (f64, f64) {
        let d = self.tree.dim;
        // Corner values and boxes of every leaf, looked up once instead of once per point.
        let leaves = self.tree.leaves();
        let mut slot = vec![u32::MAX; self.tree.nodes.len()];
        let table: Vec<([f64; 16], [f64; 4], [f64; 4])> = leaves
            .iter()
            .enumerate()
            .map(|(s, &l)| {
                slot[l] = s as u32;
                let mut v = [0.0; 16];
                for (c, k) in self.tree.corners(l).iter().enumerate() {
                    v[c] = values[k];
                }
                let (lo, hi) = self.tree.bounds(l);
                (v, lo, hi)
            })
            .collect();
        let (sse, max) = r
            .points
            .par_chunks(d * 4096)
            .zip(r.values.par_chunks(4096))
            .map(|(pts, vals)| {
                let mut sse = 0.0;
                let mut max: f64 = 0.0;
                let mut xi = [0.0; 4];
                for (p, v) in pts.chunks_exact(d).zip(vals) {
                    let (cv, lo, hi) = &table[slot[self.tree.locate(p)] as usize];
                    for a in 0..d {
                        xi[a] = ((p[a] - lo[a]) / (hi[a] - lo[a])).clamp(0.0, 1.0);
                    }
                    let e = (multilinear(&cv[..1 << d], &xi[..d]) - v).abs();
                    sse += e * e;
                    max = max.max(e);
                }
                (sse, max)
            })
            .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1.max(b.1)));
        ((sse / r.values.len() as f64).sqrt(), max)
    }

    /// Evaluates the INR at every leaf corner that has no value yet.
    fn fill_values(&mut self, net: &Mlp, ranks: &dyn Ranks) -> Result<()> {
        let missing: Vec<Key> = {
            let mut m: Vec<Key> = self
                .tree
                .leaves()
                .iter()
                .flat_map(|&l| self.tree.corners(l))
                .filter(|k| !self.values.contains_key(k))
                .collect();
            m.sort_unstable();
            m.dedup();
            m
        };
        let d = self.tree.dim;
        let pts: Vec<f64> = missing
            .iter()
            .flat_map(|k| self.tree.position(k)[..d].to_vec())
            .collect();
        let vals = eval_on(net, &pts, d, ranks)?;
        self.values.extend(missing.into_iter().zip(vals));
        Ok(())
    }

    /// Completes a history row with the mesh's counts and errors (`step` holds the iteration's
    /// own numbers).
    fn record(&self, step: IterationRecord, t0: Instant, r: &Reference) -> IterationRecord {
        let (dofs, conforming_dofs) = self.tree.dofs();
        let (total_error, max_error) = self.total_error(r);
        let (discontinuous, _) = self.discontinuous_error(r);
        IterationRecord {
            elements: self.tree.leaf_count(),
            dofs,
            conforming_dofs,
            total_error,
            max_error,
            discontinuous_error: Some(discontinuous),
            elapsed: t0.elapsed().as_secs_f64(),
            ..step
        }
    }
}

/// The iteration's own numbers; [`AmrRun::record`] adds the mesh's.
fn step(
    iteration: usize,
    refined: usize,
    examined: usize,
    mean_proportion: Option<f64>,
    seconds: f64,
) -> IterationRecord {
    IterationRecord {
        iteration,
        elements: 0,
        dofs: 0,
        conforming_dofs: 0,
        total_error: f64::NAN,
        max_error: f64::NAN,
        discontinuous_error: None,
        refined,
        examined,
        mean_proportion,
        seconds,
        elapsed: 0.0,
    }
}

/// Runs AMR on `net` over `domain`; `progress` sees each history row as it is made.
pub fn run(
    net: &Mlp,
    domain: &[[f64; 2]],
    config: &AmrConfig,
    progress: impl FnMut(&IterationRecord),
) -> Result<AmrRun> {
    run_with_progress(net, domain, config, progress, &|_, _, _| {})
}

/// The processes that share an AMR run (MPI ranks, or this process alone): [`neuvis_base::ranks`].
///
/// Every rank holds the same tree; each iteration's element tests, and the INR evaluations (the
/// total-error sample once, the new vertices every iteration), are split into contiguous blocks,
/// one per rank (`neuvis_base::Shard`), and [`Ranks::all_gather`] gives every rank everybody's
/// results, so every rank refines the same elements. The total error (interpolating the mesh at
/// the sample) is computed by every rank. Each element draws its samples
/// from its own seeded stream (its position in the tree), so the result does not depend on how
/// many ranks share the work. The MPI implementation is behind this crate's `mpi` feature
/// ([`crate::ranks::from_launcher`]).
pub use neuvis_base::ranks::{Ranks, SingleProcess};

/// [`run`], also calling `elements(iteration, examined, active)` from the worker threads while an
/// iteration examines its elements (every 64 elements and at the end), for progress bars.
pub fn run_with_progress(
    net: &Mlp,
    domain: &[[f64; 2]],
    config: &AmrConfig,
    progress: impl FnMut(&IterationRecord),
    elements: &(dyn Fn(usize, usize, usize) + Sync),
) -> Result<AmrRun> {
    run_on(net, domain, config, &SingleProcess, progress, elements)
}

/// [`run_with_progress`] shared by `ranks`: each rank tests its block of every iteration's
/// elements (`elements` then counts this rank's block), the decisions are gathered, and every rank
/// ends with the same tree and history as a single process (timings aside).
pub fn run_on(
    net: &Mlp,
    domain: &[[f64; 2]],
    config: &AmrConfig,
    ranks: &dyn Ranks,
    mut progress: impl FnMut(&IterationRecord),
    elements: &(dyn Fn(usize, usize, usize) + Sync),
) -> Result<AmrRun> {
    config.validate()?;
    if domain.is_empty() || domain.len() > crate::inr::MAX_DIM {
        return Err(AmrError::Config(format!(
            "a {}-D domain: AMR supports 1 to {} dimensions",
            domain.len(),
            crate::inr::MAX_DIM
        )));
    }
    if domain
        .iter()
        .any(|[lo, hi]| !(lo.is_finite() && hi.is_finite() && lo < hi))
    {
        return Err(AmrError::Config(format!(
            "domain {domain:?} needs finite lo < hi on every axis"
        )));
    }
    if domain.len() != net.input_dim() {
        return Err(AmrError::Config(format!(
            "domain has {} axes but the INR takes {} inputs",
            domain.len(),
            net.input_dim()
        )));
    }
    let t0 = Instant::now();
    let tree = Tree::new(domain);
    let reference = Reference::new_on(net, &tree, config.total_error_samples, config.seed, ranks)?;
    if let Some(i) = reference.values.iter().position(|v| !v.is_finite()) {
        return Err(AmrError::Config(format!(
            "the INR gives a non-finite value ({}) at a sample point; check its weights",
            reference.values[i]
        )));
    }
    let rel_floor = config.rel_floor.unwrap_or_else(|| {
        let m = reference.values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if m > 0.0 {
            0.01 * m
        } else {
            1e-12
        }
    });
    let mut run = AmrRun {
        tree,
        values: HashMap::new(),
        history: Vec::new(),
        stop_reason: String::new(),
        rel_floor,
        config: config.clone(),
    };
    let s0 = Instant::now();
    run.fill_values(net, ranks)?;
    let rec = run.record(step(0, 0, 0, None, s0.elapsed().as_secs_f64()), t0, &reference);
    progress(&rec);
    run.history.push(rec);
    run.stop_reason = format!("reached max_it = {}", config.max_it);
    for it in 1..=config.max_it {
        let last = run.history.last().map(|r| r.dofs).unwrap_or(0);
        if last > config.max_dofs {
            run.stop_reason = format!("{last} DOFs exceed max_dofs = {}", config.max_dofs);
            break;
        }
        let s = Instant::now();
        let active: Vec<usize> = run
            .tree
            .leaves()
            .into_iter()
            .filter(|&l| !run.tree.nodes[l].done)
            .collect();
        if active.is_empty() {
            run.stop_reason = "every element met the criteria".into();
            break;
        }
        let method = if it <= config.initial_refinements {
            Method::Uniform
        } else {
            config.method
        };
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let size = ranks.size();
        let block = |r: usize| neuvis_base::Shard { index: r, count: size }.range(active.len());
        let mine = &active[block(ranks.rank())];
        let local: Vec<(bool, Option<f64>)> = mine
            .par_iter()
            .map(|&i| {
                let d = decide(net, &run, i, method);
                let n = seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if n & 63 == 0 || n == mine.len() {
                    elements(it, n, mine.len());
                }
                d
            })
            .collect();
        let decisions: Vec<(bool, Option<f64>)> = if size == 1 {
            local
        } else {
            // two numbers per element: refine (0/1) and the kept proportion (NaN when none)
            let flat: Vec<f64> = local
                .iter()
                .flat_map(|&(r, p)| [f64::from(u8::from(r)), p.unwrap_or(f64::NAN)])
                .collect();
            let counts: Vec<usize> = (0..size).map(|r| 2 * block(r).len()).collect();
            let all = ranks.all_gather(&flat, &counts)?;
            if all.len() != 2 * active.len() {
                return Err(AmrError::Config(format!(
                    "the ranks gathered {} decisions for {} elements",
                    all.len() / 2,
                    active.len()
                )));
            }
            all.chunks_exact(2)
                .map(|c| (c[0] != 0.0, (!c[1].is_nan()).then_some(c[1])))
                .collect()
        };
        let to_refine: Vec<usize> = active
            .iter()
            .zip(&decisions)
            .filter(|(_, d)| d.0)
            .map(|(&i, _)| i)
            .collect();
        let grown = run.tree.leaf_count() + to_refine.len() * (run.tree.arity() - 1);
        if grown > config.max_elements {
            run.stop_reason = format!(
                "iteration {it} would make {grown} elements, over max_elements = {}",
                config.max_elements
            );
            break;
        }
        for (&i, d) in active.iter().zip(&decisions) {
            if !d.0 {
                run.tree.nodes[i].done = true;
            }
        }
        let mut refined = 0;
        for &i in &to_refine {
            if run.tree.refine(i) {
                refined += 1;
            }
        }
        run.fill_values(net, ranks)?;
        let props: Vec<f64> = decisions.iter().filter_map(|d| d.1).collect();
        let mean_prop = (!props.is_empty()).then(|| props.iter().sum::<f64>() / props.len() as f64);
        let secs = s.elapsed().as_secs_f64();
        let rec = run.record(step(it, refined, active.len(), mean_prop, secs), t0, &reference);
        progress(&rec);
        run.history.push(rec);
        if refined == 0 {
            run.stop_reason = "no element needed refinement".into();
            break;
        }
    }
    Ok(run)
}
