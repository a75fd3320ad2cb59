//! The brick store, the octree, the cache and the speculative raycaster against independent
//! references: the source field itself, brute-force ranges, `neuvis-render`'s raycaster.

use neuvis_raycast::cache::BrickCache;
use neuvis_raycast::engine::assemble;
use neuvis_raycast::geom::Geometry;
use neuvis_raycast::octree::Octree;
use neuvis_raycast::prepare::{FieldSource, TrainingData, TurbulenceSource};
use neuvis_raycast::sr::{Norm, SrConfig, SrNet};
use neuvis_raycast::{prepare, Engine, Method, PrepareOptions, RenderOptions, Store, StoreKind};
use neuvis_render::{Mode, RenderSettings, Renderer};
use neuvis_volume::{ScalarField, Turbulence};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A smooth field with odd sizes (bricks do not divide the grid): sum of a sphere distance and a
/// low-frequency wave.
fn field() -> ScalarField {
    ScalarField::from_fn([37, 29, 45], [1.0, 1.2, 0.9], [-18.0, -17.0, -20.0], |x, y, z| {
        (x * x + y * y + z * z).sqrt() + 2.0 * (0.3 * x).sin() * (0.25 * y).cos()
    })
    .unwrap()
}

fn opts(kind: StoreKind) -> PrepareOptions {
    PrepareOptions {
        brick: 8,
        factor: 2,
        kind,
        train_bricks: 16,
        seed: 1,
        shard: neuvis_base::Shard::WHOLE,
        trainer_settings: Default::default(),
        zfp_rate: if neuvis_raycast::zfp::AVAILABLE {
            Some(12.0)
        } else {
            None
        },
    }
}

fn exact_store(dir: &Path) -> (PathBuf, ScalarField) {
    let f = field();
    let p = dir.join("v.nvb");
    let src = FieldSource {
        field: f.clone(),
        name: "test".into(),
    };
    prepare(&src, &p, &opts(StoreKind::Exact), None, |_, _| {}).unwrap();
    (p, f)
}

#[test]
fn exact_bricks_reproduce_the_volume_bit_for_bit_with_aprons() {
    let dir = tempfile::tempdir().unwrap();
    let (p, f) = exact_store(dir.path());
    let store = Store::open(&p).unwrap();
    let g = *store.geometry();
    assert_eq!(g.bdims, [5, 4, 6]);
    assert_eq!(assemble(&store).unwrap(), f.data());
    // every stored sample, apron included, is the field's sample at the clamped global index
    let [nx, ny, nz] = f.dims();
    let s = g.side();
    for id in [0, 7, g.nbricks() - 1, 33] {
        let b = g.coords(id);
        let data = store.read_brick(id).unwrap();
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for lk in 0..s {
            for lj in 0..s {
                for li in 0..s {
                    let gi = [b[0] * 8 + li, b[1] * 8 + lj, b[2] * 8 + lk].map(|v| v as i64 - 1);
                    let c = |v: i64, n: usize| v.clamp(0, n as i64 - 1) as usize;
                    let want = f.at(c(gi[0], nx), c(gi[1], ny), c(gi[2], nz));
                    assert_eq!(data[li + s * (lj + s * lk)].to_bits(), want.to_bits());
                    // range over the brick's own cells' corner samples
                    let inside = (0..3)
                        .all(|a| gi[a] >= (b[a] * 8) as i64 && gi[a] <= (((b[a] + 1) * 8).min(f.dims()[a] - 1)) as i64);
                    if inside {
                        lo = lo.min(want);
                        hi = hi.max(want);
                    }
                }
            }
        }
        assert_eq!((store.entries[id].min, store.entries[id].max), (lo, hi), "brick {id}");
    }
}

#[test]
fn octree_never_skips_a_brick_whose_range_contains_the_isovalue() {
    let dir = tempfile::tempdir().unwrap();
    let (p, f) = exact_store(dir.path());
    let store = Store::open(&p).unwrap();
    let g = store.geometry();
    let tree = Octree::new(g.bdims, store.entries.iter().map(|e| (e.min, e.max)).collect());
    let (lo, hi) = f.range();
    for i in 0..=40 {
        let iso = lo + (hi - lo) * i as f32 / 40.0;
        let brute: Vec<usize> = (0..g.nbricks())
            .filter(|&id| store.entries[id].min <= iso && iso <= store.entries[id].max)
            .collect();
        assert_eq!(tree.leaves_containing(iso), brute, "iso {iso}");
    }
}

