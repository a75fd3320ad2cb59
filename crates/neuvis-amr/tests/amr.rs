//! Tests of pruning, trees, interpolation, runs, outputs and INR loading against independent
//! references (exact algebra, hand counts, PyTorch's own outputs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use faer::Mat;
use neuvis_amr::amr::Reference;
use neuvis_amr::inr::{Dense, Mlp};
use neuvis_amr::output::{mesh_vtk, time_slice_vtk, write_vtu};
use neuvis_amr::prune::prune;
use neuvis_amr::tree::{multilinear, Tree};
use neuvis_amr::{run, Activation, AmrConfig, AmrError, AmrRun, Inr, Method};
use neuvis_base::SplitMix64;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn rand_mat(rng: &mut SplitMix64, r: usize, c: usize, s: f64) -> Mat<f64> {
    Mat::from_fn(r, c, |_, _| rng.uniform(-s, s))
}

fn rand_vec(rng: &mut SplitMix64, n: usize, s: f64) -> Vec<f64> {
    (0..n).map(|_| rng.uniform(-s, s)).collect()
}

fn points(rng: &mut SplitMix64, n: usize, d: usize) -> Vec<f64> {
    (0..n * d).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// A 2→6→5→1 ReLU net whose first layer is 3 independent neurons plus a duplicate of neuron 0,
/// 2.5× neuron 1 (ReLU is positively homogeneous, so its activation is exactly 2.5× as large),
/// and a duplicate of neuron 2; its second layer has neuron 4 duplicating neuron 1.
fn dependent_relu_net() -> Mlp {
    let mut rng = SplitMix64(7);
    let base = rand_mat(&mut rng, 3, 2, 1.0);
    let bb = rand_vec(&mut rng, 3, 0.5);
    let src = [0usize, 1, 2, 0, 1, 2];
    let scale = [1.0, 1.0, 1.0, 1.0, 2.5, 1.0];
    let w1 = Mat::from_fn(6, 2, |i, j| scale[i] * base[(src[i], j)]);
    let b1: Vec<f64> = (0..6).map(|i| scale[i] * bb[src[i]]).collect();
    let mut w2 = rand_mat(&mut rng, 5, 6, 1.0);
    let mut b2 = rand_vec(&mut rng, 5, 0.5);
    for j in 0..6 {
        w2[(4, j)] = w2[(1, j)];
    }
    b2[4] = b2[1];
    Mlp {
        fourier: None,
        hidden: vec![Dense { w: w1, b: b1 }, Dense { w: w2, b: b2 }],
        output: Dense {
            w: rand_mat(&mut rng, 1, 5, 1.0),
            b: vec![0.3],
        },
        activation: Activation::Relu,
        omega0: 30.0,
    }
}

#[test]
fn pruning_removes_exactly_the_dependent_neurons() {
    let net = dependent_relu_net();
    let mut rng = SplitMix64(1);
    let xs = points(&mut rng, 256, 2);
    let x = Mat::from_fn(256, 2, |i, j| xs[i * 2 + j]);
    let p = prune(&net, x.as_ref(), 1e-9);
    assert_eq!(p.kept, vec![3, 4], "one neuron per dependent group survives");
    // The kept first-layer neurons are one representative (up to the 2.5 scale) of each group.
    let groups: Vec<usize> = (0..3)
        .map(|i| {
            let row = [p.net.hidden[0].w[(i, 0)], p.net.hidden[0].w[(i, 1)]];
            (0..6)
                .find(|&k| {
                    (net.hidden[0].w[(k, 0)] - row[0]).abs() < 1e-15 && (net.hidden[0].w[(k, 1)] - row[1]).abs() < 1e-15
                })
                .map(|k| k % 3)
                .expect("kept rows are rows of the original")
        })
        .collect();
    let mut g = groups.clone();
    g.sort();
    assert_eq!(g, vec![0, 1, 2]);
    // Output unchanged to rounding everywhere, not only on the samples.
    let test = points(&mut rng, 4000, 2);
    let d = max_diff(&net.eval(&test), &p.net.eval(&test));
    assert!(d < 1e-12, "pruned output differs by {d}");
    assert!((p.proportion(&net) - 7.0 / 11.0).abs() < 1e-15);
}

#[test]
fn pruning_odd_activation_folds_negated_neurons() {
    // tanh(−z) = −tanh(z): a negated copy is linearly dependent, and T carries the sign.
    let mut rng = SplitMix64(3);
    let base = rand_mat(&mut rng, 4, 3, 1.0);
    let w1 = Mat::from_fn(6, 3, |i, j| if i < 4 { base[(i, j)] } else { -base[(i - 4, j)] });
    let bb = rand_vec(&mut rng, 4, 0.3);
    let b1: Vec<f64> = (0..6).map(|i| if i < 4 { bb[i] } else { -bb[i - 4] }).collect();
    let net = Mlp {
        fourier: None,
        hidden: vec![Dense { w: w1, b: b1 }],
        output: Dense {
            w: rand_mat(&mut rng, 1, 6, 1.0),
            b: vec![-0.2],
        },
        activation: Activation::Tanh,
        omega0: 30.0,
    };
    let xs = points(&mut rng, 200, 3);
    let p = prune(&net, Mat::from_fn(200, 3, |i, j| xs[i * 3 + j]).as_ref(), 1e-10);
    assert_eq!(p.kept, vec![4]);
    let test = points(&mut rng, 2000, 3);
    assert!(max_diff(&net.eval(&test), &p.net.eval(&test)) < 1e-12);
}

#[test]
fn eps_zero_keeps_every_neuron_of_a_generic_net() {
    let inr = Inr::load(&fixture("sin_inv_r.json"), None).unwrap();
    let mut rng = SplitMix64(5);
    let xs: Vec<f64> = (0..256 * 2).map(|_| rng.uniform(0.0, 1.0)).collect();
    let x = Mat::from_fn(256, 2, |i, j| xs[i * 2 + j]);
    // ε = 0: k = #{i : |R_ii| ≥ 0} is every neuron, even ReLUs dead on the element.
    let p = prune(&inr.net, x.as_ref(), 0.0);
    assert_eq!(p.kept, inr.spec.hidden);
    let test: Vec<f64> = (0..2000).map(|_| rng.uniform(0.0, 1.0)).collect();
    assert!(max_diff(&inr.net.eval(&test), &p.net.eval(&test)) < 1e-12);
    // ε → 0⁺ drops dead neurons (zero columns) and the numerically dependent ones (on a small
    // 2-D region many ReLUs are affine in (x, y), so they span little more than {1, x, y}),
    // and the output agrees on the samples (the ID is exact only where it was computed: a ReLU
    // dead on every sample may switch on between them).
    let tiny = prune(&inr.net, x.as_ref(), 1e-13);
    let h = inr.net.encode(x.as_ref());
    let z1 = inr.net.layer(0, h.as_ref());
    let alive = (0..z1.ncols())
        .filter(|&j| (0..z1.nrows()).any(|i| z1[(i, j)] != 0.0))
        .count();
    assert!(
        tiny.kept[0] <= alive && tiny.kept[0] >= 3,
        "{:?}, {alive} alive",
        tiny.kept
    );
    assert!(max_diff(&inr.net.eval(&xs), &tiny.net.eval(&xs)) < 1e-9);
    // A larger ε prunes more and changes the output a little.
    let coarse = prune(&inr.net, x.as_ref(), 0.1);
    assert!(coarse.kept.iter().sum::<usize>() < p.kept.iter().sum::<usize>());
}

#[test]
fn dof_counts_match_hand_counts() {
    // Uniform refinement: (2^n + 1)^d vertices, none hanging.
    for d in 1..=4 {
        let mut t = Tree::new(&vec![[0.0, 1.0]; d]);
        t.refine_uniformly(2);
        let n = 5usize.pow(d as u32);
        assert_eq!(t.dofs(), (n, n), "d = {d}");
        assert_eq!(t.leaf_count(), 4usize.pow(d as u32));
    }
    // 3-D: one octant of 2×2×2 refined adds 19 vertices; the 12 of them on the octant's three
    // inner faces hang on coarse neighbours.
    let mut t = Tree::new(&[[0.0, 1.0]; 3]);
    t.refine_uniformly(1);
    t.refine(t.leaves()[0]);
    assert_eq!(t.leaf_count(), 15);
    assert_eq!(t.dofs(), (46, 34));
    // Two levels deep in 2-D: refine the corner quadrant's corner child again. Its 5 new
    // vertices: 2 on the domain boundary, 1 centre, 2 hanging on the level-2 neighbours.
    let mut t = Tree::new(&[[0.0, 1.0]; 2]);
    t.refine_uniformly(1);
    let first = t.leaves()[0];
    t.refine(first);
    let grand = t.leaves()[0];
    t.refine(grand);
    assert_eq!(t.dofs(), (19, 15));
    // A vertex in the middle of a coarse face is hanging; a shared corner is not.
    let top = 1u32 << neuvis_amr::tree::MAX_LEVEL;
    assert!(t.is_hanging(&[top / 2, top / 4, 0, 0]));
    assert!(!t.is_hanging(&[top / 2, top / 2, 0, 0]));
}

#[test]
fn locate_finds_the_containing_leaf() {
    let mut t = Tree::new(&[[-1.0, 1.0], [0.0, 4.0], [2.0, 3.0]]);
    t.refine_uniformly(1);
    for l in t.leaves().into_iter().step_by(3) {
        t.refine(l);
    }
    let mut rng = SplitMix64(11);
    for _ in 0..2000 {
        let p = [rng.uniform(-1.0, 1.0), rng.uniform(0.0, 4.0), rng.uniform(2.0, 3.0)];
        let l = t.locate(&p);
        assert!(t.is_leaf(l));
        let (lo, hi) = t.bounds(l);
        assert!(
            (0..3).all(|a| lo[a] <= p[a] && p[a] <= hi[a]),
            "{p:?} not in {lo:?}..{hi:?}"
        );
    }
}

/// A run object with INR values replaced by an analytic multilinear function.
fn analytic_run(tree: Tree, f: impl Fn(&[f64; 4]) -> f64) -> AmrRun {
    let mut values = HashMap::new();
    for k in tree.vertices() {
        values.insert(k, f(&tree.position(&k)));
    }
    AmrRun {
        tree,
        values,
        history: vec![],
        stop_reason: String::new(),
        rel_floor: 1e-3,
        config: AmrConfig::defaults(Method::Uniform, 2),
    }
}

#[test]
fn interpolant_reproduces_multilinear_functions_on_adaptive_meshes() {
    // Any function of the form Σ c_S Π_{a∈S} x_a is reproduced exactly by every leaf's own
    // multilinear interpolant, whatever the leaf's size and position, iff points are mapped to
    // each leaf's local coordinates correctly.
    for d in 2..=4usize {
        let mut t = Tree::new(&vec![[-0.5, 2.0]; d]);
        t.refine_uniformly(1);
        let l = t.leaves();
        t.refine(l[1]);
        t.refine(t.leaves()[0]);
        let f = |p: &[f64; 4]| {
            let mut s = 0.3;
            for m in 1..(1usize << d) {
                let mut term = 0.1 * m as f64;
                for (a, v) in p.iter().enumerate().take(d) {
                    if (m >> a) & 1 == 1 {
                        term *= v;
                    }
                }
                s += term;
            }
            s
        };
        let run = analytic_run(t, f);
        let mut rng = SplitMix64(d as u64);
        for _ in 0..500 {
            let mut p = [0.0; 4];
            for v in p.iter_mut().take(d) {
                *v = rng.uniform(-0.5, 2.0);
            }
            let got = run.interpolate(&p[..d]);
            assert!((got - f(&p)).abs() < 1e-12, "d = {d}: {got} vs {}", f(&p));
        }
    }
    // And a non-multilinear function is not: x² on one leaf of [0,1] has error 1/4 · x(1−x).
    assert!((multilinear(&[0.0, 1.0], &[0.5]) - 0.5).abs() < 1e-15);
}

/// A 2-D ReLU net that is exactly linear on [0,1]² (all pre-activations positive).
fn linear_net() -> Mlp {
    Mlp {
        fourier: None,
        hidden: vec![Dense {
            w: Mat::from_fn(3, 2, |i, j| 0.5 + 0.1 * (i + j) as f64),
            b: vec![1.0, 2.0, 3.0],
        }],
        output: Dense {
            w: Mat::from_fn(1, 3, |_, j| 0.2 * (j + 1) as f64),
            b: vec![0.1],
        },
        activation: Activation::Relu,
        omega0: 30.0,
    }
}

#[test]
fn total_error_is_zero_for_a_linear_inr_and_uniform_counts_are_exact() {
    let mut cfg = AmrConfig::defaults(Method::Uniform, 2);
    cfg.max_it = 3;
    cfg.total_error_samples = 20_000;
    let seen = std::sync::Mutex::new(Vec::new());
    let r = neuvis_amr::run_with_progress(
        &linear_net(),
        &[[0.0, 1.0], [0.0, 1.0]],
        &cfg,
        |_| {},
        &|it, n, total| seen.lock().unwrap().push((it, n, total)),
    )
    .unwrap();
    // The element callback ends every iteration with all its elements examined.
    let seen = seen.into_inner().unwrap();
    for (it, total) in [(1, 1), (2, 4), (3, 16)] {
        assert!(seen.contains(&(it, total, total)), "{seen:?}");
    }
    assert_eq!(r.history.len(), 4);
    for (i, h) in r.history.iter().enumerate() {
        assert_eq!(h.elements, 4usize.pow(i as u32));
        assert_eq!(h.dofs, (2usize.pow(i as u32) + 1).pow(2));
        assert_eq!(h.dofs, h.conforming_dofs);
        assert!(h.total_error < 1e-13, "iteration {i}: {}", h.total_error);
    }
}

#[test]
fn total_error_matches_an_independent_bilinear_computation() {
    // Uniform 8×8 mesh of the 2-D fixture: recompute the RMSE with a plain grid interpolation.
    let inr = Inr::load(&fixture("sin_inv_r.json"), None).unwrap();
    let mut cfg = AmrConfig::defaults(Method::Uniform, 2);
    cfg.max_it = 3;
    cfg.total_error_samples = 10_000;
    cfg.seed = 4;
    let r = run(&inr.net, &[[0.0, 1.0], [0.0, 1.0]], &cfg, |_| {}).unwrap();
    let reference = Reference::new(&inr.net, &r.tree, 10_000, 4);
    let n = 8;
    let grid: Vec<f64> = (0..=n)
        .flat_map(|j| (0..=n).map(move |i| [i as f64 / n as f64, j as f64 / n as f64]))
        .flatten()
        .collect();
    let gv = inr.net.eval(&grid);
    let mut sse = 0.0;
    for (p, v) in reference.points.chunks_exact(2).zip(&reference.values) {
        let (i, j) = (
            ((p[0] * n as f64) as usize).min(n - 1),
            ((p[1] * n as f64) as usize).min(n - 1),
        );
        let (u, w) = (p[0] * n as f64 - i as f64, p[1] * n as f64 - j as f64);
        let at = |a: usize, b: usize| gv[b * (n + 1) + a];
        let bil = at(i, j) * (1.0 - u) * (1.0 - w)
            + at(i + 1, j) * u * (1.0 - w)
            + at(i, j + 1) * (1.0 - u) * w
            + at(i + 1, j + 1) * u * w;
        sse += (bil - v).powi(2);
    }
    let rmse = (sse / 10_000.0).sqrt();
    assert!(
        (r.history[3].total_error - rmse).abs() < 1e-12 * rmse.max(1.0),
        "{} vs {rmse}",
        r.history[3].total_error
    );
}

#[test]
fn methods_follow_their_thresholds_and_runs_are_reproducible() {
    let inr = Inr::load(&fixture("sin_inv_r.json"), None).unwrap();
    let dom = [[0.0, 1.0], [0.0, 1.0]];
    let mut cfg = AmrConfig::defaults(Method::Pruning, 2);
    cfg.max_it = 5;
    cfg.total_error_samples = 4096;
    cfg.initial_refinements = 2;
    // P ≥ 1 and T huge: after the two uniform iterations nothing needs refinement, and every
    // element is done after one pass.
    cfg.p = 1.0;
    cfg.t = 1e9;
    let r = run(&inr.net, &dom, &cfg, |_| {}).unwrap();
    let elements: Vec<usize> = r.history.iter().map(|h| h.elements).collect();
    assert_eq!(elements, vec![1, 4, 16, 16]);
    assert_eq!(r.history[3].refined, 0);
    assert!(r.stop_reason.contains("no element"), "{}", r.stop_reason);
    // P = 0: every element keeps some neurons, so all are refined (like uniform).
    cfg.p = 0.0;
    let r = run(&inr.net, &dom, &cfg, |_| {}).unwrap();
    assert_eq!(r.history[3].elements, 64);
    // The paper's setting refines adaptively, and the same seed gives the same history.
    cfg.p = 0.09;
    cfg.t = 0.1;
    cfg.max_it = 7;
    let a = run(&inr.net, &dom, &cfg, |_| {}).unwrap();
    let b = run(&inr.net, &dom, &cfg, |_| {}).unwrap();
    let strip = |r: &AmrRun| {
        r.history
            .iter()
            .map(|h| (h.elements, h.dofs, h.total_error))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b));
    let last = a.history.last().unwrap();
    // (Levels 1–5 refine everywhere, as in the paper's first iterations; level 6 does not.)
    assert!(
        last.elements < 4usize.pow(7) && last.elements > 4usize.pow(5),
        "{last:?}"
    );
    // Basic with a huge τ refines nothing.
    let mut basic = AmrConfig::defaults(Method::Basic, 2);
    basic.tau = 1e9;
    basic.total_error_samples = 4096;
    let r = run(&inr.net, &dom, &basic, |_| {}).unwrap();
    assert_eq!(r.history.last().unwrap().elements, 1);
    // max_dofs stops the run once exceeded.
    let mut uni = AmrConfig::defaults(Method::Uniform, 2);
    uni.max_dofs = 100;
    uni.total_error_samples = 1000;
    let r = run(&inr.net, &dom, &uni, |_| {}).unwrap();
    assert_eq!(r.history.last().unwrap().dofs, 289);
    assert!(r.stop_reason.contains("max_dofs"), "{}", r.stop_reason);
}

