//! `neuvis amr compare`: total error against DOFs of several runs on one log–log plot.

use std::path::Path;

use plotters::prelude::*;

use crate::amr::IterationRecord;
use crate::{AmrError, Result};

/// One curve: a label and its history.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Legend label.
    pub label: String,
    /// The run's history (DOFs and total error per iteration).
    pub history: Vec<IterationRecord>,
}

/// TrueType fonts tried, in order (plotters lays out text with a real font in PNG and SVG).
pub const FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
];

fn register_font(path: &Path) -> Result<()> {
    use std::sync::OnceLock;
    static FONT: OnceLock<Option<&'static [u8]>> = OnceLock::new();
    let bytes = FONT.get_or_init(|| {
        FONT_PATHS
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .map(|b| &*Box::leak(b.into_boxed_slice()))
    });
    let bytes = bytes.ok_or_else(|| {
        AmrError::Config(format!(
            "{}: plots need a TrueType font ({} …; Debian: apt install fonts-dejavu-core)",
            path.display(),
            FONT_PATHS[0]
        ))
    })?;
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| AmrError::Config(format!("{}: the font could not be loaded", path.display())))
}

/// Line colours (Matplotlib's tab10 order), so curves stay readable on white.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// The comment that opens every SVG plot neuvis writes (what `--overwrite` looks for).
pub const SVG_MARK: &[u8] = b"<!-- written by neuvis";

/// What `--overwrite` may replace at `path`: an SVG plot neuvis wrote (`.svg`, its mark) or a PNG
/// neuvis wrote (any other name: plots are PNG unless named `.svg`).
pub fn output_kind(path: &Path) -> neuvis_base::OutputKind {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg")) {
        neuvis_base::OutputKind::FileWithMark(SVG_MARK, "an SVG plot neuvis wrote")
    } else {
        neuvis_base::fs::PNG_OUTPUT
    }
}

/// Draws the curves (x = conforming DOFs, y = RMSE, both logarithmic) as PNG or SVG by extension,
/// atomically.
pub fn plot_error_vs_dofs(curves: &[Curve], path: &Path, title: &str) -> Result<()> {
    let pts: Vec<(f64, f64)> = curves
        .iter()
        .flat_map(|c| c.history.iter().map(|r| (r.conforming_dofs as f64, r.total_error)))
        .filter(|p| p.0 > 0.0 && p.1 > 0.0 && p.1.is_finite())
        .collect();
    if pts.is_empty() {
        return Err(AmrError::Config("nothing to plot: no run has a positive error".into()));
    }
    let (x0, x1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
    let (y0, y1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
    let xr = (x0 / 1.5)..(x1 * 1.5);
    let yr = (y0 / 1.5)..(y1 * 1.5);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let size = (900, 650);
    let draw_err = |e: String| AmrError::io(path, std::io::Error::other(e));
    macro_rules! draw {
        ($backend:expr) => {{
            let root = $backend.into_drawing_area();
            root.fill(&WHITE).map_err(|e| draw_err(e.to_string()))?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 22))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(70)
                .build_cartesian_2d(xr.clone().log_scale(), yr.clone().log_scale())
                .map_err(|e| draw_err(e.to_string()))?;
            chart
                .configure_mesh()
                .x_desc("conforming degrees of freedom (vertices that are not hanging; the paper's count)")
                .y_desc("total error (RMSE)")
                .y_label_formatter(&|v| format!("{v:.1e}"))
                .draw()
                .map_err(|e| draw_err(e.to_string()))?;
            for (i, c) in curves.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()].to_rgba();
                let data: Vec<(f64, f64)> = c
                    .history
                    .iter()
                    .map(|r| (r.conforming_dofs as f64, r.total_error))
                    .filter(|p| p.0 > 0.0 && p.1 > 0.0)
                    .collect();
                chart
                    .draw_series(LineSeries::new(data.clone(), color.stroke_width(2)))
                    .map_err(|e| draw_err(e.to_string()))?
                    .label(c.label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                chart
                    .draw_series(data.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(|e| draw_err(e.to_string()))?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|e| draw_err(e.to_string()))?;
            root.present().map_err(|e| draw_err(e.to_string()))?;
        }};
    }
    if ext == "svg" || ext == "png" {
        register_font(path)?;
    }
    match ext.as_str() {
        "svg" => {
            let mut svg = String::new();
            draw!(SVGBackend::with_string(&mut svg, size));
            crate::atomic(path, |w| {
                use std::io::Write;
                w.write_all(SVG_MARK)?;
                w.write_all(format!(" {} -->\n", env!("CARGO_PKG_VERSION")).as_bytes())?;
                w.write_all(svg.as_bytes())
            })
        }
        "png" => {
            let mut buf = vec![255u8; (size.0 * size.1 * 3) as usize];
            draw!(BitMapBackend::with_buffer(&mut buf, size));
            let img = image::RgbImage::from_raw(size.0, size.1, buf)
                .ok_or_else(|| draw_err("plot buffer has the wrong size".into()))?;
            crate::output::write_png(&img, path)
        }
        _ => Err(AmrError::Config(format!(
            "{}: plots are written as .png or .svg",
            path.display()
        ))),
    }
}

