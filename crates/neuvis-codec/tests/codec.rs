//! Codec tests: learning, container exactness, damaged files, exact resume.

use burn::prelude::*;
use neuvis_codec::codec::{build_container, dequantized, Decoder};
use neuvis_codec::train::{train, Checkpointing, TrainOptions};
use neuvis_codec::weights::{collect, load};
use neuvis_codec::{Dataset, Nrvi};
use neuvis_collection::{CinemaDb, DbWriter, MaskedImage, View};
use neuvis_nn::{Arch, NerviNet, NetConfig};
use std::path::Path;

/// 16 images of 32²: a disc whose position follows (θ, φ) and whose colour follows t, on white.
fn collection(dir: &Path) -> CinemaDb {
    let target = dir.join("c.cdb");
    let mut w = DbWriter::create(&target, &serde_json::json!({}), false, false).unwrap();
    let views: Vec<View> = (0..2)
        .flat_map(|t| {
            (0..2).flat_map(move |a| {
                (0..4).map(move |b| View {
                    step: t,
                    time: t as f64,
                    theta: 45.0 + 90.0 * a as f64,
                    phi: 90.0 * b as f64,
                })
            })
        })
        .collect();
    w.prepare(&views).unwrap();
    for v in &views {
        let (cx, cy) = (8.0 + v.phi as f32 / 90.0 * 5.0, 10.0 + v.theta as f32 / 90.0 * 6.0);
        let mut rgb = vec![255u8; 32 * 32 * 3];
        let mut mask = vec![0u8; 32 * 32];
        for y in 0..32 {
            for x in 0..32 {
                if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < 36.0 {
                    let i = y * 32 + x;
                    rgb[3 * i..3 * i + 3].copy_from_slice(&[200 - 120 * v.step as u8, 60 + 100 * v.step as u8, 90]);
                    mask[i] = 255;
                }
            }
        }
        w.write(v, &MaskedImage::new(32, 32, rgb, mask).unwrap()).unwrap();
        w.push(*v);
    }
    w.finish().unwrap();
    CinemaDb::open(&target).unwrap()
}

fn opts(epochs: usize) -> TrainOptions {
    TrainOptions {
        net: NetConfig {
            skip: neuvis_nn::Skip::ProjectTile, // the CLI's default
            ..NetConfig::for_image(Arch::Nervi, 32, 32, 16, 16, 16).unwrap()
        },
        epochs,
        lr: 3e-3,
        warmup: 0.1,
        batch: 4,
        seed: 5,
        alpha: 0.7,
    }
}

fn psnr(a: &MaskedImage, b: &MaskedImage) -> f64 {
    neuvis_metrics::psnr(a, b).unwrap()
}

#[test]
fn learns_well_above_the_mean_image_and_survives_the_container() {
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    let data = Dataset::load(&db).unwrap();
    let device = Device::flex();
    let (net, hist) = train(&data, &opts(60), &device, None, |_, _, _, _, _| {}).unwrap();
    assert!(hist.last().unwrap().loss < hist[0].loss);
    // the mean-image baseline: every image predicted by the per-pixel mean of the collection
    let n = data.len();
    let mean: Vec<u8> = (0..32 * 32 * 3)
        .map(|i| (data.rgb.iter().map(|r| r[i] as f64).sum::<f64>() / n as f64).round() as u8)
        .collect();
    let mean_img = MaskedImage::new(32, 32, mean, vec![255; 1024]).unwrap();
    let gt: Vec<MaskedImage> = (0..n).map(|i| db.load(i).unwrap()).collect();
    let base = gt.iter().map(|g| psnr(g, &mean_img)).sum::<f64>() / n as f64;
    // quantize (9 bits), serialize, parse, decode
    let file = build_container(&net, &opts(1).net, &data, 9, serde_json::json!({})).unwrap();
    let bytes = file.to_bytes().unwrap();
    let parsed = Nrvi::from_bytes(&bytes).unwrap();
    assert_eq!(parsed, file, "container round trip is exact");
    let dec = Decoder::new(&parsed, &device).unwrap();
    let imgs = dec.decode(&data.params, 5).unwrap();
    let ours = gt.iter().zip(&imgs).map(|(g, i)| psnr(g, i)).sum::<f64>() / n as f64;
    assert!(
        ours > base + 6.0,
        "decoded PSNR {ours:.2} dB vs mean-image baseline {base:.2} dB"
    );
    // bit-exact against the in-memory quantized model
    let in_mem = load(NerviNet::new(&opts(1).net, 99, &device), &dequantized(&file), &device).unwrap();
    let same = Decoder::from_net(file.header.clone(), in_mem, &device)
        .unwrap()
        .decode(&data.params, 16)
        .unwrap();
    assert_eq!(same, imgs);
    // the direct CPU engine agrees with burn's forward pass (the reference): rounding to 8 bits
    // may differ by one level where the two float summation orders straddle a half level
    let burn = Decoder::with_burn(&parsed, &device)
        .unwrap()
        .decode(&data.params, 5)
        .unwrap();
    let (mut max_diff, mut mask_diff) = (0u8, 0usize);
    for (a, b) in burn.iter().zip(&imgs) {
        max_diff = max_diff.max(a.rgb().iter().zip(b.rgb()).map(|(x, y)| x.abs_diff(*y)).max().unwrap());
        mask_diff += a.mask().iter().zip(b.mask()).filter(|(x, y)| x != y).count();
    }
    assert!(max_diff <= 1, "CPU engine vs burn: {max_diff} levels");
    assert!(mask_diff <= n * 32 * 32 / 1000, "{mask_diff} mask pixels differ");
    // the file is much smaller than the raw images only for real collections; here just check accounting
    assert_eq!(file.header.raw_bytes, (n * 32 * 32 * 3) as u64);
    // quantized weights are within half a step of the trained ones
    for (t, info) in collect(&net).iter().zip(&file.header.tensors) {
        let step = (info.max - info.min) as f64 / 511.0;
        let q = dequantized(&file);
        let qt = q.iter().find(|x| x.name == t.name).unwrap();
        for (a, b) in t.data.iter().zip(&qt.data) {
            assert!(((a - b) as f64).abs() <= step / 2.0 + 1e-6);
        }
    }
}

