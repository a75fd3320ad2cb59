//! Codec tests: learning, container exactness, damaged files, exact resume.

use burn::prelude::*;
use neuvis_codec::codec::{build_container, dequantized, Decoder};
use neuvis_codec::quant::BitWidths;
use neuvis_codec::train::{train, Checkpointing, TrainOptions};
use neuvis_codec::weights::{collect, load};
use neuvis_codec::{Arch, NerviNet, NetConfig};
use neuvis_codec::{Dataset, Nrvi};
use neuvis_collection::{CinemaDb, DbWriter, MaskedImage, View};
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
            skip: neuvis_codec::Skip::ProjectTile, // the CLI's default
            ..NetConfig::for_image(Arch::Nervi, 32, 32, 16, 16, 16).unwrap()
        },
        epochs,
        lr: 3e-3,
        warmup: 0.1,
        batch: 4,
        seed: 5,
        alpha: 0.7,
        qat: None,
        mlp_lr: 1.0,
    }
}

fn psnr(a: &MaskedImage, b: &MaskedImage) -> f64 {
    neuvis_metrics::psnr(a, b).unwrap()
}

/// `b` with its trailing CRC recomputed, so a test reaches the checks behind the CRC.
fn recrc(mut b: Vec<u8>) -> Vec<u8> {
    let n = b.len() - 4;
    let c = neuvis_codec::container::crc32(&b[..n]);
    b[n..].copy_from_slice(&c.to_le_bytes());
    b
}

/// The error message of parsing `b`.
fn parse_err(b: &[u8]) -> String {
    Nrvi::from_bytes(b).unwrap_err().to_string()
}

/// A version-2/3 file's packed section, inflated: (its deflated length, the header JSON, the
/// code-length tables).
fn unpack(bytes: &[u8]) -> (usize, String, Vec<u8>) {
    let plen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let mut packed = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::DeflateDecoder::new(&bytes[12..12 + plen]),
        &mut packed,
    )
    .unwrap();
    let hlen = u32::from_le_bytes(packed[..4].try_into().unwrap()) as usize;
    let text = String::from_utf8(packed[4..4 + hlen].to_vec()).unwrap();
    (plen, text, packed[4 + hlen..].to_vec())
}

/// `bytes` with its packed section replaced by `packed` (raw DEFLATE) and the CRC recomputed.
fn with_packed(bytes: &[u8], packed: &[u8]) -> Vec<u8> {
    let plen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let mut b = bytes[..8].to_vec();
    b.extend((packed.len() as u32).to_le_bytes());
    b.extend(packed);
    b.extend(&bytes[12 + plen..]);
    recrc(b)
}

