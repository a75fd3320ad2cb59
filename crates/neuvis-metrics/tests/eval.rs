//! Collection pairing, scoring and difference images.

use neuvis_collection::{CinemaDb, DbWriter, MaskedImage, View};
use neuvis_metrics::diff::{colormap, delta_e, difference_image};
use neuvis_metrics::eval::{evaluate, means, pair};
use std::path::Path;

fn image(w: usize, h: usize, shade: u8) -> MaskedImage {
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| ((i * 7) % 200) as u8 + shade).collect();
    MaskedImage::new(w, h, rgb, vec![255; w * h]).unwrap()
}

fn db(dir: &Path, name: &str, views: &[(f64, f64, f64)], size: usize, shade: u8) -> CinemaDb {
    let target = dir.join(name);
    let mut w = DbWriter::create(&target, &serde_json::json!({}), false, false).unwrap();
    let vs: Vec<View> = views
        .iter()
        .map(|&(t, th, ph)| View {
            step: t as usize,
            time: t,
            theta: th,
            phi: ph,
        })
        .collect();
    w.prepare(&vs).unwrap();
    for v in &vs {
        w.write(v, &image(size, size, shade)).unwrap();
        w.push(*v);
    }
    w.finish().unwrap();
    CinemaDb::open(&target).unwrap()
}

#[test]
fn pairs_by_parameters_and_scores_every_pair() {
    let d = tempfile::tempdir().unwrap();
    let views = [(0.0, 0.0, 0.0), (0.0, 45.0, 90.0), (1.0, 45.0, 90.0)];
    let a = db(d.path(), "a.cdb", &views, 32, 0);
    // same parameters written in another order
    let rev: Vec<_> = views.iter().rev().cloned().collect();
    let b = db(d.path(), "b.cdb", &rev, 32, 10);
    let p = pair(&a, &b).unwrap();
    assert_eq!(p.len(), 3);
    for (_, i, j) in &p {
        let (x, y) = (&a.entries[*i], &b.entries[*j]);
        assert_eq!((x.time, x.theta, x.phi), (y.time, y.theta, y.phi));
    }
    let s = evaluate(&a, &b, |_, _, _| Ok(())).unwrap();
    // every pixel differs by exactly 10 in every channel: PSNR = 10 log10(255²/100)
    let want = 10.0 * (255f64 * 255.0 / 100.0).log10();
    assert!(s.iter().all(|x| (x.psnr - want).abs() < 1e-9));
    let (mp, ms, mm, mf) = means(&s);
    assert!((mp - want).abs() < 1e-9 && ms < 1.0 && mm < 1.0 && mf > 0.0);
    // identical collections: infinite PSNR per image, capped at 100 dB in the mean
    let s = evaluate(&a, &a, |_, _, _| Ok(())).unwrap();
    assert!(s.iter().all(|x| x.psnr.is_infinite() && x.ssim == 1.0 && x.flip == 0.0));
    assert_eq!(means(&s).0, 100.0);
}

#[test]
fn mismatched_collections_are_explained() {
    let d = tempfile::tempdir().unwrap();
    let a = db(
        d.path(),
        "a.cdb",
        &[(0.0, 0.0, 0.0), (0.0, 0.0, 90.0), (0.0, 90.0, 0.0)],
        16,
        0,
    );
    let b = db(
        d.path(),
        "b.cdb",
        &[(0.0, 0.0, 0.0), (0.0, 0.0, 90.0), (0.0, 90.0, 45.0)],
        16,
        0,
    );
    let e = pair(&a, &b).unwrap_err().to_string();
    assert!(
        e.contains("only in") && e.contains("a.cdb (1): t=0 θ=90 φ=0") && e.contains("b.cdb (1): t=0 θ=90 φ=45"),
        "{e}"
    );
    let c = db(
        d.path(),
        "c.cdb",
        &[(0.0, 0.0, 0.0), (0.0, 0.0, 90.0), (0.0, 90.0, 0.0)],
        24,
        0,
    );
    let e = evaluate(&a, &c, |_, _, _| Ok(())).unwrap_err().to_string();
    assert!(e.contains("is 16x16 but") && e.contains("24x24"), "{e}");
}

#[test]
fn difference_images_follow_the_scale() {
    assert_eq!(colormap(0.0), [255, 255, 255]);
    assert_eq!(colormap(1.0), [220, 0, 0]);
    assert_eq!(colormap(7.0), [220, 0, 0], "saturates");
    assert_eq!(colormap(f32::NAN), [255, 255, 255]);
    let a = image(40, 30, 0);
    let same = difference_image(&a, &a, 40.0).unwrap();
    assert_eq!((same.width, same.height), (40, 40), "a 10-pixel legend strip below");
    assert!(
        same.rgb[..40 * 30 * 3].iter().all(|&v| v == 255),
        "no difference is white"
    );
    // black vs white: ΔE*uv = 100 (L* from 0 to 100, u* = v* = 0 for both)
    let black = MaskedImage::new(2, 2, vec![0; 12], vec![255; 4]).unwrap();
    let white = MaskedImage::new(2, 2, vec![255; 12], vec![255; 4]).unwrap();
    let de = delta_e(&black, &white).unwrap();
    assert!(de.iter().all(|&v| (v - 100.0).abs() < 1e-3), "{de:?}");
    let img = difference_image(&black, &white, 200.0).unwrap();
    let mid = colormap(0.5);
    assert!(
        img.rgb[..3].iter().zip(mid).all(|(a, b)| a.abs_diff(b) <= 1),
        "{:?} vs {mid:?}",
        &img.rgb[..3]
    );
    assert!(difference_image(&black, &a, 40.0).is_err());
}