fn render(p: &Path, m: Method, budget: Option<usize>, iso: f32) -> (neuvis_base::MaskedImage, Engine) {
    let e = Engine::open(p, m, budget, 64, 64).unwrap();
    let o = RenderOptions::new(64, 64, iso);
    let cam = e.camera(&o, 70.0, 35.0);
    let (img, _) = e.render(&cam, &o, |_, _| {}).unwrap();
    (img, e)
}

#[test]
fn speculative_exact_equals_full_and_agrees_with_the_reference_renderer() {
    let dir = tempfile::tempdir().unwrap();
    let (p, f) = exact_store(dir.path());
    let (full, _) = render(&p, Method::Full, None, 12.0);
    assert!(full.coverage() > 0.08, "the view shows the surface");
    let (exact, _) = render(&p, Method::Exact, None, 12.0);
    assert_eq!(full, exact);
    // a budget of a few bricks: many passes, evictions, same image
    let e0 = Engine::open(&p, Method::Exact, None, 64, 64).unwrap();
    let tight = e0.resident_fixed() + 3 * e0.store().geometry().brick_bytes();
    let (small, e) = render(&p, Method::Exact, Some(tight), 12.0);
    assert_eq!(full, small);
    let (used, cap, st) = e.cache_state();
    let cap = cap.bytes().expect("a bounded budget");
    assert!(used <= cap && st.peak_bytes <= cap && st.evictions > 0, "{st:?}");
    // the same surface through neuvis-render (independent traversal): nearly the same image
    let mut s = RenderSettings::new(
        64,
        64,
        Mode::Iso {
            value: 12.0,
            color: [0.9, 0.55, 0.25],
        },
    );
    s.fov_deg = 30.0;
    let reference = Renderer::new(&f, s).unwrap().render(70.0, 35.0);
    let diff: usize = full.mask().iter().zip(reference.mask()).filter(|(a, b)| a != b).count();
    assert!(diff <= 10, "{diff} pixels differ in coverage");
    let mse: f64 = full
        .rgb()
        .iter()
        .zip(reference.rgb())
        .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
        .sum::<f64>()
        / full.rgb().len() as f64;
    let psnr = 10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10();
    assert!(psnr > 30.0, "PSNR {psnr} against neuvis-render");
    // dense marching without skipping: same surface
    let (dense, _) = render(&p, Method::Dense, None, 12.0);
    let d2: usize = full.mask().iter().zip(dense.mask()).filter(|(a, b)| a != b).count();
    assert!(d2 <= 10);
}

#[test]
fn first_frame_comes_from_the_base_and_later_passes_converge() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = exact_store(dir.path());
    let e = Engine::open(&p, Method::Exact, None, 64, 64).unwrap();
    let o = RenderOptions::new(64, 64, 12.0);
    let cam = e.camera(&o, 70.0, 35.0);
    let mut frames = Vec::new();
    let (img, st) = e.render(&cam, &o, |im, _| frames.push(im.clone())).unwrap();
    assert!(st.passes >= 2 && st.fetched > 0);
    assert!(
        frames[0].coverage() > 0.08,
        "the base gives a provisional surface at once"
    );
    assert_eq!(frames.last().unwrap(), &img);
    // a second render of the same view is served from the cache in one pass
    let (again, st2) = e.render(&cam, &o, |_, _| {}).unwrap();
    assert_eq!(again, img);
    assert_eq!((st2.passes, st2.fetched, st2.misses), (1, 0, 0));
    assert!(st2.hits > 0);
}

