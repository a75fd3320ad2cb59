//! Writes the explorer tests' fixture: a small collection (`gt.cdb`, 2 times × 3 θ × 6 φ views of
//! 32²: a disc whose position follows (θ, φ) and whose colour follows t, on white) and a NeRVI
//! model trained on it (`m.nrvi`), into the folder given (default
//! `crates/neuvis-explorer/tests/fixtures/disc`). The explorer decodes on the CPU and links no
//! burn, so its tests read this committed model instead of training one. Training is seeded: the
//! same build writes the same file.
//!
//! ```text
//! cargo run --release --example explorer_fixture
//! ```

use burn::prelude::Device;
use neuvis_codec::codec::build_container;
use neuvis_codec::train::{train, TrainOptions};
use neuvis_codec::Dataset;
use neuvis_codec::{Arch, NetConfig};
use neuvis_collection::{CinemaDb, DbWriter, MaskedImage, View};
use std::path::{Path, PathBuf};

/// Image side of the test collection.
const SIDE: usize = 32;

/// 2 times × 3 θ × 6 φ views of 32²: a disc whose position follows (θ, φ) and whose colour
/// follows t, on white; writes `gt.cdb` and a model trained on it, `m.nrvi`, into `dir`.
fn model(dir: &Path) -> (PathBuf, PathBuf) {
    let target = dir.join("gt.cdb");
    let meta = serde_json::json!({ "render": { "mode": "iso" } });
    let mut w = DbWriter::create(&target, &meta, false, false).unwrap();
    let mut views = Vec::new();
    for t in 0..2 {
        for a in 0..3 {
            for b in 0..6 {
                views.push(View {
                    step: t,
                    time: t as f64,
                    theta: 30.0 + 60.0 * a as f64,
                    phi: 60.0 * b as f64,
                });
            }
        }
    }
    w.prepare(&views).unwrap();
    for v in &views {
        let (cx, cy) = (6.0 + v.phi as f32 / 15.0, 8.0 + v.theta as f32 / 10.0);
        let mut rgb = vec![255u8; SIDE * SIDE * 3];
        let mut mask = vec![0u8; SIDE * SIDE];
        for y in 0..SIDE {
            for x in 0..SIDE {
                if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < 49.0 {
                    let i = y * SIDE + x;
                    rgb[3 * i..3 * i + 3].copy_from_slice(&[200 - 120 * v.step as u8, 60 + 100 * v.step as u8, 90]);
                    mask[i] = 255;
                }
            }
        }
        w.write(v, &MaskedImage::new(SIDE, SIDE, rgb, mask).unwrap()).unwrap();
        w.push(*v);
    }
    w.finish().unwrap();
    let db = CinemaDb::open(&target).unwrap();
    let data = Dataset::load(&db).unwrap();
    let opts = TrainOptions {
        net: NetConfig::for_image(Arch::Nervi, SIDE, SIDE, 16, 16, 16).unwrap(),
        epochs: 30,
        lr: 3e-3,
        warmup: 0.1,
        batch: 4,
        seed: 3,
        alpha: 0.7,
        qat: None,
        mlp_lr: 1.0,
    };
    let (net, _) = train(&data, &opts, &Device::flex(), None, |_, _, _, _, _| {}).unwrap();
    let source = serde_json::json!({ "render": { "mode": "iso" } });
    let file = build_container(
        &net,
        &opts.net,
        &data,
        neuvis_codec::quant::BitWidths { mlp: 9, conv: 7 },
        source,
    )
    .unwrap();
    let path = dir.join("m.nrvi");
    std::fs::write(&path, file.to_bytes().unwrap()).unwrap();
    (path, target)
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../neuvis-explorer/tests/fixtures/disc"));
    std::fs::create_dir_all(&dir).expect("creating the fixture folder");
    let _ = std::fs::remove_dir_all(dir.join("gt.cdb"));
    let (m, gt) = model(&dir);
    println!("wrote {} and {}", m.display(), gt.display());
}
