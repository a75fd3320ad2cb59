//! The engine's API types: methods, render options, frame statistics and the memory budget.

use neuvis_base::camera::Phong;
use neuvis_base::named::Named;

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
    /// Parses a command-line name (one of [`Named::names`], in the order the command line
    /// lists them).
    pub fn parse(s: &str) -> Option<Method> {
        Method::from_name(s)
    }
    /// Command-line name.
    pub fn name(self) -> &'static str {
        self.name_of()
    }
    /// Whether bricks stream through the cache.
    pub fn speculative(self) -> bool {
        matches!(
            self,
            Method::Exact | Method::Neural | Method::Trilinear | Method::Compressed
        )
    }
}

impl Named for Method {
    const ALL: &'static [Method] = &[
        Method::Full,
        Method::Exact,
        Method::Neural,
        Method::Trilinear,
        Method::Dense,
        Method::Compressed,
    ];

    fn name_of(self) -> &'static str {
        match self {
            Method::Full => "full",
            Method::Exact => "exact",
            Method::Neural => "neural",
            Method::Trilinear => "trilinear",
            Method::Dense => "dense",
            Method::Compressed => "compressed",
        }
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

/// A memory budget for the engine: everything resident (base, octree, index, network, frame
/// buffers, the resident volume of `full` and `dense`) plus the brick cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Budget {
    /// No bound: the cache keeps every brick it fetches.
    #[default]
    Unbounded,
    /// At most this many bytes.
    Bytes(usize),
}

impl Budget {
    /// The bound in bytes, if any.
    pub fn bytes(self) -> Option<usize> {
        match self {
            Budget::Unbounded => None,
            Budget::Bytes(b) => Some(b),
        }
    }
}

impl From<Option<usize>> for Budget {
    fn from(b: Option<usize>) -> Budget {
        b.map_or(Budget::Unbounded, Budget::Bytes)
    }
}

impl std::fmt::Display for Budget {
    /// `unbounded` or megabytes with one decimal (`12.5 MB`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Budget::Unbounded => write!(f, "unbounded"),
            Budget::Bytes(b) => write!(f, "{:.1} MB", *b as f64 / 1e6),
        }
    }
}
