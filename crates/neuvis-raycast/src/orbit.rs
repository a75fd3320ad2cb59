//! An orbit of views rendered by one method, measured: the frames and a `stats.json`
//! ([`OrbitStats`]) in a folder. `neuvis raycast orbit` runs it once per process, so that each
//! method's peak memory is its own, and `neuvis bench raycast` reads the stats back typed
//! ([`OrbitStats::read`]) to compare the methods.
//!
//! The views lie on a circle of polar angle θ, φ = 360°·v/views; every view is rendered to its
//! converged frame with the cache carried from view to view. With `prefetch`, after each view the
//! engine fetches the bricks of the extrapolated next view at quarter resolution, timed apart.

use crate::engine::{Engine, Method, RenderOptions};
use crate::mesh::MeshBaseline;
use crate::{RaycastError, Result};
use neuvis_base::mem::peak_rss;
use neuvis_base::stats::median;
use neuvis_base::MaskedImage;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What renders the orbit: a method of the speculative engine or its baselines, or the
/// marching-cubes mesh baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrbitMethod {
    /// The engine with this method.
    Engine(Method),
    /// Marching cubes over the exact bricks, then a z-buffer rasterizer.
    Mesh,
}

impl OrbitMethod {
    /// Every method's name, as `--method` takes it: the engine's ([`Method::NAMES`]) and `mesh`.
    pub const NAMES: [&'static str; 7] = ["full", "exact", "neural", "trilinear", "dense", "compressed", "mesh"];

    /// The method named `s` (one of [`OrbitMethod::NAMES`]).
    pub fn parse(s: &str) -> Option<OrbitMethod> {
        match s {
            "mesh" => Some(OrbitMethod::Mesh),
            _ => Method::parse(s).map(OrbitMethod::Engine),
        }
    }

    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            OrbitMethod::Engine(m) => m.name(),
            OrbitMethod::Mesh => "mesh",
        }
    }

    /// Whether the method works within a memory budget (and can prefetch).
    pub fn speculative(self) -> bool {
        matches!(self, OrbitMethod::Engine(m) if m.speculative())
    }
}

/// The orbit and the frames.
#[derive(Debug, Clone, PartialEq)]
pub struct OrbitOptions {
    /// Isovalue.
    pub iso: f32,
    /// Polar angle of the orbit, degrees.
    pub theta: f32,
    /// Views over 360° of azimuth (1–3600).
    pub views: usize,
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
    /// Memory budget of a speculative method in bytes (`None`: the engine's default).
    pub budget: Option<usize>,
    /// Prefetch the extrapolated next view's bricks after each view (speculative methods).
    pub prefetch: bool,
}

impl Default for OrbitOptions {
    /// `neuvis bench raycast`'s orbit: θ = 60°, 36 views of 512², no budget, no prefetch (the
    /// isovalue is the caller's: the store's range decides it).
    fn default() -> Self {
        OrbitOptions {
            iso: 0.0,
            theta: 60.0,
            views: 36,
            width: 512,
            height: 512,
            budget: None,
            prefetch: false,
        }
    }
}

/// What an orbit measured: `stats.json` of its folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrbitStats {
    /// The method's name.
    pub method: String,
    /// Views rendered.
    pub views: usize,
    /// Frame size, width and height.
    pub size: [usize; 2],
    /// Seconds to open the store within the budget (mesh: to extract the surface).
    pub open_s: f64,
    /// Median time to a view's converged frame.
    pub median_frame_s: f64,
    /// Median time to a view's first (progressive) frame.
    pub median_first_s: f64,
    /// The first view's first frame (cold cache; mesh: extraction included).
    pub first_view_first_s: f64,
    /// The first view's converged frame.
    pub first_view_converged_s: f64,
    /// Median time of a prefetch, when prefetching.
    #[serde(default)]
    pub median_prefetch_s: Option<f64>,
    /// Bricks read from the store over the orbit.
    pub bricks_fetched: usize,
    /// The brick cache's peak bytes (engine methods).
    #[serde(default)]
    pub cache_peak_bytes: Option<usize>,
    /// The cache's budget in bytes (engine methods within a budget).
    #[serde(default)]
    pub cache_budget_bytes: Option<usize>,
    /// Bytes held outside the cache: base volume, octree, network (engine methods).
    #[serde(default)]
    pub resident_fixed_bytes: Option<usize>,
    /// Triangles of the extracted surface (mesh).
    #[serde(default)]
    pub triangles: Option<usize>,
    /// Bytes of the extracted mesh (mesh).
    #[serde(default)]
    pub mesh_bytes: Option<usize>,
    /// The process's peak resident memory (where the system reports it).
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    /// The store file's size.
    pub store_bytes: u64,
}

impl OrbitStats {
    /// The file an orbit's folder holds them in.
    pub const FILE: &'static str = "stats.json";

