//! Rendering a volume series into an image collection: the ground truth NeRVI trains on
//! (`neuvis render`). One call renders every (time step, camera) pair of a grid into a Cinema
//! database, time step by time step (one field in memory at a time), images in parallel, writing
//! atomically and resumably through `neuvis_collection::DbWriter`.

use crate::error::RenderError;
use crate::raycast::{Mode, RenderSettings, Renderer};
use crate::tf::TransferFunction;
use neuvis_base::Shard;
use neuvis_collection::grid::{angles, grid, orbit_cameras};
use neuvis_collection::{DbWriter, View};
use neuvis_volume::FieldSeries;
use rayon::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How the images are rendered; values left `None` come from the first rendered step.
#[derive(Debug, Clone, PartialEq)]
pub enum ModeOptions {
    /// Isosurface rendering.
    Iso {
        /// The isovalue (default: the middle of the first rendered step's value range).
        value: Option<f32>,
        /// Surface colour, RGB in `[0, 1]`.
        color: [f32; 3],
    },
    /// Direct volume rendering.
    Dvr {
        /// A preset name ([`TransferFunction::PRESETS`]) or the path of a ParaView colour-map JSON.
        tf: String,
        /// Opacity points `x:opacity,…` at normalized positions of the range (replaces the
        /// preset's ramp or the file's opacity).
        opacity: Option<String>,
        /// The value range the transfer function spans (default: the first rendered step's).
        range: Option<(f32, f32)>,
        /// Rescale a ParaView file's points from their own range onto `range`.
        rescale: bool,
        /// Gradient (Blinn–Phong) shading.
        shade: bool,
    },
}

impl ModeOptions {
    /// The render mode for a series whose first rendered step is `first`: its value range sets
    /// the default isovalue and transfer-function range, its histogram the default opacity
    /// ([`TransferFunction::with_data_opacity`]).
    pub fn build(&self, first: &neuvis_volume::ScalarField) -> Result<Mode, RenderError> {
        let range = first.range();
        Ok(match self {
            ModeOptions::Iso { value, color } => {
                if color.iter().any(|c| !(0.0..=1.0).contains(c)) {
                    return Err(RenderError::Settings(format!(
                        "colour {color:?}: components must be in [0, 1]"
                    )));
                }
                let value = value.unwrap_or(0.5 * (range.0 + range.1));
                if !value.is_finite() {
                    return Err(RenderError::Settings("the isovalue must be finite".into()));
                }
                Mode::Iso { value, color: *color }
            }
            ModeOptions::Dvr {
                tf,
                opacity,
                range: tf_range,
                rescale,
                shade,
            } => {
                let tf_range = tf_range.unwrap_or(range);
                let mut t = match TransferFunction::preset(tf, tf_range, 0.6) {
                    Some(t) => t,
                    None => {
                        let p = PathBuf::from(tf);
                        if !p.exists() {
                            return Err(RenderError::Tf(format!(
                                "'{tf}' is not a preset ({}) and no such file",
                                TransferFunction::PRESETS.join(", ")
                            )));
                        }
                        TransferFunction::from_paraview_json(&p, rescale.then_some(tf_range))?
                    }
                };
                if let Some(o) = opacity {
                    t = t.with_opacity_spec(o, tf_range)?;
                }
                let t = t.with_data_opacity(first.data(), tf_range, 0.6);
                Mode::Dvr {
                    tf: t,
                    unit_distance: None,
                    shade: *shade,
                }
            }
        })
    }
}

/// Where the cameras are.
#[derive(Debug, Clone, PartialEq)]
pub enum Cameras {
    /// The orbit grid θ = 0, step, … < 180 and φ = 0, step, … < 360 (degrees).
    Orbit {
        /// θ step.
        theta_step: f64,
        /// φ step.
        phi_step: f64,
    },
    /// An explicit list of (θ, φ) in degrees.
    List(Vec<(f64, f64)>),
}

