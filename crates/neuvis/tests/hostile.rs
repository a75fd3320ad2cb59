//! The hostile inputs of issue #24, each built here byte for byte and run through the CLI as a
//! user would: every one must end in a clear error (exit 1, the file and the field named, no
//! panic, no signal) and leave no output, or — for the small bricks — simply work.

mod common;

use common::{neuvis, text};
use std::path::Path;
use std::process::{Command, Output};

/// Runs `neuvis ARGS…` in `dir` under `ulimit -v KB` (an address-space limit, as on a cluster node).
fn neuvis_limited(dir: &Path, kb: u64, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kb} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_neuvis"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// A clean refusal: exit status 1 (not a signal, not a panic's 101), the message contains every
/// one of `needles`.
#[track_caller]
fn refused(o: &Output, needles: &[&str]) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(1), "expected exit 1, got {:?}: {t}", o.status);
    assert!(!t.contains("panicked"), "{t}");
    for n in needles {
        assert!(t.contains(n), "message lacks {n:?}: {t}");
    }
}

/// Files in `dir` other than `keep`.
fn others(dir: &Path, keep: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    v.sort();
    v
}

/// A small trained model of a 32² collection, as a user would make one.
fn small_model(dir: &Path) -> Vec<u8> {
    common::tornado_collection(dir, "c.cdb", "24", "32");
    common::ok(
        dir,
        &[
            "compress", "c.cdb", "-o", "m.nrvi", "--c1", "8", "--epochs", "1", "--batch", "4", "-q",
        ],
    );
    std::fs::read(dir.join("m.nrvi")).unwrap()
}

/// `bytes` (a version-2 `.nrvi`) with its header JSON edited by `edit`, repacked and re-CRC'd, so
/// the edit reaches the parser behind the checksum.
fn edit_header(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let plen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let packed = neuvis_codec::container::inflate_bounded(&bytes[12..12 + plen]).unwrap();
    let hlen = u32::from_le_bytes(packed[..4].try_into().unwrap()) as usize;
    let mut json: serde_json::Value = serde_json::from_slice(&packed[4..4 + hlen]).unwrap();
    edit(&mut json);
    let text = serde_json::to_vec(&json).unwrap();
    let repacked = neuvis_codec::container::pack(&text, &packed[4 + hlen..]);
    let mut b = bytes[..8].to_vec();
    b.extend((repacked.len() as u32).to_le_bytes());
    b.extend(&repacked);
    b.extend(&bytes[12 + plen..bytes.len() - 4]);
    let crc = neuvis_codec::container::crc32(&b);
    b.extend(crc.to_le_bytes());
    b
}