    /// Reads the stats of the orbit folder `dir`.
    pub fn read(dir: &Path) -> Result<OrbitStats> {
        let p = dir.join(Self::FILE);
        let bytes = neuvis_base::fs::read_regular(&p, 1 << 20).map_err(|source| RaycastError::Io {
            path: p.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| RaycastError::Corrupt {
            path: p,
            msg: format!("not an orbit's stats: {e}"),
        })
    }

    /// Writes them into `dir` (atomically).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let p = dir.join(Self::FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| RaycastError::Settings(e.to_string()))?;
        neuvis_base::write_atomic(&p, |w| std::io::Write::write_all(w, text.as_bytes()))
            .map_err(|source| RaycastError::Io { path: p, source })
    }
}

/// The name of view `v`'s frame in an orbit's folder.
pub fn frame_name(v: usize) -> String {
    format!("view_{v:03}.png")
}

fn write_frame(dir: &Path, v: usize, img: &MaskedImage) -> Result<()> {
    let path: PathBuf = dir.join(frame_name(v));
    neuvis_base::write_atomic(&path, |w| img.write_png(w).map_err(std::io::Error::other))
        .map_err(|source| RaycastError::Io { path, source })
}

/// Renders the orbit of `opts` from `store` with `method` into the existing folder `dir` (its
/// frames and `stats.json`), and returns the stats.
pub fn run(store: &Path, method: OrbitMethod, opts: &OrbitOptions, dir: &Path) -> Result<OrbitStats> {
    if opts.views == 0 || opts.views > 3600 {
        return Err(RaycastError::Settings(format!("views {}: must be 1–3600", opts.views)));
    }
    if opts.width == 0 || opts.height == 0 || opts.width > 8192 || opts.height > 8192 {
        return Err(RaycastError::Settings(format!(
            "frame size {}x{}: each side must be 1–8192",
            opts.width, opts.height
        )));
    }
    let phi = |v: usize| 360.0 * v as f32 / opts.views as f32;
    let frame = RenderOptions::new(opts.width, opts.height, opts.iso);
    let stats = match method {
        OrbitMethod::Mesh => {
            let mb = MeshBaseline::open(store, opts.iso)?;
            let mut times = Vec::with_capacity(opts.views);
            for v in 0..opts.views {
                let t = std::time::Instant::now();
                let img = mb.render(&frame, opts.theta, phi(v));
                times.push(t.elapsed().as_secs_f64());
                write_frame(dir, v, &img)?;
            }
            OrbitStats {
                method: method.name().into(),
                views: opts.views,
                size: [opts.width, opts.height],
                open_s: mb.extract_s,
                median_frame_s: median(&times),
                median_first_s: median(&times),
                first_view_first_s: mb.extract_s + times[0],
                first_view_converged_s: mb.extract_s + times[0],
                median_prefetch_s: None,
                bricks_fetched: 0,
                cache_peak_bytes: None,
                cache_budget_bytes: None,
                resident_fixed_bytes: None,
                triangles: Some(mb.mesh.tris.len()),
                mesh_bytes: Some(mb.mesh.bytes()),
                peak_rss_bytes: peak_rss(),
                store_bytes: mb.store_bytes,
            }
        }
        OrbitMethod::Engine(m) => {
            let t_open = std::time::Instant::now();
            let engine = Engine::open(store, m, opts.budget, opts.width, opts.height)?;
            let open_s = t_open.elapsed().as_secs_f64();
            let small = RenderOptions::new((opts.width / 4).max(1), (opts.height / 4).max(1), opts.iso);
            let (mut first, mut conv, mut pre, mut fetched) = (Vec::new(), Vec::new(), Vec::new(), 0usize);
            for v in 0..opts.views {
                let cam = engine.camera(&frame, opts.theta, phi(v));
                let (img, st) = engine.render(&cam, &frame, |_, _| {})?;
                first.push(st.first_s);
                conv.push(st.converged_s);
                fetched += st.fetched;
                write_frame(dir, v, &img)?;
                if opts.prefetch && m.speculative() && v + 1 < opts.views {
                    // extrapolated camera motion: the next azimuth step
                    let next = if v == 0 { phi(1) } else { 2.0 * phi(v) - phi(v - 1) };
                    let t = std::time::Instant::now();
                    engine.prefetch(&engine.camera(&small, opts.theta, next), &small)?;
                    pre.push(t.elapsed().as_secs_f64());
                }
            }
            let (_, cap, cs) = engine.cache_state();
            OrbitStats {
                method: method.name().into(),
                views: opts.views,
                size: [opts.width, opts.height],
                open_s,
                median_frame_s: median(&conv),
                median_first_s: median(&first),
                first_view_first_s: first[0],
                first_view_converged_s: conv[0],
                median_prefetch_s: (!pre.is_empty()).then(|| median(&pre)),
                bricks_fetched: fetched,
                cache_peak_bytes: Some(cs.peak_bytes),
                cache_budget_bytes: cap.bytes(),
                resident_fixed_bytes: Some(engine.resident_fixed()),
                triangles: None,
                mesh_bytes: None,
                peak_rss_bytes: peak_rss(),
                store_bytes: engine.store().file_len(),
            }
        }
    };
    stats.write(dir)?;
    Ok(stats)
}
