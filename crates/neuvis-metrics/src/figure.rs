//! Labelled figures: images side by side, enlarged by whole pixels so small renders stay sharp,
//! each under a caption, with a title line above them. The text is drawn with an 8×8 bitmap font
//! (Latin and Greek, from `font8x8`), so figures need no font file on the machine.

use crate::diff::RgbImage;
use font8x8::UnicodeFonts;

/// One image of a figure and its caption.
#[derive(Debug, Clone, Copy)]
pub struct Panel<'a> {
    /// Caption drawn above the image.
    pub caption: &'a str,
    /// The image.
    pub image: &'a RgbImage,
}

/// Space around the figure and below its title, in figure pixels.
const MARGIN: usize = 8;
/// Space between panels, in figure pixels.
const GAP: usize = 24;

/// The 8×8 glyph of `ch` (Latin, Latin-1 and Greek; `?` for anything else). Each byte is a row,
/// top first; bit 0 is the leftmost pixel.
fn glyph(ch: char) -> [u8; 8] {
    font8x8::BASIC_FONTS
        .get(ch)
        .or_else(|| font8x8::LATIN_FONTS.get(ch))
        .or_else(|| font8x8::GREEK_FONTS.get(ch))
        .or_else(|| font8x8::BASIC_FONTS.get('?'))
        .unwrap_or([0; 8])
}

/// Width in pixels of `text` drawn at `scale`.
pub fn text_width(text: &str, scale: usize) -> usize {
    text.chars().count() * 8 * scale
}

impl RgbImage {
    /// A white image.
    pub fn white(width: usize, height: usize) -> RgbImage {
        RgbImage {
            width,
            height,
            rgb: vec![255; 3 * width * height],
        }
    }

