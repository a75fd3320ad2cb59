//! Helpers shared by the CLI tests: run the binary as a user would and read what it printed.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `neuvis ARGS…` in `dir`.
pub fn neuvis(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// Runs `neuvis ARGS…` in `dir` and asserts that it succeeded.
#[track_caller]
#[allow(dead_code)] // not every test binary uses every helper
pub fn ok(dir: &Path, args: &[&str]) -> Output {
    let o = neuvis(dir, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    o
}

/// Renders a small tornado isosurface collection `out` (four views of `size`² at t = 0 from a
/// `dims`³ grid).
#[allow(dead_code)]
pub fn tornado_collection(dir: &Path, out: &str, dims: &str, size: &str) {
    ok(
        dir,
        &[
            "render",
            "--volume",
            "tornado",
            "--dims",
            dims,
            "--size",
            size,
            "--theta-step",
            "90",
            "--phi-step",
            "180",
            "--times",
            "0",
            "--iso",
            "0.2",
            "-o",
            out,
            "-q",
        ],
    );
}

/// `neuvis raycast prepare turbulence --dims DIMS --brick BRICK --base-factor 2 EXTRA… -o OUT`.
#[allow(dead_code)]
pub fn prepare_turbulence(dir: &Path, out: &str, dims: &str, brick: &str, extra: &[&str]) {
    let mut args = vec![
        "raycast",
        "prepare",
        "--volume",
        "turbulence",
        "--dims",
        dims,
        "--brick",
        brick,
        "--base-factor",
        "2",
    ];
    args.extend_from_slice(extra);
    args.extend(["-o", out]);
    ok(dir, &args);
}

/// Everything the command printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// PNG files under `dir`, recursively.
#[allow(dead_code)]
pub fn count_pngs(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            n += count_pngs(&p);
        } else if p.extension().is_some_and(|x| x == "png") {
            n += 1;
        }
    }
    n
}

/// `neuvis render` of Marschner–Lobb at 24², θ/φ every 90° (8 views at t = 0) into `out`, with
/// `extra` arguments.
#[allow(dead_code)]
pub fn ml_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "render",
        "--volume",
        "marschner-lobb",
        "--size",
        "24",
        "--theta-step",
        "90",
        "--phi-step",
        "90",
        "-o",
        out,
    ];
    v.extend_from_slice(extra);
    v
}

/// `model` (a `.nrvi` file's bytes) with its network replaced by a consistent, untrained one that
/// makes `size`² images (widths 4): a small file whose images take long to decode.
#[allow(dead_code)]
pub fn resized_model(model: &[u8], size: usize) -> Vec<u8> {
    use neuvis_codec::container::{Nrvi, TensorInfo};
    use neuvis_codec::{Arch, NerviNet, NetConfig};
    let file = Nrvi::from_bytes(model).unwrap();
    let cfg = NetConfig::for_image(Arch::Nervi, size, size, 4, 4, 4).unwrap();
    let net = NerviNet::new(&cfg, 0, &burn::prelude::Device::flex());
    let tensors: Vec<TensorInfo> = neuvis_codec::weights::collect(&net)
        .into_iter()
        .map(|t| TensorInfo {
            name: t.name,
            shape: t.shape,
            min: -0.1,
            max: 0.1,
            bits: None,
        })
        .collect();
    let total: usize = tensors.iter().map(|t| t.shape.iter().product::<usize>()).sum();
    let mut header = file.header.clone();
    (header.net, header.width, header.height, header.tensors) = (cfg, size, size, tensors);
    Nrvi {
        header,
        symbols: vec![0; total],
    }
    .to_bytes()
    .unwrap()
}
