//! Transfer functions for DVR: piecewise-linear colour and opacity over scalar values.

use crate::error::RenderError;
use neuvis_base::colormap::{self, interp, ColorSpace};
use serde_json::Value;
use std::path::Path;

/// A piecewise-linear transfer function. Points are `(value, …)` sorted by value; outside the
/// first/last point the end values hold (ParaView's clamping behaviour).
#[derive(Debug, Clone, PartialEq)]
pub struct TransferFunction {
    /// Colour points `(value, [r, g, b])`, components in `[0, 1]`.
    pub color: Vec<(f32, [f32; 3])>,
    /// Opacity points `(value, opacity)`, opacity in `[0, 1]` per unit distance.
    pub opacity: Vec<(f32, f32)>,
    /// Name, for metadata.
    pub name: String,
    /// The space colours are interpolated in between points (ParaView's `ColorSpace`).
    pub space: ColorSpace,
    /// Colour and opacity of NaN samples (ParaView's `NanColor`, `NanOpacity`).
    pub nan: ([f32; 3], f32),
    /// Whether [`Self::opacity`] is a default (a preset's ramp, a file without `Points`) that
    /// [`TransferFunction::with_data_opacity`] may replace, rather than the user's.
    pub default_opacity: bool,
}

/// The quantile of the data below which the default DVR opacity is zero.
pub const DATA_OPACITY_FROM: f64 = 0.8;
/// The quantile of the data where the default DVR opacity reaches its maximum.
pub const DATA_OPACITY_TO: f64 = 0.995;

/// ParaView's NaN colour of its default map ("Cool to Warm"): yellow.
pub const DEFAULT_NAN: [f32; 3] = [1.0, 1.0, 0.0];