    /// Draws `text` in black with its top-left corner at `(x, y)`, each font pixel `scale` × `scale`
    /// pixels; what falls outside the image is clipped.
    pub fn draw_text(&mut self, x: usize, y: usize, text: &str, scale: usize) {
        for (n, ch) in text.chars().enumerate() {
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) == 0 {
                        continue;
                    }
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let (px, py) = (x + (8 * n + col) * scale + dx, y + row * scale + dy);
                            if px < self.width && py < self.height {
                                let i = 3 * (py * self.width + px);
                                self.rgb[i..i + 3].copy_from_slice(&[0, 0, 0]);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Copies `src` enlarged `factor` times (nearest neighbour: every pixel a `factor`-wide square)
    /// with its top-left corner at `(x, y)`, clipped to this image.
    pub fn blit_scaled(&mut self, src: &RgbImage, x: usize, y: usize, factor: usize) {
        for sy in 0..src.height * factor {
            let py = y + sy;
            if py >= self.height {
                break;
            }
            for sx in 0..src.width * factor {
                let px = x + sx;
                if px >= self.width {
                    break;
                }
                let s = 3 * ((sy / factor) * src.width + sx / factor);
                let d = 3 * (py * self.width + px);
                self.rgb[d..d + 3].copy_from_slice(&src.rgb[s..s + 3]);
            }
        }
    }
}

/// The whole-pixel enlargement that makes the widest panel at least `min_panel_width` wide (1 if
/// it already is).
pub fn enlargement(panels: &[Panel], min_panel_width: usize) -> usize {
    let widest = panels.iter().map(|p| p.image.width).max().unwrap_or(1).max(1);
    min_panel_width.div_ceil(widest).max(1)
}

/// Panels side by side on white, enlarged `factor` times, each with its caption above it, under a
/// title line. The text is twice the font's size when the panels are at least 192 pixels wide.
pub fn side_by_side(title: &str, panels: &[Panel], factor: usize) -> RgbImage {
    let factor = factor.max(1);
    let widest = panels.iter().map(|p| p.image.width * factor).max().unwrap_or(0);
    let text_scale = if widest >= 192 { 2 } else { 1 };
    let line = 8 * text_scale + MARGIN / 2;
    // each column is as wide as its image or its caption, whichever is wider
    let columns: Vec<usize> = panels
        .iter()
        .map(|p| (p.image.width * factor).max(text_width(p.caption, text_scale)))
        .collect();
    let tallest = panels.iter().map(|p| p.image.height * factor).max().unwrap_or(0);
    let body: usize = columns.iter().sum::<usize>() + GAP * columns.len().saturating_sub(1);
    let width = (2 * MARGIN + body).max(2 * MARGIN + text_width(title, text_scale));
    let (caption_y, image_y) = (MARGIN + line + MARGIN, MARGIN + 2 * line + MARGIN);
    let height = image_y + tallest + MARGIN;
    let mut fig = RgbImage::white(width, height);
    fig.draw_text(MARGIN, MARGIN, title, text_scale);
    let mut x = MARGIN;
    for (p, w) in panels.iter().zip(&columns) {
        fig.draw_text(x, caption_y, p.caption, text_scale);
        fig.blit_scaled(p.image, x, image_y, factor);
        x += w + GAP;
    }
    fig
}

/// Labelled comparison figures of `count` views spread over the reference collection `gt`: the
/// reference, the matching image of `test` (paired by file name; its PSNR in the caption after
/// `test_label`) and their CIELUV difference image on [`crate::DEFAULT_MAX_DELTA_E`]'s scale,
/// each panel enlarged to at least 256 pixels, titled by `title`. One PNG per view into the
/// existing folder `dir`, named after the view's file; returns how many were written.
pub fn comparisons(
    gt: &neuvis_collection::CinemaDb,
    test: &neuvis_collection::CinemaDb,
    dir: &std::path::Path,
    count: usize,
    test_label: &str,
    title: &dyn Fn(&neuvis_collection::cdb::Entry) -> String,
) -> Result<usize, crate::MetricError> {
    let n = gt.entries.len();
    let step = (n / count.max(1)).max(1);
    let mut written = 0;
    for i in (0..n).step_by(step).take(count) {
        let g = gt.load(i)?;
        let e = &gt.entries[i];
        let j = test.entries.iter().position(|x| x.file == e.file).unwrap_or(i);
        let t = test.load(j)?;
        let psnr = crate::psnr(&g, &t)?;
        let diff = crate::difference_image(&g, &t, crate::DEFAULT_MAX_DELTA_E)?;
        let rgb = |m: &neuvis_base::MaskedImage| RgbImage {
            width: m.width(),
            height: m.height(),
            rgb: m.rgb().to_vec(),
        };
        let (gi, ti) = (rgb(&g), rgb(&t));
        let test_caption = format!("{test_label}, {psnr:.1} dB");
        let diff_caption = format!("ΔE*uv 0 to {}", crate::DEFAULT_MAX_DELTA_E);
        let panels = [
            Panel {
                caption: "ground truth",
                image: &gi,
            },
            Panel {
                caption: &test_caption,
                image: &ti,
            },
            Panel {
                caption: &diff_caption,
                image: &diff,
            },
        ];
        let fig = side_by_side(&title(e), &panels, enlargement(&panels, 256));
        fig.save_png(&dir.join(e.file.replace('/', "_")))?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: usize, h: usize, c: [u8; 3]) -> RgbImage {
        RgbImage {
            width: w,
            height: h,
            rgb: c.repeat(w * h),
        }
    }

    fn pixel(img: &RgbImage, x: usize, y: usize) -> [u8; 3] {
        let i = 3 * (y * img.width + x);
        [img.rgb[i], img.rgb[i + 1], img.rgb[i + 2]]
    }

    #[test]
    fn glyphs_read_left_to_right_top_to_bottom() {
        // 'L': a vertical stroke on the left, a horizontal one at the bottom
        let mut img = RgbImage::white(8, 8);
        img.draw_text(0, 0, "L", 1);
        let dark = |x, y| pixel(&img, x, y) == [0, 0, 0];
        let left: usize = (0..8).filter(|&y| dark(0, y) || dark(1, y)).count();
        let right: usize = (0..8).filter(|&y| dark(6, y) || dark(7, y)).count();
        assert!(
            left >= 6 && left >= right + 3,
            "left columns {left}, right columns {right}"
        );
        let top_row: usize = (0..8).filter(|&x| dark(x, 0)).count();
        let bottom_rows: usize = (0..8).filter(|&x| dark(x, 6) || dark(x, 5)).count();
        assert!(bottom_rows > top_row, "bottom {bottom_rows}, top {top_row}");
        // Greek letters and the degree sign are drawn, not replaced by '?'
        for ch in ['θ', 'φ', 'Δ', '°'] {
            assert_ne!(glyph(ch), glyph('?'), "{ch}");
            assert_ne!(glyph(ch), [0; 8], "{ch}");
        }
    }

    #[test]
    fn panels_are_enlarged_by_whole_pixels_and_keep_their_colours() {
        let (a, b) = (solid(4, 3, [200, 0, 0]), solid(4, 3, [0, 0, 200]));
        let panels = [
            Panel {
                caption: "a",
                image: &a,
            },
            Panel {
                caption: "b",
                image: &b,
            },
        ];
        assert_eq!(enlargement(&panels, 10), 3);
        assert_eq!(enlargement(&panels, 2), 1);
        let f = side_by_side("t", &panels, 3);
        // both panels appear at 12×9 in their colours, side by side, below the two text lines
        let reds = (0..f.height)
            .flat_map(|y| (0..f.width).map(move |x| (x, y)))
            .filter(|&(x, y)| pixel(&f, x, y) == [200, 0, 0])
            .count();
        let blues = f.rgb.chunks(3).filter(|c| c == &[0, 0, 200]).count();
        assert_eq!((reds, blues), (12 * 9, 12 * 9));
        let first_red = (0..f.height * f.width)
            .find(|&i| pixel(&f, i % f.width, i / f.width) == [200, 0, 0])
            .unwrap();
        let first_blue = (0..f.height * f.width)
            .find(|&i| pixel(&f, i % f.width, i / f.width) == [0, 0, 200])
            .unwrap();
        assert_eq!(first_red / f.width, first_blue / f.width, "same row");
        assert!(first_red % f.width + 12 <= first_blue % f.width, "side by side");
        assert!(first_red / f.width >= 16, "below the title and the captions");
        // text is black and lies above the images
        let black_rows: Vec<usize> = (0..f.height)
            .filter(|&y| (0..f.width).any(|x| pixel(&f, x, y) == [0, 0, 0]))
            .collect();
        assert!(!black_rows.is_empty() && *black_rows.last().unwrap() < first_red / f.width);
    }

    #[test]
    fn a_long_caption_widens_its_column() {
        let a = solid(2, 2, [9, 9, 9]);
        let caption = "a caption far wider than the image";
        let f = side_by_side("", &[Panel { caption, image: &a }], 1);
        assert!(f.width >= text_width(caption, 1) + 2 * MARGIN);
    }
}
