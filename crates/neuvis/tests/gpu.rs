//! The GPU code paths of the default build. wgpu (WGSL) runs in CI on Mesa's lavapipe (Vulkan on
//! the CPU): training on the GPU agrees with training on the CPU, and a file decodes to the same
//! images on either. Without a Vulkan adapter those tests say so and pass (`NEUVIS_GPU_TEST=1`, as
//! `.ci/run` sets, makes a missing adapter a failure; it installs `mesa-vulkan-drivers`). CUDA is
//! compiled in but cannot run without an NVIDIA driver: on such machines (CI) the tests check that
//! `neuvis devices` names what is missing and that `--device cuda` fails cleanly; where a driver
//! is present they check that CUDA training agrees with the CPU as wgpu's does.

mod common;
use common::text;
use std::path::Path;
use std::process::Output;

/// One GPU test at a time: they share the kernel cache and, on lavapipe, the CPU.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `neuvis ARGS…` in `dir` with the compiled kernels kept under the target directory (the
/// first test run compiles them: about 100 s on lavapipe; later runs reuse them), asserting success.
#[track_caller]
fn ok(dir: &Path, args: &[&str]) -> Output {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .current_dir(dir)
        .env(
            "NEUVIS_KERNEL_CACHE",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-cache"),
        )
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    o
}

fn gpu_present(dir: &Path) -> bool {
    let o = ok(dir, &["devices", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["backends"].as_array().unwrap().iter().any(|b| b == "gpu"), "{v}");
    let found = !v["adapters"].as_array().unwrap().is_empty();
    if !found {
        eprintln!("no Vulkan adapter: install mesa-vulkan-drivers (lavapipe) to run the GPU tests");
        assert!(
            std::env::var_os("NEUVIS_GPU_TEST").is_none(),
            "NEUVIS_GPU_TEST is set but wgpu finds no adapter"
        );
    }
    found
}

/// A small time-varying tornado collection: 2 time steps × 12 views (θ 0, 60, 120; φ every 90°) of 32².
fn collection(dir: &Path) {
    ok(
        dir,
        &[
            "render",
            "--volume",
            "tornado",
            "--dims",
            "32",
            "--size",
            "32",
            "--theta-step",
            "60",
            "--phi-step",
            "90",
            "--times",
            "0,1",
            "--iso",
            "0.2",
            "-o",
            "c.cdb",
            "-q",
        ],
    );
}

fn psnr_of(dir: &Path, model: &str) -> f64 {
    let o = ok(dir, &["eval", "c.cdb", model, "-q"]);
    let t = text(&o);
    let line = t.lines().find(|l| l.starts_with("| PSNR")).unwrap();
    line.split('|').nth(2).unwrap().trim().parse().unwrap()
}

#[test]
fn devices_lists_the_gpu_backend_and_probes_it() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    if !gpu_present(d.path()) {
        return;
    }
    let o = ok(d.path(), &["devices", "--probe"]);
    let t = text(&o);
    assert!(t.contains("--device gpu opened and computed"), "{t}");
    let v = ok(d.path(), &["--version"]);
    assert!(text(&v).contains("cpu, gpu"), "{}", text(&v));
}

#[test]
fn training_on_the_gpu_matches_the_cpu_and_files_decode_alike() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    if !gpu_present(dir) {
        return;
    }
    collection(dir);
    let train = |device: &str, out: &str| {
        ok(
            dir,
            &[
                "compress", "c.cdb", "-o", out, "--c1", "12", "--epochs", "25", "--batch", "4", "--lr", "3e-3",
                "--device", device, "-q",
            ],
        )
    };
    train("cpu", "cpu.nrvi");
    let o = train("gpu", "gpu.nrvi");
    assert!(text(&o).contains("wrote gpu.nrvi"), "{}", text(&o));
    let (pc, pg) = (psnr_of(dir, "cpu.nrvi"), psnr_of(dir, "gpu.nrvi"));
    // both learned (10 epochs reach 15.8 dB, 25 reach 21.2 dB on the CPU) and agree within 1 dB
    assert!(pc > 18.0 && pg > 18.0, "cpu {pc:.2} dB, gpu {pg:.2} dB");
    assert!((pc - pg).abs() <= 1.0, "cpu {pc:.2} dB vs gpu {pg:.2} dB");

    // one file, decoded on either device: images within one level
    ok(
        dir,
        &["decompress", "cpu.nrvi", "-o", "on_cpu.cdb", "--device", "cpu", "-q"],
    );
    ok(
        dir,
        &["decompress", "cpu.nrvi", "-o", "on_gpu.cdb", "--device", "gpu", "-q"],
    );
    let a = neuvis_collection_files(&dir.join("on_cpu.cdb"));
    let b = neuvis_collection_files(&dir.join("on_gpu.cdb"));
    assert_eq!(a.len(), 24);
    assert_eq!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    let mut worst = 0u8;
    for ((_, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(x.len(), y.len());
        for (p, q) in x.iter().zip(y) {
            worst = worst.max(p.abs_diff(*q));
        }
    }
    assert!(
        worst <= 1,
        "decoded on the GPU and the CPU, images differ by {worst} levels"
    );
}

