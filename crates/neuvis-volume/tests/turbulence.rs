//! Synthetic turbulence: the grid against the closed-form sum, slab-by-slab generation against
//! whole-volume generation, unit variance, and the Kolmogorov 2/3 law of the structure function.

use neuvis_volume::{Procedural, Turbulence};

#[test]
fn grid_samples_equal_the_mode_sum() {
    let t = Turbulence::new(3);
    let dims = [17, 13, 11];
    let f = t.field(dims).unwrap();
    for &(i, j, k) in &[(0, 0, 0), (16, 12, 10), (8, 3, 7), (1, 11, 2)] {
        let p = [i as f64 / 16.0, j as f64 / 12.0, k as f64 / 10.0];
        // independent evaluation of Σ a cos(2π k·x + φ)
        let want: f64 = t
            .modes()
            .iter()
            .map(|m| {
                let dot = m.k[0] * p[0] + m.k[1] * p[1] + m.k[2] * p[2];
                m.a * (std::f64::consts::TAU * dot + m.phase).cos()
            })
            .sum();
        let got = f.at(i, j, k) as f64;
        assert!((got - want).abs() < 2e-4, "({i},{j},{k}): {got} vs {want}");
    }
}

#[test]
fn slabs_concatenate_to_the_whole_field() {
    let t = Turbulence::new(11);
    let dims = [20, 9, 14];
    let whole = t.slab(dims, 0, 14).unwrap();
    let a = t.slab(dims, 0, 5).unwrap();
    let b = t.slab(dims, 5, 9).unwrap();
    assert_eq!([a, b].concat(), whole);
    assert!(t.slab(dims, 10, 5).is_err(), "planes past the grid");
}

#[test]
fn seeded_unit_variance_and_kolmogorov_structure_function() {
    let t = Turbulence::new(5);
    assert_eq!(t, Turbulence::new(5));
    assert_ne!(t, Turbulence::new(6));
    let var: f64 = t.modes().iter().map(|m| m.a * m.a / 2.0).sum();
    assert!((var - 1.0).abs() < 1e-12);
    let n = 96;
    let f = t.field([n; 3]).unwrap();
    let d = f.data();
    let mean = d.iter().map(|&v| v as f64).sum::<f64>() / d.len() as f64;
    let sample_var = d.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d.len() as f64;
    assert!((0.6..1.4).contains(&sample_var), "variance {sample_var}");
    // S2(r) along x for r = 4 and 16 grid steps (r = 0.042 and 0.17, inside [1/64, 1]):
    // Kolmogorov predicts S2(16h)/S2(4h) = 4^(2/3) ≈ 2.52.
    let s2 = |r: usize| {
        let mut acc = 0.0;
        let mut cnt = 0usize;
        for k in 0..n {
            for j in 0..n {
                for i in 0..n - r {
                    let a = d[i + n * (j + n * k)] as f64;
                    let b = d[i + r + n * (j + n * k)] as f64;
                    acc += (b - a).powi(2);
                    cnt += 1;
                }
            }
        }
        acc / cnt as f64
    };
    let ratio = s2(16) / s2(4);
    assert!((2.1..2.9).contains(&ratio), "S2 ratio {ratio}, want ≈ 2.52");
}

#[test]
fn turbulence_is_a_procedural_field_and_bad_bands_fail() {
    let p = Procedural::from_name("turbulence", 5).unwrap();
    assert_eq!(p.name(), "turbulence");
    assert_eq!(
        p.generate([8; 3], 0.0).unwrap(),
        Turbulence::new(5).field([8; 3]).unwrap()
    );
    assert!(Turbulence::with_band(1, 0, 1.0, 2.0).is_err());
    assert!(Turbulence::with_band(1, 4, 0.0, 2.0).is_err());
    assert!(Turbulence::with_band(1, 4, 3.0, 2.0).is_err());
    assert!(Turbulence::with_band(1, 4, 1.0, f64::NAN).is_err());
}