#[test]
fn cache_never_exceeds_its_budget_and_evicts_least_recently_used() {
    let brick = Arc::new(vec![0f32; 1000]); // 4000 bytes
    let mut c = BrickCache::new(10_000);
    assert!(c.insert(1, brick.clone()));
    assert!(c.insert(2, brick.clone()));
    assert!(c.get(1).is_some()); // 1 is now more recent than 2
    assert!(c.insert(3, brick.clone())); // evicts 2
    assert!(c.contains(1) && !c.contains(2) && c.contains(3));
    assert!(c.used() <= 10_000);
    let mut rng = neuvis_base::SplitMix64(3);
    for _ in 0..1000 {
        let id = (rng.next_u64() % 50) as u32;
        let n = 100 + (rng.next_u64() % 2000) as usize;
        if c.get(id).is_none() {
            assert!(c.insert(id, Arc::new(vec![1.0; n])));
        }
        assert!(c.used() <= c.budget());
    }
    assert!(c.stats().peak_bytes <= 10_000);
    assert!(
        !c.insert(99, Arc::new(vec![0.0; 3000])),
        "a brick larger than the budget is refused"
    );
}

#[test]
fn budgets_below_one_brick_and_impossible_methods_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = exact_store(dir.path());
    let e = Engine::open(&p, Method::Exact, None, 64, 64).unwrap();
    let fixed = e.resident_fixed();
    let err = Engine::open(&p, Method::Exact, Some(fixed + 100), 64, 64)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("budget") && err.contains("one brick"), "{err}");
    let err = Engine::open(&p, Method::Neural, None, 64, 64)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no network"), "{err}");
    let o = RenderOptions::new(64, 64, f32::NAN);
    assert!(e.render(&e.camera(&o, 0.0, 0.0), &o, |_, _| {}).is_err());
}

/// Settings that cannot make a store are refused by name before a volume is read, by
/// `PrepareOptions::validate` and by `prepare` itself; an exact store needs no training settings.
#[test]
fn prepare_refuses_bad_settings_by_name() {
    let bad = |o: PrepareOptions, name: &str| {
        let e = o.validate().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains(name), "{name}: {e}");
    };
    bad(
        PrepareOptions {
            train_bricks: 0,
            ..opts(StoreKind::Neural)
        },
        "train bricks 0",
    );
    let mut o = opts(StoreKind::Both);
    o.trainer_settings.lr = -1.0;
    bad(o, "learning rate -1");
    bad(
        PrepareOptions {
            zfp_rate: Some(0.5),
            ..opts(StoreKind::Exact)
        },
        if neuvis_raycast::zfp::AVAILABLE {
            "ZFP rate 0.5"
        } else {
            "without ZFP"
        },
    );
    let mut o = opts(StoreKind::Exact);
    o.train_bricks = 0;
    o.trainer_settings.lr = -1.0;
    assert!(o.validate().is_ok());
    // prepare checks them too, and writes nothing
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.nvb");
    let src = FieldSource {
        field: field(),
        name: "f".into(),
    };
    let e = prepare(
        &src,
        &out,
        &PrepareOptions {
            train_bricks: 0,
            ..opts(StoreKind::Exact)
        },
        None,
        |_, _| {},
    );
    assert!(e.is_ok());
    let e = prepare(
        &src,
        &out.with_extension("n.nvb"),
        &PrepareOptions {
            train_bricks: 0,
            ..opts(StoreKind::Neural)
        },
        None,
        |_, _| {},
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("train bricks 0"), "{e}");
    assert!(!out.with_extension("n.nvb").exists());
}

#[test]
fn damaged_and_foreign_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = exact_store(dir.path());
    let bytes = std::fs::read(&p).unwrap();
    let write = |name: &str, b: &[u8]| {
        let q = dir.path().join(name);
        std::fs::write(&q, b).unwrap();
        q
    };
    let msg = |q: &Path| Store::open(q).err().map(|e| e.to_string()).unwrap_or_default();
    let m = msg(&dir.path().join("missing.nvb"));
    assert!(m.contains("missing.nvb"), "{m}");
    let m = msg(&write("short.nvb", &bytes[..10]));
    assert!(m.contains("short.nvb") && m.contains("not a neuvis brick store"), "{m}");
    let m = msg(&write("trunc.nvb", &bytes[..bytes.len() - 5]));
    assert!(m.contains("truncated") || m.contains("end marker"), "{m}");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(200, 0);
    let m = msg(&write("image.nvb", &png));
    assert!(m.contains("wrong magic"), "{m}");
    // a flipped byte in the header → CRC mismatch
    let n = bytes.len();
    let hoff = u64::from_le_bytes(bytes[n - 32..n - 24].try_into().unwrap()) as usize;
    let mut h = bytes.clone();
    h[hoff + 20] ^= 0x20;
    let m = msg(&write("hdr.nvb", &h));
    assert!(m.contains("header CRC"), "{m}");
    // a flipped byte in the first brick → the store opens, reading that brick fails
    let mut b = bytes.clone();
    let off = Store::open(&p).unwrap().entries[0].offset as usize;
    b[off + 5] ^= 0xFF;
    let q = write("brick.nvb", &b);
    let s = Store::open(&q).unwrap();
    let m = s.read_brick(0).err().unwrap().to_string();
    assert!(m.contains("brick 0") && m.contains("CRC"), "{m}");
    let e = Engine::open(&q, Method::Full, None, 16, 16).err().unwrap().to_string();
    assert!(e.contains("CRC"), "{e}");
    // a flipped byte in the base volume's section, in its zstd frame header (inflating fails
    // first) or in its middle: the damage is named, whichever the decoder meets first
    let base = Store::open(&p).unwrap().header.base;
    for at in [1, base.len as usize / 2] {
        let mut b = bytes.clone();
        b[base.offset as usize + at] ^= 0x5A;
        let m = msg(&write("base.nvb", &b));
        assert!(m.contains("base volume CRC mismatch"), "{m}");
    }
}

