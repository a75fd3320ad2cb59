//! The raycaster: ray set-up in index space, empty-space skipping over a [`MinMaxGrid`], and the
//! isosurface and DVR integrators.

use crate::error::RenderError;
use crate::tf::{TfTable, TransferFunction};
use neuvis_base::camera::{dot, normalize, Camera, Phong};
use neuvis_base::MaskedImage;
use neuvis_volume::{MinMaxGrid, ScalarField};
use rayon::prelude::*;
use std::ops::ControlFlow;

/// What to render.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Isosurface rendering at `value` with a surface `color`.
    Iso {
        /// The isovalue.
        value: f32,
        /// Surface colour, components in `[0, 1]`.
        color: [f32; 3],
    },
    /// Direct volume rendering.
    Dvr {
        /// The transfer function.
        tf: TransferFunction,
        /// Length (world units) over which a transfer-function opacity applies; `None` = the mean
        /// grid spacing (ParaView's default behaviour for image data).
        unit_distance: Option<f32>,
        /// Gradient (Blinn–Phong) shading of samples.
        shade: bool,
    },
}

/// Settings shared by both modes.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderSettings {
    /// Image width.
    pub width: usize,
    /// Image height.
    pub height: usize,
    /// Vertical field of view in degrees.
    pub fov_deg: f32,
    /// Ray-marching step, in units of the smallest grid spacing.
    pub step: f32,
    /// Edge of the empty-space-skipping bricks, in cells.
    pub brick: usize,
    /// Mode and its parameters.
    pub mode: Mode,
    /// Shading material.
    pub phong: Phong,
    /// Stop compositing once accumulated opacity reaches this value.
    pub early_termination: f32,
}

impl RenderSettings {
    /// Defaults: 30° field of view, half-voxel steps, 8-cell bricks, termination at 0.995.
    pub fn new(width: usize, height: usize, mode: Mode) -> Self {
        RenderSettings {
            width,
            height,
            fov_deg: 30.0,
            step: 0.5,
            brick: 8,
            mode,
            phong: Phong::default(),
            early_termination: 0.995,
        }
    }
}

/// A surface hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Distance from the ray origin (world units).
    pub t: f32,
    /// Hit position (world).
    pub pos: [f32; 3],
    /// Unit field gradient direction at the hit, oriented towards the ray origin.
    pub normal: [f32; 3],
}

/// A ray in the field's index space; `t` is the world distance along the ray.
struct IRay {
    o: [f32; 3],
    d: [f32; 3],
    t0: f32,
    t1: f32,
}

/// A raycaster bound to one field.
pub struct Renderer<'a> {
    field: &'a ScalarField,
    settings: RenderSettings,
    grid: MinMaxGrid,
    active: Vec<bool>,
    table: Option<TfTable>,
    table_step: Option<TfTable>,
    step_world: f32,
    unit: f32,
}

