//! The speculative raycaster and its baselines.
//!
//! Rays are marched in the fine grid's index space with the world distance as parameter (as in
//! `neuvis-render`). Every method except `dense` walks the min–max [`Octree`] front to back and
//! skips every node whose range excludes the isovalue; at a leaf (a brick) it marches fine steps
//! on a lattice `t0 + m·h` plus the brick's entry and exit points, brackets the first sign change
//! of `f − iso`, bisects 12 times, takes a final secant step, and shades with Blinn–Phong from the
//! trilinearly interpolated central-difference gradient. The first hit ends the ray.
//!
//! Speculative methods (`exact`, `neural`, `trilinear`) keep only the base volume, the octree,
//! the network and a byte-bounded LRU [`BrickCache`]. A frame is rendered in passes: a ray that
//! reaches a brick that is not resident *suspends* there (remembering where) and, for the
//! progressive image, continues on the base volume with large steps to give a provisional hit.
//! After each pass the most-requested missing bricks (at most what the cache holds) are fetched
//! in parallel (read from the store, reconstructed by the network, or upsampled trilinearly),
//! and the suspended rays resume. The first pass needs no brick and gives the first frame at
//! once; later passes refine it; the frame has converged when no ray is suspended.
//!
//! All sampling goes through one function over a [`Voxels`] view, using global indices and the
//! same clamping as `ScalarField::sample_index`; a brick view only subtracts its integer origin
//! when it fetches a sample. So `exact` and `full` (the same traversal over the whole volume in
//! memory) give bit-identical images, which the tests check.

use crate::cache::{BrickCache, BrickData};
use crate::error::{RaycastError, Result};
use crate::geom::Geometry;
use crate::octree::Octree;
use crate::sr::{trilinear_brick, SrNet};
use crate::store::Store;
use neuvis_collection::MaskedImage;
use neuvis_render::{Camera, Phong};
use rayon::prelude::*;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// How bricks are obtained and traversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// In-core: the whole full-resolution volume resident, same traversal.
    Full,
    /// Speculative, bricks read from the store.
    Exact,
    /// Speculative, bricks reconstructed by the network.
    Neural,
    /// Speculative, bricks upsampled trilinearly from the base (ablation 1).
    Trilinear,
    /// Dense ray marching of the resident full volume, no skipping (ablation 2).
    Dense,
    /// Speculative, bricks decoded from ZFP fixed-rate payloads held in memory (compressed
    /// volume rendering).
    Compressed,
}

impl Method {
    /// Parses a command-line name.
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "full" => Method::Full,
            "exact" => Method::Exact,
            "neural" => Method::Neural,
            "trilinear" => Method::Trilinear,
            "dense" => Method::Dense,
            "compressed" => Method::Compressed,
            _ => return None,
        })
    }
    /// Command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Full => "full",
            Method::Exact => "exact",
            Method::Neural => "neural",
            Method::Trilinear => "trilinear",
            Method::Dense => "dense",
            Method::Compressed => "compressed",
        }
    }
    /// Whether bricks stream through the cache.
    pub fn speculative(self) -> bool {
        matches!(
            self,
            Method::Exact | Method::Neural | Method::Trilinear | Method::Compressed
        )
    }
}

/// Image and shading settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// Image width.
    pub width: usize,
    /// Image height.
    pub height: usize,
    /// Vertical field of view, degrees.
    pub fov_deg: f32,
    /// Fine step in units of the smallest spacing.
    pub step: f32,
    /// The isovalue.
    pub iso: f32,
    /// Surface colour.
    pub color: [f32; 3],
    /// Material.
    pub phong: Phong,
}

impl RenderOptions {
    /// Defaults: 30° field of view, half-voxel steps, the orange of `neuvis render`.
    pub fn new(width: usize, height: usize, iso: f32) -> RenderOptions {
        RenderOptions {
            width,
            height,
            fov_deg: 30.0,
            step: 0.5,
            iso,
            color: [0.9, 0.55, 0.25],
            phong: Phong::default(),
        }
    }
}

/// What a frame cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameStats {
    /// Seconds to the first (base-only for cold caches) image.
    pub first_s: f64,
    /// Seconds to the converged image.
    pub converged_s: f64,
    /// Passes (progressive images).
    pub passes: usize,
    /// Bricks fetched (read, reconstructed or upsampled).
    pub fetched: usize,
    /// Seconds spent fetching.
    pub fetch_s: f64,
    /// Distinct resident bricks used.
    pub hits: usize,
    /// Distinct bricks requested that were not resident.
    pub misses: usize,
}