/// Settings of [`render_collection`].
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionOptions {
    /// What to render.
    pub mode: ModeOptions,
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// The cameras of every time step.
    pub cameras: Cameras,
    /// Time steps to render (indices into the series); `None` renders all.
    pub steps: Option<Vec<usize>>,
    /// Vertical field of view in degrees.
    pub fov_deg: f32,
    /// Ray-marching step in voxels.
    pub step: f32,
    /// Continue an interrupted run with the same settings, skipping images already written.
    pub resume: bool,
    /// Replace an existing database that neuvis wrote.
    pub overwrite: bool,
    /// The block of the (step, camera) grid this process renders, into its own part of the
    /// database (see [`neuvis_collection::merge_parts`]); [`Shard::WHOLE`] renders everything.
    pub shard: Shard,
}

/// The isosurface colour of `neuvis render` (RGB in `[0, 1]`).
pub const DEFAULT_ISO_COLOR: [f32; 3] = [0.85, 0.65, 0.45];
/// The transfer function of `neuvis render --mode dvr` (a [`TransferFunction::PRESETS`] name).
pub const DEFAULT_TF: &str = "cool-to-warm";
/// Image width and height of `neuvis render`.
pub const DEFAULT_SIZE: usize = 256;
/// θ and φ steps of `neuvis render`'s orbit grid in degrees (the paper's: 800 views per step).
pub const DEFAULT_ANGLE_STEP: f64 = 9.0;

impl Default for CollectionOptions {
    /// `neuvis render`'s defaults: an isosurface at mid-range in (0.85, 0.65, 0.45), 256² images,
    /// the paper's 9° orbit grid (800 views per step), every time step, 30° field of view,
    /// half-voxel steps.
    fn default() -> Self {
        CollectionOptions {
            mode: ModeOptions::Iso {
                value: None,
                color: DEFAULT_ISO_COLOR,
            },
            width: DEFAULT_SIZE,
            height: DEFAULT_SIZE,
            cameras: Cameras::Orbit {
                theta_step: DEFAULT_ANGLE_STEP,
                phi_step: DEFAULT_ANGLE_STEP,
            },
            steps: None,
            fov_deg: 30.0,
            step: 0.5,
            resume: false,
            overwrite: false,
            shard: Shard::WHOLE,
        }
    }
}

/// What [`render_collection`] reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The database is set up; `total` images, `kept` of them already present (resume).
    Start {
        /// Images in the collection.
        total: usize,
    },
    /// Time step `step` starts (images already written count as done before it).
    Step {
        /// The step index.
        step: usize,
        /// Images of this step already present.
        kept: usize,
    },
    /// One image was written.
    Image,
    /// Something the user should know, e.g. an isovalue outside the data's range (every image
    /// would be empty).
    Warning(String),
    /// What the user may want to know: the first step's value range and percentiles, the
    /// isovalue picked for them.
    Info(String),
}

/// What a render run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderSummary {
    /// The database directory.
    pub output: PathBuf,
    /// Images in the collection.
    pub images: usize,
    /// Images rendered by this run (the rest were kept from an interrupted one).
    pub rendered: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Image width.
    pub width: usize,
    /// Image height.
    pub height: usize,
    /// The render settings as `meta.json` records them (`mode`; `isovalue` or the transfer
    /// function, with the defaults chosen from the data).
    pub render: serde_json::Value,
}

fn mode_json(m: &Mode) -> serde_json::Value {
    match m {
        Mode::Iso { value, color } => json!({"mode": "iso", "isovalue": value, "color": color}),
        Mode::Dvr { tf, shade, .. } => json!({
            "mode": "dvr", "tf": tf.name, "shade": shade,
            "tf_color": tf.color.iter().map(|(x, c)| json!([x, c[0], c[1], c[2]])).collect::<Vec<_>>(),
            "tf_opacity": tf.opacity.iter().map(|(x, o)| json!([x, o])).collect::<Vec<_>>(),
            "tf_color_space": format!("{:?}", tf.space),
            "tf_nan": [tf.nan.0[0], tf.nan.0[1], tf.nan.0[2], tf.nan.1],
        }),
    }
}

