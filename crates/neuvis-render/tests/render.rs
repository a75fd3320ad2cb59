//! Renderer tests against independent references: hand-computed projections, an analytic sphere,
//! and Beer–Lambert's law.

use neuvis_render::{Camera, Mode, RenderSettings, Renderer, TransferFunction};
use neuvis_volume::{Procedural, ScalarField};

const CUBE: ([f32; 3], [f32; 3]) = ([-1.0; 3], [1.0; 3]);

fn close(a: (f32, f32), b: (f32, f32), tol: f32) -> bool {
    (a.0 - b.0).abs() < tol && (a.1 - b.1).abs() < tol
}

#[test]
fn camera_matches_hand_computed_projections() {
    // d = √3 / sin 15° = 6.6921304; tan 15° = 0.2679492; 0.5 / (d tan 15°) = 0.2788388
    let c = Camera::orbit(CUBE, 90.0, 0.0, 30.0, 512, 512);
    assert!((c.eye[0] - 6.692_130_4).abs() < 1e-4 && c.eye[1].abs() < 1e-5 && c.eye[2].abs() < 1e-5);
    assert!(close(c.project([0.0, 0.0, 0.0]).unwrap(), (256.0, 256.0), 1e-3));
    // +y is to the right, +z is up when looking from +x
    assert!(close(c.project([0.0, 0.5, 0.0]).unwrap(), (327.382_7, 256.0), 1e-2));
    assert!(close(c.project([0.0, 0.0, 0.5]).unwrap(), (256.0, 184.617_3), 1e-2));
    // a point nearer the eye: depth d − 1
    assert!(close(c.project([1.0, 1.0, 0.0]).unwrap(), (423.846_6, 256.0), 1e-2));
    // φ = 90°: the eye is on +y, +x appears to the left
    let c = Camera::orbit(CUBE, 90.0, 90.0, 30.0, 512, 512);
    assert!(close(c.project([0.5, 0.0, 0.0]).unwrap(), (184.617_3, 256.0), 1e-2));
    // north pole θ = 0, φ = 0: up = −x, right = +y
    let c = Camera::orbit(CUBE, 0.0, 0.0, 30.0, 512, 512);
    assert!((c.eye[2] - 6.692_130_4).abs() < 1e-4);
    assert!(close(c.project([0.0, 0.5, 0.0]).unwrap(), (327.382_7, 256.0), 1e-2));
    assert!(close(c.project([0.5, 0.0, 0.0]).unwrap(), (256.0, 327.382_7), 1e-2));
    // behind the eye
    assert!(c.project([0.0, 0.0, 10.0]).is_none());
}