#[test]
fn raycast_render_orbit_and_bench_on_the_gpu_match_the_cpu() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    if !gpu_present(dir) {
        return;
    }
    common::prepare_turbulence(
        dir,
        "t.nvb",
        "41",
        "8",
        &["--store", "both", "--train-steps", "4", "--train-bricks", "16", "-q"],
    );
    let render = |device: &str, method: &str, budget: &str| -> serde_json::Value {
        let out = format!("{method}-{device}-{budget}.png");
        let o = ok(
            dir,
            &[
                "raycast",
                "render",
                "t.nvb",
                "--iso",
                "0.3",
                "--size",
                "64",
                "--method",
                method,
                "--device",
                device,
                "--budget-mb",
                budget,
                "-o",
                &out,
                "--json",
                "--overwrite",
            ],
        );
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["image"] = out.into();
        v
    };
    let load =
        |v: &serde_json::Value| neuvis_base::MaskedImage::load_png(&dir.join(v["image"].as_str().unwrap())).unwrap();
    let full = render("cpu", "full", "100");
    for (method, budget) in [
        ("exact", "100"),
        ("exact", "0.45"),
        ("neural", "100"),
        ("trilinear", "100"),
    ] {
        let cpu = if method == "exact" {
            full.clone()
        } else {
            render("cpu", method, budget)
        };
        let gpu = render("gpu", method, budget);
        assert!(gpu["gpu"]["adapter"].is_string() && cpu.get("gpu").is_none(), "{gpu}");
        let db = neuvis_metrics::psnr(&load(&cpu), &load(&gpu)).unwrap();
        assert!(db >= 50.0, "{method} within {budget} MB: GPU {db} dB against the CPU");
        let gpu_bytes = gpu["gpu"]["gpu_bytes"].as_u64().unwrap();
        if budget == "0.45" {
            // a budget of a few dozen bricks: the frame streams more bricks than the atlas
            // holds, and the GPU holds no more than the budget
            assert!(gpu_bytes <= 450_000, "{gpu}");
            assert!(
                gpu["bricks_fetched"].as_u64() > gpu["gpu"]["atlas_slots"].as_u64(),
                "{gpu}"
            );
        }
    }
    // the benchmark runs every method on both devices and names the adapter
    let o = ok(
        dir,
        &[
            "bench",
            "raycast",
            "--store",
            "t.nvb",
            "--iso",
            "0.3",
            "--views",
            "2",
            "--size",
            "32",
            "--methods",
            "full,exact,neural",
            "--devices",
            "cpu,gpu",
            "--budget-mb",
            "100",
            "-o",
            "b",
        ],
    );
    let t = text(&o);
    for row in ["| full-cpu", "| full-gpu", "| exact-gpu", "| neural-gpu"] {
        assert!(t.contains(row), "{row}: {t}");
    }
    let st = neuvis_raycast::orbit::OrbitStats::read(&dir.join("b/exact-gpu")).unwrap();
    assert!(
        st.gpu.is_some_and(|g| g.atlas_slots > 0),
        "stats of a GPU orbit name the GPU"
    );
}

#[test]
fn a_missing_gpu_is_a_clear_error() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    collection(dir);
    // Vulkan and EGL driver lists naming no driver: wgpu finds no adapter (without the EGL one it
    // falls back to Mesa's OpenGL), as on a machine without a GPU driver
    let none = dir.join("none.json");
    let env = [
        ("VK_ICD_FILENAMES", none.as_path()),
        ("VK_DRIVER_FILES", none.as_path()),
        ("__EGL_VENDOR_LIBRARY_FILENAMES", none.as_path()),
    ];
    compress_fails_cleanly(dir, "gpu", &env, "Vulkan");
    // the raycaster on the GPU: the same clear error, no image
    common::prepare_turbulence(dir, "t.nvb", "17", "8", &["--store", "exact", "-q"]);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_neuvis"));
    cmd.current_dir(dir).args([
        "raycast", "render", "t.nvb", "--method", "exact", "--device", "gpu", "-o", "r.png",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("no usable adapter") && t.contains("Vulkan") && !t.contains("panicked"),
        "{t}"
    );
    assert!(!dir.join("r.png").exists());
}

/// `compress --device DEVICE` in `dir` (with `env`) fails naming the device and `says`, without a
/// panic and without writing its output.
#[track_caller]
fn compress_fails_cleanly(dir: &Path, device: &str, env: &[(&str, &Path)], says: &str) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .current_dir(dir)
        .envs(env.iter().copied())
        .args([
            "compress", "c.cdb", "-o", "m.nrvi", "--c1", "8", "--epochs", "1", "--device", device, "-q",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains(&format!("--device {device}")) && t.contains(says) && !t.contains("panicked"),
        "{t}"
    );
    assert!(!dir.join("m.nrvi").exists());
}

