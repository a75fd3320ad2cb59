//! Difference images: per-pixel Euclidean distance in CIELUV, coloured like the NeRVI paper's
//! figures (white → purple → blue → green → yellow → red for low → high), with a legend strip.

use crate::{check_sizes, MetricError};
use neuvis_base::MaskedImage;

/// D65 reference white (CIE 1931 2°), as used by sRGB.
const WHITE: [f64; 3] = [0.95047, 1.0, 1.08883];

fn srgb_to_linear(c: u8) -> f64 {
    let c = c as f64 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn uv_prime(x: f64, y: f64, z: f64) -> (f64, f64) {
    let d = x + 15.0 * y + 3.0 * z;
    if d == 0.0 {
        (0.0, 0.0)
    } else {
        (4.0 * x / d, 9.0 * y / d)
    }
}

/// Converts 8-bit sRGB to CIE L*u*v* (D65): sRGB → linear → XYZ → L*u*v*.
///
/// ```
/// let w = neuvis_metrics::diff::srgb_to_luv([255, 255, 255]);
/// assert!((w[0] - 100.0).abs() < 1e-3 && w[1].abs() < 1e-3 && w[2].abs() < 1e-3);
/// assert_eq!(neuvis_metrics::diff::srgb_to_luv([0, 0, 0]), [0.0, 0.0, 0.0]);
/// ```
pub fn srgb_to_luv(rgb: [u8; 3]) -> [f64; 3] {
    let [r, g, b] = rgb.map(srgb_to_linear);
    let x = 0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175_0 * b;
    let z = 0.019_333_9 * r + 0.119_192_0 * g + 0.950_304_1 * b;
    let yr = y / WHITE[1];
    let eps = (6.0f64 / 29.0).powi(3);
    let l = if yr > eps {
        116.0 * yr.cbrt() - 16.0
    } else {
        (29.0f64 / 3.0).powi(3) * yr
    };
    if l == 0.0 {
        return [0.0, 0.0, 0.0];
    }
    let (u, v) = uv_prime(x, y, z);
    let (un, vn) = uv_prime(WHITE[0], WHITE[1], WHITE[2]);
    [l, 13.0 * l * (u - un), 13.0 * l * (v - vn)]
}

/// Per-pixel ΔE*uv (Euclidean distance in CIELUV) between two images, row-major.
pub fn delta_e(a: &MaskedImage, b: &MaskedImage) -> Result<Vec<f32>, MetricError> {
    check_sizes(a, b)?;
    Ok(a.rgb()
        .chunks_exact(3)
        .zip(b.rgb().chunks_exact(3))
        .map(|(p, q)| {
            let (x, y) = (srgb_to_luv([p[0], p[1], p[2]]), srgb_to_luv([q[0], q[1], q[2]]));
            ((x[0] - y[0]).powi(2) + (x[1] - y[1]).powi(2) + (x[2] - y[2]).powi(2)).sqrt() as f32
        })
        .collect())
}

/// The colour scale stops: white, purple, blue, green, yellow, red.
const STOPS: [[f32; 3]; 6] = [
    [255.0, 255.0, 255.0],
    [128.0, 0.0, 160.0],
    [0.0, 64.0, 255.0],
    [0.0, 190.0, 60.0],
    [255.0, 230.0, 0.0],
    [220.0, 0.0, 0.0],
];

/// Colour of `t ∈ [0, 1]` on the difference scale (clamped).
pub fn colormap(t: f32) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) } * (STOPS.len() - 1) as f32;
    let i = (t as usize).min(STOPS.len() - 2);
    let f = t - i as f32;
    [0, 1, 2].map(|c| (STOPS[i][c] + (STOPS[i + 1][c] - STOPS[i][c]) * f).round() as u8)
}

/// 3×5 bitmap glyphs for the legend labels: digits, '.', ' ', 'd', 'E' ("dE" stands for ΔE*uv).
fn glyph(ch: char) -> [u8; 5] {
    match ch {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '.' => [0, 0, 0, 0, 0b010],
        'E' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'd' => [0b001, 0b001, 0b111, 0b101, 0b111],
        _ => [0; 5],
    }
}

/// An RGB picture (no mask): a difference image with its legend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// RGB bytes, row-major.
    pub rgb: Vec<u8>,
}

impl RgbImage {
    fn put(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x < self.width && y < self.height {
            let i = 3 * (y * self.width + x);
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    fn text(&mut self, x: usize, y: usize, s: &str, scale: usize) {
        for (n, ch) in s.chars().enumerate() {
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..3 {
                    if bits & (0b100 >> col) != 0 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                self.put(x + (n * 4 + col) * scale + dx, y + row * scale + dy, [0, 0, 0]);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Writes a PNG atomically.
    pub fn save_png(&self, path: &std::path::Path) -> Result<(), neuvis_collection::CollectionError> {
        neuvis_collection::write_atomic(path, |w| {
            use image::ImageEncoder;
            image::codecs::png::PngEncoder::new(w)
                .write_image(
                    &self.rgb,
                    self.width as u32,
                    self.height as u32,
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
    }
}

/// The ΔE*uv at the top (red) of the difference colour scale by default: one scale for `neuvis
/// eval --diff-images`, the demo's pictures and the explorer's difference view, so the same
/// colour means the same error everywhere.
pub const DEFAULT_MAX_DELTA_E: f32 = 40.0;

/// The coloured ΔE*uv image of `test` against `reference`, with ΔE mapped linearly from 0 to
/// `max_delta_e` (larger values saturate at red), and a legend strip below it: the colour bar
/// labelled `0` and `max_delta_e`.
pub fn difference_image(
    reference: &MaskedImage,
    test: &MaskedImage,
    max_delta_e: f32,
) -> Result<RgbImage, MetricError> {
    let de = delta_e(reference, test)?;
    let (w, h) = (reference.width(), reference.height());
    let scale = if w >= 192 { 2 } else { 1 };
    let legend = 10 * scale;
    let mut img = RgbImage {
        width: w,
        height: h + legend,
        rgb: vec![255; w * (h + legend) * 3],
    };
    for (i, d) in de.iter().enumerate() {
        img.put(i % w, i / w, colormap(d / max_delta_e));
    }
    // colour bar in the upper half of the strip, labels below
    let bar = 3 * scale;
    for x in 0..w {
        let c = colormap(x as f32 / (w - 1).max(1) as f32);
        for y in 0..bar {
            img.put(x, h + scale + y, c);
        }
    }
    let label_y = h + scale + bar + scale;
    img.text(1, label_y, "0", scale);
    let max_label = if max_delta_e.fract() == 0.0 {
        format!("{max_delta_e:.0}")
    } else {
        format!("{max_delta_e:.1}")
    };
    let width_px = max_label.len() * 4 * scale;
    img.text(w.saturating_sub(width_px + 1), label_y, &max_label, scale);
    if w >= 40 * scale {
        img.text(w / 2 - 4 * scale, label_y, "dE", scale);
    }
    Ok(img)
}