#[test]
fn vtu_reads_back_with_the_mesh_and_values() {
    let inr = Inr::load(&fixture("sin_inv_r.json"), None).unwrap();
    let mut cfg = AmrConfig::defaults(Method::Pruning, 2);
    cfg.max_it = 5;
    cfg.p = 0.09;
    cfg.total_error_samples = 2000;
    let r = run(&inr.net, &[[0.0, 1.0], [0.0, 1.0]], &cfg, |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mesh.vtu");
    write_vtu(mesh_vtk(&r), &path).unwrap();
    let back = vtkio::Vtk::import(&path).unwrap();
    let vtkio::model::DataSet::UnstructuredGrid { pieces, .. } = back.data else {
        panic!("not an unstructured grid")
    };
    let piece = pieces[0].load_piece_data(None).unwrap();
    let (all, _) = r.tree.dofs();
    assert_eq!(piece.num_points(), all);
    assert_eq!(piece.cells.types.len(), r.tree.leaf_count());
    assert!(piece.cells.types.iter().all(|t| *t == vtkio::model::CellType::Quad));
    let pts: Vec<f64> = piece.points.cast_into::<f64>().unwrap();
    let vtkio::model::Attribute::DataArray(arr) = &piece.data.point[0] else {
        panic!()
    };
    let vals: Vec<f64> = arr.data.clone().cast_into::<f64>().unwrap();
    let xy: Vec<f64> = pts.chunks_exact(3).flat_map(|p| [p[0], p[1]]).collect();
    assert!(max_diff(&inr.net.eval(&xy), &vals) < 1e-12);
    // Quads are counter-clockwise: positive signed area for every cell.
    let (conn, offs) = match &piece.cells.cell_verts {
        vtkio::model::VertexNumbers::XML { connectivity, offsets } => (connectivity.clone(), offsets.clone()),
        _ => panic!(),
    };
    let mut start = 0usize;
    for &end in &offs {
        let c: Vec<usize> = conn[start..end as usize].iter().map(|&i| i as usize).collect();
        let area: f64 = (0..4)
            .map(|k| {
                let (a, b) = (c[k], c[(k + 1) % 4]);
                pts[3 * a] * pts[3 * b + 1] - pts[3 * b] * pts[3 * a + 1]
            })
            .sum::<f64>()
            / 2.0;
        assert!(area > 0.0);
        start = end as usize;
    }
}

/// The points (row-major) and PyTorch's float64 outputs of a `*_reference.json` fixture.
fn torch_reference(name: &str) -> (Vec<f64>, Vec<f64>) {
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap();
    let num = |v: &serde_json::Value| v.as_f64().unwrap();
    let pts = r["points"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p.as_array().unwrap().iter().map(num))
        .collect();
    let want = r["values"].as_array().unwrap().iter().map(num).collect();
    (pts, want)
}

#[test]
fn pytorch_checkpoint_matches_pytorch_outputs() {
    let inr = Inr::load(&fixture("tiny_fourier_silu.json"), None).unwrap();
    let (pts, want) = torch_reference("tiny_fourier_silu_reference.json");
    let got = inr.net.eval(&pts);
    assert!(max_diff(&got, &want) < 1e-12, "{got:?} vs {want:?}");
    // 4-D time slices need a 4-D INR.
    let mut cfg = AmrConfig::defaults(Method::Uniform, 3);
    cfg.max_it = 1;
    cfg.total_error_samples = 100;
    let r = run(&inr.net, &inr.spec.domain, &cfg, |_| {}).unwrap();
    assert!(time_slice_vtk(&r, &inr.net, 0.0).is_err());
    // Its 3-D mesh is hexahedra with positive volume (VTK's corner order), read back from disk.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hex.vtu");
    write_vtu(mesh_vtk(&r), &path).unwrap();
    let back = vtkio::Vtk::import(&path).unwrap();
    let vtkio::model::DataSet::UnstructuredGrid { pieces, .. } = back.data else {
        panic!("not an unstructured grid")
    };
    let piece = pieces[0].load_piece_data(None).unwrap();
    assert_eq!(piece.num_points(), 27);
    assert_eq!(piece.cells.types, vec![vtkio::model::CellType::Hexahedron; 8]);
    let pts: Vec<f64> = piece.points.cast_into::<f64>().unwrap();
    let vtkio::model::VertexNumbers::XML { connectivity, .. } = &piece.cells.cell_verts else {
        panic!()
    };
    for c in connectivity.chunks_exact(8) {
        let p = |k: usize| {
            [
                pts[3 * c[k] as usize],
                pts[3 * c[k] as usize + 1],
                pts[3 * c[k] as usize + 2],
            ]
        };
        // (p1 − p0) × (p3 − p0) · (p4 − p0) > 0 for VTK's right-handed hexahedron.
        let (a, b, e) = (p(1), p(3), p(4));
        let o = p(0);
        let u = [a[0] - o[0], a[1] - o[1], a[2] - o[2]];
        let v = [b[0] - o[0], b[1] - o[1], b[2] - o[2]];
        let w = [e[0] - o[0], e[1] - o[1], e[2] - o[2]];
        let det = u[0] * (v[1] * w[2] - v[2] * w[1]) - u[1] * (v[0] * w[2] - v[2] * w[0])
            + u[2] * (v[0] * w[1] - v[1] * w[0]);
        assert!(det > 0.0);
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(fixture("sin_inv_r.safetensors"), d.join("w.safetensors")).unwrap();
    let spec =
        |body: &str| format!("{{\"input_dim\": 2, \"domain\": [[0,1],[0,1]], {body}, \"weights\": \"w.safetensors\"}}");
    let msg = |p: &Path| Inr::load(p, None).unwrap_err().to_string();

    let m = msg(&write(
        d,
        "shape.json",
        &spec("\"hidden\": [32, 16, 32, 32], \"activation\": \"relu\""),
    ));
    assert!(
        m.contains("layers.1.weight has shape [32, 32] but the spec needs [16, 32]"),
        "{m}"
    );
    assert!(
        m.contains("layers.2.weight has shape [32, 32] but the spec needs [32, 16]"),
        "{m}"
    );
    let m = msg(&write(
        d,
        "missing.json",
        &spec("\"hidden\": [32, 32, 32, 32, 32], \"activation\": \"relu\""),
    ));
    assert!(m.contains("missing tensor layers.5.weight"), "{m}");
    let m = msg(&write(
        d,
        "act.json",
        &spec("\"hidden\": [32, 32, 32, 32], \"activation\": \"elu\""),
    ));
    assert!(m.contains("act.json") && m.contains("unknown variant `elu`"), "{m}");
    let m = msg(&write(d, "dim5.json", "{\"input_dim\": 5, \"domain\": [[0,1],[0,1],[0,1],[0,1],[0,1]], \"hidden\": [4], \"activation\": \"relu\", \"weights\": \"w.safetensors\"}"));
    assert!(m.contains("input_dim is 5") && m.contains("1 to 4"), "{m}");
    let m = msg(&write(d, "dom.json", "{\"input_dim\": 2, \"domain\": [[0,1],[1,1]], \"hidden\": [4], \"activation\": \"relu\", \"weights\": \"w.safetensors\"}"));
    assert!(m.contains("domain of input 1"), "{m}");
    let m = msg(&d.join("nope.json"));
    assert!(m.contains("nope.json"), "{m}");
    // NaN weights.
    let mut bytes = std::fs::read(fixture("sin_inv_r.safetensors")).unwrap();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(d.join("w.safetensors"), &bytes).unwrap();
    let m = msg(&write(
        d,
        "nan.json",
        &spec("\"hidden\": [32, 32, 32, 32], \"activation\": \"relu\""),
    ));
    assert!(m.contains("non-finite"), "{m}");
    // Truncated and junk weights files.
    std::fs::write(d.join("w.safetensors"), &bytes[..n / 2]).unwrap();
    let m = msg(&d.join("nan.json"));
    assert!(m.contains("w.safetensors") && m.contains("corrupt safetensors"), "{m}");
    std::fs::write(d.join("w.safetensors"), b"GIF89a not weights at all").unwrap();
    let m = msg(&d.join("nan.json"));
    assert!(m.contains("neither a safetensors file nor a PyTorch checkpoint"), "{m}");
    // A truncated PyTorch checkpoint.
    let pt = std::fs::read(fixture("tiny_fourier_silu.pt")).unwrap();
    std::fs::write(d.join("w.safetensors"), &pt[..pt.len() / 2]).unwrap();
    let err = Inr::load(&d.join("nan.json"), None).unwrap_err();
    assert!(matches!(err, AmrError::Weights { .. }), "{err}");
    // Settings out of range.
    let mut cfg = AmrConfig::defaults(Method::Pruning, 2);
    cfg.t = f64::NAN;
    assert!(run(&linear_net(), &[[0.0, 1.0], [0.0, 1.0]], &cfg, |_| {}).is_err());
}

/// A checkpoint that keeps its layers in `nn.ParameterList`s (`weights_list.{i}`, `bias_list.{i}`,
/// `in × out` weights, as LLNL's PruningAMR ships) maps through the spec's patterns and matches
/// PyTorch's outputs; without the patterns the error names the tensors the file does hold.
#[test]
fn parameter_list_checkpoint_maps_by_pattern() {
    let inr = Inr::load(&fixture("paramlist_sine.json"), None).unwrap();
    let (pts, want) = torch_reference("paramlist_sine_reference.json");
    let got = inr.net.eval(&pts);
    assert!(max_diff(&got, &want) < 1e-12, "{got:?} vs {want:?}");
    // the same spec without patterns: every missing tensor is listed
    let dir = tempfile::tempdir().unwrap();
    let mut spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("paramlist_sine.json")).unwrap()).unwrap();
    spec["weights"] = serde_json::json!(fixture("paramlist_sine.pt"));
    let o = spec.as_object_mut().unwrap();
    o.remove("weight_pattern");
    o.remove("bias_pattern");
    let p = dir.path().join("s.json");
    std::fs::write(&p, serde_json::to_string(&spec).unwrap()).unwrap();
    let e = Inr::load(&p, None).unwrap_err().to_string();
    assert!(e.contains("layers.0.weight") && e.contains("weights_list.0"), "{e}");
    // a pattern without {i} is refused by name
    spec["weight_pattern"] = serde_json::json!("weights_list");
    std::fs::write(&p, serde_json::to_string(&spec).unwrap()).unwrap();
    let e = Inr::load(&p, None).unwrap_err().to_string();
    assert!(e.contains("weight_pattern") && e.contains("{i}"), "{e}");
}