/// Renders `series` as `opts` says into the Cinema database `output`, calling `progress` as it
/// goes. Everything is validated (steps, cameras, mode, settings) before the output is created;
/// `meta.json` records how the images were made.
///
/// With a shard, only its block of the grid (time-step-major, in the single-process order) is
/// rendered, into the part `OUT.part-IIII-of-NNNN.cdb`; the mode's data-dependent defaults (the
/// isovalue, the transfer function's range) still come from the first step of the whole grid, so
/// every part renders exactly what the single process would.
///
/// A failure part-way (a time step that does not load) keeps the images written before it for
/// `resume` and says where ([`RenderError::PartlyDone`]); a stop request says so itself.
pub fn render_collection(
    series: &dyn FieldSeries,
    opts: &CollectionOptions,
    output: &Path,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RenderSummary, RenderError> {
    render_into(series, opts, output, progress).map_err(|e| match e {
        e @ RenderError::Interrupted(_) => e,
        e => match neuvis_collection::cdb::partial_path(&opts.shard.part_path(output)).filter(|p| p.is_dir()) {
            Some(kept) => RenderError::PartlyDone {
                source: Box::new(e),
                kept,
            },
            None => e,
        },
    })
}

fn render_into(
    series: &dyn FieldSeries,
    opts: &CollectionOptions,
    output: &Path,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RenderSummary, RenderError> {
    let (w, h) = (opts.width, opts.height);
    if w == 0 || h == 0 || w > 16384 || h > 16384 {
        return Err(RenderError::Settings(format!(
            "image size {w}x{h}: expected 1–16384 pixels per side"
        )));
    }
    let steps = match &opts.steps {
        Some(s) => {
            if s.is_empty() {
                return Err(RenderError::Settings("no time steps to render".into()));
            }
            if let Some(&bad) = s.iter().find(|&&i| i >= series.len()) {
                return Err(RenderError::Settings(format!(
                    "time step {bad} is past the series' {} steps",
                    series.len()
                )));
            }
            s.clone()
        }
        None => (0..series.len()).collect(),
    };
    if steps.is_empty() {
        return Err(RenderError::Settings("the series has no time steps".into()));
    }
    let cameras = match &opts.cameras {
        Cameras::List(l) => l.clone(),
        Cameras::Orbit { theta_step, phi_step } => {
            orbit_cameras(&angles(*theta_step, 180.0)?, &angles(*phi_step, 360.0)?)
        }
    };
    let step_times: Vec<(usize, f64)> = steps.iter().map(|&s| (s, series.time(s))).collect();
    let all_views = grid(&step_times, &cameras);
    let mine = opts.shard.range(all_views.len());
    let views: Vec<View> = all_views[mine.clone()].to_vec();
    let t0 = Instant::now();
    let load = |step: usize| series.load(step).map_err(|source| RenderError::Load { step, source });
    let first = load(steps[0])?;
    let mode = opts.mode.build(&first)?;
    let render_json = mode_json(&mode);
    progress(Progress::Info(format!(
        "first rendered step: {}",
        first.value_summary()
    )));
    if let (Mode::Iso { value, .. }, ModeOptions::Iso { value: None, .. }) = (&mode, &opts.mode) {
        progress(Progress::Info(format!(
            "isovalue {value} (the middle of the value range; pass --iso to choose)"
        )));
    }
    if let Mode::Iso { value, .. } = &mode {
        let (lo, hi) = first.range();
        if !(lo..=hi).contains(value) {
            progress(Progress::Warning(format!(
                "no surface at --iso {value}: the first rendered step ranges over [{lo}, {hi}], so its images are empty"
            )));
        }
    }
    let mut settings = RenderSettings::new(w, h, mode.clone());
    settings.fov_deg = opts.fov_deg;
    settings.step = opts.step;
    // Validate settings before creating any output.
    Renderer::new(&first, settings.clone())?;
    let (theta_step, phi_step) = match &opts.cameras {
        Cameras::Orbit { theta_step, phi_step } => (json!(theta_step), json!(phi_step)),
        Cameras::List(_) => (json!(null), json!(null)),
    };
    let meta = json!({
        "generator": format!("neuvis {}", env!("CARGO_PKG_VERSION")),
        "volume": series.describe(),
        "render": render_json.clone(),
        "image_size": [w, h],
        "background": [255, 255, 255],
        "mask": "alpha channel: 255 foreground (IR: ray hit; DVR: opacity > 1/255), 0 background",
        "fov_deg": opts.fov_deg,
        "step_voxels": opts.step,
        "camera": "orbit: theta polar from +z, phi azimuth from +x; fixed distance framing the bounding sphere",
        "times": step_times.iter().map(|s| s.1).collect::<Vec<_>>(),
        "time_steps": steps,
        "cameras": cameras.len(),
        "theta_step": theta_step,
        "phi_step": phi_step,
        "value_range_first_step": [first.range().0, first.range().1],
    });
    let mut writer = DbWriter::create_part(
        output,
        &meta,
        opts.shard,
        mine,
        all_views.len(),
        opts.resume,
        opts.overwrite,
    )?;
    writer.prepare(&views)?;
    progress(Progress::Start { total: views.len() });
    // images present in the partial folder (kept from a resumed run, or written by this one): what
    // an interrupt reports as kept
    let present = std::sync::atomic::AtomicUsize::new(0);
    let partial = writer.partial_dir().to_path_buf();
    let interrupted = |present: &std::sync::atomic::AtomicUsize| {
        RenderError::Interrupted(neuvis_base::Interrupted {
            kept: format!(
                "{} of {} images are kept in {}",
                present.load(std::sync::atomic::Ordering::SeqCst),
                views.len(),
                partial.display()
            ),
            resumable: true,
        })
    };
    let mut rendered = 0usize;
    let mut cached = Some(first);
    for &(step, _) in &step_times {
        let todo: Vec<View> = views.iter().filter(|v| v.step == step).copied().collect();
        if todo.is_empty() {
            continue;
        }
        let missing: Vec<View> = todo.iter().filter(|v| !writer.has_valid(v, w, h)).copied().collect();
        present.fetch_add(todo.len() - missing.len(), std::sync::atomic::Ordering::SeqCst);
        if !missing.is_empty() && neuvis_base::interrupt::requested() {
            return Err(interrupted(&present));
        }
        progress(Progress::Step {
            step,
            kept: todo.len() - missing.len(),
        });
        if !missing.is_empty() {
            let field = match cached.take() {
                Some(f) if step == steps[0] => f,
                _ => load(step)?,
            };
            let r = Renderer::new(&field, settings.clone())?;
            let done = missing.par_iter().try_for_each(|v| -> Result<(), RenderError> {
                if neuvis_base::interrupt::requested() {
                    return Err(interrupted(&present));
                }
                let img = r.render(v.theta as f32, v.phi as f32);
                writer.write(v, &img)?;
                present.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                progress(Progress::Image);
                Ok(())
            });
            match done {
                // counted again now that the images in flight on other threads are written
                Err(RenderError::Interrupted(_)) => return Err(interrupted(&present)),
                r => r?,
            }
            rendered += missing.len();
        }
        cached = None;
        for v in todo {
            writer.push(v);
        }
    }
    let out = writer.finish()?;
    Ok(RenderSummary {
        output: out,
        images: views.len(),
        rendered,
        seconds: t0.elapsed().as_secs_f64(),
        width: w,
        height: h,
        render: render_json,
    })
}
