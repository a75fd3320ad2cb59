//! Error messages a new user reads (issue #37, items 4 and 5): each names the file or the flag,
//! says what is wrong once, and the command leaves nothing behind.

mod common;

use common::{neuvis, text, tornado_collection};

/// Runs a failing command and returns its stderr, checking the exit status and that no line
/// repeats a clause (the "X: why: why" of an error that quoted its cause twice).
#[track_caller]
fn fails(dir: &std::path::Path, args: &[&str]) -> String {
    let o = neuvis(dir, args);
    let t = text(&o);
    // 1: the command failed; 2: clap refused the command line
    assert!(matches!(o.status.code(), Some(1 | 2)), "{args:?}: {:?} {t}", o.status);
    assert!(!t.contains("panicked"), "{args:?}: {t}");
    for line in t.lines() {
        let parts: Vec<&str> = line.split(": ").map(str::trim).filter(|p| p.len() > 8).collect();
        for (i, p) in parts.iter().enumerate() {
            assert!(!parts[i + 1..].contains(p), "{args:?}: '{p}' said twice in: {line}");
        }
    }
    t
}

#[test]
fn errors_name_the_file_or_the_flag_once() {
    let d = tempfile::tempdir().unwrap();
    tornado_collection(d.path(), "t.cdb", "16", "16");
    std::fs::create_dir(d.path().join("empty")).unwrap();
    std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // a missing path is called missing; a folder or a file where the other is expected says so
        (
            vec!["eval", "nothere.cdb", "t.cdb"],
            "error: nothere.cdb: does not exist",
        ),
        (
            vec!["eval", "empty", "t.cdb"],
            "error: empty: is not a Cinema database: it has no data.csv",
        ),
        (
            vec!["eval", "notes.txt", "t.cdb"],
            "notes.txt: is a file, not a Cinema database",
        ),
        (
            vec!["render", "--volume", "empty", "-o", "x.cdb"],
            "empty: is a folder; give a volume file",
        ),
        (
            vec!["render", "--volume", "nothere", "-o", "x.cdb"],
            "nothere: does not exist",
        ),
        // negative numbers reach the option's own check, which names the option
        (
            vec!["compress", "t.cdb", "-o", "m.nrvi", "--ratio", "-5"],
            "invalid value '-5' for '--ratio <RATIO>': '-5' is not positive",
        ),
        (
            vec!["demo", "--theta-step", "-9", "-o", "d"],
            "invalid value '-9' for '--theta-step <THETA_STEP>'",
        ),
        // conflicting settings are refused, not silently resolved
        (
            vec!["compress", "t.cdb", "-o", "m.nrvi", "--c1", "8", "--ratio", "50"],
            "'--c1 <C1>' cannot be used with '--ratio <RATIO>'",
        ),
        // a command that needs one of two inputs names both
        (
            vec!["inr", "fit", "-o", "x.json"],
            "<--function <FUNCTION>|--volume <VOLUME>>",
        ),
        // a collection is a folder: a file's name for it is refused
        (
            vec!["render", "--volume", "tornado", "--dims", "16", "-o", "x.png"],
            "x.png: an image collection is a folder, and this name is a .png file's; name it like x.cdb",
        ),
        // options of no use to a command are refused
        (
            vec!["merge", "t.cdb", "--json"],
            "--json: this command prints no result object",
        ),
    ];
    for (args, want) in cases {
        let t = fails(d.path(), &args);
        assert!(t.contains(want), "{args:?}: expected '{want}' in: {t}");
        for out in ["x.cdb", "x.png", "x.json", "m.nrvi", "d"] {
            assert!(!d.path().join(out).exists(), "{args:?} left {out}");
        }
    }
    assert_eq!(std::fs::read_to_string(d.path().join("notes.txt")).unwrap(), "mine");
}

#[test]
fn json_results_carry_what_a_script_needs() {
    let d = tempfile::tempdir().unwrap();
    let json = |args: &[&str]| -> serde_json::Value {
        let o = common::ok(d.path(), args);
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&o)))
    };
    // render reports the isovalue it chose (the middle of the value range)
    let r = json(&common::ml_args("ml.cdb", &["--json"]));
    let iso = r["isovalue"].as_f64().expect("isovalue");
    assert_eq!(r["render"]["mode"], "iso");
    assert_eq!(r["render"]["isovalue"].as_f64(), Some(iso));
    // the same value as meta.json records
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("ml.cdb/meta.json")).unwrap()).unwrap();
    assert_eq!(meta["render"]["isovalue"].as_f64(), Some(iso));
    common::ok(
        d.path(),
        &[
            "compress", "ml.cdb", "-o", "ml.nrvi", "--c1", "4", "--epochs", "1", "--batch", "4", "-q",
        ],
    );
    // eval of a model: its ratio, and the --holdout groups by stable keys, null means when empty
    let e = json(&["eval", "ml.cdb", "ml.nrvi", "--holdout", "--json", "-q"]);
    let (bytes, raw) = (e["model_bytes"].as_f64().unwrap(), e["raw_bytes"].as_f64().unwrap());
    assert_eq!(bytes as u64, std::fs::metadata(d.path().join("ml.nrvi")).unwrap().len());
    assert_eq!(raw, 8.0 * 24.0 * 24.0 * 3.0, "8 RGB images of 24²");
    assert!((e["ratio"].as_f64().unwrap() - raw / bytes).abs() < 1e-9, "{e}");
    let splits = e["splits"].as_object().expect("splits");
    let mut keys: Vec<&str> = splits.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["held_out_time", "trained", "unseen_both", "unseen_view"]);
    assert_eq!(splits["trained"]["count"], 8);
    assert!(splits["trained"]["psnr"].as_f64().is_some());
    for k in ["held_out_time", "unseen_view", "unseen_both"] {
        assert_eq!(splits[k]["count"], 0, "{k}");
        assert!(
            splits[k]["psnr"].is_null() && splits[k]["flip"].is_null(),
            "{k}: {}",
            splits[k]
        );
    }
    // a model against a collection of another image size: named, before anything is decoded
    let mut small = common::ml_args("small.cdb", &["-q"]);
    small[4] = "16";
    common::ok(d.path(), &small);
    let t = fails(d.path(), &["eval", "small.cdb", "ml.nrvi", "--holdout"]);
    assert!(
        t.contains("error: ml.nrvi decodes 24x24 images but small.cdb holds 16x16 images"),
        "{t}"
    );
}