/// The two definitions of the basic method's error, against numbers worked by hand:
/// f = (1, 2, −4), g = (1.5, 2, −3): mean|f − g| = 0.5, mean(1/|f|) = 7/12, so LLNL's error is
/// 7/24; the pointwise one is (0.5/1 + 0/2 + 1/4)/3 = 1/4. At τ = 7/24 the reference definition
/// refines (≥), the pointwise one does not.
#[test]
fn basic_error_definitions() {
    use neuvis_amr::BasicError;
    let (f, g) = ([1.0, 2.0, -4.0], [1.5, 2.0, -3.0]);
    let r = BasicError::Reference.error(&f, &g, 1e-3);
    let p = BasicError::Pointwise.error(&f, &g, 1e-3);
    assert!((r - 7.0 / 24.0).abs() < 1e-15, "{r}");
    assert!((p - 0.25).abs() < 1e-15, "{p}");
    assert!(BasicError::Reference.refines(r, 7.0 / 24.0));
    assert!(!BasicError::Pointwise.refines(p, 0.25));
    // a zero INR value: LLNL's mean(1/|f|) is infinite and the element refines; δ bounds the other
    let r0 = BasicError::Reference.error(&[0.0, 1.0], &[0.1, 1.0], 0.5);
    assert!(r0.is_infinite() && BasicError::Reference.refines(r0, 1e9));
    assert!((BasicError::Pointwise.error(&[0.0, 1.0], &[0.1, 1.0], 0.5) - 0.1).abs() < 1e-15);
    assert_eq!(
        neuvis_amr::AmrConfig::defaults(neuvis_amr::Method::Basic, 2).basic_error,
        BasicError::Reference
    );
}