impl TransferFunction {
    /// Names accepted by [`TransferFunction::preset`].
    pub const PRESETS: [&'static str; 3] = neuvis_base::colormap::PRESETS;

    /// A built-in preset rescaled to `range`, with a linear opacity ramp from 0 at the low end to
    /// `max_opacity` at the high end.
    pub fn preset(name: &str, range: (f32, f32), max_opacity: f32) -> Option<TransferFunction> {
        let pts = colormap::preset(name)?;
        let (lo, hi) = range;
        Some(TransferFunction {
            color: colormap::rescale(&pts, range),
            opacity: vec![(lo, 0.0), (hi, max_opacity)],
            name: name.to_string(),
            space: colormap::preset_space(name),
            nan: (DEFAULT_NAN, 1.0),
            default_opacity: true,
        })
    }

    /// Replaces the opacity with points given in normalized `[0, 1]` positions of `range`,
    /// as `x:o,x:o,…` (e.g. `0:0,0.3:0,0.6:0.8,1:1`).
    pub fn with_opacity_spec(mut self, spec: &str, range: (f32, f32)) -> Result<Self, RenderError> {
        let mut pts = Vec::new();
        for p in spec.split(',') {
            let (x, o) = p
                .split_once(':')
                .and_then(|(x, o)| Some((x.trim().parse::<f32>().ok()?, o.trim().parse::<f32>().ok()?)))
                .ok_or_else(|| RenderError::Tf(format!("opacity point '{p}' is not 'x:opacity'")))?;
            if !(0.0..=1.0).contains(&o) || !x.is_finite() {
                return Err(RenderError::Tf(format!(
                    "opacity point '{p}': opacity must be in [0, 1]"
                )));
            }
            pts.push((range.0 + x * (range.1 - range.0), o));
        }
        self.opacity = pts;
        self.default_opacity = false;
        self.validate()?;
        Ok(self)
    }

    /// Replaces a default opacity with one drawn from the data, so the structure shows at once
    /// instead of the background: the values up to the [`DATA_OPACITY_FROM`] quantile (air around
    /// a scan, the quiet flow around a vortex: most of a volume) are transparent, opacity ramps
    /// linearly from there to `max` at the [`DATA_OPACITY_TO`] quantile and holds above. A user's
    /// opacity (`--opacity`, a file's `Points`) is kept. Data with no spread keeps the ramp.
    pub fn with_data_opacity(mut self, data: &[f32], range: (f32, f32), max: f32) -> Self {
        if !self.default_opacity {
            return self;
        }
        let q = neuvis_volume::field::percentiles(data, &[DATA_OPACITY_FROM, DATA_OPACITY_TO]);
        let (a, b) = (q[0].max(range.0), q[1].min(range.1));
        if a.is_finite() && b.is_finite() && a < b {
            let mut pts = vec![(range.0, 0.0), (a, 0.0), (b, max), (range.1, max)];
            pts.dedup_by(|x, y| x.0 == y.0);
            self.opacity = pts;
        }
        self
    }

    /// Reads a colour map exported by ParaView (the JSON array written by "Export" in the colour
    /// map editor / preset dialog): `RGBPoints` = `[x, r, g, b, …]`, optional `Points` =
    /// `[x, opacity, midpoint, sharpness, …]` (midpoint and sharpness are ignored: opacity is
    /// interpolated linearly), `ColorSpace` (RGB, HSV, Lab, Diverging, Step; default RGB, as in
    /// VTK), `NanColor` and `NanOpacity`. Values are data values; with `rescale_to`, the points are
    /// rescaled from their own range onto that range. Without `Points`, opacity ramps linearly 0 → 1.
    pub fn from_paraview_json(path: &Path, rescale_to: Option<(f32, f32)>) -> Result<Self, RenderError> {
        let err = |m: String| RenderError::Tf(format!("{}: {m}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
        let obj = match &v {
            Value::Array(a) => a.first().ok_or_else(|| err("empty preset array".into()))?,
            o @ Value::Object(_) => o,
            _ => return Err(err("expected a ParaView colour-map preset (array of objects)".into())),
        };
        let nums = |key: &str| -> Result<Option<Vec<f32>>, RenderError> {
            match obj.get(key) {
                None => Ok(None),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| {
                        x.as_f64()
                            .map(|f| f as f32)
                            .ok_or_else(|| err(format!("'{key}' holds a non-number")))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(err(format!("'{key}' is not an array"))),
            }
        };
        let rgb = nums("RGBPoints")?.ok_or_else(|| err("no 'RGBPoints'".into()))?;
        if rgb.len() < 4 || rgb.len() % 4 != 0 {
            return Err(err(format!(
                "'RGBPoints' must hold groups of 4 numbers, got {}",
                rgb.len()
            )));
        }
        let mut color: Vec<(f32, [f32; 3])> = rgb.chunks(4).map(|c| (c[0], [c[1], c[2], c[3]])).collect();
        let lo = color.first().map(|c| c.0).unwrap_or(0.0);
        let hi = color.last().map(|c| c.0).unwrap_or(1.0);
        let default_opacity = obj.get("Points").is_none();
        let mut opacity = match nums("Points")? {
            Some(p) if p.len() >= 4 && p.len() % 4 == 0 => p.chunks(4).map(|c| (c[0], c[1])).collect(),
            Some(p) => return Err(err(format!("'Points' must hold groups of 4 numbers, got {}", p.len()))),
            None => vec![(lo, 0.0), (hi, 1.0)],
        };
        if let Some((a, b)) = rescale_to {
            let (slo, shi) = (
                lo.min(opacity.first().map(|p| p.0).unwrap_or(lo)),
                hi.max(opacity.last().map(|p| p.0).unwrap_or(hi)),
            );
            let s = if shi > slo { (b - a) / (shi - slo) } else { 0.0 };
            color.iter_mut().for_each(|c| c.0 = a + (c.0 - slo) * s);
            opacity.iter_mut().for_each(|c| c.0 = a + (c.0 - slo) * s);
        }
        let name = obj
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or("paraview")
            .to_string();
        let space = match obj.get("ColorSpace") {
            None => ColorSpace::Rgb,
            Some(Value::String(s)) => ColorSpace::parse(s).ok_or_else(|| {
                err(format!(
                    "'ColorSpace' \"{s}\" is not supported (RGB, HSV, Lab, Diverging or Step)"
                ))
            })?,
            Some(_) => return Err(err("'ColorSpace' is not a string".into())),
        };
        let nan_color = match nums("NanColor")? {
            None => DEFAULT_NAN,
            Some(c) if c.len() == 3 && c.iter().all(|x| (0.0..=1.0).contains(x)) => [c[0], c[1], c[2]],
            Some(c) => return Err(err(format!("'NanColor' must be 3 numbers in [0, 1], got {c:?}"))),
        };
        let nan_opacity = match obj.get("NanOpacity") {
            None => 1.0,
            Some(v) => v
                .as_f64()
                .map(|o| o as f32)
                .filter(|o| (0.0..=1.0).contains(o))
                .ok_or_else(|| err("'NanOpacity' must be a number in [0, 1]".into()))?,
        };
        let tf = TransferFunction {
            color,
            opacity,
            name,
            space,
            nan: (nan_color, nan_opacity),
            default_opacity,
        };
        tf.validate().map_err(|e| err(e.to_string()))?;
        Ok(tf)
    }

    /// Checks that there are points, that they are sorted by value, finite, and in `[0, 1]`.
    pub fn validate(&self) -> Result<(), RenderError> {
        if self.color.is_empty() || self.opacity.is_empty() {
            return Err(RenderError::Tf(
                "transfer function needs colour and opacity points".into(),
            ));
        }
        let sorted = |xs: &mut dyn Iterator<Item = f32>| {
            let v: Vec<f32> = xs.collect();
            v.iter().all(|x| x.is_finite()) && v.windows(2).all(|w| w[0] <= w[1])
        };
        if !sorted(&mut self.color.iter().map(|c| c.0)) || !sorted(&mut self.opacity.iter().map(|c| c.0)) {
            return Err(RenderError::Tf(
                "transfer function points must be finite and sorted by value".into(),
            ));
        }
        let in01 = |x: f32| (0.0..=1.0).contains(&x);
        if !self.color.iter().all(|c| c.1.iter().all(|&v| in01(v))) || !self.opacity.iter().all(|o| in01(o.1)) {
            return Err(RenderError::Tf("colours and opacities must lie in [0, 1]".into()));
        }
        Ok(())
    }

    /// Colour and opacity at `v`: colour interpolated in [`Self::space`], opacity linearly; a
    /// NaN gets [`Self::nan`].
    pub fn eval(&self, v: f32) -> ([f32; 3], f32) {
        if v.is_nan() {
            return self.nan;
        }
        (
            colormap::color_in(self.space, &self.color, v),
            interp(&self.opacity, v, |a, b, t| a + (b - a) * t),
        )
    }

    /// A lookup table of `n ≥ 2` entries over `range` for the raycaster.
    pub fn table(&self, range: (f32, f32), n: usize) -> TfTable {
        let n = n.max(2);
        let (lo, mut hi) = range;
        if hi <= lo {
            hi = lo + 1.0;
        }
        let step = (hi - lo) / (n - 1) as f32;
        let rgba: Vec<[f32; 4]> = (0..n)
            .map(|i| {
                let (c, o) = self.eval(lo + i as f32 * step);
                [c[0], c[1], c[2], o]
            })
            .collect();
        let mut nonzero = Vec::with_capacity(n + 1);
        nonzero.push(0u32);
        for e in &rgba {
            let last = *nonzero.last().unwrap_or(&0);
            nonzero.push(last + u32::from(e[3] > 0.0));
        }
        TfTable {
            lo,
            inv_step: 1.0 / step,
            rgba,
            nonzero,
        }
    }
}

/// A sampled transfer function with linear interpolation between entries.
#[derive(Debug, Clone)]
pub struct TfTable {
    lo: f32,
    inv_step: f32,
    rgba: Vec<[f32; 4]>,
    /// Prefix counts of entries with non-zero opacity, for O(1) range queries.
    nonzero: Vec<u32>,
}

impl TfTable {
    /// RGBA at value `v` (clamped to the table's range).
    #[inline(always)]
    pub fn lookup(&self, v: f32) -> [f32; 4] {
        let x = ((v - self.lo) * self.inv_step).max(0.0);
        let last = self.rgba.len() - 1;
        let i = (x as usize).min(last - 1);
        let t = (x - i as f32).min(1.0);
        let (a, b) = (self.rgba[i], self.rgba[i + 1]);
        [
            a[0] + (b[0] - a[0]) * t,
            a[1] + (b[1] - a[1]) * t,
            a[2] + (b[2] - a[2]) * t,
            a[3] + (b[3] - a[3]) * t,
        ]
    }

    /// The table for a fixed step: entries become premultiplied `[r·α', g·α', b·α', α']` with the
    /// opacity corrected for a step of `ratio` unit distances, `α' = 1 − (1 − α)^ratio`.
    pub fn corrected(&self, ratio: f32) -> TfTable {
        let mut t = self.clone();
        for e in &mut t.rgba {
            let a = if e[3] >= 1.0 {
                1.0
            } else {
                1.0 - (1.0 - e[3]).powf(ratio)
            };
            *e = [e[0] * a, e[1] * a, e[2] * a, a];
        }
        t
    }

    /// Whether any value in `[a, b]` can map to a non-zero opacity (conservative).
    pub fn any_opaque(&self, a: f32, b: f32) -> bool {
        let last = self.rgba.len() - 1;
        let idx = |v: f32| ((v - self.lo) * self.inv_step).max(0.0);
        let i0 = (idx(a).floor() as usize).min(last);
        let i1 = (idx(b).ceil() as usize).min(last);
        self.nonzero[i1 + 1] > self.nonzero[i0]
    }
}
