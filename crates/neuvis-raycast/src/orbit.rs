//! An orbit of views rendered by one method, measured: the frames and a `stats.json`
//! ([`OrbitStats`]) in a folder. `neuvis raycast orbit` runs it once per process, so that each
//! method's peak memory is its own, and `neuvis bench raycast` reads the stats back typed
//! ([`OrbitStats::read`]) to compare the methods.
//!
//! The views lie on a circle of polar angle θ, φ = 360°·v/views; every view is rendered to its
//! converged frame with the cache carried from view to view. With `prefetch`, after each view the
//! engine fetches the bricks of the extrapolated next view at quarter resolution, timed apart.
//!
//! [`render_view`] renders and measures one view (`neuvis raycast render`), with the same methods.

use crate::engine::{Budget, Method, RenderOptions};
use crate::mesh::MeshBaseline;
use crate::raycaster::{GpuInfo, Raycaster, RenderDevice};
use crate::{RaycastError, Result};
use neuvis_base::mem::peak_rss;
use neuvis_base::named::Named;
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
    /// The method named `s`: the engine's methods' names and `mesh`.
    pub fn parse(s: &str) -> Option<OrbitMethod> {
        OrbitMethod::from_name(s)
    }

    /// The method's name.
    pub fn name(self) -> &'static str {
        self.name_of()
    }

    /// Whether the method works within a memory budget (and can prefetch).
    pub fn speculative(self) -> bool {
        matches!(self, OrbitMethod::Engine(m) if m.speculative())
    }
}

impl Named for OrbitMethod {
    const ALL: &'static [OrbitMethod] = &[
        OrbitMethod::Engine(Method::Full),
        OrbitMethod::Engine(Method::Exact),
        OrbitMethod::Engine(Method::Neural),
        OrbitMethod::Engine(Method::Trilinear),
        OrbitMethod::Engine(Method::Dense),
        OrbitMethod::Engine(Method::Compressed),
        OrbitMethod::Mesh,
    ];

    fn name_of(self) -> &'static str {
        match self {
            OrbitMethod::Engine(m) => m.name_of(),
            OrbitMethod::Mesh => "mesh",
        }
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
    /// Where the engine methods render.
    pub device: RenderDevice,
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
            device: RenderDevice::Cpu,
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
    /// The GPU that rendered the frames (`None`: the CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuInfo>,
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

/// The mesh baseline extracts and draws on the CPU only: a GPU device is refused, not ignored.
fn mesh_on_cpu(device: RenderDevice) -> Result<()> {
    if device == RenderDevice::Gpu {
        return Err(RaycastError::Settings(
            "method mesh (marching cubes + z-buffer) runs on the CPU only: drop --device gpu".into(),
        ));
    }
    Ok(())
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
            mesh_on_cpu(opts.device)?;
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
                gpu: None,
            }
        }
        OrbitMethod::Engine(m) => {
            let t_open = std::time::Instant::now();
            let engine = Raycaster::open(store, m, opts.budget, opts.width, opts.height, opts.device)?;
            let open_s = t_open.elapsed().as_secs_f64();
            let small = RenderOptions::new((opts.width / 4).max(1), (opts.height / 4).max(1), opts.iso);
            let (mut first, mut conv, mut pre, mut fetched) = (Vec::new(), Vec::new(), Vec::new(), 0usize);
            for v in 0..opts.views {
                let cam = engine.camera(&frame, opts.theta, phi(v));
                let (img, st) = engine.render_converged(&cam, &frame)?;
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
                gpu: engine.gpu_info().cloned(),
            }
        }
    };
    stats.write(dir)?;
    Ok(stats)
}

/// One view of a store.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewOptions {
    /// Isovalue.
    pub iso: f32,
    /// Polar angle, degrees.
    pub theta: f32,
    /// Azimuth, degrees.
    pub phi: f32,
    /// Frame width in pixels (1–8192).
    pub width: usize,
    /// Frame height in pixels (1–8192).
    pub height: usize,
    /// Memory budget of an engine method in bytes (`None`: unbounded).
    pub budget: Option<usize>,
    /// Where an engine method renders.
    pub device: RenderDevice,
}

/// What rendering one view measured (`neuvis raycast render --json`, less its command and output).
#[derive(Debug, Clone, Serialize)]
pub struct ViewStats {
    /// The method's name.
    pub method: String,
    /// The isovalue.
    pub isovalue: f32,
    /// The method's own measurements.
    #[serde(flatten)]
    pub detail: ViewDetail,
    /// The process's peak resident memory (where the system reports it).
    pub peak_rss_bytes: Option<u64>,
    /// What the user should be told: no surface at the isovalue.
    #[serde(skip)]
    pub warning: Option<String>,
}