#[test]
fn turbulence_streams_in_slabs_and_neural_stores_keep_no_bricks() {
    let dir = tempfile::tempdir().unwrap();
    let src = TurbulenceSource {
        turbulence: Turbulence::with_band(2, 64, 1.0, 6.0).unwrap(),
        dims: [49, 49, 97],
        seed: 2,
    };
    let p = dir.path().join("t.nvb");
    // a stand-in trainer: a zero network (pure trilinear) with the store's shape
    let trainer = |d: &TrainingData| -> neuvis_raycast::Result<Vec<u8>> {
        let cfg = SrConfig {
            factor: d.geometry.factor,
            brick: d.geometry.brick,
            channels: 4,
            hidden: 1,
            pe_freqs: 1,
        };
        let layers = cfg
            .shapes()
            .iter()
            .map(|(w, b)| (vec![0.0; w.iter().product()], vec![0.0; *b]))
            .collect();
        Ok(SrNet {
            config: cfg,
            norm: Norm::of(&d.base),
            layers,
        }
        .to_bytes())
    };
    let mut o = opts(StoreKind::Neural);
    o.zfp_rate = None;
    o.brick = 16;
    o.factor = 4;
    let rep = prepare(&src, &p, &o, Some(&trainer), |_, _| {}).unwrap();
    let full_bytes = (49 * 49 * 97 * 4) as u64;
    assert!(
        rep.max_slab_bytes < full_bytes / 3,
        "slab {} of {}",
        rep.max_slab_bytes,
        full_bytes
    );
    assert_eq!(rep.brick_bytes, 0);
    let store = Store::open(&p).unwrap();
    assert!(
        store.file_len() < full_bytes / 20,
        "a neural store is tiny: {}",
        store.file_len()
    );
    assert!(store.read_brick(0).is_err());
    // a zero network reconstructs exactly the trilinear upsampling
    let en = Engine::open(&p, Method::Neural, None, 32, 32).unwrap();
    let et = Engine::open(&p, Method::Trilinear, None, 32, 32).unwrap();
    for id in [0, 5, 17] {
        assert_eq!(en.fetch(id).unwrap(), et.fetch(id).unwrap());
    }
    assert!(Engine::open(&p, Method::Full, None, 32, 32).is_err());
    // base = box mean of the field around I·f (independent check at an interior base sample)
    let tf = src.turbulence.field([49, 49, 97]).unwrap();
    let g: Geometry = *store.geometry();
    let (bi, bj, bk) = (3usize, 5usize, 11usize);
    let mut sum = 0f64;
    for k in bk * 4 - 2..=bk * 4 + 2 {
        for j in bj * 4 - 2..=bj * 4 + 2 {
            for i in bi * 4 - 2..=bi * 4 + 2 {
                sum += tf.at(i, j, k) as f64;
            }
        }
    }
    let want = sum / 125.0;
    let got = store.base[bi + g.base_dims[0] * (bj + g.base_dims[1] * bk)] as f64;
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
}