/// Access to samples by global grid index.
pub trait Voxels: Sync {
    /// Sample at global index `(i, j, k)`.
    fn at(&self, i: usize, j: usize, k: usize) -> f32;
}

/// A whole grid in memory, x fastest.
pub struct Dense<'a> {
    /// Samples.
    pub data: &'a [f32],
    /// Grid size.
    pub dims: [usize; 3],
}
impl Voxels for Dense<'_> {
    #[inline(always)]
    fn at(&self, i: usize, j: usize, k: usize) -> f32 {
        self.data[i + self.dims[0] * (j + self.dims[1] * k)]
    }
}

struct BrickView<'a> {
    data: &'a [f32],
    o: [i64; 3],
    s: usize,
}
impl Voxels for BrickView<'_> {
    #[inline(always)]
    fn at(&self, i: usize, j: usize, k: usize) -> f32 {
        let l = [i as i64 - self.o[0], j as i64 - self.o[1], k as i64 - self.o[2]];
        debug_assert!(l.iter().all(|&v| v >= 0 && (v as usize) < self.s), "{l:?}");
        self.data[l[0] as usize + self.s * (l[1] as usize + self.s * l[2] as usize)]
    }
}

#[inline(always)]
fn split(x: f32, n: usize) -> (usize, f32) {
    let x = x.max(0.0).min((n - 1) as f32);
    let i = (x as usize).min(n.saturating_sub(2));
    (i, x - i as f32)
}

#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// Trilinear sample at global index coordinates `p` of a `dims` grid (clamped like
/// `ScalarField::sample_index`).
#[inline(always)]
pub fn sample<V: Voxels>(v: &V, dims: [usize; 3], p: [f32; 3]) -> f32 {
    let (i, fx) = split(p[0], dims[0]);
    let (j, fy) = split(p[1], dims[1]);
    let (k, fz) = split(p[2], dims[2]);
    let (i1, j1, k1) = (
        (i + 1).min(dims[0] - 1),
        (j + 1).min(dims[1] - 1),
        (k + 1).min(dims[2] - 1),
    );
    let c00 = lerp(v.at(i, j, k), v.at(i1, j, k), fx);
    let c10 = lerp(v.at(i, j1, k), v.at(i1, j1, k), fx);
    let c01 = lerp(v.at(i, j, k1), v.at(i1, j, k1), fx);
    let c11 = lerp(v.at(i, j1, k1), v.at(i1, j1, k1), fx);
    lerp(lerp(c00, c10, fy), lerp(c01, c11, fy), fz)
}

fn grid_gradient<V: Voxels>(v: &V, dims: [usize; 3], sp: [f32; 3], idx: [usize; 3]) -> [f32; 3] {
    let mut g = [0f32; 3];
    for a in 0..3 {
        let n = dims[a];
        if n < 2 {
            continue;
        }
        let (lo, hi) = (idx[a].saturating_sub(1), (idx[a] + 1).min(n - 1));
        let (mut p0, mut p1) = (idx, idx);
        p0[a] = lo;
        p1[a] = hi;
        g[a] = (v.at(p1[0], p1[1], p1[2]) - v.at(p0[0], p0[1], p0[2])) / ((hi - lo) as f32 * sp[a]);
    }
    g
}