/// The conforming VTU of a 2-D pruning run: every edge is shared by two cells except on the
/// domain's boundary (no cracks at hanging vertices, counted as vtkFeatureEdges counts boundary
/// edges; elements with hanging vertices are fans of triangles), and the conforming interpolant is
/// continuous: at the midpoint of every fine edge on a
/// coarse cell's side, the fine cell's bilinear interpolant equals the coarse cell's.
#[test]
fn conforming_vtu_has_no_cracks_and_a_continuous_interpolant() {
    use neuvis_amr::tree::multilinear;
    let inr = Inr::load(&fixture("sin_inv_r.json"), None).unwrap();
    let mut cfg = AmrConfig::defaults(Method::Pruning, 2);
    cfg.max_it = 6;
    cfg.p = 0.09;
    cfg.total_error_samples = 2000;
    let r = run(&inr.net, &[[0.0, 1.0], [0.0, 1.0]], &cfg, |_| {}).unwrap();
    let (all, conforming) = r.tree.dofs();
    assert!(all > conforming, "the test needs hanging vertices");
    let (_, pts, conn, offs) = conforming_vtu_round_trip(&r, &inr.net);
    let mut edges: std::collections::HashMap<(u64, u64), usize> = std::collections::HashMap::new();
    let mut start = 0usize;
    let mut triangles = 0;
    for &end in &offs {
        let c = &conn[start..end as usize];
        triangles += usize::from(c.len() == 3);
        let mut area = 0.0;
        for k in 0..c.len() {
            let (a, b) = (c[k], c[(k + 1) % c.len()]);
            *edges.entry((a.min(b), a.max(b))).or_default() += 1;
            area += pts[3 * a as usize] * pts[3 * b as usize + 1] - pts[3 * b as usize] * pts[3 * a as usize + 1];
        }
        assert!(area > 0.0, "cells are counter-clockwise");
        start = end as usize;
    }
    assert!(triangles > 0, "elements with hanging vertices are fans of triangles");
    let on_boundary = |i: u64| {
        let (x, y) = (pts[3 * i as usize], pts[3 * i as usize + 1]);
        x == 0.0 || x == 1.0 || y == 0.0 || y == 1.0
    };
    let mut boundary = 0;
    for (&(a, b), &n) in &edges {
        assert!(n <= 2);
        if n == 1 {
            assert!(on_boundary(a) && on_boundary(b), "crack: edge {a}-{b} has one cell");
            boundary += 1;
        }
    }
    assert!(boundary >= 4);
    // continuity of the conforming values across hanging edges
    let cv = r.tree.conforming_values(&r.values);
    let value_in = |leaf: usize, p: [f64; 2]| {
        let (lo, hi) = r.tree.bounds(leaf);
        let vals: Vec<f64> = r.tree.corners(leaf).iter().map(|k| cv[k]).collect();
        multilinear(
            &vals,
            &[(p[0] - lo[0]) / (hi[0] - lo[0]), (p[1] - lo[1]) / (hi[1] - lo[1])],
        )
    };
    let mut checked = 0;
    for l in r.tree.leaves() {
        let (lo, hi) = r.tree.bounds(l);
        let w = hi[0] - lo[0];
        for (p, out) in [
            ([lo[0], 0.5 * (lo[1] + hi[1])], [-1e-9, 0.0]),
            ([hi[0], 0.5 * (lo[1] + hi[1])], [1e-9, 0.0]),
            ([0.5 * (lo[0] + hi[0]), lo[1]], [0.0, -1e-9]),
            ([0.5 * (lo[0] + hi[0]), hi[1]], [0.0, 1e-9]),
        ] {
            let q = [p[0] + out[0], p[1] + out[1]];
            if !(0.0..=1.0).contains(&q[0]) || !(0.0..=1.0).contains(&q[1]) {
                continue;
            }
            let n = r.tree.locate(&q);
            let (nlo, nhi) = r.tree.bounds(n);
            if nhi[0] - nlo[0] > w * 1.5 {
                let (a, b) = (value_in(l, p), value_in(n, p));
                assert!((a - b).abs() < 1e-12 * (1.0 + a.abs()), "jump {a} vs {b} at {p:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
}

/// The 3-D conforming VTU is a conforming tetrahedral mesh over an octree with hanging faces on
/// three levels: every triangle is shared by exactly two tetrahedra unless it lies in the domain's
/// boundary, every tetrahedron has positive volume in VTK's order, their volumes add up to the
/// domain's, and at every point the field is the trilinear interpolant of each element holding
/// it (the conforming values; checked here from the tree, independently of the writer).
#[test]
fn conforming_vtu_in_3d_is_a_conforming_tetrahedral_mesh() {
    let dom = [[-1.0, 1.0], [-1.0, 1.0], [0.0, 2.0]];
    let mut t = Tree::new(&dom);
    t.refine_uniformly(1);
    // refine towards one corner three times more: faces between levels 1|2, 2|3, 3|4
    for _ in 0..3 {
        let deepest = *t.leaves().iter().max_by_key(|&&l| (t.nodes[l].level, l)).unwrap();
        t.refine(deepest);
    }
    let inr = Inr::load(&fixture("tiny_fourier_silu.json"), None).unwrap();
    let mut r = analytic_run(t, |p| (2.0 * p[0]).sin() + p[1] * p[2] * p[2]);
    r.config = AmrConfig::defaults(Method::Uniform, 3);
    let (all, conforming) = r.tree.dofs();
    assert!(all > conforming);
    let (piece, pts, connectivity, _) = conforming_vtu_round_trip(&r, &inr.net);
    assert!(piece.cells.types.iter().all(|t| *t == vtkio::model::CellType::Tetra));
    let p = |i: u64| [pts[3 * i as usize], pts[3 * i as usize + 1], pts[3 * i as usize + 2]];
    let sub = |a: [f64; 3], b: [f64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let mut faces: HashMap<[u64; 3], usize> = HashMap::new();
    let mut volume = 0.0;
    for tet in connectivity.chunks(4) {
        let (a, b, c, d) = (p(tet[0]), p(tet[1]), p(tet[2]), p(tet[3]));
        let (x, y, z) = (sub(b, a), sub(c, a), sub(d, a));
        let det = x[0] * (y[1] * z[2] - y[2] * z[1]) - x[1] * (y[0] * z[2] - y[2] * z[0])
            + x[2] * (y[0] * z[1] - y[1] * z[0]);
        assert!(det > 0.0, "a tetrahedron in the wrong order or flat");
        volume += det / 6.0;
        for skip in 0..4 {
            let mut f: Vec<u64> = (0..4).filter(|&k| k != skip).map(|k| tet[k]).collect();
            f.sort_unstable();
            *faces.entry([f[0], f[1], f[2]]).or_default() += 1;
        }
    }
    assert!((volume - 8.0).abs() < 1e-9, "volume {volume}");
    let on_boundary = |f: &[u64; 3]| {
        (0..3).any(|a| {
            f.iter().all(|&i| (p(i)[a] - dom[a][0]).abs() < 1e-12)
                || f.iter().all(|&i| (p(i)[a] - dom[a][1]).abs() < 1e-12)
        })
    };
    for (f, &n) in &faces {
        assert!(n == 2 || (n == 1 && on_boundary(f)), "face {f:?} has {n} tetrahedra");
    }
    // the field: the trilinear interpolant of the leaf's conforming corner values, from the tree
    let cv = r.tree.conforming_values(&r.values);
    let values: Vec<f64> = match &piece.data.point[0] {
        vtkio::model::Attribute::DataArray(a) => a.data.clone().cast_into::<f64>().unwrap(),
        _ => panic!(),
    };
    for l in r.tree.leaves() {
        let (lo, hi) = r.tree.bounds(l);
        let corner_vals: Vec<f64> = r.tree.corners(l).iter().map(|k| cv[k]).collect();
        for (i, &v) in values.iter().enumerate() {
            let q = p(i as u64);
            if (0..3).all(|a| lo[a] - 1e-12 <= q[a] && q[a] <= hi[a] + 1e-12) {
                let xi: Vec<f64> = (0..3).map(|a| (q[a] - lo[a]) / (hi[a] - lo[a])).collect();
                assert!(
                    (v - multilinear(&corner_vals, &xi)).abs() < 1e-12,
                    "point {q:?} in leaf {l}"
                );
            }
        }
    }
}

/// Writes the conforming VTU of `r` and reads it back with vtkio: the piece, its points (x, y, z
/// per point) and the cells' connectivity and offsets.
fn conforming_vtu_round_trip(
    r: &AmrRun,
    net: &Mlp,
) -> (vtkio::model::UnstructuredGridPiece, Vec<f64>, Vec<u64>, Vec<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mesh.vtu");
    write_vtu(neuvis_amr::output::conforming_mesh_vtk(r, net), &path).unwrap();
    let back = vtkio::Vtk::import(&path).unwrap();
    let vtkio::model::DataSet::UnstructuredGrid { pieces, .. } = back.data else {
        panic!("not an unstructured grid")
    };
    let piece = pieces[0].load_piece_data(None).unwrap();
    let pts: Vec<f64> = piece.points.clone().cast_into::<f64>().unwrap();
    let vtkio::model::VertexNumbers::XML { connectivity, offsets } = piece.cells.cell_verts.clone() else {
        panic!("not XML cells")
    };
    (piece, pts, connectivity, offsets)
}
