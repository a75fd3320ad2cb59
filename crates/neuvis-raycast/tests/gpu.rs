//! The raycaster's GPU engine (wgpu compute shaders) against the CPU engine, which the other
//! tests check against the source field and `neuvis-render`: `exact`, `full` and `dense` on the GPU
//! give the CPU's in-core image to ≥ 50 dB, `neural` and `trilinear` on the GPU the CPU's to
//! ≥ 50 dB, a budget of a few bricks streams through a small atlas (evictions, more passes, the
//! same image) and bounds what the GPU holds.
//!
//! CI runs these on Mesa's lavapipe (Vulkan on the CPU). Without any Vulkan adapter they say so
//! and pass, unless `NEUVIS_GPU_TEST` is set (as `.ci/run` sets it), which makes that a failure.

use neuvis_base::MaskedImage;
use neuvis_raycast::gpu::GpuEngine;
use neuvis_raycast::prepare::{FieldSource, TrainingData};
use neuvis_raycast::sr::{Norm, SrConfig, SrNet};
use neuvis_raycast::{prepare, Engine, Method, PrepareOptions, RaycastError, RenderOptions, StoreKind};
use neuvis_volume::ScalarField;
use std::path::{Path, PathBuf};

/// One GPU test at a time: on lavapipe they share the CPU.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const W: usize = 128;

/// A smooth field with odd sizes (bricks do not divide the grid), as in tests/raycast.rs.
fn field() -> ScalarField {
    ScalarField::from_fn([37, 29, 45], [1.0, 1.2, 0.9], [-18.0, -17.0, -20.0], |x, y, z| {
        (x * x + y * y + z * z).sqrt() + 2.0 * (0.3 * x).sin() * (0.25 * y).cos()
    })
    .unwrap()
}

/// A store with exact bricks and a small network with seeded random weights (a stand-in for a
/// trained one: what matters here is that both engines evaluate the same network).
fn store(dir: &Path) -> PathBuf {
    let p = dir.join("v.nvb");
    let src = FieldSource {
        field: field(),
        name: "test".into(),
    };
    let trainer = |d: &TrainingData| -> neuvis_raycast::Result<Vec<u8>> {
        let cfg = SrConfig {
            factor: d.geometry.factor,
            brick: d.geometry.brick,
            // not a multiple of the GPU kernel's 8-channel blocks, and two hidden layers
            channels: 12,
            hidden: 2,
            pe_freqs: 1,
        };
        let mut rng = neuvis_base::rng::SplitMix64(7);
        let layers = cfg
            .shapes()
            .iter()
            .map(|(w, b)| {
                let n: usize = w.iter().product();
                let mut r = |k: usize, s: f64| (0..k).map(|_| rng.uniform(-s, s) as f32).collect::<Vec<_>>();
                (r(n, 0.15), r(*b, 0.05))
            })
            .collect();
        Ok(SrNet {
            config: cfg,
            norm: Norm::of(&d.base),
            layers,
        }
        .to_bytes())
    };
    let o = PrepareOptions {
        brick: 8,
        factor: 2,
        kind: StoreKind::Both,
        train_bricks: 16,
        seed: 1,
        shard: neuvis_base::Shard::WHOLE,
        trainer_settings: Default::default(),
        zfp_rate: None,
    };
    prepare(&src, &p, &o, Some(&trainer), |_, _| {}).unwrap();
    p
}

