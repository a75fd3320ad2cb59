//! Quick training experiment: `cargo run --release -p neuvis-codec --example quick -- DB.cdb c1 c0 c2 epochs lr batch`
use burn::prelude::Device;
use neuvis_codec::train::{train, TrainOptions};
use neuvis_codec::Dataset;
use neuvis_nn::{Arch, NetConfig};
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
    let net = NetConfig::for_image(arch, data.width, data.height, p(1), p(2), p(3)).unwrap();
    println!(
        "{} images {}x{}, params {}, factors {:?}",
        data.len(),
        data.width,
        data.height,
        net.param_count(),
        net.factors
    );
    let opts = TrainOptions {
        net,
        epochs: p(4),
        lr: a[5].parse().unwrap(),
        warmup: 0.2,
        batch: p(6),
        seed: 1,
        alpha: 0.7,
    };
    let t0 = Instant::now();
    let (_, hist) = train(&data, &opts, &Device::flex(), None, |_, _, _, _, _| {}).unwrap();
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
}