#[test]
fn damaged_and_hostile_files_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    let data = Dataset::load(&db).unwrap();
    let device = Device::flex();
    let net = NerviNet::new(&opts(1).net, 1, &device);
    let bytes = build_container(&net, &opts(1).net, &data, 9, serde_json::json!({}))
        .unwrap()
        .to_bytes()
        .unwrap();
    assert!(Nrvi::from_bytes(&bytes).is_ok());
    let err = |b: &[u8]| Nrvi::from_bytes(b).unwrap_err().to_string();
    assert!(err(b"PNG\x89rest").contains("wrong magic"));
    assert!(err(&bytes[..10]).contains("truncated"));
    for cut in [20, bytes.len() / 3, bytes.len() / 2, bytes.len() - 5, bytes.len() - 1] {
        assert!(Nrvi::from_bytes(&bytes[..cut]).is_err(), "truncated at {cut}");
    }
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x10;
    assert!(err(&flipped).contains("CRC"));
    // hostile: valid CRC but absurd lengths
    let recrc = |mut b: Vec<u8>| {
        let n = b.len() - 4;
        let c = neuvis_codec::container::crc32(&b[..n]);
        b[n..].copy_from_slice(&c.to_le_bytes());
        b
    };
    let mut huge_header = bytes.clone();
    huge_header[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(err(&recrc(huge_header)).contains("header length"));
    // the packed section: u32 header length, JSON, one code length per symbol
    let plen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let mut packed = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::DeflateDecoder::new(&bytes[12..12 + plen]),
        &mut packed,
    )
    .unwrap();
    let hlen = u32::from_le_bytes(packed[..4].try_into().unwrap()) as usize;
    let text = String::from_utf8(packed[4..4 + hlen].to_vec()).unwrap();
    let lengths = packed[4 + hlen..].to_vec();
    assert_eq!(lengths.len(), 512, "9 bits: one code length per symbol");
    let rebuild = |json: &[u8], lengths: &[u8]| {
        let p = neuvis_codec::container::pack(json, lengths);
        let mut b = bytes[..8].to_vec();
        b.extend((p.len() as u32).to_le_bytes());
        b.extend(&p);
        b.extend(&bytes[12 + plen..]);
        recrc(b)
    };
    assert!(Nrvi::from_bytes(&rebuild(text.as_bytes(), &lengths)).is_ok());
    // a code-length table of the wrong size, an over-subscribed one, garbage instead of DEFLATE
    assert!(err(&rebuild(text.as_bytes(), &lengths[..100])).contains("code lengths"));
    assert!(err(&rebuild(text.as_bytes(), &[1u8; 512])).contains("over-subscribed"));
    let mut garbage = bytes.clone();
    garbage[12..12 + plen].fill(0xFF);
    assert!(err(&recrc(garbage)).contains("packed header"));
    // a deflate bomb: 64 MiB of zeros in a few kB inflates no further than the limit
    let bomb = neuvis_codec::container::pack(&[], &vec![0u8; 64 << 20]);
    let mut b = bytes[..8].to_vec();
    b.extend((bomb.len() as u32).to_le_bytes());
    b.extend(&bomb);
    b.extend(&bytes[12 + plen..]);
    assert!(err(&recrc(b)).contains("beyond 1 MiB"));
    // a header whose network claims billions of weights
    let big = text.replacen("\"c1\":16", "\"c1\":60000", 1);
    assert_ne!(big, text);
    assert!(Nrvi::from_bytes(&rebuild(big.as_bytes(), &lengths)).is_err());
    // version 1 (plain JSON header, (symbol, length) triples) still reads to the same model, and
    // is larger by the header and table bytes that version 2 deflates
    let mut v1 = b"NRVI".to_vec();
    v1.extend(1u16.to_le_bytes());
    v1.extend(0u16.to_le_bytes());
    v1.extend((hlen as u32).to_le_bytes());
    v1.extend(text.as_bytes());
    let used: Vec<(u16, u8)> = lengths
        .iter()
        .enumerate()
        .filter(|(_, &l)| l > 0)
        .map(|(s, &l)| (s as u16, l))
        .collect();
    v1.extend((used.len() as u32).to_le_bytes());
    for (sym, l) in &used {
        v1.extend(sym.to_le_bytes());
        v1.push(*l);
    }
    v1.extend(&bytes[12 + plen..bytes.len() - 4]);
    v1.extend([0; 4]);
    let v1 = recrc(v1);
    assert_eq!(Nrvi::from_bytes(&v1).unwrap(), Nrvi::from_bytes(&bytes).unwrap());
    assert!(
        v1.len() > bytes.len() + (hlen + 3 * used.len()) / 2,
        "version 2 ({} bytes) should save over half of version 1's header and table ({} of {} bytes)",
        bytes.len(),
        hlen + 3 * used.len(),
        v1.len()
    );
    // an unknown format version
    let mut v9 = bytes.clone();
    v9[4..6].copy_from_slice(&9u16.to_le_bytes());
    assert!(err(&recrc(v9)).contains("version 9"));
    // random corruption never panics
    let mut rng = neuvis_volume::procedural::SplitMix64(3);
    for _ in 0..300 {
        let mut b = bytes.clone();
        for _ in 0..1 + rng.next_u64() % 4 {
            let i = (rng.next_u64() as usize) % b.len();
            b[i] = rng.next_u64() as u8;
        }
        let _ = Nrvi::from_bytes(&recrc(b));
    }
}