#[test]
fn camera_is_continuous_at_the_poles_and_frames_the_bounding_sphere() {
    for phi in [0.0f32, 73.0, 200.0] {
        let a = Camera::orbit(CUBE, 0.0, phi, 30.0, 64, 64);
        let b = Camera::orbit(CUBE, 0.01, phi, 30.0, 64, 64);
        for k in 0..3 {
            assert!((a.up[k] - b.up[k]).abs() < 1e-3, "up jumps at the pole for φ = {phi}");
            assert!((a.right[k] - b.right[k]).abs() < 1e-3);
        }
        let s = Camera::orbit(CUBE, 180.0, phi, 30.0, 64, 64);
        assert!((s.eye[2] + 6.692_130_4).abs() < 1e-3);
    }
    // the ray through the middle of the top image edge is tangent to the bounding sphere (r = √3)
    let c = Camera::orbit(CUBE, 37.0, 151.0, 30.0, 100, 100);
    let d = c.ray_dir(50.0, 0.0);
    let t = -(0..3).map(|k| c.eye[k] * d[k]).sum::<f32>();
    let closest: f32 = (0..3).map(|k| (c.eye[k] + t * d[k]).powi(2)).sum::<f32>().sqrt();
    assert!((closest - 3f32.sqrt()).abs() < 1e-3, "closest approach {closest}");
    // orthonormal basis
    let dot = |a: [f32; 3], b: [f32; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    assert!(
        dot(c.up, c.forward).abs() < 1e-6 && dot(c.right, c.forward).abs() < 1e-6 && dot(c.up, c.right).abs() < 1e-6
    );
}

fn sphere_field(n: usize) -> ScalarField {
    let h = 2.0 / (n - 1) as f32;
    ScalarField::from_fn([n; 3], [h; 3], [-1.0; 3], |x, y, z| (x * x + y * y + z * z).sqrt()).unwrap()
}

/// Independent reference: first intersection of a ray with the sphere |p| = r.
fn ray_sphere(o: [f32; 3], d: [f32; 3], r: f32) -> Option<f32> {
    let (o, d) = (o.map(f64::from), d.map(f64::from));
    let b: f64 = (0..3).map(|k| o[k] * d[k]).sum();
    let c: f64 = (0..3).map(|k| o[k] * o[k]).sum::<f64>() - (r as f64).powi(2);
    let disc = b * b - c;
    (disc >= 0.0).then(|| (-b - disc.sqrt()) as f32)
}

#[test]
fn isosurface_hits_and_normals_match_the_analytic_sphere() {
    let f = sphere_field(65);
    let r = 0.6;
    let rend = Renderer::new(
        &f,
        RenderSettings::new(
            96,
            96,
            Mode::Iso {
                value: r,
                color: [1.0; 3],
            },
        ),
    )
    .unwrap();
    let cam = rend.camera(60.0, 30.0);
    let (mut hits, mut checked) = (0, 0);
    let mut err_sum = 0f32;
    for py in (0..96).step_by(3) {
        for px in (0..96).step_by(3) {
            let d = cam.ray_dir(px as f32 + 0.5, py as f32 + 0.5);
            let exact = ray_sphere(cam.eye, d, r);
            let got = rend.trace_iso(cam.eye, d);
            match (exact, got) {
                (Some(t), Some(hit)) => {
                    hits += 1;
                    let len = (0..3).map(|k| hit.pos[k] * hit.pos[k]).sum::<f32>().sqrt();
                    // The trilinear interpolant of the convex distance field exceeds it by at most
                    // Σ_k h²/8 · ∂²f/∂x_k² ≤ 3h²/(8r) = 6.1e-4 (h = 1/32), so the rendered surface
                    // lies at most that far inside the sphere; bisection adds < 1e-5.
                    assert!((len - r).abs() < 7e-4, "pixel ({px},{py}): |hit| = {len}, r = {r}");
                    // along the ray the offset grows at grazing incidence
                    assert!((hit.t - t).abs() < 1e-2, "pixel ({px},{py}): t {} vs exact {t}", hit.t);
                    let radial: Vec<f32> = (0..3).map(|k| hit.pos[k] / len).collect();
                    let cos = (0..3).map(|k| -hit.normal[k] * radial[k]).sum::<f32>().abs();
                    // one cell (h = 1/32) turns the normal by h/r ≈ 3°; interpolated central
                    // differences of the distance field must be far closer than that
                    let err = cos.min(1.0).acos().to_degrees();
                    assert!(err < 0.5, "normal off by {err}° at ({px},{py})");
                    err_sum += err;
                }
                (None, None) => {}
                (e, g) => {
                    // only allowed within a hair of the silhouette
                    let b: f32 = -(0..3).map(|k| cam.eye[k] * d[k]).sum::<f32>();
                    let miss: f32 = (0..3).map(|k| (cam.eye[k] + b * d[k]).powi(2)).sum::<f32>().sqrt();
                    assert!(
                        (miss - r).abs() < 5e-3,
                        "({px},{py}): exact {e:?} vs got {g:?}, ray passes at {miss}"
                    );
                }
            }
            checked += 1;
        }
    }
    // the sphere covers (0.6/√3)²·π/4 ≈ 9.4 % of the image (bounding-sphere framing)
    assert!(hits > checked * 8 / 100, "too few hits: {hits} of {checked}");
    assert!(
        err_sum / (hits as f32) < 0.1,
        "mean normal error {}°",
        err_sum / hits as f32
    );
}

#[test]
fn dvr_of_a_constant_slab_follows_beer_lambert() {
    // constant density over [0,1]×[0,1]×[0,0.25]; α = 0.3 per unit distance 0.1
    let f = ScalarField::new([17, 17, 5], [1.0 / 16.0; 3], [0.0; 3], vec![1.0; 17 * 17 * 5]).unwrap();
    let tf = TransferFunction {
        color: vec![(0.0, [0.2, 0.4, 0.8]), (2.0, [0.2, 0.4, 0.8])],
        opacity: vec![(0.0, 0.3), (2.0, 0.3)],
        name: "const".into(),
        space: Default::default(),
        nan: ([1.0, 1.0, 0.0], 1.0),
        default_opacity: false,
    };
    let sigma = -(0.7f64).ln() / 0.1;
    for step in [0.5f32, 0.37, 1.3] {
        let mut s = RenderSettings::new(
            64,
            64,
            Mode::Dvr {
                tf: tf.clone(),
                unit_distance: Some(0.1),
                shade: false,
            },
        );
        s.step = step;
        s.early_termination = 1.0;
        let r = Renderer::new(&f, s).unwrap();
        for (theta, phi) in [(0.0f32, 0.0f32), (20.0, 40.0), (160.0, 300.0)] {
            let cam = r.camera(theta, phi);
            for (px, py) in [(32.0, 32.0), (28.5, 35.5), (37.0, 30.0)] {
                let d = cam.ray_dir(px, py);
                // slab method, written independently of the renderer
                let (mut t0, mut t1) = (f64::NEG_INFINITY, f64::INFINITY);
                for (k, hi) in [1.0f64, 1.0, 0.25].iter().enumerate() {
                    let (o, dk) = (cam.eye[k] as f64, d[k] as f64);
                    let (a, b) = ((0.0 - o) / dk, (hi - o) / dk);
                    t0 = t0.max(a.min(b));
                    t1 = t1.min(a.max(b));
                }
                let len = (t1 - t0).max(0.0);
                let expected = 1.0 - (-sigma * len).exp();
                let got = r.trace_dvr(cam.eye, d);
                assert!(
                    (got[3] as f64 - expected).abs() < 2e-4,
                    "step {step}, view ({theta},{phi}), pixel ({px},{py}): alpha {} vs Beer–Lambert {expected} (L = {len})",
                    got[3]
                );
                assert!((got[2] as f64 - 0.8 * expected).abs() < 2e-4, "premultiplied blue");
            }
        }
    }
}

#[test]
fn empty_space_skipping_does_not_change_the_image() {
    let f = Procedural::Tornado.generate([48; 3], 5.0).unwrap();
    let iso = 0.5 * (f.range().0 + f.range().1);
    let mut fine = RenderSettings::new(
        80,
        80,
        Mode::Iso {
            value: iso,
            color: [1.0, 0.5, 0.2],
        },
    );
    fine.brick = 4;
    let mut none = fine.clone();
    none.brick = 4096; // one brick: nothing can be skipped
    let (a, b) = (Renderer::new(&f, fine).unwrap(), Renderer::new(&f, none).unwrap());
    for (t, p) in [(0.0, 0.0), (90.0, 45.0), (135.0, 300.0)] {
        let (ia, ib) = (a.render(t, p), b.render(t, p));
        let differ = ia.mask().iter().zip(ib.mask()).filter(|(x, y)| x != y).count();
        assert!(differ <= 2, "{differ} mask pixels differ at ({t},{p})");
        let max_diff = ia
            .rgb()
            .iter()
            .zip(ib.rgb())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        let mean_diff = ia
            .rgb()
            .iter()
            .zip(ib.rgb())
            .map(|(x, y)| x.abs_diff(*y) as f64)
            .sum::<f64>()
            / ia.rgb().len() as f64;
        assert!(mean_diff < 0.5, "mean colour difference {mean_diff} (max {max_diff})");
    }
}

#[test]
fn rendering_is_deterministic_across_thread_counts() {
    let f = Procedural::MarschnerLobb.generate([41; 3], 0.0).unwrap();
    let tf = TransferFunction::preset("viridis", f.range(), 0.5).unwrap();
    let r = Renderer::new(
        &f,
        RenderSettings::new(
            48,
            40,
            Mode::Dvr {
                tf,
                unit_distance: None,
                shade: true,
            },
        ),
    )
    .unwrap();
    let a = r.render(33.0, 71.0);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = pool.install(|| r.render(33.0, 71.0));
    assert_eq!(a, b);
    assert!(a.coverage() > 0.2 && a.coverage() < 1.0);
}

#[test]
fn background_is_white_and_mask_marks_foreground() {
    let f = sphere_field(33);
    let r = Renderer::new(
        &f,
        RenderSettings::new(
            40,
            40,
            Mode::Iso {
                value: 0.5,
                color: [0.2, 0.3, 0.9],
            },
        ),
    )
    .unwrap();
    let img = r.render(45.0, 45.0);
    for (c, m) in img.rgb().chunks(3).zip(img.mask()) {
        if *m == 0 {
            assert_eq!(c, [255, 255, 255]);
        } else {
            assert!(c[2] > c[0], "surface colour is bluish");
        }
    }
}

#[test]
fn bad_settings_are_errors() {
    let f = sphere_field(9);
    let iso = Mode::Iso {
        value: f32::NAN,
        color: [1.0; 3],
    };
    assert!(Renderer::new(&f, RenderSettings::new(8, 8, iso)).is_err());
    let ok = Mode::Iso {
        value: 0.5,
        color: [1.0; 3],
    };
    assert!(Renderer::new(&f, RenderSettings::new(0, 8, ok.clone())).is_err());
    let mut s = RenderSettings::new(8, 8, ok);
    s.step = 0.0;
    assert!(Renderer::new(&f, s).is_err());
}
