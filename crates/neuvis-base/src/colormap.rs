//! Colour maps shared by the DVR transfer functions (`neuvis-render`) and the AMR slice images
//! (`neuvis-amr`): colour points over a normalized `[0, 1]` position, ParaView's clamping outside
//! the end points, and interpolation between points in the colour space ParaView's JSON names
//! (`ColorSpace`: RGB, HSV, Lab, Diverging, Step) with the formulas of VTK's
//! `vtkColorTransferFunction`, so a ParaView colour map gives ParaView's colours (tested against
//! VTK's own numbers, `tests/colormap.rs`).

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

/// The space colours are interpolated in between two points (ParaView's `ColorSpace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorSpace {
    /// Linear in RGB.
    #[default]
    Rgb,
    /// Linear in HSV, the hue taking the shorter way round (VTK's `HSVWrap`, on by default).
    Hsv,
    /// Linear in CIE L*a*b* (sRGB, D65 white).
    Lab,
    /// Moreland's diverging interpolation in Msh, with white inserted between two distinct
    /// saturated colours (ParaView's "Cool to Warm").
    Diverging,
    /// No interpolation: a segment takes its right point's colour (as VTK does).
    Step,
}

impl ColorSpace {
    /// Parses ParaView's `ColorSpace` value (`RGB`, `HSV`, `Lab`, `Diverging`, `Step`; case
    /// ignored). `Lab/CIEDE2000` is not supported and is `None`, as is anything unknown.
    pub fn parse(s: &str) -> Option<ColorSpace> {
        Some(match s.to_ascii_lowercase().as_str() {
            "rgb" => ColorSpace::Rgb,
            "hsv" => ColorSpace::Hsv,
            "lab" | "cielab" => ColorSpace::Lab,
            "diverging" | "msh" => ColorSpace::Diverging,
            "step" => ColorSpace::Step,
            _ => return None,
        })
    }
}

/// The colour space a preset is interpolated in, as ParaView's preset of that name is.
pub fn preset_space(name: &str) -> ColorSpace {
    match name {
        "cool-to-warm" | "coolwarm" => ColorSpace::Diverging,
        _ => ColorSpace::Rgb,
    }
}

/// The colour of `pts` at `v`, interpolated in `space`.
pub fn color_in(space: ColorSpace, pts: &[ColorPoint], v: f32) -> [f32; 3] {
    if space == ColorSpace::Rgb {
        return color_at(pts, v);
    }
    interp(pts, v, |a, b, t| {
        let (a, b) = (a.map(f64::from), b.map(f64::from));
        let t = f64::from(t);
        let c = match space {
            ColorSpace::Rgb => lerp3(a, b, t),
            ColorSpace::Step => {
                if t > 0.0 {
                    b
                } else {
                    a
                }
            }
            ColorSpace::Hsv => {
                let (mut h1, mut h2) = (rgb_to_hsv(a), rgb_to_hsv(b));
                if (h1[0] - h2[0]).abs() > 0.5 {
                    if h1[0] > h2[0] {
                        h1[0] -= 1.0;
                    } else {
                        h2[0] -= 1.0;
                    }
                }
                let mut h = lerp3(h1, h2, t);
                if h[0] < 0.0 {
                    h[0] += 1.0;
                }
                hsv_to_rgb(h)
            }
            ColorSpace::Lab => lab_to_rgb(lerp3(rgb_to_lab(a), rgb_to_lab(b), t)),
            ColorSpace::Diverging => diverging(a, b, t),
        };
        c.map(|x| x as f32)
    })
}

