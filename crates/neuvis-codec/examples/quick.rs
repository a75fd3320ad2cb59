//! Quick training experiment: `cargo run --release -p neuvis-codec --example quick -- DB.cdb c1 c0 c2 epochs lr batch`
//!
//! Environment overrides for hyper-parameter searches: `NERV=1` (NeRV baseline), `OMEGA=ω₀`,
//! `FACTORS=2,2,2,2` (upscale plan; the start grid follows), `PE=L`/`PEBASE=c` (positional encoding), `WARMUP=fraction`, `SEED=n`, `MLPLR=f`
//! (the MLP's learning rate as a multiple of lr),
//! `SKIP=project|project-tile|project-none|tile|none` (NeRVI's skip connections),
//! `QAT=bits:epochs` or `mlp:conv:epochs` (quantization-aware final epochs), `LOAD=`/`SAVE=weights.json` (skip
//! training / keep the float weights), `MIXED=m:c,…` (MLP at m bits, convolutions at c bits, in
//! memory; 0: float; `m0:m1:c:h` sets the two MLP blocks and the head apart), `SENS=bits` (quantize one tensor at a time, the rest float, and print the PSNR), `BITS=9,8,10:7` (uniform or MLP:convolutions; after training: quantize at each, write the container in memory, decode every
//! image with the CPU engine and print file bytes, Huffman-coded bits per weight, ratio and PSNR of
//! the composited images: the mean of per-image PSNRs, as `neuvis eval` reports, and of the pooled error).
use burn::prelude::Device;
use neuvis_codec::codec::build_container;
use neuvis_codec::quant::{dequantize, quantize, BitWidths};
use neuvis_codec::train::{train, TrainOptions};
use neuvis_codec::weights::{collect, load, FlatTensor};
use neuvis_codec::Dataset;
use neuvis_codec::{Arch, NerviNet, NetConfig};
use neuvis_codec::{Decoder, Nrvi};
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let db = neuvis_collection::CinemaDb::open(std::path::Path::new(&a[0])).unwrap();
    let data = Dataset::load(&db).unwrap();
    let p = |i: usize| a[i].parse::<usize>().unwrap();
    let arch = if std::env::var("NERV").is_ok() {
        Arch::Nerv
    } else {
        Arch::Nervi
    };
    let mut net = NetConfig::for_image(arch, data.width, data.height, p(1), p(2), p(3)).unwrap();
    let env = |k: &str| std::env::var(k).ok();
    if let Some(k) = env("SKIP") {
        net.skip = serde_json::from_value(serde_json::Value::String(k)).unwrap();
    }
    if let Some(w) = env("OMEGA") {
        net.omega0 = w.parse().unwrap();
    }
    if let Some(l) = env("PE") {
        net.pe_levels = l.parse().unwrap();
    }
    if let Some(b) = env("PEBASE") {
        net.pe_base = b.parse().unwrap();
    }
    if let Some(f) = env("FACTORS") {
        net.factors = f.split(',').map(|x| x.parse().unwrap()).collect();
        let prod: usize = net.factors.iter().product();
        assert!(
            data.width.is_multiple_of(prod) && data.height.is_multiple_of(prod),
            "factors do not divide the size"
        );
        net.h0 = data.height / prod;
        net.w0 = data.width / prod;
    }
    println!(
        "{} images {}x{}, params {}, start {}x{}, factors {:?}, omega0 {}, skip {:?}, pe {}x{}",
        data.len(),
        data.width,
        data.height,
        net.param_count(),
        net.w0,
        net.h0,
        net.factors,
        net.omega0,
        net.skip,
        net.pe_levels,
        net.pe_base
    );
    let opts = TrainOptions {
        net,
        epochs: p(4),
        lr: a[5].parse().unwrap(),
        mlp_lr: env("MLPLR").map_or(1.0, |w| w.parse().unwrap()),
        warmup: env("WARMUP").map_or(0.2, |w| w.parse().unwrap()),
        batch: p(6),
        seed: env("SEED").map_or(1, |w| w.parse().unwrap()),
        alpha: 0.7,
        qat: env("QAT").map(|q| {
            // QAT=bits:epochs or mlp:conv:epochs
            let v: Vec<u32> = q.split(':').map(|x| x.parse().unwrap()).collect();
            let (m, c, e) = if v.len() == 2 {
                (v[0], v[0], v[1])
            } else {
                (v[0], v[1], v[2])
            };
            neuvis_codec::train::Qat {
                bits: BitWidths { mlp: m, conv: c },
                epochs: e as usize,
            }
        }),
    };
    let t0 = Instant::now();
    let trained = if let Some(path) = env("LOAD") {
        let v: Vec<(String, Vec<usize>, Vec<f32>)> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let flat: Vec<FlatTensor> = v
            .into_iter()
            .map(|(name, shape, data)| FlatTensor { name, shape, data })
            .collect();
        load(NerviNet::new(&opts.net, 0, &Device::flex()), &flat, &Device::flex()).unwrap()
    } else {
        let (trained, hist) = train(&data, &opts, &Device::flex(), None, |_, _, _, _, _| {}).unwrap();
        for h in hist.iter().step_by((hist.len() / 10).max(1)).chain(hist.last()) {
            println!(
                "epoch {} loss {:.4} psnr {:.2} lr {:.2e}",
                h.epoch, h.loss, h.psnr, h.lr
            );
        }
        println!(
            "{:.1} s, {:.1} ms/step",
            t0.elapsed().as_secs_f64(),
            t0.elapsed().as_secs_f64() * 1e3 / (opts.epochs * data.len().div_ceil(opts.batch)) as f64
        );
        trained
    };
    if let Some(path) = env("SAVE") {
        let v: Vec<_> = collect(&trained)
            .into_iter()
            .map(|t| (t.name, t.shape, t.data))
            .collect();
        std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
    }
    // PSNR as `neuvis eval` and the paper report it (the mean of per-image PSNRs), and of the
    // pooled squared error (about 0.3 dB lower on the 64² tornado collection)
    let psnr = |imgs: &[neuvis_base::MaskedImage]| {
        let (mut pooled, mut per_image, mut n) = (0.0f64, 0.0f64, 0usize);
        for (i, im) in imgs.iter().enumerate() {
            let gt = data.image(i).unwrap().0;
            let se: f64 = im
                .rgb()
                .iter()
                .zip(gt.iter())
                .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
                .sum();
            let mse = se / gt.len() as f64 / (255.0 * 255.0);
            per_image += -10.0 * mse.log10();
            pooled += mse;
            n += 1;
        }
        format!(
            "{:.2} dB (pooled {:.2})",
            per_image / n as f64,
            -10.0 * (pooled / n as f64).log10()
        )
    };
    // MIXED=m:c,m:c — MLP tensors at m bits, convolutions at c bits (0: unquantized), in memory
    for mc in env("MIXED")
        .iter()
        .flat_map(|m| m.split(',').map(String::from).collect::<Vec<_>>())
    {
        let v: Vec<u32> = mc.split(':').map(|x| x.parse().unwrap()).collect();
        // m:c (both MLP blocks at m), m0:m1:c, or m0:m1:c:h (the head convolution at h)
        let (m0, m1, c) = if v.len() == 2 {
            (v[0], v[0], v[1])
        } else {
            (v[0], v[1], v[2])
        };
        let h = v.get(3).copied().unwrap_or(c);
        let mut tensors = collect(&trained);
        let mut coded = 0.0;
        for t in &mut tensors {
            let bits = if t.name.starts_with("mlp.0") {
                m0
            } else if t.name.starts_with("mlp") {
                m1
            } else if t.name.starts_with("head") {
                h
            } else {
                c
            };
            if bits > 0 {
                let (q, lo, hi) = quantize(&t.data, bits);
                t.data = dequantize(&q, lo, hi, bits);
                let code = neuvis_codec::huffman::Code::from_symbols(&q);
                coded += code.encode(&q).1 as f64;
            }
        }
        let net = load(NerviNet::new(&opts.net, 0, &Device::flex()), &tensors, &Device::flex()).unwrap();
        let file = build_container(&trained, &opts.net, &data, BitWidths::uniform(8), serde_json::json!({})).unwrap();
        let dec = Decoder::from_net(file.header, net, &Device::flex()).unwrap();
        let imgs = dec.decode(&data.params, 16).unwrap();
        println!(
            "mlp {m0}/{m1} conv {c} head {h}: {:.0} payload bytes (per-tensor codes), PSNR {}",
            coded / 8.0,
            psnr(&imgs)
        );
    }
    // SENS=bits — quantize one tensor at a time (the rest stay float): which tensor costs what
    if let Some(b) = env("SENS") {
        let bits: u32 = b.parse().unwrap();
        let float = collect(&trained);
        let header = build_container(&trained, &opts.net, &data, BitWidths::uniform(8), serde_json::json!({}))
            .unwrap()
            .header;
        for i in 0..float.len() {
            let mut tensors = float.clone();
            let t = &mut tensors[i];
            let (q, lo, hi) = quantize(&t.data, bits);
            t.data = dequantize(&q, lo, hi, bits);
            let name = t.name.clone();
            let net = load(NerviNet::new(&opts.net, 0, &Device::flex()), &tensors, &Device::flex()).unwrap();
            let dec = Decoder::from_net(header.clone(), net, &Device::flex()).unwrap();
            println!(
                "only {name} at {bits} bits: PSNR {}",
                psnr(&dec.decode(&data.params, 16).unwrap())
            );
        }
    }
    // BITS=8,10:7 — uniform, or MLP:convolutions
    for bits in env("BITS").iter().flat_map(|b| {
        b.split(',')
            .map(|x| match x.split_once(':') {
                Some((m, c)) => BitWidths {
                    mlp: m.parse().unwrap(),
                    conv: c.parse().unwrap(),
                },
                None => BitWidths::uniform(x.parse().unwrap()),
            })
            .collect::<Vec<_>>()
    }) {
        let file = build_container(&trained, &opts.net, &data, bits, serde_json::json!({})).unwrap();
        let bytes = file.to_bytes().unwrap();
        let back = Nrvi::from_bytes(&bytes).unwrap();
        let dec = Decoder::new(&back, &Device::flex()).unwrap();
        let imgs = dec.decode(&data.params, 16).unwrap();
        let mut coded_bits = 0;
        for (w, n, b) in file.coded_bits() {
            println!(
                "  {w}-bit tensors: {n} weights, {:.2} coded bits each",
                b as f64 / n as f64
            );
            coded_bits += b;
        }
        println!(
            "bits {bits}: {} bytes, {:.2} coded bits per weight, ratio {:.1}, PSNR {}",
            bytes.len(),
            coded_bits as f64 / file.symbols.len() as f64,
            data.raw_bytes() as f64 / bytes.len() as f64,
            psnr(&imgs)
        );
    }
}