/// `img` with a viridis colour bar for `range` on its right: the bar, and the range's ends and
/// middle as labels, so a slice PNG says which colour is which value.
pub fn with_colorbar(img: &image::RgbImage, range: (f64, f64), path: &Path) -> Result<image::RgbImage> {
    register_font(path)?;
    let (w, h) = img.dimensions();
    let bar_w = (w / 24).clamp(12, 40);
    let label_w = 96u32;
    // at least 64 pixels tall, so the bar has room for its three labels under a small slice
    let (cw, ch) = (w + 16 + bar_w + label_w, h.max(64));
    let mut buf = vec![255u8; (cw * ch * 3) as usize];
    let draw_err = |e: String| AmrError::Config(format!("{}: drawing the colour bar failed: {e}", path.display()));
    {
        let root = BitMapBackend::with_buffer(&mut buf, (cw, ch)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(e.to_string()))?;
        let cmap = crate::output::viridis_over(range);
        let (top, bottom) = (8i32, ch as i32 - 8);
        let x0 = (w + 16) as i32;
        for y in top..bottom {
            let f = (bottom - 1 - y) as f64 / ((bottom - top - 1).max(1)) as f64;
            let c = neuvis_base::colormap::color_at(&cmap, (range.0 + f * (range.1 - range.0)) as f32);
            let c = c.map(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8);
            root.draw(&Rectangle::new(
                [(x0, y), (x0 + bar_w as i32, y + 1)],
                RGBColor(c[0], c[1], c[2]).filled(),
            ))
            .map_err(|e| draw_err(e.to_string()))?;
        }
        root.draw(&Rectangle::new(
            [(x0, top), (x0 + bar_w as i32, bottom)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| draw_err(e.to_string()))?;
        let style = ("sans-serif", 14).into_font().color(&BLACK);
        for (f, v) in [(1.0, range.1), (0.5, 0.5 * (range.0 + range.1)), (0.0, range.0)] {
            let y = bottom - (f * (bottom - top) as f64) as i32;
            let y = y.clamp(top + 7, bottom - 7);
            root.draw(&Text::new(
                format!("{v:.4}"),
                (x0 + bar_w as i32 + 6, y - 7),
                style.clone(),
            ))
            .map_err(|e| draw_err(e.to_string()))?;
        }
        root.present().map_err(|e| draw_err(e.to_string()))?;
    }
    let mut out = image::RgbImage::from_raw(cw, ch, buf).ok_or_else(|| draw_err("buffer size".into()))?;
    image::imageops::replace(&mut out, img, 0, 0);
    Ok(out)
}