impl<'a> Renderer<'a> {
    /// Prepares a renderer: checks settings, builds the min–max grid and the per-brick activity.
    pub fn new(field: &'a ScalarField, settings: RenderSettings) -> Result<Self, RenderError> {
        if settings.width == 0 || settings.height == 0 || settings.width > 16384 || settings.height > 16384 {
            return Err(RenderError::Settings(format!(
                "image size {}x{} must be between 1 and 16384",
                settings.width, settings.height
            )));
        }
        if !(settings.step > 0.0 && settings.step.is_finite()) || settings.brick == 0 {
            return Err(RenderError::Settings(
                "step must be positive and brick at least 1".into(),
            ));
        }
        if !(settings.fov_deg > 0.0 && settings.fov_deg < 180.0) {
            return Err(RenderError::Settings(
                "field of view must be in (0, 180) degrees".into(),
            ));
        }
        let grid = MinMaxGrid::new(field, settings.brick);
        let sp = field.spacing();
        let step_world = settings.step * sp[0].min(sp[1]).min(sp[2]);
        let (active, table, unit) = match &settings.mode {
            Mode::Iso { value, .. } => {
                if !value.is_finite() {
                    return Err(RenderError::Settings("isovalue must be finite".into()));
                }
                (
                    grid.ranges
                        .iter()
                        .map(|&(lo, hi)| lo <= *value && *value <= hi)
                        .collect(),
                    None,
                    1.0,
                )
            }
            Mode::Dvr { tf, unit_distance, .. } => {
                tf.validate()?;
                let table = tf.table(field.range(), 4096);
                let active = grid.ranges.iter().map(|&(lo, hi)| table.any_opaque(lo, hi)).collect();
                let unit = unit_distance.unwrap_or((sp[0] + sp[1] + sp[2]) / 3.0);
                if !(unit > 0.0 && unit.is_finite()) {
                    return Err(RenderError::Settings("opacity unit distance must be positive".into()));
                }
                (active, Some(table), unit)
            }
        };
        let table_step = table.as_ref().map(|t| t.corrected(step_world / unit));
        Ok(Renderer {
            field,
            table_step,
            settings,
            grid,
            active,
            table,
            step_world,
            unit,
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &RenderSettings {
        &self.settings
    }

    /// The orbit camera of this renderer's image size at (θ, φ) degrees.
    pub fn camera(&self, theta_deg: f32, phi_deg: f32) -> Camera {
        Camera::orbit(
            self.field.bounds(),
            theta_deg,
            phi_deg,
            self.settings.fov_deg,
            self.settings.width,
            self.settings.height,
        )
    }

    /// Renders the view (θ, φ) in degrees.
    pub fn render(&self, theta_deg: f32, phi_deg: f32) -> MaskedImage {
        self.render_camera(&self.camera(theta_deg, phi_deg))
    }

    /// Renders through any camera. Rows are traced in parallel; output is deterministic.
    pub fn render_camera(&self, cam: &Camera) -> MaskedImage {
        let (w, h) = (cam.width, cam.height);
        let mut rgb = vec![0u8; w * h * 3];
        let mut mask = vec![0u8; w * h];
        const ROWS: usize = 4;
        rgb.par_chunks_mut(w * 3 * ROWS)
            .zip(mask.par_chunks_mut(w * ROWS))
            .enumerate()
            .for_each(|(chunk, (rgb_rows, mask_rows))| {
                for (r, (rgb_row, mask_row)) in rgb_rows.chunks_mut(w * 3).zip(mask_rows.chunks_mut(w)).enumerate() {
                    let y = chunk * ROWS + r;
                    for x in 0..w {
                        let dir = cam.ray_dir(x as f32 + 0.5, y as f32 + 0.5);
                        let (c, m) = self.trace_pixel(cam.eye, dir);
                        for k in 0..3 {
                            rgb_row[3 * x + k] = (c[k].clamp(0.0, 1.0) * 255.0).round() as u8;
                        }
                        mask_row[x] = if m { 255 } else { 0 };
                    }
                }
            });
        MaskedImage::new(w, h, rgb, mask).expect("buffer sizes match by construction")
    }

    /// Colour over the white background and foreground flag of one ray.
    fn trace_pixel(&self, o: [f32; 3], d: [f32; 3]) -> ([f32; 3], bool) {
        match &self.settings.mode {
            Mode::Iso { color, .. } => match self.trace_iso(o, d) {
                Some(hit) => (self.settings.phong.shade(*color, hit.normal, d.map(|x| -x)), true),
                None => ([1.0; 3], false),
            },
            Mode::Dvr { .. } => {
                let [r, g, b, a] = self.trace_dvr(o, d);
                ([r + (1.0 - a), g + (1.0 - a), b + (1.0 - a)], a > 1.0 / 255.0)
            }
        }
    }

    fn index_ray(&self, o: [f32; 3], d: [f32; 3]) -> Option<IRay> {
        let f = self.field;
        let (org, sp, dims) = (f.origin(), f.spacing(), f.dims());
        let oi = [0, 1, 2].map(|a| (o[a] - org[a]) / sp[a]);
        let di = [0, 1, 2].map(|a| d[a] / sp[a]);
        let (mut t0, mut t1) = (0f32, f32::INFINITY);
        for a in 0..3 {
            let hi = (dims[a] - 1) as f32;
            if di[a].abs() < 1e-12 {
                if oi[a] < 0.0 || oi[a] > hi {
                    return None;
                }
                continue;
            }
            let (mut ta, mut tb) = ((0.0 - oi[a]) / di[a], (hi - oi[a]) / di[a]);
            if ta > tb {
                std::mem::swap(&mut ta, &mut tb);
            }
            t0 = t0.max(ta);
            t1 = t1.min(tb);
        }
        (t0 < t1).then_some(IRay { o: oi, d: di, t0, t1 })
    }

    /// Walks the bricks the ray crosses (Amanatides–Woo DDA) and calls `seg` for every maximal
    /// run of active bricks with its `[t_enter, t_exit]`, front to back, until it breaks.
    fn for_each_segment(&self, ray: &IRay, mut seg: impl FnMut(f32, f32) -> ControlFlow<()>) {
        let b = self.grid.brick as f32;
        let bd = self.grid.bdims;
        let mut cell = [0usize; 3];
        let mut t_next = [f32::INFINITY; 3];
        let mut t_delta = [f32::INFINITY; 3];
        let mut stepdir = [0i64; 3];
        for a in 0..3 {
            let p = ray.o[a] + ray.t0 * ray.d[a];
            let c = ((p / b).floor().max(0.0) as usize).min(bd[a] - 1);
            cell[a] = c;
            if ray.d[a] > 0.0 {
                stepdir[a] = 1;
                t_next[a] = ((c + 1) as f32 * b - ray.o[a]) / ray.d[a];
                t_delta[a] = b / ray.d[a];
            } else if ray.d[a] < 0.0 {
                stepdir[a] = -1;
                t_next[a] = (c as f32 * b - ray.o[a]) / ray.d[a];
                t_delta[a] = -b / ray.d[a];
            }
        }
        let mut t = ray.t0;
        let mut run_start: Option<f32> = None;
        loop {
            let idx = cell[0] + bd[0] * (cell[1] + bd[1] * cell[2]);
            let axis = if t_next[0] <= t_next[1] && t_next[0] <= t_next[2] {
                0
            } else if t_next[1] <= t_next[2] {
                1
            } else {
                2
            };
            let t_exit = t_next[axis].min(ray.t1);
            if self.active[idx] {
                run_start.get_or_insert(t);
            } else if let Some(s) = run_start.take() {
                if seg(s, t).is_break() {
                    return;
                }
            }
            t = t_exit;
            let nc = cell[axis] as i64 + stepdir[axis];
            if t >= ray.t1 || nc < 0 || nc >= bd[axis] as i64 {
                break;
            }
            cell[axis] = nc as usize;
            t_next[axis] += t_delta[axis];
        }
        if let Some(s) = run_start {
            let _ = seg(s, ray.t1);
        }
    }

    #[inline]
    fn value_at(&self, ray: &IRay, t: f32) -> f32 {
        self.field.sample_index(
            ray.o[0] + t * ray.d[0],
            ray.o[1] + t * ray.d[1],
            ray.o[2] + t * ray.d[2],
        )
    }

    /// First isosurface crossing along the ray from `o` in unit direction `d` (world), refined by
    /// bisection to 1/4096 of a step. `None` when the ray misses the surface.
    pub fn trace_iso(&self, o: [f32; 3], d: [f32; 3]) -> Option<Hit> {
        let Mode::Iso { value: iso, .. } = self.settings.mode else {
            return None;
        };
        let ray = self.index_ray(o, d)?;
        let h = self.step_world;
        let mut found: Option<(f32, f32)> = None;
        self.for_each_segment(&ray, |ta, tb| {
            let mut t = ta;
            let mut prev = self.value_at(&ray, t) - iso;
            while t < tb {
                let tn = (t + h).min(tb);
                let v = self.value_at(&ray, tn) - iso;
                if (prev < 0.0) != (v < 0.0) {
                    found = Some((t, tn));
                    return ControlFlow::Break(());
                }
                prev = v;
                t = tn;
            }
            ControlFlow::Continue(())
        });
        let (mut a, mut b) = found?;
        let fa_neg = self.value_at(&ray, a) - iso < 0.0;
        for _ in 0..12 {
            let m = 0.5 * (a + b);
            if (self.value_at(&ray, m) - iso < 0.0) == fa_neg {
                a = m;
            } else {
                b = m;
            }
        }
        // final secant step inside the bracket
        let (fa, fb) = (self.value_at(&ray, a) - iso, self.value_at(&ray, b) - iso);
        let t = if fb != fa {
            (a - fa * (b - a) / (fb - fa)).clamp(a, b)
        } else {
            0.5 * (a + b)
        };
        let q = [0, 1, 2].map(|k| ray.o[k] + t * ray.d[k]);
        let g = self.field.gradient_index(q[0], q[1], q[2]);
        let mut n = normalize(g);
        if dot(n, n) == 0.0 || dot(n, d) > 0.0 {
            n = if dot(n, n) == 0.0 { d.map(|x| -x) } else { n.map(|x| -x) };
        }
        Some(Hit {
            t,
            pos: [0, 1, 2].map(|k| o[k] + t * d[k]),
            normal: n,
        })
    }

    /// Adds premultiplied sample `e` (at index position `p`) behind `acc`; true when the ray is
    /// opaque enough to stop.
    #[inline(always)]
    fn composite(&self, acc: &mut [f32; 4], e: [f32; 4], p: [f32; 3], view: [f32; 3], shade: bool) -> bool {
        let [mut r, mut g, mut b, a] = e;
        if shade {
            // premultiplied: colour·α·k + α·specular
            let n = normalize(self.field.gradient_index(p[0], p[1], p[2]));
            let (k, spec) = self.settings.phong.factors(n, view);
            (r, g, b) = (r * k + a * spec, g * k + a * spec, b * k + a * spec);
        }
        let wgt = 1.0 - acc[3];
        acc[0] += wgt * r;
        acc[1] += wgt * g;
        acc[2] += wgt * b;
        acc[3] += wgt * a;
        acc[3] >= self.settings.early_termination
    }

    /// Front-to-back DVR compositing along the ray: premultiplied `[r, g, b, alpha]`.
    ///
    /// Each step of length Δ samples the field at its midpoint and uses the opacity-corrected
    /// `α' = 1 − (1 − α)^(Δ / unit)`, so a constant medium gives exactly Beer–Lambert's
    /// `1 − exp(−σ L)` with `σ = −ln(1 − α) / unit`, whatever the step. Full steps use a table
    /// corrected once per renderer; the shorter last step of a segment is corrected exactly.
    pub fn trace_dvr(&self, o: [f32; 3], d: [f32; 3]) -> [f32; 4] {
        let (Some(table), Some(full), Mode::Dvr { shade, .. }) = (&self.table, &self.table_step, &self.settings.mode)
        else {
            return [0.0; 4];
        };
        let Some(ray) = self.index_ray(o, d) else {
            return [0.0; 4];
        };
        let h = self.step_world;
        let inv_unit = 1.0 / self.unit;
        let view = d.map(|x| -x);
        let shade = *shade;
        let mut acc = [0f32; 4];
        self.for_each_segment(&ray, |ta, tb| {
            let n_full = ((tb - ta) / h) as usize;
            let dp = [ray.d[0] * h, ray.d[1] * h, ray.d[2] * h];
            let tm = ta + 0.5 * h;
            let mut p = [
                ray.o[0] + tm * ray.d[0],
                ray.o[1] + tm * ray.d[1],
                ray.o[2] + tm * ray.d[2],
            ];
            for _ in 0..n_full {
                let e = full.lookup(self.field.sample_index(p[0], p[1], p[2]));
                if e[3] > 0.0 && self.composite(&mut acc, e, p, view, shade) {
                    return ControlFlow::Break(());
                }
                p = [p[0] + dp[0], p[1] + dp[1], p[2] + dp[2]];
            }
            let t_rest = ta + n_full as f32 * h;
            let dt = tb - t_rest;
            if dt > 1e-6 * h {
                let tm = t_rest + 0.5 * dt;
                let q = [
                    ray.o[0] + tm * ray.d[0],
                    ray.o[1] + tm * ray.d[1],
                    ray.o[2] + tm * ray.d[2],
                ];
                let [r, g, b, a] = table.lookup(self.field.sample_index(q[0], q[1], q[2]));
                if a > 0.0 {
                    let a2 = if a >= 1.0 {
                        1.0
                    } else {
                        1.0 - (1.0 - a).powf(dt * inv_unit)
                    };
                    if self.composite(&mut acc, [r * a2, g * a2, b * a2, a2], q, view, shade) {
                        return ControlFlow::Break(());
                    }
                }
            }
            ControlFlow::Continue(())
        });
        acc
    }
}