impl std::fmt::Display for ViewStats {
    /// What `neuvis raycast render` prints: for an engine method the GPU (if one rendered), the
    /// frame times, the bricks and the cache, then the resident bytes, peak RSS and the store; for
    /// the mesh baseline its extraction and frame. The last line ends without a newline, so a
    /// caller can add what it wrote.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |b: usize| b as f64 / 1e6;
        let rss = self
            .peak_rss_bytes
            .map_or("n/a".into(), |b| format!("{:.1} MB", b as f64 / 1e6));
        match &self.detail {
            ViewDetail::Mesh {
                extraction_s,
                triangles,
                mesh_bytes,
                frame_ms,
            } => write!(
                f,
                "method mesh | extraction {extraction_s:.1} s ({triangles} triangles, {:.1} MB) | frame {frame_ms:.1} ms | peak RSS {rss}",
                mb(*mesh_bytes)
            ),
            ViewDetail::Engine {
                first_frame_ms,
                converged_ms,
                passes,
                bricks_fetched,
                fetch_ms,
                brick_hits,
                brick_misses,
                resident_fixed_bytes,
                cache_bytes,
                cache_peak_bytes,
                cache_budget,
                store_bytes,
                gpu,
            } => {
                if let Some(g) = gpu {
                    writeln!(f, "{g}")?;
                }
                writeln!(
                    f,
                    "method {} | first frame {first_frame_ms:.1} ms | converged {converged_ms:.1} ms in {passes} passes | bricks fetched {bricks_fetched} ({fetch_ms:.1} ms) | brick hits {brick_hits} misses {brick_misses}",
                    self.method
                )?;
                write!(
                    f,
                    "resident: fixed {:.1} MB + cache {:.1} MB (peak {:.1} MB, budget {cache_budget}) | peak RSS {rss} | store {:.2} MB",
                    mb(*resident_fixed_bytes),
                    mb(*cache_bytes),
                    mb(*cache_peak_bytes),
                    *store_bytes as f64 / 1e6
                )
            }
        }
    }
}

/// The measurements of one view, by kind of method.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ViewDetail {
    /// The marching-cubes baseline.
    Mesh {
        /// Seconds to extract the surface.
        extraction_s: f64,
        /// Its triangles.
        triangles: usize,
        /// Its bytes.
        mesh_bytes: usize,
        /// Milliseconds to rasterize the frame.
        frame_ms: f64,
    },
    /// A method of the engine.
    Engine {
        /// Milliseconds to the first (progressive) frame.
        first_frame_ms: f64,
        /// Milliseconds to the converged frame.
        converged_ms: f64,
        /// Progressive passes.
        passes: usize,
        /// Bricks fetched (read, reconstructed or upsampled).
        bricks_fetched: usize,
        /// Milliseconds spent fetching.
        fetch_ms: f64,
        /// Distinct resident bricks used.
        brick_hits: usize,
        /// Distinct bricks that were not resident.
        brick_misses: usize,
        /// Bytes held outside the cache: base volume, octree, network.
        resident_fixed_bytes: usize,
        /// The cache's bytes after the frame.
        cache_bytes: usize,
        /// The cache's peak bytes.
        cache_peak_bytes: usize,
        /// The cache's budget.
        #[serde(skip)]
        cache_budget: Budget,
        /// The store file's size.
        store_bytes: u64,
        /// The GPU that rendered the frame (absent: the CPU).
        #[serde(skip_serializing_if = "Option::is_none")]
        gpu: Option<GpuInfo>,
    },
}

/// Renders one view of `store` with `method` and measures it; an engine method's progressive
/// frames go to `on_pass(frame, pass)` as they are made. Returns the converged frame.
pub fn render_view(
    store: &Path,
    method: OrbitMethod,
    view: &ViewOptions,
    on_pass: impl FnMut(&MaskedImage, usize),
) -> Result<(MaskedImage, ViewStats)> {
    if view.width == 0 || view.height == 0 || view.width > 8192 || view.height > 8192 {
        return Err(RaycastError::Settings(format!(
            "frame size {}x{}: each side must be 1–8192",
            view.width, view.height
        )));
    }
    let opts = RenderOptions::new(view.width, view.height, view.iso);
    let (img, detail, warning) = match method {
        OrbitMethod::Mesh => {
            mesh_on_cpu(view.device)?;
            let mb = MeshBaseline::open(store, view.iso)?;
            let t = std::time::Instant::now();
            let img = mb.render(&opts, view.theta, view.phi);
            let detail = ViewDetail::Mesh {
                extraction_s: mb.extract_s,
                triangles: mb.mesh.tris.len(),
                mesh_bytes: mb.mesh.bytes(),
                frame_ms: t.elapsed().as_secs_f64() * 1e3,
            };
            (img, detail, None)
        }
        OrbitMethod::Engine(m) => {
            let engine = Raycaster::open(store, m, view.budget, view.width, view.height, view.device)?;
            let (lo, hi) = engine.store().header.range;
            let warning = (!(lo..=hi).contains(&view.iso)).then(|| {
                format!(
                    "no surface at --iso {}: the volume ranges over [{lo}, {hi}], so the image is empty",
                    view.iso
                )
            });
            let cam = engine.camera(&opts, view.theta, view.phi);
            let (img, st) = engine.render(&cam, &opts, on_pass)?;
            let (used, cap, cs) = engine.cache_state();
            let detail = ViewDetail::Engine {
                first_frame_ms: st.first_s * 1e3,
                converged_ms: st.converged_s * 1e3,
                passes: st.passes,
                bricks_fetched: st.fetched,
                fetch_ms: st.fetch_s * 1e3,
                brick_hits: st.hits,
                brick_misses: st.misses,
                resident_fixed_bytes: engine.resident_fixed(),
                cache_bytes: used,
                cache_peak_bytes: cs.peak_bytes,
                cache_budget: cap,
                store_bytes: engine.store().file_len(),
                gpu: engine.gpu_info().cloned(),
            };
            (img, detail, warning)
        }
    };
    let stats = ViewStats {
        method: method.name().into(),
        isovalue: view.iso,
        detail,
        peak_rss_bytes: peak_rss(),
        warning,
    };
    Ok((img, stats))
}