#[test]
fn resume_after_a_kill_gives_the_same_weights() {
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    let data = Dataset::load(&db).unwrap();
    let device = Device::flex();
    let o = opts(4);
    let ck_full = Checkpointing {
        dir: d.path().join("full.ckpt"),
        every: 2,
        resume: false,
    };
    let (full, _) = train(&data, &o, &device, Some(&ck_full), |_, _, _, _, _| {}).unwrap();
    // the same run, killed in epoch 3 (after the epoch-2 checkpoint)
    let ck = Checkpointing {
        dir: d.path().join("run.ckpt"),
        every: 2,
        resume: false,
    };
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(&data, &o, &device, Some(&ck), |e, k, _, _, _| {
            if e == 3 && k == 2 {
                panic!("simulated kill");
            }
        })
    }));
    assert!(killed.is_err());
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ck.dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["epochs_done"], 2);
    let resumed_ck = Checkpointing { resume: true, ..ck };
    let (resumed, hist) = train(&data, &o, &device, Some(&resumed_ck), |_, _, _, _, _| {}).unwrap();
    assert_eq!(hist.len(), 4);
    let (a, b) = (collect(&full), collect(&resumed));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.data, y.data, "{} differs after resume", x.name);
    }
    // other options are refused
    let other = TrainOptions { lr: 1e-2, ..o };
    let e = train(&data, &other, &device, Some(&resumed_ck), |_, _, _, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("other options"), "{e}");
}

#[test]
fn cpu_engine_matches_burn_for_every_skip_variant() {
    use neuvis_codec::cpu::CpuNet;
    use neuvis_nn::Skip;
    let device = Device::flex();
    for skip in [
        Skip::Project,
        Skip::ProjectTile,
        Skip::ProjectNone,
        Skip::Tile,
        Skip::None,
    ] {
        let cfg = NetConfig {
            skip,
            ..NetConfig::for_image_plan(Arch::Nervi, 32, 32, 10, 5, 10, neuvis_nn::Plan::Start(8)).unwrap()
        };
        let net = NerviNet::new(&cfg, 3, &device);
        let cpu = CpuNet::new(&cfg, &collect(&net)).unwrap();
        let x: Vec<f32> = (0..cfg.pe_dim()).map(|i| (i as f32 * 0.37).sin()).collect();
        let ours = cpu.forward(&x);
        let reference = net
            .forward(Tensor::<1>::from_floats(x.as_slice(), &device).reshape([1, cfg.pe_dim()]))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(ours.len(), reference.len());
        let err = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err < 1e-4, "{skip:?}: max difference {err}");
    }
}