#[test]
fn hostile_models_are_refused_before_anything_is_allocated_or_written() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let good = small_model(dir);
    let ok = neuvis(dir, &["decompress", "m.nrvi", "-o", "ok.cdb", "-q"]);
    assert!(ok.status.success(), "{}", text(&ok));

    // 1. a network of 2 inputs with a positional encoding as wide as 3 inputs' (the tensors match)
    let f1 = edit_header(&good, |h| {
        let l = h["net"]["pe_levels"].as_u64().unwrap();
        h["net"]["inputs"] = 2.into();
        h["net"]["pe_levels"] = (l * 3 / 2).into();
    });
    std::fs::write(dir.join("inputs.nrvi"), f1).unwrap();
    let o = neuvis(dir, &["decompress", "inputs.nrvi", "-o", "x.cdb", "-q"]);
    refused(&o, &["inputs.nrvi", "inputs"]);

    // 2. an upscale factor near 2^63 (the product wraps)
    let f2 = edit_header(&good, |h| {
        let f = h["net"]["factors"].as_array_mut().unwrap();
        f[0] = serde_json::json!(9_223_372_036_854_775_809u64);
    });
    std::fs::write(dir.join("factor.nrvi"), f2).unwrap();
    let o = neuvis(dir, &["decompress", "factor.nrvi", "-o", "x.cdb", "-q"]);
    refused(&o, &["factor.nrvi", "factors"]);

    // 3. a consistent, small file whose network makes 8192² images: decoding needs gigabytes, so
    // with 256 MiB available it is refused before decoding (and before any image is written)
    let big = common::resized_model(&good, 8192);
    assert!(big.len() < 64 << 10, "the hostile file is small: {} bytes", big.len());
    std::fs::write(dir.join("big.nrvi"), &big).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_neuvis"))
        .current_dir(dir)
        .args(["decompress", "big.nrvi", "-o", "big.cdb", "-q"])
        .env("NEUVIS_MEMORY_LIMIT_MB", "256")
        .output()
        .unwrap();
    refused(&o, &["8192x8192", "MiB"]);
    // the same under an address-space limit, one thread (issue #37, item 12): the check counts
    // every buffer the decoder holds (it counted too little and the decoder aborted on a 1 GiB
    // allocation), so it refuses with the figure instead of dying of SIGABRT
    let o = neuvis_limited(
        dir,
        2_500_000,
        &["decompress", "big.nrvi", "-o", "big.cdb", "--threads", "1", "-q"],
    );
    refused(&o, &["8192x8192", "MiB", "--threads"]);

    // 4. a grid of ten million images in a few kB
    let f4 = edit_header(&good, |h| {
        let v = |n: usize| serde_json::json!((0..n).map(|i| i as f64 * 180.0 / n as f64).collect::<Vec<_>>());
        h["grid"] = serde_json::json!({"times": [0.0], "thetas": v(1000), "phis": v(10000), "explicit": []});
    });
    assert!(f4.len() < 256 << 10);
    std::fs::write(dir.join("grid.nrvi"), f4).unwrap();
    let o = neuvis(dir, &["decompress", "grid.nrvi", "-o", "x.cdb", "-q"]);
    refused(&o, &["grid.nrvi", "10000000 images", "--max-images"]);

    // nothing was written by any refusal, and no partial output blocks the next run
    assert_eq!(
        others(
            dir,
            &[
                "c.cdb",
                "m.nrvi",
                "ok.cdb",
                "inputs.nrvi",
                "factor.nrvi",
                "big.nrvi",
                "grid.nrvi"
            ]
        ),
        Vec::<String>::new()
    );
    // the model file is a regular file of bounded size: a device is refused at once
    let o = neuvis(dir, &["decompress", "/dev/zero", "-o", "z.cdb", "-q"]);
    refused(&o, &["/dev/zero", "not a regular file"]);
}