fn lerp3(a: [f64; 3], b: [f64; 3], t: f64) -> [f64; 3] {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

fn rgb_to_hsv([r, g, b]: [f64; 3]) -> [f64; 3] {
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let v = max;
    let s = if max > 0.0 { (max - min) / max } else { 0.0 };
    if s == 0.0 {
        return [0.0, 0.0, v];
    }
    let d = max - min;
    let mut h = if r == max {
        (g - b) / d
    } else if g == max {
        2.0 + (b - r) / d
    } else {
        4.0 + (r - g) / d
    } / 6.0;
    if h < 0.0 {
        h += 1.0;
    }
    [h, s, v]
}

fn hsv_to_rgb([h, s, v]: [f64; 3]) -> [f64; 3] {
    let h6 = (h * 6.0).rem_euclid(6.0);
    let i = h6.floor();
    let f = h6 - i;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    match i as u32 {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// D65 reference white of the sRGB → XYZ → Lab conversion.
const WHITE: [f64; 3] = [0.9505, 1.0, 1.089];

fn rgb_to_lab(rgb: [f64; 3]) -> [f64; 3] {
    let [r, g, b] = rgb.map(|c| {
        if c > 0.04045 {
            ((c + 0.055) / 1.055).powf(2.4)
        } else {
            c / 12.92
        }
    });
    let xyz = [
        r * 0.4124 + g * 0.3576 + b * 0.1805,
        r * 0.2126 + g * 0.7152 + b * 0.0722,
        r * 0.0193 + g * 0.1192 + b * 0.9505,
    ];
    let f = |i: usize| {
        let v = xyz[i] / WHITE[i];
        if v > 0.008856 {
            v.cbrt()
        } else {
            7.787 * v + 16.0 / 116.0
        }
    };
    let (x, y, z) = (f(0), f(1), f(2));
    [116.0 * y - 16.0, 500.0 * (x - y), 200.0 * (y - z)]
}

fn lab_to_rgb([l, a, b]: [f64; 3]) -> [f64; 3] {
    let y = (l + 16.0) / 116.0;
    let v = [a / 500.0 + y, y, y - b / 200.0];
    let xyz = [0, 1, 2].map(|i| {
        let c = v[i] * v[i] * v[i];
        WHITE[i] * if c > 0.008856 { c } else { (v[i] - 16.0 / 116.0) / 7.787 }
    });
    let [x, y, z] = xyz;
    let lin = [
        x * 3.2406 + y * -1.5372 + z * -0.4986,
        x * -0.9689 + y * 1.8758 + z * 0.0415,
        x * 0.0557 + y * -0.2040 + z * 1.0570,
    ];
    let mut rgb = lin.map(|c| {
        if c > 0.0031308 {
            1.055 * c.powf(1.0 / 2.4) - 0.055
        } else {
            12.92 * c
        }
    });
    // VTK clips out-of-gamut colours: scale down by the largest component, then clamp at 0
    let max = rgb[0].max(rgb[1]).max(rgb[2]);
    if max > 1.0 {
        rgb = rgb.map(|c| c / max);
    }
    rgb.map(|c| c.max(0.0))
}

fn lab_to_msh([l, a, b]: [f64; 3]) -> [f64; 3] {
    let m = (l * l + a * a + b * b).sqrt();
    let s = if m > 0.001 { (l / m).acos() } else { 0.0 };
    let h = if s > 0.001 { b.atan2(a) } else { 0.0 };
    [m, s, h]
}

fn msh_to_lab([m, s, h]: [f64; 3]) -> [f64; 3] {
    [m * s.cos(), m * s.sin() * h.cos(), m * s.sin() * h.sin()]
}

fn angle_diff(a: f64, b: f64) -> f64 {
    use std::f64::consts::PI;
    let mut d = (a - b).abs();
    while d >= 2.0 * PI {
        d -= 2.0 * PI;
    }
    if d > PI {
        2.0 * PI - d
    } else {
        d
    }
}

/// The hue an unsaturated end takes so the interpolation spins towards the saturated one.
fn adjust_hue(msh: [f64; 3], unsat_m: f64) -> f64 {
    use std::f64::consts::PI;
    if msh[0] >= unsat_m - 0.1 {
        return msh[2];
    }
    let spin = msh[1] * (unsat_m * unsat_m - msh[0] * msh[0]).sqrt() / (msh[0] * msh[1].sin());
    if msh[2] > -0.3 * PI {
        msh[2] + spin
    } else {
        msh[2] - spin
    }
}

/// Moreland (2009), "Diverging Color Maps for Scientific Visualization", as VTK implements it.
fn diverging(a: [f64; 3], b: [f64; 3], mut t: f64) -> [f64; 3] {
    use std::f64::consts::PI;
    let (mut m1, mut m2) = (lab_to_msh(rgb_to_lab(a)), lab_to_msh(rgb_to_lab(b)));
    if m1[1] > 0.05 && m2[1] > 0.05 && angle_diff(m1[2], m2[2]) > 0.33 * PI {
        let mid = m1[0].max(m2[0]).max(88.0);
        if t < 0.5 {
            m2 = [mid, 0.0, 0.0];
            t *= 2.0;
        } else {
            m1 = [mid, 0.0, 0.0];
            t = 2.0 * t - 1.0;
        }
    }
    if m1[1] < 0.05 && m2[1] > 0.05 {
        m1[2] = adjust_hue(m2, m1[0]);
    } else if m2[1] < 0.05 && m1[1] > 0.05 {
        m2[2] = adjust_hue(m1, m2[0]);
    }
    lab_to_rgb(msh_to_lab(lerp3(m1, m2, t)))
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
