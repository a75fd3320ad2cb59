//! `neuvis-bench` as a user runs it. (This test also makes `cargo test --workspace` build the
//! `neuvis-bench` binary, which `neuvis bench …` runs from beside `neuvis`: cargo builds a
//! package's binaries for its integration tests only.)

use std::process::Command;

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_neuvis-bench"))
        .args(args)
        .output()
        .expect("running neuvis-bench")
}

/// `decode --json`: one object, a row per engine, each with the images asked for, and the warm
/// rate equal to images / seconds as the table states them.
#[test]
fn decode_reports_one_json_object() {
    let o = bench(&[
        "--json", "-q", "decode", "--size", "32", "--images", "6", "--batch", "2",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is one JSON object");
    assert_eq!(v["benchmark"], "decode");
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{v}");
    for r in rows {
        assert_eq!(r["images"], 6, "{r}");
        let (n, s, rate) = (
            r["images"].as_f64().unwrap(),
            r["seconds"].as_f64().unwrap(),
            r["images/s (warm)"].as_f64().unwrap(),
        );
        // the table rounds seconds to 0.01 s and the rate to 0.1: compare within that rounding
        assert!(s >= 0.0 && rate > 0.0, "{r}");
        if s >= 0.05 {
            assert!((n / s - rate).abs() / rate < 0.25, "{r}");
        }
    }
}

/// An unknown benchmark or a bad number is refused by the parser, exit status 2, naming it.
#[test]
fn bad_command_lines_are_refused() {
    let o = bench(&["nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope"));
    let o = bench(&["decode", "--size", "-3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--size"));
}