/// Gradient (world units) at global index coordinates: central differences at the 8 corners,
/// trilinearly interpolated.
pub fn gradient<V: Voxels>(v: &V, dims: [usize; 3], sp: [f32; 3], p: [f32; 3]) -> [f32; 3] {
    let (i0, fx) = split(p[0], dims[0]);
    let (j0, fy) = split(p[1], dims[1]);
    let (k0, fz) = split(p[2], dims[2]);
    let (i1, j1, k1) = (
        (i0 + 1).min(dims[0] - 1),
        (j0 + 1).min(dims[1] - 1),
        (k0 + 1).min(dims[2] - 1),
    );
    let mut g = [0f32; 3];
    for (k, wk) in [(k0, 1.0 - fz), (k1, fz)] {
        for (j, wj) in [(j0, 1.0 - fy), (j1, fy)] {
            for (i, wi) in [(i0, 1.0 - fx), (i1, fx)] {
                let w = wi * wj * wk;
                if w != 0.0 {
                    let c = grid_gradient(v, dims, sp, [i, j, k]);
                    for a in 0..3 {
                        g[a] += w * c[a];
                    }
                }
            }
        }
    }
    g
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn normalize(a: [f32; 3]) -> [f32; 3] {
    let n = dot(a, a).sqrt();
    if n > 0.0 {
        a.map(|v| v / n)
    } else {
        a
    }
}

/// A ray in fine index space.
#[derive(Debug, Clone, Copy)]
struct IRay {
    o: [f32; 3],
    d: [f32; 3],
    t0: f32,
    t1: f32,
    dir: [f32; 3],
    inv: [f32; 3],
}

/// Slab intersection of the ray with the index box `[lo, hi]`, clipped to the ray's extent.
#[inline]
fn clip(r: &IRay, lo: [f32; 3], hi: [f32; 3]) -> Option<(f32, f32)> {
    let (mut t0, mut t1) = (r.t0, r.t1);
    for a in 0..3 {
        if r.d[a] == 0.0 {
            if r.o[a] < lo[a] || r.o[a] > hi[a] {
                return None;
            }
            continue;
        }
        let inv = r.inv[a];
        let (mut ta, mut tb) = ((lo[a] - r.o[a]) * inv, (hi[a] - r.o[a]) * inv);
        if ta > tb {
            std::mem::swap(&mut ta, &mut tb);
        }
        t0 = t0.max(ta);
        t1 = t1.min(tb);
    }
    (t0 <= t1).then_some((t0, t1))
}

/// Result of tracing one ray.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Trace {
    /// Final colour (hit) or background (miss).
    Done(Option<[f32; 3]>),
    /// Waiting for brick `id`, entered at `t`; with the provisional colour from the base.
    Need(u32, f32, Option<[f32; 3]>),
}

/// The raycaster bound to a store.
pub struct Engine {
    store: Store,
    geom: Geometry,
    octree: Octree,
    method: Method,
    net: Option<SrNet>,
    full: Option<Vec<f32>>,
    zfp: Option<(f64, Vec<Vec<u8>>)>,
    cache: Mutex<BrickCache>,
    spacing: [f32; 3],
    origin: [f32; 3],
    resident_fixed: usize,
}

/// Bytes of per-pixel state a frame needs at most: colour and provisional colour (4 + 4), resume
/// point (8), active and next lists (4 + 4), a pass's results (16), the image (4), rounded up.
pub const FRAME_BYTES_PER_PIXEL: usize = 48;

