//! The brick super-resolution network: burn and the plain-Rust inference agree, training beats
//! trilinear upsampling on held-out bricks, and the same seed gives the same network.

use neuvis_raycast::geom::Geometry;
use neuvis_raycast::prepare::TrainingData;
use neuvis_raycast::sr::input_patch;
use neuvis_raycast::train::{burn_forward, train, SrTrainOptions};
use neuvis_volume::Turbulence;

/// Bricks and base of a smooth turbulence (modes up to 5 cycles) on a 65³ grid, bricks of 16,
/// factor 4, built here from the field directly (not through `prepare`).
fn data() -> TrainingData {
    let g = Geometry::new([65; 3], 16, 4).unwrap();
    let t = Turbulence::with_band(4, 48, 1.0, 5.0).unwrap();
    let f = t.field([65; 3]).unwrap();
    let at = |i: i64, j: i64, k: i64| {
        let c = |v: i64| v.clamp(0, 64) as usize;
        f.at(c(i), c(j), c(k))
    };
    let bd = g.base_dims;
    let mut base = vec![0f32; g.base_len()];
    for k in 0..bd[2] {
        for j in 0..bd[1] {
            for i in 0..bd[0] {
                let mut s = 0f64;
                for dk in -2..=2 {
                    for dj in -2..=2 {
                        for di in -2..=2 {
                            s += at(4 * i as i64 + di, 4 * j as i64 + dj, 4 * k as i64 + dk) as f64;
                        }
                    }
                }
                base[i + bd[0] * (j + bd[1] * k)] = (s / 125.0) as f32;
            }
        }
    }
    let side = g.side();
    let bricks = (0..g.nbricks())
        .map(|id| {
            let b = g.coords(id);
            let mut v = vec![0f32; side * side * side];
            for lk in 0..side {
                for lj in 0..side {
                    for li in 0..side {
                        v[li + side * (lj + side * lk)] = at(
                            (b[0] * 16 + li) as i64 - 1,
                            (b[1] * 16 + lj) as i64 - 1,
                            (b[2] * 16 + lk) as i64 - 1,
                        );
                    }
                }
            }
            (id, v)
        })
        .collect();
    TrainingData {
        geometry: g,
        base,
        bricks,
        range: f.range(),
    }
}

/// The data, the CPU device and the short training both tests run.
fn setup() -> (TrainingData, burn::prelude::Device, SrTrainOptions) {
    let o = SrTrainOptions {
        steps: Some(150),
        batch: 4,
        seed: 3,
        ..Default::default()
    };
    (data(), neuvis_nn::device::device("cpu").unwrap(), o)
}

#[test]
fn training_beats_trilinear_and_both_forward_passes_agree() {
    let (d, dev, o) = setup();
    let (net, rep) = train(&d, &o, &dev, |_, _, _| {}).unwrap();
    assert_eq!(rep.steps, 150);
    assert_eq!(rep.split, (58, 6));
    assert!(rep.psnr_network > rep.psnr_trilinear + 0.5, "{rep:?}");
    let x = input_patch(&net.config, &d.geometry, &d.base, net.norm, [1, 2, 3]);
    let a = net.forward(&x);
    let b = burn_forward(&net, &x, &dev).unwrap();
    assert_eq!(a.len(), b.len());
    let err = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
    assert!(err < 1e-4, "plain-Rust and burn forward differ by {err}");
    // reproducible
    let (again, _) = train(&d, &o, &dev, |_, _, _| {}).unwrap();
    assert_eq!(again.to_bytes(), net.to_bytes());
    let (other, _) = train(&d, &SrTrainOptions { seed: 4, ..o.clone() }, &dev, |_, _, _| {}).unwrap();
    assert_ne!(other.to_bytes(), net.to_bytes());
    // AutoClip changes the steps (100 = off), and settings out of range are refused by name
    let (unclipped, _) = train(
        &d,
        &SrTrainOptions {
            clip_percentile: 100.0,
            ..o.clone()
        },
        &dev,
        |_, _, _| {},
    )
    .unwrap();
    assert_ne!(unclipped.to_bytes(), net.to_bytes());
    for (bad, name) in [
        (
            SrTrainOptions {
                clip_percentile: 150.0,
                ..o.clone()
            },
            "clipping percentile 150",
        ),
        (
            SrTrainOptions {
                ssim_weight: -1.0,
                ..o.clone()
            },
            "SSIM weight -1",
        ),
        (
            SrTrainOptions {
                gradient_weight: f64::NAN,
                ..o.clone()
            },
            "gradient weight NaN",
        ),
        (SrTrainOptions { batch: 0, ..o.clone() }, "batch 0"),
    ] {
        let e = train(&d, &bad, &dev, |_, _, _| {}).err().unwrap().to_string();
        assert!(e.contains(name), "{e}");
    }
}

/// The mean squared difference of neighbouring samples' reconstruction errors along x, y and z,
/// over every brick of `d` (what the shading's normals see of the error), computed here from the
/// bricks and the plain-Rust reconstruction.
fn error_roughness(net: &neuvis_raycast::sr::SrNet, d: &TrainingData) -> f64 {
    let g = d.geometry;
    let s = g.side();
    let (mut sum, mut n) = (0f64, 0usize);
    for (id, truth) in &d.bricks {
        let rec = net.reconstruct(&g, &d.base, g.coords(*id));
        let e = |i: usize, j: usize, k: usize| (rec[i + s * (j + s * k)] - truth[i + s * (j + s * k)]) as f64;
        for k in 0..s {
            for j in 0..s {
                for i in 0..s {
                    for (di, dj, dk) in [(1, 0, 0), (0, 1, 0), (0, 0, 1)] {
                        if i + di < s && j + dj < s && k + dk < s {
                            sum += (e(i + di, j + dj, k + dk) - e(i, j, k)).powi(2);
                            n += 1;
                        }
                    }
                }
            }
        }
    }
    sum / n as f64
}

/// `gradient_weight` trades a little MSE for a smoother error: the same training with the
/// gradient term leaves less error between neighbouring samples.
#[test]
fn the_gradient_term_smooths_the_error() {
    let (d, dev, o) = setup();
    let (plain, _) = train(&d, &o, &dev, |_, _, _| {}).unwrap();
    let (smooth, rep) = train(
        &d,
        &SrTrainOptions {
            gradient_weight: 10.0,
            ..o.clone()
        },
        &dev,
        |_, _, _| {},
    )
    .unwrap();
    assert!(rep.psnr_network > rep.psnr_trilinear, "{rep:?}");
    let (a, b) = (error_roughness(&plain, &d), error_roughness(&smooth, &d));
    assert!(b < 0.9 * a, "error roughness without the term {a:e}, with it {b:e}");
}