/// `neuvis devices --json`'s CUDA block.
fn cuda_block(dir: &Path) -> serde_json::Value {
    let o = ok(dir, &["devices", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["backends"].as_array().unwrap().iter().any(|b| b == "cuda"), "{v}");
    v["cuda"].clone()
}

#[test]
fn the_default_build_has_cuda_and_devices_says_what_it_lacks() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let c = cuda_block(dir);
    let pieces = c["pieces"].as_array().unwrap();
    let names: Vec<_> = pieces.iter().map(|p| p["what"].as_str().unwrap()).collect();
    assert_eq!(names, ["driver", "NVRTC", "headers"], "{c}");
    let driver_missing = pieces[0]["found"].is_null();
    if driver_missing {
        // CI: no NVIDIA driver. The report names the library and how to get it.
        assert_eq!(c["ready"], false, "{c}");
        let how = pieces[0]["how_to_get"].as_str().unwrap();
        assert!(how.contains("libcuda.so.1") && how.contains("driver"), "{how}");
        assert!(c["missing"].as_str().unwrap().starts_with("no CUDA driver"), "{c}");
        let t = text(&ok(dir, &["devices"]));
        assert!(
            t.contains("CUDA (--device cuda") && t.contains("driver: MISSING"),
            "{t}"
        );
    }
    let v = ok(dir, &["--version"]);
    assert!(text(&v).contains("cpu, gpu, cuda"), "{}", text(&v));
}

#[test]
fn cuda_without_a_driver_is_a_clear_error_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    if cuda_block(dir)["ready"] == true {
        return; // a machine with CUDA: the agreement test below covers it
    }
    collection(dir);
    compress_fails_cleanly(dir, "cuda", &[], "no CUDA");
}

/// NVRTC and the CUDA headers from pip's wheels (what a user without a toolkit installs): with
/// `NEUVIS_CUDA_WHEELS` naming a virtual environment that holds them (`.ci/run` makes one),
/// `neuvis devices --probe` finds both there and compiles a kernel with the headers cubecl's CUDA
/// C++ includes. Without the variable, a note and a pass.
#[test]
fn nvrtc_and_headers_from_pip_wheels_compile_a_kernel() {
    let Some(venv) = std::env::var_os("NEUVIS_CUDA_WHEELS") else {
        eprintln!("NEUVIS_CUDA_WHEELS unset: the pip-wheel CUDA check is skipped");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .current_dir(d.path())
        .env("VIRTUAL_ENV", &venv)
        .env("XDG_CACHE_HOME", d.path().join("cache"))
        .env_remove("CUDA_PATH")
        .args(["devices", "--probe", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = &v["cuda"];
    let venv = Path::new(&venv).to_path_buf();
    for piece in &c["pieces"].as_array().unwrap()[1..] {
        let found = piece["found"].as_str().unwrap_or_else(|| panic!("{c}"));
        if !Path::new("/usr/local/cuda").exists() {
            assert!(found.contains(venv.to_str().unwrap()), "{found} not in {venv:?}");
        }
    }
    assert!(c["pieces"][1]["found"].as_str().unwrap().starts_with("NVRTC 1"), "{c}");
    assert_eq!(c["nvrtc_test"]["ok"], true, "{c}");
    assert!(c["nvrtc_test"]["ptx_bytes"].as_u64().unwrap() > 1000, "{c}");
}

#[test]
fn training_on_cuda_matches_the_cpu_where_a_driver_is_present() {
    let _g = serial();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    if cuda_block(dir)["ready"] != true {
        eprintln!("no usable CUDA device: `neuvis devices` says what is missing");
        return;
    }
    collection(dir);
    for (device, out) in [("cpu", "cpu.nrvi"), ("cuda", "cuda.nrvi")] {
        ok(
            dir,
            &[
                "compress", "c.cdb", "-o", out, "--c1", "12", "--epochs", "25", "--batch", "4", "--lr", "3e-3",
                "--device", device, "-q",
            ],
        );
    }
    let (pc, pg) = (psnr_of(dir, "cpu.nrvi"), psnr_of(dir, "cuda.nrvi"));
    assert!(pc > 18.0 && pg > 18.0, "cpu {pc:.2} dB, cuda {pg:.2} dB");
    assert!((pc - pg).abs() <= 1.0, "cpu {pc:.2} dB vs cuda {pg:.2} dB");
}

/// (file, RGBA bytes) of every PNG in a collection, sorted by name.
fn neuvis_collection_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let e = e.unwrap().path();
            if e.is_dir() {
                stack.push(e);
            } else if e.extension().is_some_and(|x| x == "png") {
                let img = image::open(&e).unwrap().to_rgba8();
                out.push((e.strip_prefix(dir).unwrap().display().to_string(), img.into_raw()));
            }
        }
    }
    out.sort();
    out
}
