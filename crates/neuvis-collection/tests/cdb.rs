//! Cinema spec D databases and masked PNGs.

use neuvis_collection::{CinemaDb, CollectionError, DbWriter, MaskedImage, View};
use serde_json::json;

fn img(w: usize, h: usize, seed: u8) -> MaskedImage {
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i as u8).wrapping_mul(seed)).collect();
    let mask: Vec<u8> = (0..w * h)
        .map(|i| if (i + seed as usize).is_multiple_of(3) { 255 } else { 0 })
        .collect();
    MaskedImage::new(w, h, rgb, mask).unwrap()
}

#[test]
fn png_round_trip_keeps_rgb_and_mask() {
    let d = tempfile::tempdir().unwrap();
    let a = img(7, 5, 3);
    let p = d.path().join("a.png");
    a.save_png(&p).unwrap();
    assert_eq!(MaskedImage::load_png(&p).unwrap(), a);
    // a plain RGB PNG from another tool: white is background, everything else foreground
    let rgb = image::RgbImage::from_fn(4, 2, |x, _| {
        if x < 2 {
            image::Rgb([255, 255, 255])
        } else {
            image::Rgb([10, 20, 30])
        }
    });
    let q = d.path().join("rgb.png");
    rgb.save(&q).unwrap();
    let b = MaskedImage::load_png(&q).unwrap();
    assert_eq!(b.mask(), &[0, 0, 255, 255, 0, 0, 255, 255]);
    // not a PNG
    let r = d.path().join("bad.png");
    std::fs::write(&r, b"definitely not an image").unwrap();
    let e = MaskedImage::load_png(&r).unwrap_err().to_string();
    assert!(e.contains("bad.png") && e.contains("decode"), "{e}");
    assert!(MaskedImage::new(2, 2, vec![0; 11], vec![0; 4]).is_err());
}

#[test]
fn reads_databases_written_by_other_tools() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("other.cdb");
    std::fs::create_dir_all(db.join("imgs")).unwrap();
    img(4, 4, 1).save_png(&db.join("imgs/a.png")).unwrap();
    img(4, 4, 2).save_png(&db.join("imgs/b.png")).unwrap();
    // column order free, extra columns, quoted field, time column named in upper case
    std::fs::write(
        db.join("data.csv"),
        "phi,FILE,isovalue,THETA,Time,note\n90,imgs/a.png,0.5,45,3,\"a, b\"\n180,imgs/b.png,0.5,135,3,x\n",
    )
    .unwrap();
    let c = CinemaDb::open(&db).unwrap();
    assert_eq!(c.extra_columns, vec!["isovalue", "note"]);
    assert_eq!(c.entries.len(), 2);
    assert_eq!(
        (c.entries[0].time, c.entries[0].theta, c.entries[0].phi),
        (3.0, 45.0, 90.0)
    );
    assert_eq!(c.entries[0].extra, vec!["0.5", "a, b"]);
    assert_eq!(c.load(1).unwrap(), img(4, 4, 2));
    assert!(c.meta.is_none());
}

#[test]
fn bad_databases_give_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("x.cdb");
    std::fs::create_dir_all(&db).unwrap();
    let e = CinemaDb::open(&db).unwrap_err().to_string();
    assert!(e.contains("data.csv"), "{e}");
    std::fs::write(
        db.join("data.csv"),
        "theta,phi,FILE\n0,0,a.png\n0,9,b.png\n0,18,c.png\n",
    )
    .unwrap();
    img(2, 2, 1).save_png(&db.join("b.png")).unwrap();
    match CinemaDb::open(&db).unwrap_err() {
        CollectionError::MissingFiles { missing, .. } => assert_eq!(missing, vec!["a.png", "c.png"]),
        other => panic!("unexpected {other}"),
    }
    std::fs::write(db.join("data.csv"), "theta,phi,image\n0,0,b.png\n").unwrap();
    assert!(CinemaDb::open(&db).unwrap_err().to_string().contains("no FILE column"));
    std::fs::write(db.join("data.csv"), "theta,phi,FILE\nabc,0,b.png\n").unwrap();
    let e = CinemaDb::open(&db).unwrap_err().to_string();
    assert!(e.contains("line 2") && e.contains("theta 'abc'"), "{e}");
    std::fs::write(db.join("data.csv"), "theta,phi,FILE\n").unwrap();
    assert!(CinemaDb::open(&db).unwrap_err().to_string().contains("no images"));
    assert!(CinemaDb::open(&d.path().join("missing.cdb"))
        .unwrap_err()
        .to_string()
        .contains("missing.cdb"));
}

fn views() -> Vec<View> {
    [(0.0, 0.0), (45.0, 22.5), (90.0, 315.0)]
        .iter()
        .map(|&(theta, phi)| View {
            step: 2,
            time: 2.0,
            theta,
            phi,
        })
        .collect()
}

#[test]
fn writer_is_atomic_and_resumable() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("out.cdb");
    let meta = json!({"size": 4});
    let vs = views();
    // first run writes two of three images, then "dies" (dropped without finish)
    {
        let mut w = DbWriter::create(&target, &meta, false, false).unwrap();
        w.prepare(&vs).unwrap();
        w.write(&vs[0], &img(4, 4, 1)).unwrap();
        w.write(&vs[1], &img(4, 4, 2)).unwrap();
    }
    assert!(!target.exists(), "nothing appears under the final name before finish");
    // without --resume the leftover is reported, with other settings it is refused
    let e = DbWriter::create(&target, &meta, false, false).unwrap_err().to_string();
    assert!(e.contains("--resume"), "{e}");
    let e = DbWriter::create(&target, &json!({"size": 5}), true, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("different settings"), "{e}");
    let mut w = DbWriter::create(&target, &meta, true, false).unwrap();
    assert!(w.has(&vs[0]) && w.has(&vs[1]) && !w.has(&vs[2]));
    w.prepare(&vs).unwrap();
    w.write(&vs[2], &img(4, 4, 3)).unwrap();
    for v in &vs {
        w.push(*v);
    }
    w.finish().unwrap();
    let db = CinemaDb::open(&target).unwrap();
    assert_eq!(db.entries.len(), 3);
    assert_eq!(db.entries[1].file, "t0002/th045_ph022p5.png");
    assert_eq!(db.entries[1].phi, 22.5);
    assert_eq!(db.load(2).unwrap(), img(4, 4, 3));
    // the meta.json written is the caller's plus the generator that marks the folder as neuvis's
    let mut with_generator = meta.clone();
    with_generator["generator"] = json!(format!("neuvis {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(db.meta, Some(with_generator));
    // the target now exists: refused without overwrite
    assert!(DbWriter::create(&target, &meta, false, false)
        .unwrap_err()
        .to_string()
        .contains("--overwrite"));
}