impl Engine {
    /// Opens `path` for `method` within `budget` bytes (`None`: unbounded) for frames of
    /// `width × height`. The budget covers the base, the octree, the index, the network, the
    /// resident volume (`full`, `dense`), the frame buffers and the brick cache.
    ///
    /// # Errors
    /// Unreadable or damaged stores, a method the store cannot serve, or a budget below the
    /// fixed part plus one brick.
    pub fn open(path: &Path, method: Method, budget: Option<usize>, width: usize, height: usize) -> Result<Engine> {
        let store = Store::open(path)?;
        let geom = *store.geometry();
        let octree = Octree::new(geom.bdims, store.entries.iter().map(|e| (e.min, e.max)).collect());
        let net = match method {
            Method::Neural => {
                let b = store.network.as_ref().ok_or_else(|| {
                    RaycastError::Settings(format!(
                        "{}: this store has no network (prepared with --store exact); use --method exact, full or trilinear, or prepare with --store neural|both",
                        path.display()
                    ))
                })?;
                Some(SrNet::from_bytes(b).map_err(|e| RaycastError::corrupt(path, e))?)
            }
            _ => None,
        };
        let mut resident_fixed = store.base.len() * 4
            + octree.bytes()
            + store.entries.len() * std::mem::size_of::<crate::store::BrickEntry>()
            + net.as_ref().map_or(0, |n| n.config.params() * 4)
            + width * height * FRAME_BYTES_PER_PIXEL;
        let zfp = if method == Method::Compressed {
            if !crate::zfp::AVAILABLE {
                return Err(RaycastError::Settings(
                    "method compressed needs ZFP, which this neuvis was built without: rebuild with `--features zfp` (needs cmake and libclang-dev)".into(),
                ));
            }
            let rate = store.header.zfp.map(|z| z.rate).ok_or_else(|| {
                RaycastError::Settings(format!(
                    "{}: method compressed needs ZFP bricks (prepare with --zfp-rate R)",
                    path.display()
                ))
            })?;
            let v: Vec<Vec<u8>> = (0..geom.nbricks())
                .into_par_iter()
                .map(|id| store.read_zfp(id))
                .collect::<Result<_>>()?;
            resident_fixed += v.iter().map(|b| b.len()).sum::<usize>();
            Some((rate, v))
        } else {
            None
        };
        let full_bytes = geom.dims.iter().product::<usize>() * 4;
        if matches!(method, Method::Full | Method::Dense) {
            resident_fixed += full_bytes;
        }
        if let Some(b) = budget {
            let need = resident_fixed + if method.speculative() { geom.brick_bytes() } else { 0 };
            if b < need {
                return Err(RaycastError::Settings(format!(
                    "budget of {:.1} MB is too small for method {}: base, octree, index, network and frame buffers need {:.1} MB{}",
                    b as f64 / 1e6,
                    method.name(),
                    resident_fixed as f64 / 1e6,
                    if method.speculative() {
                        format!(" and one brick {:.2} MB more", geom.brick_bytes() as f64 / 1e6)
                    } else {
                        String::new()
                    }
                )));
            }
        }
        let full = if matches!(method, Method::Full | Method::Dense) {
            if !store.header.kind.has_bricks() {
                return Err(RaycastError::Settings(format!(
                    "{}: method {} needs the full-resolution bricks, but this store keeps none (--store neural)",
                    path.display(),
                    method.name()
                )));
            }
            Some(assemble(&store)?)
        } else {
            if method == Method::Exact && !store.header.kind.has_bricks() {
                return Err(RaycastError::Settings(format!(
                    "{}: this store keeps no full-resolution bricks (--store neural); use --method neural or trilinear",
                    path.display()
                )));
            }
            None
        };
        let cache_budget = match budget {
            Some(b) if method.speculative() => b - resident_fixed,
            Some(_) => 0,
            None => usize::MAX,
        };
        Ok(Engine {
            spacing: store.header.spacing,
            origin: store.header.origin,
            store,
            geom,
            octree,
            method,
            net,
            full,
            zfp,
            cache: Mutex::new(BrickCache::new(cache_budget)),
            resident_fixed,
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }
    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }
    /// Bytes resident besides the cache.
    pub fn resident_fixed(&self) -> usize {
        self.resident_fixed
    }
    /// Cache bytes now, cache budget, and counters.
    pub fn cache_state(&self) -> (usize, usize, crate::cache::CacheStats) {
        let c = self.cache.lock().expect("cache lock");
        (c.used(), c.budget(), c.stats)
    }
    /// World bounds of the volume.
    pub fn bounds(&self) -> ([f32; 3], [f32; 3]) {
        let hi = [0, 1, 2].map(|a| self.origin[a] + self.spacing[a] * (self.geom.dims[a] - 1) as f32);
        (self.origin, hi)
    }
    /// The orbit camera (as `neuvis render`) at (θ, φ).
    pub fn camera(&self, opts: &RenderOptions, theta: f32, phi: f32) -> Camera {
        Camera::orbit(self.bounds(), theta, phi, opts.fov_deg, opts.width, opts.height)
    }

    /// Fetches brick `id` for the method.
    pub fn fetch(&self, id: usize) -> Result<Vec<f32>> {
        let b = self.geom.coords(id);
        match self.method {
            Method::Exact | Method::Full | Method::Dense => self.store.read_brick(id),
            Method::Neural => {
                Ok(self
                    .net
                    .as_ref()
                    .expect("neural engine has a net")
                    .reconstruct(&self.geom, &self.store.base, b))
            }
            Method::Trilinear => Ok(trilinear_brick(&self.geom, &self.store.base, b)),
            Method::Compressed => {
                let (rate, v) = self.zfp.as_ref().expect("compressed engine has ZFP bricks");
                crate::zfp::decompress(&v[id], self.geom.side(), *rate)
                    .ok_or_else(|| RaycastError::corrupt(self.store.path(), format!("ZFP brick {id} does not decode")))
            }
        }
    }

    fn index_ray(&self, eye: [f32; 3], dir: [f32; 3]) -> Option<IRay> {
        let o = [0, 1, 2].map(|a| (eye[a] - self.origin[a]) / self.spacing[a]);
        let d = [0, 1, 2].map(|a| dir[a] / self.spacing[a]);
        let r = IRay {
            o,
            d,
            t0: 0.0,
            t1: f32::INFINITY,
            dir,
            inv: d.map(|v| 1.0 / v),
        };
        let hi = self.geom.dims.map(|n| (n - 1) as f32);
        let (t0, t1) = clip(&r, [0.0; 3], hi)?;
        (t0 < t1).then_some(IRay { t0, t1, ..r })
    }

    /// Walks the leaves below node `c` of `level` (whose range contains `iso` and which the ray
    /// crosses over `(t0, t1)`) whose ranges contain `iso`, front to back, calling `leaf(id, t_in,
    /// t_out)` until it breaks.
    fn walk(
        &self,
        r: &IRay,
        level: usize,
        c: [usize; 3],
        (t0, t1): (f32, f32),
        iso: f32,
        leaf: &mut impl FnMut(usize, f32, f32) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if level == 0 {
            return leaf(self.geom.id(c), t0, t1);
        }
        let cd = self.octree.levels[level - 1].dims;
        let s = self.geom.brick << (level - 1);
        // children in the order of the ray's direction signs: for splits through one point this
        // is front to back (a ray never goes from a child to one that is behind it on any axis)
        let flip = (r.d[0] < 0.0) as usize | ((r.d[1] < 0.0) as usize) << 1 | ((r.d[2] < 0.0) as usize) << 2;
        for i in 0..8 {
            let j = i ^ flip;
            let k = [2 * c[0] + (j & 1), 2 * c[1] + (j >> 1 & 1), 2 * c[2] + (j >> 2)];
            if k[0] >= cd[0] || k[1] >= cd[1] || k[2] >= cd[2] {
                continue;
            }
            let (lo, hi) = self.octree.range(level - 1, k);
            if !(lo <= iso && iso <= hi) {
                continue;
            }
            let klo = k.map(|v| (v * s) as f32);
            let khi = [0, 1, 2].map(|a| ((k[a] + 1) * s).min(self.geom.dims[a] - 1) as f32);
            if let Some(tk) = clip(r, klo, khi) {
                self.walk(r, level - 1, k, tk, iso, leaf)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// First bracket of a crossing of `iso` in `[ta, tb]`: samples at `ta`, the lattice
    /// `r.t0 + m·h` inside, and `tb`. Positions are clamped into `[lo, hi]`.
    #[allow(clippy::too_many_arguments)]
    fn bracket<V: Voxels>(
        &self,
        v: &V,
        dims: [usize; 3],
        scale: f32,
        r: &IRay,
        ta: f32,
        tb: f32,
        h: f32,
        iso: f32,
        lo: [f32; 3],
        hi: [f32; 3],
    ) -> Option<(f32, f32)> {
        // scale is 1 or the base factor: multiplying by its inverse is exact for 1, 2, 4, 8
        let inv_scale = 1.0 / scale;
        let val = |t: f32| {
            let p = [0, 1, 2].map(|a| ((r.o[a] + t * r.d[a]).clamp(lo[a], hi[a])) * inv_scale);
            sample(v, dims, p) - iso
        };
        let mut t = ta;
        let mut prev = val(t);
        let mut m = ((ta - r.t0) / h).floor() + 1.0;
        loop {
            let tn = (r.t0 + m * h).min(tb);
            let tn = if tn <= t { tb } else { tn };
            let cur = val(tn);
            if (prev < 0.0) != (cur < 0.0) {
                return Some((t, tn));
            }
            if tn >= tb {
                return None;
            }
            prev = cur;
            t = tn;
            m += 1.0;
        }
    }

    /// Bisection + secant inside a bracket, then the shaded colour.
    #[allow(clippy::too_many_arguments)]
    fn refine<V: Voxels>(
        &self,
        v: &V,
        dims: [usize; 3],
        scale: f32,
        r: &IRay,
        (mut a, mut b): (f32, f32),
        iso: f32,
        lo: [f32; 3],
        hi: [f32; 3],
        opts: &RenderOptions,
    ) -> [f32; 3] {
        let inv_scale = 1.0 / scale;
        let pos = |t: f32| [0, 1, 2].map(|k| ((r.o[k] + t * r.d[k]).clamp(lo[k], hi[k])) * inv_scale);
        let val = |t: f32| sample(v, dims, pos(t)) - iso;
        let fa_neg = val(a) < 0.0;
        for _ in 0..12 {
            let m = 0.5 * (a + b);
            if (val(m) < 0.0) == fa_neg {
                a = m;
            } else {
                b = m;
            }
        }
        let (fa, fb) = (val(a), val(b));
        let t = if fb != fa {
            (a - fa * (b - a) / (fb - fa)).clamp(a, b)
        } else {
            0.5 * (a + b)
        };
        let sp = self.spacing.map(|s| s * scale);
        let g = gradient(v, dims, sp, pos(t));
        let mut n = normalize(g);
        let d = r.dir;
        if dot(n, n) == 0.0 || dot(n, d) > 0.0 {
            n = if dot(n, n) == 0.0 { d.map(|x| -x) } else { n.map(|x| -x) };
        }
        opts.phong.shade(opts.color, n, d.map(|x| -x))
    }

    fn brick_box(&self, id: usize) -> ([f32; 3], [f32; 3]) {
        self.geom.cell_box(self.geom.coords(id))
    }

    /// Traces one ray from `t_resume` (entering brick `pending` there, if any).
    fn trace(
        &self,
        r: &IRay,
        opts: &RenderOptions,
        resume: Option<(u32, f32)>,
        snap: &HashMap<u32, BrickData>,
        provisional: bool,
        touched: &[AtomicBool],
    ) -> Trace {
        let iso = opts.iso;
        let h = opts.step * self.spacing[0].min(self.spacing[1]).min(self.spacing[2]);
        let dims = self.geom.dims;
        if self.method == Method::Dense {
            let v = Dense {
                data: self.full.as_deref().expect("dense has the volume"),
                dims,
            };
            let (lo, hi) = ([0.0; 3], dims.map(|n| (n - 1) as f32));
            return Trace::Done(
                self.bracket(&v, dims, 1.0, r, r.t0, r.t1, h, iso, lo, hi)
                    .map(|br| self.refine(&v, dims, 1.0, r, br, iso, lo, hi, opts)),
            );
        }
        let top = self.octree.levels.len() - 1;
        let mut out = Trace::Done(None);
        let mut need: Option<(u32, f32)> = None;
        let base = Dense {
            data: &self.store.base,
            dims: self.geom.base_dims,
        };
        let f = self.geom.factor as f32;
        let t_from = resume.map_or(f32::NEG_INFINITY, |(_, t)| t);
        let (rlo, rhi) = self.octree.range(top, [0; 3]);
        let root = if rlo <= iso && iso <= rhi {
            clip(r, [0.0; 3], dims.map(|n| (n - 1) as f32))
        } else {
            None
        };
        let Some(root) = root else {
            return Trace::Done(None);
        };
        let _ = self.walk(r, top, [0; 3], root, iso, &mut |id, ta, tb| {
            if let Some((pid, _)) = resume {
                if tb <= t_from && id as u32 != pid {
                    return ControlFlow::Continue(());
                }
            }
            let (lo, hi) = self.brick_box(id);
            if need.is_none() {
                let hit = if let Some(full) = &self.full {
                    let v = Dense { data: full, dims };
                    self.bracket(&v, dims, 1.0, r, ta, tb, h, iso, lo, hi)
                        .map(|br| self.refine(&v, dims, 1.0, r, br, iso, lo, hi, opts))
                } else if let Some(data) = snap.get(&(id as u32)) {
                    if !touched[id].load(Ordering::Relaxed) {
                        touched[id].store(true, Ordering::Relaxed);
                    }
                    let v = BrickView {
                        data,
                        o: self.geom.sample_origin(self.geom.coords(id)),
                        s: self.geom.side(),
                    };
                    self.bracket(&v, dims, 1.0, r, ta, tb, h, iso, lo, hi)
                        .map(|br| self.refine(&v, dims, 1.0, r, br, iso, lo, hi, opts))
                } else {
                    need = Some((id as u32, ta));
                    if !provisional {
                        return ControlFlow::Break(());
                    }
                    None
                };
                if let Some(c) = hit {
                    out = Trace::Done(Some(c));
                    return ControlFlow::Break(());
                }
            }
            if let Some((nid, nt)) = need {
                // provisional: march the base with steps of half a base cell
                let hb = 0.5 * f * h / opts.step;
                if let Some(br) = self.bracket(&base, self.geom.base_dims, f, r, ta, tb, hb, iso, lo, hi) {
                    let c = self.refine(&base, self.geom.base_dims, f, r, br, iso, lo, hi, opts);
                    out = Trace::Need(nid, nt, Some(c));
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        match (out, need) {
            (Trace::Done(_), Some((id, t))) => Trace::Need(id, t, None),
            (o, _) => o,
        }
    }

    /// Renders a view progressively. `on_frame(image, pass)` sees every intermediate image
    /// (pass 0 is the first frame); the returned image is the converged one.
    pub fn render(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        mut on_frame: impl FnMut(&MaskedImage, usize),
    ) -> Result<(MaskedImage, FrameStats)> {
        self.render_impl(cam, opts, true, &mut |im, p| {
            on_frame(im, p);
            ControlFlow::Continue(())
        })
    }

    /// [`Engine::render`] that stops after any pass for which `on_frame` breaks (an interactive
    /// client moved on); the image returned is then the last progressive one.
    pub fn render_until(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        mut on_frame: impl FnMut(&MaskedImage, usize) -> ControlFlow<()>,
    ) -> Result<(MaskedImage, FrameStats)> {
        self.render_impl(cam, opts, true, &mut on_frame)
    }

    /// Loads the bricks a view would need into the cache, without shading provisional hits
    /// (used to prefetch for predicted camera positions).
    pub fn prefetch(&self, cam: &Camera, opts: &RenderOptions) -> Result<FrameStats> {
        Ok(self
            .render_impl(cam, opts, false, &mut |_, _| ControlFlow::Continue(()))?
            .1)
    }

    fn render_impl(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        provisional: bool,
        on_frame: &mut dyn FnMut(&MaskedImage, usize) -> ControlFlow<()>,
    ) -> Result<(MaskedImage, FrameStats)> {
        if !opts.iso.is_finite() {
            return Err(RaycastError::Settings(format!("isovalue {} must be finite", opts.iso)));
        }
        let start = Instant::now();
        let (w, hgt) = (cam.width, cam.height);
        let ray = |p: u32| {
            let p = p as usize;
            self.index_ray(cam.eye, cam.ray_dir((p % w) as f32 + 0.5, (p / w) as f32 + 0.5))
        };
        // per pixel: packed colour (0 = none), provisional colour, where a suspended ray resumes
        let mut color = vec![0u32; w * hgt];
        let mut prov = vec![0u32; w * hgt];
        let mut resume: Vec<(u32, f32)> = vec![(u32::MAX, 0.0); w * hgt];
        let mut active: Vec<u32> = (0..(w * hgt) as u32)
            .into_par_iter()
            .filter(|&p| ray(p).is_some())
            .collect();
        let touched: Vec<AtomicBool> = (0..self.geom.nbricks()).map(|_| AtomicBool::new(false)).collect();
        let mut stats = FrameStats::default();
        let mut missed_all: std::collections::HashSet<u32> = Default::default();
        let mut last_image;
        loop {
            let snap = if self.method.speculative() {
                self.cache.lock().expect("cache lock").snapshot()
            } else {
                HashMap::new()
            };
            // (colour or 0, needed brick or MAX, resume t, provisional colour or 0)
            let results: Vec<(u32, u32, f32, u32)> = active
                .par_iter()
                .map(|&p| {
                    let r = ray(p).expect("active rays hit the box");
                    let res = resume[p as usize];
                    let res = (res.0 != u32::MAX).then_some(res);
                    match self.trace(&r, opts, res, &snap, provisional, &touched) {
                        Trace::Done(c) => (pack(c), u32::MAX, 0.0, 0),
                        Trace::Need(id, t, c) => (0, id, t, pack(c)),
                    }
                })
                .collect();
            drop(snap);
            let mut counts: HashMap<u32, usize> = HashMap::new();
            let mut next = Vec::new();
            for (&p, &(c, id, t, pc)) in active.iter().zip(&results) {
                if id == u32::MAX {
                    color[p as usize] = c;
                    prov[p as usize] = 0;
                } else {
                    resume[p as usize] = (id, t);
                    prov[p as usize] = pc;
                    *counts.entry(id).or_default() += 1;
                    next.push(p);
                }
            }
            drop(results);
            {
                let mut cache = self.cache.lock().expect("cache lock");
                for (id, t) in touched.iter().enumerate() {
                    if t.load(Ordering::Relaxed) {
                        cache.touch(id as u32);
                    }
                }
            }
            last_image = compose(w, hgt, &color, &prov);
            stats.passes += 1;
            if stats.passes == 1 {
                stats.first_s = start.elapsed().as_secs_f64();
            }
            if on_frame(&last_image, stats.passes - 1).is_break() || next.is_empty() {
                break;
            }
            // fetch the most requested bricks, at most what the cache can hold
            let cap = {
                let c = self.cache.lock().expect("cache lock");
                (c.budget() / self.geom.brick_bytes()).max(1)
            };
            let mut req: Vec<(u32, usize)> = counts.into_iter().collect();
            req.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            req.truncate(cap);
            for &(id, _) in &req {
                missed_all.insert(id);
            }
            // fetch in small parallel batches, inserting as they arrive, so no more than a
            // batch of bricks is ever held outside the cache
            let t0 = Instant::now();
            let chunk = 4 * rayon::current_num_threads();
            for part in req.chunks(chunk) {
                let loaded: Vec<(u32, Vec<f32>)> = part
                    .par_iter()
                    .map(|&(id, _)| Ok((id, self.fetch(id as usize)?)))
                    .collect::<Result<_>>()?;
                stats.fetched += loaded.len();
                let mut cache = self.cache.lock().expect("cache lock");
                for (id, data) in loaded {
                    cache.stats.misses += 1;
                    if !cache.insert(id, std::sync::Arc::new(data)) {
                        return Err(RaycastError::Settings(
                            "a brick does not fit in the cache budget".into(),
                        ));
                    }
                }
            }
            stats.fetch_s += t0.elapsed().as_secs_f64();
            active = next;
        }
        stats.hits = touched
            .iter()
            .enumerate()
            .filter(|(id, t)| t.load(Ordering::Relaxed) && !missed_all.contains(&(*id as u32)))
            .count();
        self.cache.lock().expect("cache lock").stats.hits += stats.hits as u64;
        stats.misses = missed_all.len();
        stats.converged_s = start.elapsed().as_secs_f64();
        Ok((last_image, stats))
    }
}

/// Packs a colour as `0xFF_RR_GG_BB` (0 = no colour).
fn pack(c: Option<[f32; 3]>) -> u32 {
    match c {
        None => 0,
        Some(c) => {
            let q = c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u32);
            0xFF00_0000 | (q[0] << 16) | (q[1] << 8) | q[2]
        }
    }
}

fn compose(w: usize, h: usize, color: &[u32], prov: &[u32]) -> MaskedImage {
    let mut rgb = vec![255u8; w * h * 3];
    let mut mask = vec![0u8; w * h];
    for p in 0..w * h {
        let c = if color[p] != 0 { color[p] } else { prov[p] };
        if c != 0 {
            rgb[3 * p] = (c >> 16) as u8;
            rgb[3 * p + 1] = (c >> 8) as u8;
            rgb[3 * p + 2] = c as u8;
            mask[p] = 255;
        }
    }
    MaskedImage::new(w, h, rgb, mask).expect("sizes match")
}

/// The whole full-resolution volume from the store's exact bricks (for `full` and `dense`).
pub fn assemble(store: &Store) -> Result<Vec<f32>> {
    let g = *store.geometry();
    let [nx, ny, nz] = g.dims;
    let n = nx * ny * nz;
    neuvis_volume::field::check_memory(n as u64 * 4, "full-resolution volume")?;
    let mut out = vec![0f32; n];
    let s = g.side();
    for bk in 0..g.bdims[2] {
        let layer: Vec<(usize, Vec<f32>)> = (0..g.bdims[0] * g.bdims[1])
            .into_par_iter()
            .map(|ij| {
                let id = g.id([ij % g.bdims[0], ij / g.bdims[0], bk]);
                Ok((id, store.read_brick(id)?))
            })
            .collect::<Result<_>>()?;
        for (id, data) in layer {
            let b = g.coords(id);
            let lo = b.map(|v| v * g.brick);
            let hi = [0, 1, 2].map(|a| ((b[a] + 1) * g.brick).min(g.dims[a] - 1));
            for k in lo[2]..=hi[2] {
                for j in lo[1]..=hi[1] {
                    for i in lo[0]..=hi[0] {
                        let l = [i + 1 - lo[0], j + 1 - lo[1], k + 1 - lo[2]];
                        out[i + nx * (j + ny * k)] = data[l[0] + s * (l[1] + s * l[2])];
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Peak resident set size of this process (VmHWM), in bytes, where the OS reports it.
pub fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
