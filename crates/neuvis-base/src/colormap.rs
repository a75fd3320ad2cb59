//! Colour maps shared by the DVR transfer functions (`neuvis-render`) and the AMR slice images
//! (`neuvis-amr`): piecewise-linear RGB over a normalized `[0, 1]` position, ParaView's clamping
//! outside the end points.

/// A colour point: normalized position (or a value, once rescaled) and RGB in `[0, 1]`.
pub type ColorPoint = (f32, [f32; 3]);

/// ParaView's "Cool to Warm" end and mid points (RGB interpolation).
pub const COOL_TO_WARM: [ColorPoint; 3] = [
    (0.0, [0.231_372_55, 0.298_039_22, 0.752_941_2]),
    (0.5, [0.865, 0.865, 0.865]),
    (1.0, [0.705_882_4, 0.015_686_275, 0.149_019_61]),
];

/// Viridis (matplotlib), sampled at nine points.
pub const VIRIDIS: [ColorPoint; 9] = [
    (0.0, [0.267_004, 0.004_874, 0.329_415]),
    (0.125, [0.282_623, 0.140_926, 0.457_517]),
    (0.25, [0.253_935, 0.265_254, 0.529_983]),
    (0.375, [0.206_756, 0.371_758, 0.553_117]),
    (0.5, [0.163_625, 0.471_133, 0.558_148]),
    (0.625, [0.127_568, 0.566_949, 0.550_556]),
    (0.75, [0.134_692, 0.658_636, 0.517_649]),
    (0.875, [0.344_074, 0.744_160, 0.408_073]),
    (1.0, [0.993_248, 0.906_157, 0.143_936]),
];

/// Names accepted by [`preset`] (aliases: `coolwarm`, `gray`, `grey`).
pub const PRESETS: [&str; 3] = ["cool-to-warm", "viridis", "grayscale"];

/// The points of a preset colour map over `[0, 1]`, or `None` for an unknown name.
pub fn preset(name: &str) -> Option<Vec<ColorPoint>> {
    Some(match name {
        "cool-to-warm" | "coolwarm" => COOL_TO_WARM.to_vec(),
        "viridis" => VIRIDIS.to_vec(),
        "grayscale" | "gray" | "grey" => vec![(0.0, [0.0; 3]), (1.0, [1.0; 3])],
        _ => return None,
    })
}

/// `points` with positions mapped from `[0, 1]` to `range` (`lo + x·(hi − lo)`).
pub fn rescale(points: &[ColorPoint], range: (f32, f32)) -> Vec<ColorPoint> {
    let (lo, hi) = range;
    points.iter().map(|&(x, c)| (lo + x * (hi - lo), c)).collect()
}

/// Piecewise-linear interpolation through `pts` (sorted by position, at least one) at `v`; the end
/// values hold outside the first and last point.
///
/// ```
/// use neuvis_base::colormap::interp;
/// let pts = [(0.0, 0.0f32), (1.0, 10.0)];
/// let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
/// assert_eq!(interp(&pts, 0.25, lerp), 2.5);
/// assert_eq!(interp(&pts, -1.0, lerp), 0.0);
/// assert_eq!(interp(&pts, 7.0, lerp), 10.0);
/// ```
pub fn interp<T: Copy>(pts: &[(f32, T)], v: f32, lerp: impl Fn(T, T, f32) -> T) -> T {
    let first = pts[0];
    if v <= first.0 || pts.len() == 1 {
        return first.1;
    }
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if v <= b.0 {
            let t = if b.0 > a.0 { (v - a.0) / (b.0 - a.0) } else { 1.0 };
            return lerp(a.1, b.1, t);
        }
    }
    pts[pts.len() - 1].1
}

/// The colour of `pts` at `v` (linear in RGB).
pub fn color_at(pts: &[ColorPoint], v: f32) -> [f32; 3] {
    interp(pts, v, |a, b, t| [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_ends_and_midpoint_match_matplotlib() {
        // matplotlib.cm.viridis(0.0), (0.5), (1.0)
        let v = preset("viridis").unwrap();
        let close = |a: [f32; 3], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        assert!(close(color_at(&v, 0.0), [0.267_004, 0.004_874, 0.329_415]));
        assert!(close(color_at(&v, 0.5), [0.163_625, 0.471_133, 0.558_148]));
        assert!(close(color_at(&v, 1.0), [0.993_248, 0.906_157, 0.143_936]));
        let r = rescale(&v, (10.0, 20.0));
        assert!(close(color_at(&r, 15.0), color_at(&v, 0.5)));
        assert!(preset("nope").is_none());
    }
}
