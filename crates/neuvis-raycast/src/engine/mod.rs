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
//!
//! The module is split by concern: [`options`] (the API types: methods, render options, frame
//! statistics, the memory [`Budget`]), [`sample`] (trilinear sampling and gradients over a
//! [`Voxels`] view), this file (opening a store within a budget and fetching bricks), `trace`
//! (octree walk, bracketing and refinement of one ray), `passes` (the progressive pass scheduler
//! and the cache traffic) and `compose` (packing colours and composing the image).

mod compose;
pub mod options;
mod passes;
pub mod sample;
mod trace;

pub use crate::store::assemble;
pub use options::{Budget, FrameStats, Method, RenderOptions};
pub use sample::{gradient, sample, Dense, Voxels};
#[cfg(feature = "gpu")]
pub(crate) use {compose::compose as compose_image, passes::check_view};

use crate::cache::BrickCache;
use crate::error::{RaycastError, Result};
use crate::geom::Geometry;
use crate::octree::Octree;
use crate::sr::{trilinear_brick, SrNet};
use crate::store::Store;
use neuvis_base::camera::Camera;
use rayon::prelude::*;
use std::path::Path;
use std::sync::Mutex;

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
    cache_budget: Budget,
    spacing: [f32; 3],
    origin: [f32; 3],
    resident_fixed: usize,
}

/// Bytes of per-pixel state a frame needs at most: colour and provisional colour (4 + 4), resume
/// point (8), active and next lists (4 + 4), a pass's results (16), the image (4), rounded up.
pub const FRAME_BYTES_PER_PIXEL: usize = 48;

impl Engine {
    /// Opens `path` for `method` within `budget` (bytes as `Some(n)`, or a [`Budget`]) for frames of
    /// `width × height`. The budget covers the base, the octree, the index, the network, the
    /// resident volume (`full`, `dense`), the frame buffers and the brick cache.
    ///
    /// # Errors
    /// Unreadable or damaged stores, a method the store cannot serve, or a budget below the
    /// fixed part plus one brick.
    pub fn open(path: &Path, method: Method, budget: impl Into<Budget>, width: usize, height: usize) -> Result<Engine> {
        let budget = budget.into();
        let store = match budget {
            Budget::Bytes(b) => Store::open_within(path, b as u64)?,
            _ => Store::open(path)?,
        };
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
                let net = SrNet::from_bytes(b).map_err(|e| RaycastError::corrupt(path, e.0))?;
                if (net.config.brick, net.config.factor) != (geom.brick, geom.factor) {
                    return Err(RaycastError::corrupt(
                        path,
                        format!(
                            "the network (field `network.config`) was made for bricks of {} cells and base factor {}, the store has {} and {}",
                            net.config.brick, net.config.factor, geom.brick, geom.factor
                        ),
                    ));
                }
                Some(net)
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
        if let Budget::Bytes(b) = budget {
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
            Budget::Bytes(b) if method.speculative() => Budget::Bytes(b - resident_fixed),
            Budget::Bytes(_) => Budget::Bytes(0),
            Budget::Unbounded => Budget::Unbounded,
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
            cache: Mutex::new(BrickCache::new(cache_budget.bytes().unwrap_or(usize::MAX))),
            cache_budget,
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
    /// Bytes of the network's parameters (0 without one).
    #[cfg(feature = "gpu")]
    pub(crate) fn network_bytes(&self) -> usize {
        self.net.as_ref().map_or(0, |n| n.config.params() * 4)
    }
    /// The network (`neural` only).
    #[cfg(feature = "gpu")]
    pub(crate) fn network(&self) -> Option<&SrNet> {
        self.net.as_ref()
    }
    /// Cache bytes now, cache budget, and counters.
    pub fn cache_state(&self) -> (usize, Budget, crate::cache::CacheStats) {
        let c = self.cache.lock().expect("cache lock");
        (c.used(), self.cache_budget, c.stats())
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
}