#[test]
fn learns_well_above_the_mean_image_and_survives_the_container() {
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    let data = Dataset::load(&db).unwrap();
    let device = Device::flex();
    let (net, hist) = train(&data, &opts(300), &device, None, |_, _, _, _, _| {}).unwrap();
    assert!(hist.last().unwrap().loss < hist[0].loss);
    // the mean-image baseline: every image predicted by the per-pixel mean of the collection
    let n = data.len();
    let mean: Vec<u8> = (0..32 * 32 * 3)
        .map(|i| ((0..n).map(|k| data.image(k).unwrap().0[i] as f64).sum::<f64>() / n as f64).round() as u8)
        .collect();
    let mean_img = MaskedImage::new(32, 32, mean, vec![255; 1024]).unwrap();
    let gt: Vec<MaskedImage> = (0..n).map(|i| db.load(i).unwrap()).collect();
    let base = gt.iter().map(|g| psnr(g, &mean_img)).sum::<f64>() / n as f64;
    // quantize (9 bits), serialize, parse, decode
    let file = build_container(&net, &opts(1).net, &data, BitWidths::uniform(9), serde_json::json!({})).unwrap();
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
    // each time step keeps its own colour (red 200 at t = 0, 80 at t = 1): the first and the last
    // time step are told apart, not both decoded as their average (140), as they were while the
    // time range was normalized onto one period of the positional encoding
    for (k, (g, img)) in gt.iter().zip(&imgs).enumerate() {
        let inside: Vec<usize> = (0..32 * 32).filter(|&i| g.mask()[i] == 255).collect();
        let red = inside.iter().map(|&i| img.rgb()[3 * i] as f64).sum::<f64>() / inside.len() as f64;
        let want = if data.params[k][0] == 0.0 { 200.0 } else { 80.0 };
        assert!(
            (red - want).abs() < 30.0,
            "view {k} at t = {}: the disc's red is {red:.0}, its time step's is {want}",
            data.params[k][0]
        );
    }
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
    let bytes = build_container(&net, &opts(1).net, &data, BitWidths::uniform(9), serde_json::json!({}))
        .unwrap()
        .to_bytes()
        .unwrap();
    assert!(Nrvi::from_bytes(&bytes).is_ok());
    assert_eq!(
        bytes[4..6],
        4u16.to_le_bytes(),
        "two time steps: a time span, written as format version 4"
    );
    // without the time span (one time step, or a file from before it), one width is version 2,
    // and a time span in a file that says version 3 is refused
    let mut single = Nrvi::from_bytes(&bytes).unwrap();
    single.header.params.time_span = None;
    let v2 = single.to_bytes().unwrap();
    assert_eq!(v2[4..6], 2u16.to_le_bytes(), "one width: written as format version 2");
    let mut relabelled = bytes.clone();
    relabelled[4..6].copy_from_slice(&3u16.to_le_bytes());
    assert!(
        parse_err(&recrc(relabelled)).contains("needs format version 4"),
        "a version-3 file with a time span"
    );
    let bytes = v2;
    let err = parse_err;
    assert!(err(b"PNG\x89rest").contains("wrong magic"));
    assert!(err(&bytes[..10]).contains("truncated"));
    for cut in [20, bytes.len() / 3, bytes.len() / 2, bytes.len() - 5, bytes.len() - 1] {
        assert!(Nrvi::from_bytes(&bytes[..cut]).is_err(), "truncated at {cut}");
    }
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x10;
    assert!(err(&flipped).contains("CRC"));
    // hostile: valid CRC but absurd lengths
    let mut huge_header = bytes.clone();
    huge_header[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(err(&recrc(huge_header)).contains("header length"));
    // the packed section: u32 header length, JSON, one code length per symbol
    let (plen, text, lengths) = unpack(&bytes);
    let hlen = text.len();
    assert_eq!(lengths.len(), 512, "9 bits: one code length per symbol");
    let rebuild = |json: &[u8], lengths: &[u8]| with_packed(&bytes, &neuvis_codec::container::pack(json, lengths));
    assert!(Nrvi::from_bytes(&rebuild(text.as_bytes(), &lengths)).is_ok());
    // a code-length table of the wrong size, an over-subscribed one, garbage instead of DEFLATE
    assert!(err(&rebuild(text.as_bytes(), &lengths[..100])).contains("code lengths"));
    assert!(err(&rebuild(text.as_bytes(), &[1u8; 512])).contains("over-subscribed"));
    let mut garbage = bytes.clone();
    garbage[12..12 + plen].fill(0xFF);
    assert!(err(&recrc(garbage)).contains("packed header"));
    // a deflate bomb: 64 MiB of zeros in a few kB inflates no further than the limit
    let bomb = neuvis_codec::container::pack(&[], &vec![0u8; 64 << 20]);
    assert!(err(&with_packed(&bytes, &bomb)).contains("beyond 1 MiB"));
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
    let mut rng = neuvis_base::SplitMix64(3);
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
    use neuvis_codec::Skip;
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
            ..NetConfig::for_image_plan(Arch::Nervi, 32, 32, 10, 5, 10, neuvis_codec::Plan::Start(8)).unwrap()
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

/// Mean PSNR of the images decoded from `net` quantized to `bits`, against the collection.
fn quantized_psnr(net: &NerviNet, data: &Dataset, db: &CinemaDb, bits: u32) -> f64 {
    let device = Device::flex();
    let file = build_container(net, &opts(1).net, data, BitWidths::uniform(bits), serde_json::json!({})).unwrap();
    let imgs = Decoder::new(&file, &device).unwrap().decode(&data.params, 16).unwrap();
    imgs.iter()
        .enumerate()
        .map(|(i, im)| psnr(&db.load(i).unwrap(), im))
        .sum::<f64>()
        / imgs.len() as f64
}

#[test]
fn quantization_aware_fine_tuning_recovers_low_bit_models() {
    use neuvis_codec::train::Qat;
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    let data = Dataset::load(&db).unwrap();
    let device = Device::flex();
    let bits = 3;
    let (plain, _) = train(&data, &opts(60), &device, None, |_, _, _, _, _| {}).unwrap();
    let with_qat = TrainOptions {
        qat: Some(Qat {
            bits: BitWidths::uniform(bits),
            epochs: 20,
        }),
        ..opts(60)
    };
    let (qat, hist) = train(&data, &with_qat, &device, None, |_, _, _, _, _| {}).unwrap();
    // the float weights keep moving while the forward pass sees the quantized ones
    assert!(hist[59].loss < hist[40].loss, "{:?}", (hist[40].loss, hist[59].loss));
    let (p_plain, p_qat) = (
        quantized_psnr(&plain, &data, &db, bits),
        quantized_psnr(&qat, &data, &db, bits),
    );
    assert!(
        p_qat > p_plain + 1.0,
        "{bits}-bit PSNR: {p_plain:.2} dB after training, {p_qat:.2} dB with fine-tuning"
    );
    // and nearly as good as the plain network without quantization (measured: 20.4 dB plain at
    // 3 bits, 23.6 dB fine-tuned, 24.3 dB at 16 bits)
    let p_float = quantized_psnr(&plain, &data, &db, 16);
    assert!(p_qat > p_float - 1.5, "{p_qat:.2} dB vs {p_float:.2} dB unquantized");
    // more epochs than the run, or impossible bits, are refused
    let q = |b, epochs| Qat {
        bits: BitWidths { mlp: bits, conv: b },
        epochs,
    };
    for q in [q(bits, 61), q(0, 5), q(17, 5)] {
        let o = TrainOptions {
            qat: Some(q),
            ..opts(60)
        };
        assert!(train(&data, &o, &device, None, |_, _, _, _, _| {}).is_err());
    }
}

#[test]
fn mlp_and_convolutions_at_different_widths() {
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    let data = Dataset::load(&db).unwrap();
    let device = Device::flex();
    let net = NerviNet::new(&opts(1).net, 1, &device);
    let bits = BitWidths { mlp: 10, conv: 6 };
    let mut file = build_container(&net, &opts(1).net, &data, bits, serde_json::json!({})).unwrap();
    // two widths without a time span (a one-step grid, or a file from before it): version 3
    file.header.params.time_span = None;
    let bytes = file.to_bytes().unwrap();
    assert_eq!(bytes[4..6], 3u16.to_le_bytes());
    let parsed = Nrvi::from_bytes(&bytes).unwrap();
    assert_eq!(parsed, file);
    assert_eq!(parsed.header.bits, 10);
    // every tensor within half a step of its own width, its symbols inside its alphabet
    let mut off = 0;
    for ((t, info), deq) in collect(&net)
        .iter()
        .zip(&parsed.header.tensors)
        .zip(dequantized(&parsed))
    {
        // the head takes the wider width (see BitWidths::for_tensor)
        let w = if t.name.starts_with("ups.") { 6 } else { 10 };
        assert_eq!(info.bits(parsed.header.bits), w, "{}", t.name);
        assert_eq!(info.bits.is_some(), w == 6);
        let n = t.data.len();
        assert!(parsed.symbols[off..off + n].iter().all(|&s| (s as u32) < 1 << w));
        off += n;
        let step = (info.max - info.min) as f64 / ((1u32 << w) - 1) as f64;
        for (a, b) in t.data.iter().zip(&deq.data) {
            assert!(((a - b) as f64).abs() <= step / 2.0 + 1e-6, "{}", t.name);
        }
    }
    assert!(Decoder::new(&parsed, &device).is_ok());
    // hostile headers: relabelled as version 2, a tensor wider than the file, a zero-bit tensor
    let err = parse_err;
    let mut v2 = bytes.clone();
    v2[4..6].copy_from_slice(&2u16.to_le_bytes());
    assert!(err(&recrc(v2)).contains("need format version 3"));
    let (plen, text, tables) = unpack(&bytes);
    // layout: 12 fixed bytes, the packed section, the symbol count, (bits, stream) per width, CRC
    let streams = parsed.coded_bits();
    assert_eq!(
        streams.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(),
        vec![
            (6, opts(1).net.upscale_param_count()),
            (10, opts(1).net.mlp_param_count() + opts(1).net.head_param_count())
        ]
    );
    let payload: usize = streams.iter().map(|s| 8 + s.2.div_ceil(8) as usize).sum();
    assert_eq!(bytes.len(), 12 + plen + 8 + payload + 4);
    assert_eq!(tables.len(), 64 + 1024, "one code-length table per width");
    let rebuild = |json: &str| with_packed(&bytes, &neuvis_codec::container::pack(json.as_bytes(), &tables));
    assert_eq!(Nrvi::from_bytes(&rebuild(&text)).unwrap(), file);
    for (bad, msg) in [("\"bits\":12", "has 12 bits"), ("\"bits\":0", "has 0 bits")] {
        let t = text.replacen("\"bits\":6", bad, 1);
        assert_ne!(t, text);
        assert!(err(&rebuild(&t)).contains(msg), "{bad}: {}", err(&rebuild(&t)));
    }
}

/// Adam's first step moves every weight with a non-negligible gradient by the learning rate
/// (m̂ = g, v̂ = g², so the update is lr·g/(|g| + ε)): after one step with `mlp_lr = 0.1` the largest
/// change of each MLP tensor is (just under) 0.1·lr and that of each convolution lr.
#[test]
fn the_mlp_learning_rate_factor_scales_only_the_mlp() {
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    let data = Dataset::load(&db).unwrap();
    let device = Device::flex();
    let o = TrainOptions {
        batch: 16, // one step
        mlp_lr: 0.1,
        ..opts(1)
    };
    let before = collect(&NerviNet::new(&o.net, o.seed, &device));
    let (after, _) = train(&data, &o, &device, None, |_, _, _, _, _| {}).unwrap();
    let after = collect(&after);
    assert_eq!(before.len(), after.len());
    let (mut mlp, mut conv) = (0, 0);
    for (b, a) in before.iter().zip(&after) {
        let moved = b
            .data
            .iter()
            .zip(&a.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max) as f64;
        let expect = if b.name.starts_with("mlp") {
            mlp += 1;
            o.lr * o.mlp_lr
        } else {
            conv += 1;
            o.lr
        };
        // lr·|g|/(|g| + ε) never exceeds lr and reaches it when |g| ≫ ε (Adam's ε = 1e-8); a
        // tensor whose largest gradient is only ~50ε moves 2 % less (the ups.0 bias does)
        assert!(
            moved <= 1.01 * expect && moved > 0.9 * expect,
            "{}: largest change {moved:.3e}, Adam's first step should move it by {expect:.3e}",
            b.name
        );
    }
    assert!(mlp >= 4 && conv >= 4, "{mlp} MLP and {conv} other tensors");
    // a factor that is not a positive number is refused
    let e = train(
        &data,
        &TrainOptions { mlp_lr: 0.0, ..o },
        &device,
        None,
        |_, _, _, _, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("MLP"), "{e}");
}

#[test]
fn compress_plans_the_widths_and_bits_it_is_asked_for_and_writes_a_decodable_file() {
    use neuvis_codec::compress::{compress, plan, CompressOptions, Size};
    use neuvis_codec::Plan;
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    let data = Dataset::load(&db).unwrap();
    // explicit widths: C0 = ⌈c1/2⌉ and c2 = c1 on a start-grid plan; NeRVI's MLP two bits finer
    let o = CompressOptions {
        size: Size::Widths {
            c1: 9,
            c0: None,
            c2: None,
        },
        epochs: 2,
        batch: 4,
        ..Default::default()
    };
    let p = plan(&data, "c.cdb", None, &o).unwrap();
    assert_eq!((p.net.c1, p.net.c0, p.net.c2), (9, 5, 9));
    assert_eq!(p.net.arch, Arch::Nervi);
    assert_eq!((p.bits.conv, p.bits.mlp), (7, 9));
    assert_eq!(p.source.collection, "c.cdb");
    // a ratio target: the chosen network is predicted to fit, one step wider would not
    let raw = data.raw_bytes() as f64;
    let o_ratio = CompressOptions {
        size: Size::Ratio(4.0),
        plan: Plan::Start(8),
        ..o.clone()
    };
    let p4 = plan(&data, "c.cdb", None, &o_ratio).unwrap();
    assert!(
        p4.predicted_bytes <= raw / 4.0,
        "{} > {}",
        p4.predicted_bytes,
        raw / 4.0
    );
    let wider = plan(
        &data,
        "c.cdb",
        None,
        &CompressOptions {
            size: Size::Widths {
                c1: p4.net.c1 + 1,
                c0: None,
                c2: None,
            },
            ..o.clone()
        },
    )
    .unwrap();
    assert!(
        wider.predicted_bytes > raw / 4.0,
        "{} ≤ {}",
        wider.predicted_bytes,
        raw / 4.0
    );
    // the written file holds the planned network and decodes on the CPU
    let out = d.path().join("m.nrvi");
    let rep = compress(&data, &p, &o, &out, &Device::flex(), |_, _, _, _, _| {}).unwrap();
    let file = Nrvi::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(file.header.net, p.net);
    assert_eq!(rep.file_bytes, std::fs::metadata(&out).unwrap().len());
    assert_eq!(rep.history.len(), 2);
    let imgs = Decoder::cpu(&file).unwrap().decode(&[[0.0, 45.0, 90.0]], 1).unwrap();
    assert_eq!((imgs[0].width(), imgs[0].height()), (32, 32));
    // options that cannot work are refused before anything is written
    for (bad, what) in [
        (
            CompressOptions {
                qat_epochs: 3,
                ..o.clone()
            },
            "exceed",
        ),
        (
            CompressOptions {
                arch: Arch::Nerv,
                omega0: Some(10.0),
                ..o.clone()
            },
            "omega0",
        ),
        (CompressOptions { bits: 0, ..o.clone() }, "bits"),
        (
            CompressOptions {
                size: Size::Ratio(0.5),
                ..o.clone()
            },
            "ratio",
        ),
    ] {
        let e = plan(&data, "c.cdb", None, &bad).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
    }
}

#[test]
fn streamed_training_equals_in_memory_training() {
    use neuvis_codec::dataset::Residency;
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    let mem = Dataset::open(&db, Residency::Memory).unwrap();
    let stream = Dataset::open(&db, Residency::Stream).unwrap();
    assert!(!mem.is_streamed() && stream.is_streamed());
    // the same pixels, whichever way they are held: compared with the PNG decoder's output
    for i in 0..db.entries.len() {
        let png = db.load(i).unwrap();
        assert_eq!(&*stream.image(i).unwrap().0, png.rgb());
        assert_eq!(&*mem.image(i).unwrap().1, png.mask());
    }
    let device = Device::flex();
    let file = |data: &Dataset| {
        let (net, hist) = train(data, &opts(3), &device, None, |_, _, _, _, _| {}).unwrap();
        let f = build_container(&net, &opts(1).net, data, BitWidths::uniform(8), serde_json::json!({})).unwrap();
        (f.to_bytes().unwrap(), hist)
    };
    let (a, ha) = file(&mem);
    let (b, hb) = file(&stream);
    assert_eq!(ha, hb, "the same losses epoch by epoch");
    assert!(
        a == b,
        "the same seed gives the same file from streamed and in-memory images"
    );
}

#[test]
fn streaming_checks_every_image_size_before_training() {
    use neuvis_codec::dataset::Residency;
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    // another program replaced one image with a larger one
    let odd = db.dir.join(&db.entries[5].file);
    MaskedImage::new(40, 32, vec![0; 40 * 32 * 3], vec![255; 40 * 32])
        .unwrap()
        .save_png(&odd)
        .unwrap();
    let e = Dataset::open(&db, Residency::Stream).unwrap_err().to_string();
    assert!(e.contains(&db.entries[5].file) && e.contains("40x32"), "{e}");
    // a truncated PNG is named too
    std::fs::write(&odd, b"\x89PNG\r\n").unwrap();
    let e = Dataset::open(&db, Residency::Stream).unwrap_err().to_string();
    assert!(e.contains(&db.entries[5].file), "{e}");
}

#[test]
fn holding_out_time_steps_keeps_the_first_and_last() {
    let d = tempfile::tempdir().unwrap();
    let db = collection(d.path());
    let data = Dataset::load(&db).unwrap();
    // two steps (0, 1): nothing lies between the first and the last
    assert!(data
        .hold_out_times(2)
        .unwrap_err()
        .to_string()
        .contains("none lies strictly between"));
    assert!(data.hold_out_times(1).is_err());
    // five steps 0..=4 made from the same images: every 2nd → steps 2; every 3rd → 3
    let mut db5 = db.clone();
    db5.entries = (0..5)
        .flat_map(|t| {
            db.entries[..8].iter().map(move |e| neuvis_collection::Entry {
                time: t as f64,
                ..e.clone()
            })
        })
        .collect();
    let data5 = Dataset::load(&db5).unwrap();
    let (kept, held) = data5.hold_out_times(2).unwrap();
    assert_eq!(held, vec![2.0]);
    assert_eq!(kept.len(), 32);
    assert!(kept.params.iter().all(|p| p[0] != 2.0));
    assert_eq!(
        kept.space, data5.space,
        "held-out steps keep the whole set's normalization"
    );
    assert_eq!(data5.hold_out_times(3).unwrap().1, vec![3.0]);
}