/// The GPU engine, or `None` (with a note) where no adapter exists and `NEUVIS_GPU_TEST` is unset.
fn gpu(p: &Path, m: Method, budget: Option<usize>) -> Option<GpuEngine> {
    match GpuEngine::open(p, m, budget, W, W) {
        Ok(e) => Some(e),
        Err(RaycastError::Settings(msg)) if msg.contains("no usable adapter") => {
            eprintln!("{msg}: skipping the GPU raycaster tests");
            assert!(
                std::env::var_os("NEUVIS_GPU_TEST").is_none(),
                "NEUVIS_GPU_TEST is set but wgpu finds no adapter"
            );
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn cpu_image(p: &Path, m: Method) -> MaskedImage {
    let e = Engine::open(p, m, None, W, W).unwrap();
    let o = RenderOptions::new(W, W, 12.0);
    e.render(&e.camera(&o, 70.0, 35.0), &o, |_, _| {}).unwrap().0
}

fn gpu_image(e: &GpuEngine) -> (MaskedImage, neuvis_raycast::FrameStats) {
    let o = RenderOptions::new(W, W, 12.0);
    e.render(&e.camera(&o, 70.0, 35.0), &o, |_, _| {}).unwrap()
}

fn psnr(a: &MaskedImage, b: &MaskedImage) -> f64 {
    neuvis_metrics::psnr(a, b).unwrap()
}

#[test]
fn gpu_methods_match_the_cpu_engine() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = store(dir.path());
    let Some(full_gpu) = gpu(&p, Method::Full, None) else {
        return;
    };
    let full = cpu_image(&p, Method::Full);
    assert!(full.coverage() > 0.08, "the view shows the surface");
    let (img, st) = gpu_image(&full_gpu);
    assert_eq!(st.passes, 1, "in-core needs one pass");
    assert!(psnr(&full, &img) >= 50.0, "full: {} dB", psnr(&full, &img));
    // exact bricks through the atlas: the in-core image; dense marching: the CPU's dense image
    // (its lattice skips the brick boundaries' extra samples, so it differs from full slightly)
    for (m, reference) in [
        (Method::Exact, full.clone()),
        (Method::Dense, cpu_image(&p, Method::Dense)),
    ] {
        let e = gpu(&p, m, None).unwrap();
        let (img, _) = gpu_image(&e);
        let db = psnr(&reference, &img);
        eprintln!("{}: {db:.1} dB", m.name());
        assert!(db >= 50.0, "{}: {db} dB against the CPU's image", m.name());
    }
    // the speculative methods that approximate: the GPU gives the CPU's image of the same method
    for m in [Method::Neural, Method::Trilinear] {
        let cpu = cpu_image(&p, m);
        let e = gpu(&p, m, None).unwrap();
        let (img, st) = gpu_image(&e);
        assert!(st.passes > 1 && st.fetched > 0, "{st:?}");
        let db = psnr(&cpu, &img);
        eprintln!("{}: {db:.1} dB", m.name());
        assert!(db >= 50.0, "{}: {db} dB against the CPU's {}", m.name(), m.name());
        // and so the same quality against full, within 0.5 dB
        let (a, b) = (psnr(&full, &cpu), psnr(&full, &img));
        assert!((a - b).abs() <= 0.5, "{}: CPU {a} dB, GPU {b} dB", m.name());
    }
}

#[test]
fn the_network_on_the_gpu_reconstructs_the_cpus_bricks() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = store(dir.path());
    let Some(e) = gpu(&p, Method::Neural, None) else {
        return;
    };
    let cpu = Engine::open(&p, Method::Neural, None, W, W).unwrap();
    let tri = Engine::open(&p, Method::Trilinear, None, W, W).unwrap();
    gpu_image(&e);
    let resident: Vec<usize> = (0..e.store().geometry().nbricks())
        .filter(|&id| e.atlas_brick(id).unwrap().is_some())
        .collect();
    assert!(resident.len() > 10, "{} bricks", resident.len());
    let (mut worst, mut residual) = (0f32, 0f32);
    for &id in &resident {
        let g = e.atlas_brick(id).unwrap().unwrap();
        let (c, t) = (cpu.fetch(id).unwrap(), tri.fetch(id).unwrap());
        for ((a, b), t) in g.iter().zip(&c).zip(&t) {
            worst = worst.max((a - b).abs() / (1.0 + b.abs()));
            residual = residual.max((b - t).abs());
        }
    }
    // the network changes the bricks (its residual is not nothing), and both devices agree to
    // rounding
    assert!(residual > 0.05, "the network's residual {residual}");
    assert!(worst < 1e-4, "GPU and CPU bricks differ by {worst}");
}

#[test]
fn a_budget_of_a_few_bricks_streams_through_the_atlas() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let p = store(dir.path());
    let Some(roomy) = gpu(&p, Method::Exact, None) else {
        return;
    };
    let full = cpu_image(&p, Method::Full);
    let brick = roomy.store().geometry().brick_bytes();
    let nb = roomy.store().geometry().nbricks();
    let budget = roomy.resident_fixed() + 3 * brick;
    let e = gpu(&p, Method::Exact, Some(budget)).unwrap();
    assert_eq!(e.info().atlas_slots, 3);
    assert!(
        e.info().gpu_bytes <= budget,
        "GPU holds {} bytes for a budget of {budget}",
        e.info().gpu_bytes
    );
    let (img, st) = gpu_image(&e);
    let (_, st_roomy) = gpu_image(&roomy);
    assert!(st.passes > st_roomy.passes, "{st:?} vs {st_roomy:?}");
    assert!(st.fetched > 3 && st.fetched > st_roomy.fetched, "{st:?}");
    let (used, cap, cs) = e.cache_state();
    let cap = cap.bytes().expect("a bounded budget");
    assert_eq!(cap, 3 * brick);
    assert!(used <= cap && cs.peak_bytes <= cap && cs.evictions > 0, "{cs:?}");
    let db = psnr(&full, &img);
    assert!(db >= 50.0, "{db} dB");
    // the first pass of a cold atlas comes from the base alone, later passes converge to the image
    let e = gpu(&p, Method::Exact, Some(budget)).unwrap();
    let o = RenderOptions::new(W, W, 12.0);
    let mut frames = Vec::new();
    e.render(&e.camera(&o, 70.0, 35.0), &o, |im, _| frames.push(im.clone()))
        .unwrap();
    assert!(frames.len() > 2 && frames[0].coverage() > 0.05);
    assert!(psnr(&full, &frames[0]) < db);
    // a budget below one brick is refused by name; the whole store fits an unbounded atlas
    let err = GpuEngine::open(&p, Method::Exact, Some(roomy.resident_fixed() + brick / 2), W, W)
        .err()
        .expect("too small");
    assert!(err.to_string().contains("too small"), "{err}");
    assert_eq!(roomy.info().atlas_slots, nb);
}