#[test]
fn trilinear_bricks_and_both_network_kernels_agree_with_direct_evaluation() {
    use neuvis_raycast::sr::{base_sample, input_patch, trilinear_brick};
    let g = Geometry::new([37, 29, 45], 8, 4).unwrap();
    let mut rng = neuvis_base::SplitMix64(9);
    let base: Vec<f32> = (0..g.base_len()).map(|_| rng.uniform(-1.0, 1.0) as f32).collect();
    for b in [[0, 0, 0], [4, 3, 5], [2, 1, 3]] {
        let t = trilinear_brick(&g, &base, b);
        let s = g.side();
        for (li, lj, lk) in [(0, 0, 0), (3, 5, 7), (10, 10, 10), (1, 9, 4)] {
            let gi = [b[0] * 8 + li, b[1] * 8 + lj, b[2] * 8 + lk].map(|v| v as i64 - 1);
            let p = [0, 1, 2].map(|a| gi[a].clamp(0, g.dims[a] as i64 - 1) as f32 / 4.0);
            assert_eq!(t[li + s * (lj + s * lk)], base_sample(&base, g.base_dims, p));
        }
    }
    let cfg = SrConfig {
        factor: 4,
        brick: 8,
        channels: 16,
        hidden: 2,
        pe_freqs: 2,
    };
    let layers = cfg
        .shapes()
        .iter()
        .map(|(w, b)| {
            let n: usize = w.iter().product();
            (
                (0..n).map(|_| rng.uniform(-0.2, 0.2) as f32).collect(),
                (0..*b).map(|_| rng.uniform(-0.1, 0.1) as f32).collect(),
            )
        })
        .collect();
    let net = SrNet {
        config: cfg,
        norm: Norm::of(&base),
        layers,
    };
    let x = input_patch(&cfg, &g, &base, net.norm, [1, 2, 3]);
    let (a, b) = (net.forward_with(&x, false), net.forward_with(&x, true));
    let err = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
    assert!(err < 1e-4, "SIMD and portable kernels differ by {err}");
    // both against the textbook convolution, on a patch whose positional channels are constant
    // (folded into the first layer's bias) and on one where every channel is constant
    let uniform = {
        let vol = cfg.in_side().pow(3);
        let mut u = x.clone();
        u[..vol].fill(0.37);
        u
    };
    for patch in [&x, &uniform] {
        let want = naive_forward(&net, patch);
        for simd in [false, true] {
            let got = net.forward_with(patch, simd);
            let err = got.iter().zip(&want).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
            assert!(
                err < 1e-4,
                "simd {simd}: the network differs from direct convolution by {err}"
            );
        }
    }
    // a reconstructed brick is the trilinear brick plus the residual of its output cell and
    // sub-position, scaled by the normalization
    let b = [1, 2, 3];
    let r = net.forward(&input_patch(&cfg, &g, &base, net.norm, b));
    let tri = trilinear_brick(&g, &base, b);
    let rec = net.reconstruct(&g, &base, b);
    let (s, pv) = (g.side(), cfg.out_side().pow(3));
    for lk in 0..s {
        for lj in 0..s {
            for li in 0..s {
                let (c, cell) = neuvis_raycast::sr::out_index(&cfg, [li, lj, lk]);
                let i = li + s * (lj + s * lk);
                let want = tri[i] + r[c * pv + cell] * net.norm.std;
                assert!(
                    (rec[i] - want).abs() < 1e-5,
                    "sample {li},{lj},{lk}: {} vs {want}",
                    rec[i]
                );
            }
        }
    }
}

