//! Every `--json` result is documented by a JSON Schema (`crates/neuvis/schemas/COMMAND.schema.json`,
//! draft 2020-12) and every command's output is checked against its schema here with an
//! independent validator (the `jsonschema` crate). Each schema forbids keys it does not document, so
//! a key added to a command's output without its documentation fails this test (issue #37, item 7).

mod common;

use common::{ok, prepare_turbulence, text};
use std::path::{Path, PathBuf};

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

/// Validates one `--json` result against `NAME.schema.json`.
#[track_caller]
fn check(name: &str, o: &std::process::Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{name}: stdout is not one JSON object ({e}): {}", text(o)));
    let path = schema_dir().join(format!("{name}.schema.json"));
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{}: not a valid draft 2020-12 schema: {e}", path.display()));
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{v:#}");
    v
}

#[test]
fn every_json_result_matches_its_schema() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut seen = Vec::new();
    let mut run = |name: &str, args: &[&str]| {
        seen.push(name.to_string());
        check(name, &ok(p, &[args, &["--json", "-q"][..]].concat()))
    };

    let v = run(
        "render",
        &[
            "render",
            "--volume",
            "tornado",
            "--dims",
            "16",
            "--size",
            "16",
            "--theta-step",
            "90",
            "--phi-step",
            "90",
            "--times",
            "0,1",
            "-o",
            "t.cdb",
        ],
    );
    assert!(v["isovalue"].is_number());
    let v = run(
        "render",
        &[
            "render",
            "--volume",
            "tornado",
            "--dims",
            "16",
            "--size",
            "16",
            "--mode",
            "dvr",
            "--theta-step",
            "90",
            "--phi-step",
            "180",
            "-o",
            "d.cdb",
        ],
    );
    assert!(v["isovalue"].is_null(), "DVR has no isovalue");
    run(
        "compress",
        &[
            "compress", "t.cdb", "-o", "t.nrvi", "--c1", "4", "--epochs", "1", "--batch", "4",
        ],
    );
    run(
        "decompress",
        &["decompress", "t.nrvi", "-o", "dec.cdb", "--view", "0.5,45,45"],
    );
    // eval of a model with held-out groups (every group key present; empty ones null)
    let v = run("eval", &["eval", "t.cdb", "t.nrvi", "--holdout"]);
    assert!(v["ratio"].is_number() && v["splits"].is_object(), "{v}");
    let v = run("eval", &["eval", "t.cdb", "t.cdb"]);
    assert!(v["ratio"].is_null() && v["splits"].is_null(), "{v}");
    run(
        "isosurface",
        &[
            "isosurface",
            "--volume",
            "tornado",
            "--dims",
            "16",
            "--iso",
            "0.2",
            "-o",
            "t.vtp",
        ],
    );
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../neuvis-amr/fixtures/sin_inv_r.json");
    run(
        "amr",
        &[
            "amr",
            spec,
            "--max-it",
            "2",
            "--total-error-samples",
            "1024",
            "-o",
            "amr",
        ],
    );
    prepare_turbulence(p, "s.nvb", "16", "8", &["--train-steps", "1", "-q"]);
    for method in ["exact", "neural", "mesh"] {
        run(
            "raycast-render",
            &[
                "raycast",
                "render",
                "s.nvb",
                "--method",
                method,
                "--size",
                "24",
                "--iso",
                "0.5",
                "-o",
                &format!("{method}.png"),
            ],
        );
    }
    let devices = run("devices", &["devices"]);
    // the raycaster on the GPU adds its adapter and allocations (where wgpu finds an adapter:
    // lavapipe in CI)
    if devices["adapters"].as_array().is_some_and(|a| !a.is_empty()) {
        let v = run(
            "raycast-render",
            &[
                "raycast", "render", "s.nvb", "--method", "exact", "--device", "gpu", "--size", "24", "--iso", "0.5",
                "-o", "gpu.png",
            ],
        );
        assert!(v["gpu"]["gpu_bytes"].as_u64().is_some_and(|b| b > 0), "{v}");
    }
    run(
        "bench",
        &[
            "bench",
            "metrics",
            "--size",
            "16",
            "--angle-step",
            "90",
            "--no-reference",
        ],
    );

    // one schema per command that prints a result object, and no schema for anything else
    let mut files: Vec<String> = std::fs::read_dir(schema_dir())
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".schema.json")
                .to_string()
        })
        .collect();
    files.sort();
    seen.sort();
    seen.dedup();
    assert_eq!(files, seen, "schemas on disk vs commands checked");
}

#[test]
fn the_schemas_refuse_what_they_do_not_document() {
    // a key that no schema mentions, and a wrong type, fail validation: the test above can fail
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_dir().join("isosurface.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let good = serde_json::json!({"command": "isosurface", "output": "a.vtp", "isovalue": 0.5, "triangles": 10, "vertices": 7, "seconds": 0.1});
    assert!(validator.is_valid(&good));
    let mut extra = good.clone();
    extra["colour"] = "red".into();
    assert!(!validator.is_valid(&extra));
    let mut wrong = good.clone();
    wrong["triangles"] = (-1).into();
    assert!(!validator.is_valid(&wrong));
    let mut missing = good;
    missing.as_object_mut().unwrap().remove("isovalue");
    assert!(!validator.is_valid(&missing));
}
