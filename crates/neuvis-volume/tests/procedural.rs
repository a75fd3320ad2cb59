//! Procedural fields against their formulas, evaluated here independently (f64, written from the
//! issue's text), and the min–max grid invariant.

use neuvis_volume::procedural::{marschner_lobb, Blobs};
use neuvis_volume::{MinMaxGrid, Procedural};

/// Crawfis & Max's tornado, transcribed separately from the library.
fn tornado_ref(x: f64, y: f64, z: f64, t: f64) -> f64 {
    let xc = 0.5 + 0.1 * (0.04 * t + 10.0 * z).sin();
    let yc = 0.5 + 0.1 * (0.03 * t + 3.0 * z).cos();
    let r = 0.1 + 0.4 * z * z + 0.1 * z * (8.0 * z).sin();
    let r2 = 0.2 + 0.1 * z;
    let d = ((x - xc) * (x - xc) + (y - yc) * (y - yc)).sqrt();
    let s0 = (r - d).abs();
    let s1 = if s0 > r2 { 0.8 - s0 } else { 1.0 };
    let z0 = f64::max(0.0, 0.1 * (0.1 - d * z));
    let dd = (d * d + z0 * z0).sqrt();
    let s = (r + r2 - dd) * s1 / (dd + 1e-11) / (1.0 + z);
    let v = [s * (y - yc) + 0.1 * (x - xc), -s * (x - xc) + 0.1 * (y - yc), s * z0];
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

#[test]
fn tornado_matches_the_formula_at_grid_points() {
    for t in [0.0, 17.0, 47.0] {
        let f = Procedural::Tornado.generate([33, 29, 41], t).unwrap();
        for &(i, j, k) in &[
            (0, 0, 0),
            (16, 14, 20),
            (32, 28, 40),
            (5, 27, 3),
            (30, 2, 39),
            (12, 12, 0),
        ] {
            let (x, y, z) = (i as f64 / 32.0, j as f64 / 28.0, k as f64 / 40.0);
            let want = tornado_ref(x, y, z, t);
            let got = f.at(i, j, k) as f64;
            assert!(
                (got - want).abs() <= 1e-5 * want.abs().max(1e-3),
                "t={t} ({i},{j},{k}): {got} vs {want}"
            );
        }
    }
    // the default grid is the paper's 128³ × 48 steps
    assert_eq!(Procedural::Tornado.default_dims(), [128; 3]);
    assert_eq!(Procedural::Tornado.default_steps(), 48);
}

#[test]
fn marschner_lobb_hand_values() {
    // ρ = (1 − sin(πz/2) + α(1 + cos(2π·6·cos(πr/2)))) / (2(1+α)), α = 1/4
    // origin: cos(12π) = 1 → (1 + 0.5) / 2.5 = 0.6
    assert!((marschner_lobb(0.0, 0.0, 0.0) - 0.6).abs() < 1e-12);
    // z = 1, r = 0: (1 − 1 + 0.5) / 2.5 = 0.2
    assert!((marschner_lobb(0.0, 0.0, 1.0) - 0.2).abs() < 1e-12);
    // z = −1, r = 1: cos(πr/2) = 0 → cos 0 = 1 → (2 + 0.5) / 2.5 = 1
    assert!((marschner_lobb(1.0, 0.0, -1.0) - 1.0).abs() < 1e-12);
    // r = 2/3: cos(π/3) = 1/2 → cos(6π) = 1; z = 0 → 0.6
    assert!((marschner_lobb(0.0, 2.0 / 3.0, 0.0) - 0.6).abs() < 1e-12);
    // r = 1/√2·… pick cos(πr/2) = 1/12 → cos(π) = −1 → (1 + 0) / 2.5 = 0.4
    let r = 2.0 / std::f64::consts::PI * (1.0f64 / 12.0).acos();
    assert!((marschner_lobb(r, 0.0, 0.0) - 0.4).abs() < 1e-12);
    // the classic 41³ grid spans [−1, 1]³ and holds these values at its grid points
    let f = Procedural::MarschnerLobb.generate([41; 3], 0.0).unwrap();
    assert_eq!(f.bounds(), ([-1.0; 3], [1.0; 3]));
    assert!((f.at(20, 20, 20) - 0.6).abs() < 1e-6);
    assert!((f.at(20, 20, 40) - 0.2).abs() < 1e-6);
    assert!((f.at(40, 20, 0) - 1.0).abs() < 1e-6);
}

#[test]
fn blobs_are_seeded_moving_and_match_their_sum_of_gaussians() {
    let a = Procedural::Blobs { seed: 7 }.generate([24; 3], 3.0).unwrap();
    let b = Procedural::Blobs { seed: 7 }.generate([24; 3], 3.0).unwrap();
    let c = Procedural::Blobs { seed: 8 }.generate([24; 3], 3.0).unwrap();
    let later = Procedural::Blobs { seed: 7 }.generate([24; 3], 20.0).unwrap();
    assert_eq!(a, b, "same seed, same field");
    assert_ne!(a, c, "other seed, other field");
    assert_ne!(a, later, "blobs move");
    let blobs = Blobs::new(7, 48);
    let h = 1.0 / 23.0;
    for &(i, j, k) in &[(12, 12, 12), (3, 20, 7), (0, 0, 0), (23, 11, 5)] {
        let exact = blobs.value([i as f64 * h, j as f64 * h, k as f64 * h], 3.0);
        // the generator cuts each Gaussian at 4 r: at most 48 · e^{-8} = 0.016 is dropped
        assert!((a.at(i, j, k) as f64 - exact).abs() < 0.017, "({i},{j},{k})");
        assert!(a.at(i, j, k) as f64 <= exact + 1e-5);
    }
    // centres stay inside [0.05, 0.95]³ at all times
    for b in &blobs.blobs {
        for t in [0.0, 11.0, 29.0, 47.0] {
            let (c, r) = Blobs::state(b, t);
            assert!(c.iter().all(|&x| (0.05..=0.95).contains(&x)), "{c:?}");
            assert!(r > 0.0);
        }
    }
}

#[test]
fn minmax_bricks_bound_the_trilinear_field() {
    let f = Procedural::Tornado.generate([37, 29, 33], 9.0).unwrap();
    let g = MinMaxGrid::new(&f, 8);
    assert_eq!(g.bdims, [5, 4, 4]);
    let mut seed = 12345u64;
    let mut rnd = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 40) as f32 / (1u64 << 24) as f32
    };
    let dims = f.dims();
    for _ in 0..20000 {
        let p = [0, 1, 2].map(|a| rnd() * (dims[a] - 1) as f32);
        let b = [0, 1, 2].map(|a| ((p[a] / 8.0) as usize).min(g.bdims[a] - 1));
        let (lo, hi) = g.range(b[0], b[1], b[2]);
        let v = f.sample_index(p[0], p[1], p[2]);
        assert!(lo - 1e-6 <= v && v <= hi + 1e-6, "{v} outside [{lo}, {hi}] at {p:?}");
    }
    // brute force: brick ranges equal the min/max over their sample points
    let (lo, hi) = g.range(4, 3, 3);
    let mut want = (f32::INFINITY, f32::NEG_INFINITY);
    for k in 24..=32 {
        for j in 24..=28 {
            for i in 32..=36 {
                want = (want.0.min(f.at(i, j, k)), want.1.max(f.at(i, j, k)));
            }
        }
    }
    assert_eq!((lo, hi), want);
}