/// The brick network evaluated as written: valid 3-D convolutions over channel-major `[C, P³]`
/// tensors in f64, exact-form GELU between them.
fn naive_forward(net: &SrNet, input: &[f32]) -> Vec<f32> {
    let erf = |x: f64| -> f64 {
        let a = x.abs();
        let e = if a < 2.0 {
            // Taylor series
            let (mut sum, mut term, mut n) = (0f64, a, 0);
            while term.abs() > 1e-18 {
                sum += term / (2 * n + 1) as f64;
                n += 1;
                term *= -a * a / n as f64;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc by its continued fraction e^{−a²}/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + …))))
            let mut k = 0f64;
            for n in (1..80).rev() {
                k = (n as f64 / 2.0) / (a + k);
            }
            1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + k)
        };
        e.copysign(x)
    };
    // table values (Abramowitz–Stegun 7.1)
    assert!((erf(1.0) - 0.842_700_792_949_714_9).abs() < 1e-12);
    assert!((erf(-2.5) + 0.999_593_047_982_555).abs() < 1e-12);
    let cfg = net.config;
    let mut side = cfg.in_side();
    let mut x: Vec<f64> = input.iter().map(|&v| v as f64).collect();
    let n = net.layers.len();
    for (li, (w, b)) in net.layers.iter().enumerate() {
        let k = if li + 1 == n { 1 } else { 3 };
        let (cout, cin, os) = (b.len(), x.len() / side.pow(3), side + 1 - k);
        let mut y = vec![0f64; cout * os.pow(3)];
        for co in 0..cout {
            for oz in 0..os {
                for oy in 0..os {
                    for ox in 0..os {
                        let mut acc = b[co] as f64;
                        for ci in 0..cin {
                            for dz in 0..k {
                                for dy in 0..k {
                                    for dx in 0..k {
                                        let wv = w[(((co * cin + ci) * k + dz) * k + dy) * k + dx] as f64;
                                        acc += wv
                                            * x[ci * side.pow(3) + (ox + dx) + side * ((oy + dy) + side * (oz + dz))];
                                    }
                                }
                            }
                        }
                        let v = if li + 1 == n {
                            acc
                        } else {
                            0.5 * acc * (1.0 + erf(acc / std::f64::consts::SQRT_2))
                        };
                        y[co * os.pow(3) + ox + os * (oy + os * oz)] = v;
                    }
                }
            }
        }
        x = y;
        side = os;
    }
    x.into_iter().map(|v| v as f32).collect()
}

#[cfg(feature = "zfp")]
#[test]
fn compressed_bricks_decode_close_to_the_volume_and_render_close_to_full() {
    let dir = tempfile::tempdir().unwrap();
    let (p, f) = exact_store(dir.path()); // written with ZFP at 12 bits per value
    let store = Store::open(&p).unwrap();
    let g = *store.geometry();
    let (lo, hi) = f.range();
    for id in [0, 17, g.nbricks() - 1] {
        let exact = store.read_brick(id).unwrap();
        let z = neuvis_raycast::zfp::decompress(&store.read_zfp(id).unwrap(), g.side(), 12.0).unwrap();
        let err = exact.iter().zip(&z).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(err > 0.0 && err < 0.01 * (hi - lo), "ZFP error {err} (lossy but small)");
    }
    let (full, _) = render(&p, Method::Full, None, 12.0);
    let (comp, e) = render(&p, Method::Compressed, None, 12.0);
    assert!(
        e.resident_fixed() > Engine::open(&p, Method::Exact, None, 64, 64).unwrap().resident_fixed(),
        "compressed bricks are resident"
    );
    let mse: f64 = full
        .rgb()
        .iter()
        .zip(comp.rgb())
        .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
        .sum::<f64>()
        / full.rgb().len() as f64;
    assert!(10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10() > 30.0);
    assert!(
        neuvis_raycast::zfp::decompress(&[0u8; 7], g.side(), 12.0).is_none(),
        "wrong length refused"
    );
}

#[test]
fn raw_files_stream_into_a_store_that_reproduces_them_and_bad_sizes_fail() {
    use neuvis_raycast::prepare::RawSource;
    use neuvis_volume::{DType, RawSpec};
    let dir = tempfile::tempdir().unwrap();
    let f = field();
    let raw = dir.path().join("v.raw");
    let bytes: Vec<u8> = f.data().iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&raw, &bytes).unwrap();
    let src = RawSource::open(&raw, RawSpec::new(f.dims(), DType::F32)).unwrap();
    let p = dir.path().join("r.nvb");
    let rep = prepare(&src, &p, &opts(StoreKind::Exact), None, |_, _| {}).unwrap();
    assert!(rep.max_slab_bytes < (bytes.len() as u64) / 2, "read in slabs");
    assert_eq!(assemble(&Store::open(&p).unwrap()).unwrap(), f.data());
    std::fs::write(&raw, &bytes[..bytes.len() - 4]).unwrap();
    let e = RawSource::open(&raw, RawSpec::new(f.dims(), DType::F32))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("v.raw") && e.contains("bytes"), "{e}");
}