/// The parts of a store, written back into a `.nvb` with fresh offsets and CRCs.
fn write_store(
    path: &Path,
    preamble: &[u8],
    mut header: neuvis_raycast::store::Header,
    index: &[u8],
    base: &[u8],
    network: Option<&[u8]>,
) {
    use neuvis_raycast::store::Section;
    let mut out = preamble.to_vec();
    let put = |b: &[u8], out: &mut Vec<u8>| {
        let s = Section {
            offset: out.len() as u64,
            len: b.len() as u64,
            crc: neuvis_codec::container::crc32(b),
        };
        out.extend_from_slice(b);
        s
    };
    header.index = put(index, &mut out);
    header.base = put(base, &mut out);
    header.network = network.map(|n| put(n, &mut out));
    header.zfp = None;
    let json = serde_json::to_vec(&header).unwrap();
    let h = put(&json, &mut out);
    out.extend(h.offset.to_le_bytes());
    out.extend(h.len.to_le_bytes());
    out.extend(h.crc.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(b"NVBRKEND");
    std::fs::write(path, out).unwrap();
}

#[test]
fn hostile_stores_and_raycast_flags_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // 12. small bricks (4 and 6 cells) train and render instead of crashing in the SSIM term
    for brick in ["4", "6"] {
        let name = format!("b{brick}.nvb");
        common::prepare_turbulence(dir, &name, "16", brick, &["--train-steps", "2"]);
        let png = format!("b{brick}.png");
        common::ok(
            dir,
            &["raycast", "render", &name, "--iso", "0", "--size", "32", "-o", &png],
        );
    }
    common::prepare_turbulence(dir, "s.nvb", "17", "8", &["--store", "neural", "--train-steps", "2"]);
    let bytes = std::fs::read(dir.join("s.nvb")).unwrap();
    let store = neuvis_raycast::Store::open(&dir.join("s.nvb")).unwrap();
    let header = store.header.clone();
    let slice = |s: neuvis_raycast::store::Section| bytes[s.offset as usize..(s.offset + s.len) as usize].to_vec();
    let (index, base, network) = (slice(header.index), slice(header.base), slice(header.network.unwrap()));

    // 5. the network says bricks of 16 cells, the store has 8
    let mut net: serde_json::Value = serde_json::from_slice(&network).unwrap();
    net["config"]["brick"] = 16.into();
    write_store(
        &dir.join("net.nvb"),
        &bytes[..16],
        header.clone(),
        &index,
        &base,
        Some(&serde_json::to_vec(&net).unwrap()),
    );
    let o = neuvis(
        dir,
        &[
            "raycast", "render", "net.nvb", "--iso", "0", "--size", "32", "-o", "f.png",
        ],
    );
    refused(&o, &["net.nvb", "network", "bricks of 16"]);

    // 6. a small store claiming a 4.3 GB base volume (1025³ samples), opened under a 2 GiB
    // address-space limit: an error, not an abort
    let geometry = neuvis_raycast::geom::Geometry::new([2049; 3], 256, 2).unwrap();
    assert_eq!(geometry.base_len(), 1025 * 1025 * 1025);
    let mut h6 = header.clone();
    h6.geometry = geometry;
    let index6 = vec![0u8; geometry.nbricks() * 24];
    write_store(&dir.join("huge.nvb"), &bytes[..16], h6, &index6, &base, Some(&network));
    assert!(std::fs::metadata(dir.join("huge.nvb")).unwrap().len() < 1 << 20);
    let o = neuvis_limited(
        dir,
        2 << 20,
        &[
            "raycast", "render", "huge.nvb", "--iso", "0", "--size", "32", "-o", "f.png",
        ],
    );
    refused(&o, &["huge.nvb", "base volume"]);

    // 7. a zstd bomb as the base (68 MB of zeros in a few kB) with --budget-mb 4: refused before
    // decompressing
    let geometry = neuvis_raycast::geom::Geometry::new([513; 3], 32, 2).unwrap();
    let mut h7 = header.clone();
    h7.geometry = geometry;
    let bomb = neuvis_raycast::store::encode(&vec![0f32; geometry.base_len()]).unwrap();
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let index7 = vec![0u8; geometry.nbricks() * 24];
    write_store(&dir.join("bomb.nvb"), &bytes[..16], h7, &index7, &bomb, Some(&network));
    let o = neuvis(
        dir,
        &[
            "raycast",
            "render",
            "bomb.nvb",
            "--iso",
            "0",
            "--size",
            "32",
            "--budget-mb",
            "4",
            "-o",
            "f.png",
        ],
    );
    refused(&o, &["bomb.nvb", "base volume", "budget"]);

    // 13. non-finite angles and absurd thread counts are refused by the flag parser
    for (flag, v) in [("--theta", "NaN"), ("--phi", "inf"), ("--iso", "nan")] {
        let iso = if flag == "--iso" { v } else { "0" };
        let mut args = vec!["raycast", "render", "s.nvb", "--iso", iso, "-o", "f.png"];
        if flag != "--iso" {
            args.extend([flag, v]);
        }
        let o = neuvis(dir, &args);
        assert_eq!(o.status.code(), Some(2), "{flag} {v}: {}", text(&o));
        assert!(text(&o).contains(flag) && text(&o).contains("finite"), "{}", text(&o));
    }
    let o = neuvis(
        dir,
        &[
            "--threads",
            "100000",
            "raycast",
            "render",
            "s.nvb",
            "--iso",
            "0",
            "-o",
            "f.png",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--threads"), "{}", text(&o));
    assert!(!dir.join("f.png").exists());
}

/// A minimal gzip member holding `data` in one stored DEFLATE block.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    g.push(1); // final stored block
    let n = data.len() as u16;
    g.extend(n.to_le_bytes());
    g.extend((!n).to_le_bytes());
    g.extend(data);
    g.extend(neuvis_codec::container::crc32(data).to_le_bytes());
    g.extend((data.len() as u32).to_le_bytes());
    g
}

#[test]
fn hostile_volume_headers_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let iso = |file: &str| neuvis(dir, &["isosurface", "--volume", file, "--iso", "0.5", "-o", "m.vtp"]);
    let vtk = |tail: &str| {
        format!(
            "# vtk DataFile Version 3.0\nhostile\nASCII\nDATASET STRUCTURED_POINTS\nDIMENSIONS 2 2 2\nORIGIN 0 0 0\nSPACING 1 1 1\n{tail}"
        )
    };
    let values = "0 1 0 1 0 1 0 1\n";
    // 8. VTK legacy counts of billions in a few bytes
    for (name, body, field) in [
        (
            "points.vtk",
            vtk(&format!(
                "POINT_DATA 4000000000\nSCALARS s float 1\nLOOKUP_TABLE default\n{values}"
            )),
            "POINT_DATA",
        ),
        (
            "lut.vtk",
            vtk(&format!(
                "POINT_DATA 8\nSCALARS s float 1\nLOOKUP_TABLE default\n{values}LOOKUP_TABLE lut 4000000000\n0 0 0 1\n"
            )),
            "LOOKUP_TABLE",
        ),
        (
            "field.vtk",
            vtk(&format!(
                "POINT_DATA 8\nFIELD FieldData 2147483647\ns 1 8 float\n{values}"
            )),
            "FIELD",
        ),
        (
            "fieldarray.vtk",
            vtk(&format!(
                "POINT_DATA 8\nFIELD FieldData 1\ns 1 4000000000 float\n{values}"
            )),
            "FIELD array",
        ),
    ] {
        std::fs::write(dir.join(name), body).unwrap();
        let o = iso(name);
        refused(&o, &[name, field]);
    }

    // 9. a gzip NRRD claiming 1100³ floats under a 2 GiB address-space limit
    let mut nrrd = b"NRRD0004\ntype: float\ndimension: 3\nsizes: 1100 1100 1100\nencoding: gzip\n\n".to_vec();
    nrrd.extend(gzip_stored(&[0u8; 1024]));
    std::fs::write(dir.join("big.nrrd"), &nrrd).unwrap();
    let o = neuvis_limited(
        dir,
        2 << 20,
        &["isosurface", "--volume", "big.nrrd", "--iso", "0.5", "-o", "m.vtp"],
    );
    refused(&o, &["big.nrrd", "MiB"]);
    // without the limit the claim is caught by the stream's length, never by reading on
    let o = iso("big.nrrd");
    refused(&o, &["big.nrrd"]);

    // 10. detached data outside the header's folder, or not a regular file
    let detached =
        |df: &str| format!("NRRD0004\ntype: float\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: {df}\n\n");
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.raw")).unwrap();
    for (name, df, needle) in [
        ("abs.nhdr", "/dev/zero", "relative"),
        ("passwd.nhdr", "../../../../etc/passwd", "relative"),
        ("dev.nhdr", "zero.raw", "not a regular file"),
    ] {
        std::fs::write(dir.join(name), detached(df)).unwrap();
        let o = iso(name);
        refused(&o, &[name, "data file", needle]);
    }

    // 11. an endless line skip over ASCII data
    std::fs::write(
        dir.join("skip.nrrd"),
        format!("NRRD0004\ntype: float\ndimension: 3\nsizes: 2 2 2\nencoding: ascii\nline skip: 18446744073709551615\n\n{values}"),
    )
    .unwrap();
    let o = iso("skip.nrrd");
    refused(&o, &["skip.nrrd", "line skip"]);
    assert!(!dir.join("m.vtp").exists());
}
