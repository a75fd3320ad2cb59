//! `neuvis raycast prepare`: streams a volume into a brick store, one slab of brick layers at a
//! time, so the full-resolution volume is never held in memory.

use crate::error::{RaycastError, Result};
use crate::geom::Geometry;
use crate::store::{encode, StoreKind, StoreWriter};
use neuvis_volume::dtype::decode;
use neuvis_volume::{ScalarField, Turbulence};
use rayon::prelude::*;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A volume that can hand out consecutive z-planes.
pub trait SlabSource: Sync {
    /// Samples per axis.
    fn dims(&self) -> [usize; 3];
    /// World spacing.
    fn spacing(&self) -> [f32; 3];
    /// World origin.
    fn origin(&self) -> [f32; 3];
    /// Planes `z0 .. z0 + nz` (x fastest).
    fn planes(&self, z0: usize, nz: usize) -> Result<Vec<f32>>;
    /// A one-line description for the store header.
    fn describe(&self) -> String;
}

/// A field already in memory (volume formats read whole: NRRD, NIfTI, VTK).
pub struct FieldSource {
    /// The field.
    pub field: ScalarField,
    /// Its description.
    pub name: String,
}

impl SlabSource for FieldSource {
    fn dims(&self) -> [usize; 3] {
        self.field.dims()
    }
    fn spacing(&self) -> [f32; 3] {
        self.field.spacing()
    }
    fn origin(&self) -> [f32; 3] {
        self.field.origin()
    }
    fn planes(&self, z0: usize, nz: usize) -> Result<Vec<f32>> {
        let [nx, ny, _] = self.field.dims();
        Ok(self.field.data()[z0 * nx * ny..(z0 + nz) * nx * ny].to_vec())
    }
    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// Procedural turbulence generated plane by plane.
pub struct TurbulenceSource {
    /// The field.
    pub turbulence: Turbulence,
    /// Grid size.
    pub dims: [usize; 3],
    /// Seed (for the description).
    pub seed: u64,
}

impl TurbulenceSource {
    /// The seeded turbulence field on a `dims` grid.
    pub fn new(seed: u64, dims: [usize; 3]) -> TurbulenceSource {
        TurbulenceSource {
            turbulence: Turbulence::new(seed),
            dims,
            seed,
        }
    }
}

impl SlabSource for TurbulenceSource {
    fn dims(&self) -> [usize; 3] {
        self.dims
    }
    fn spacing(&self) -> [f32; 3] {
        Turbulence::spacing(self.dims)
    }
    fn origin(&self) -> [f32; 3] {
        [0.0; 3]
    }
    fn planes(&self, z0: usize, nz: usize) -> Result<Vec<f32>> {
        Ok(self.turbulence.slab(self.dims, z0, nz)?)
    }
    fn describe(&self) -> String {
        let d = self.dims;
        format!("turbulence seed {} {}x{}x{}", self.seed, d[0], d[1], d[2])
    }
}

/// A headerless raw file read plane by plane with seeks.
pub struct RawSource {
    /// The file.
    pub path: PathBuf,
    /// Layout.
    pub spec: neuvis_volume::RawSpec,
}

impl RawSource {
    /// Checks the file size against the layout.
    pub fn open(path: &Path, spec: neuvis_volume::RawSpec) -> Result<RawSource> {
        let n = neuvis_volume::field::check_dims(spec.dims, &path.display().to_string())?;
        let len = std::fs::metadata(path).map_err(|e| RaycastError::io(path, e))?.len();
        let want = spec.header_skip + n as u64 * spec.dtype.size() as u64;
        if len != want {
            return Err(RaycastError::corrupt(
                path,
                format!(
                    "raw file holds {len} bytes, but {:?} {} after {} header bytes needs {want}",
                    spec.dims,
                    spec.dtype.name(),
                    spec.header_skip
                ),
            ));
        }
        Ok(RawSource {
            path: path.to_path_buf(),
            spec,
        })
    }
}

impl SlabSource for RawSource {
    fn dims(&self) -> [usize; 3] {
        self.spec.dims
    }
    fn spacing(&self) -> [f32; 3] {
        self.spec.spacing
    }
    fn origin(&self) -> [f32; 3] {
        [0.0; 3]
    }
    fn planes(&self, z0: usize, nz: usize) -> Result<Vec<f32>> {
        let [nx, ny, _] = self.spec.dims;
        let sz = self.spec.dtype.size() as u64;
        let plane = nx as u64 * ny as u64 * sz;
        let mut f = std::fs::File::open(&self.path).map_err(|e| RaycastError::io(&self.path, e))?;
        f.seek(SeekFrom::Start(self.spec.header_skip + z0 as u64 * plane))
            .map_err(|e| RaycastError::io(&self.path, e))?;
        let mut buf = vec![0u8; (plane * nz as u64) as usize];
        f.read_exact(&mut buf).map_err(|e| RaycastError::io(&self.path, e))?;
        let v = decode(&buf, self.spec.dtype, self.spec.endian);
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(RaycastError::corrupt(
                &self.path,
                format!("non-finite sample at index {}", z0 * nx * ny + i),
            ));
        }
        Ok(v)
    }
    fn describe(&self) -> String {
        format!("{} ({})", self.path.display(), self.spec.dtype.name())
    }
}

/// Settings of `prepare`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrepareOptions {
    /// Brick edge in cells.
    pub brick: usize,
    /// Base factor.
    pub factor: usize,
    /// What to store.
    pub kind: StoreKind,
    /// Bricks kept in memory for training the network (seeded reservoir sample).
    pub train_bricks: usize,
    /// Seed of the reservoir sample.
    pub seed: u64,
    /// Also store ZFP fixed-rate bricks at this many bits per value (the `compressed` baseline).
    pub zfp_rate: Option<f64>,
}

/// What the network trainer gets.
pub struct TrainingData {
    /// Geometry.
    pub geometry: Geometry,
    /// The base volume.
    pub base: Vec<f32>,
    /// (id, samples) of the sampled bricks.
    pub bricks: Vec<(usize, Vec<f32>)>,
    /// Value range of the volume.
    pub range: (f32, f32),
}

/// A network trainer: gets the base and the sampled bricks, returns the serialized network.
pub type Trainer<'a> = dyn Fn(&TrainingData) -> Result<Vec<u8>> + 'a;

/// A brick of a layer: id, samples, min, max, compressed payload, ZFP payload.
type LayerBrick = (usize, Vec<f32>, f32, f32, Option<Vec<u8>>, Option<Vec<u8>>);

/// What `prepare` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct PrepareReport {
    /// File size.
    pub bytes: u64,
    /// Bytes of brick payloads.
    pub brick_bytes: u64,
    /// Geometry.
    pub geometry: Geometry,
    /// Largest slab held at once, in bytes.
    pub max_slab_bytes: u64,
}

/// Fills brick `b` (with apron, clamped) from planes `zlo..` of `slab`.
fn cut_brick(g: &Geometry, slab: &[f32], zlo: usize, nzs: usize, b: [usize; 3]) -> (Vec<f32>, f32, f32) {
    let [nx, ny, nz] = g.dims;
    let s = g.side();
    let o = g.sample_origin(b);
    let clamp = |v: i64, n: usize| v.clamp(0, n as i64 - 1) as usize;
    let mut out = vec![0f32; s * s * s];
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    let last = [0, 1, 2].map(|a| ((b[a] + 1) * g.brick).min(g.dims[a] - 1) - b[a] * g.brick + 1);
    for lk in 0..s {
        let k = clamp(o[2] + lk as i64, nz) - zlo;
        debug_assert!(k < nzs);
        for lj in 0..s {
            let j = clamp(o[1] + lj as i64, ny);
            let row = &slab[nx * (j + ny * k)..];
            for li in 0..s {
                let v = row[clamp(o[0] + li as i64, nx)];
                out[li + s * (lj + s * lk)] = v;
                if (1..=last[0]).contains(&li) && (1..=last[1]).contains(&lj) && (1..=last[2]).contains(&lk) {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
    }
    (out, lo, hi)
}

/// Streams `src` into a store at `out`. `trainer` (needed for neural and both stores) gets the
/// base and the sampled bricks and returns the serialized network. `progress(done, total)` is
/// called after every brick layer.
pub fn prepare(
    src: &dyn SlabSource,
    out: &Path,
    opts: &PrepareOptions,
    trainer: Option<&Trainer>,
    mut progress: impl FnMut(usize, usize),
) -> Result<PrepareReport> {
    let g = Geometry::new(src.dims(), opts.brick, opts.factor)?;
    if opts.zfp_rate.is_some() && !crate::zfp::AVAILABLE {
        return Err(RaycastError::Settings(
            "this neuvis was built without ZFP: rebuild with `--features zfp` (needs cmake and libclang-dev) or drop --zfp-rate".into(),
        ));
    }
    if let Some(r) = opts.zfp_rate {
        if !(r.is_finite() && (1.0..=32.0).contains(&r)) {
            return Err(RaycastError::Settings(format!(
                "ZFP rate {r} must be between 1 and 32 bits per value"
            )));
        }
    }
    if opts.kind.has_network() && trainer.is_none() {
        return Err(RaycastError::Settings("a neural store needs a network trainer".into()));
    }
    let [nx, ny, nz] = g.dims;
    let (b, f) = (g.brick, g.factor);
    let h = f / 2;
    let pad = h.max(1);
    let base_plane = g.base_dims[0] * g.base_dims[1];
    let mut base = vec![0f32; g.base_len()];
    let mut writer = StoreWriter::create(out, g)?;
    let mut rng = neuvis_base::SplitMix64(opts.seed ^ 0xB41C);
    let mut reservoir: Vec<(usize, Vec<f32>)> = Vec::new();
    let mut seen = 0usize;
    let (mut vmin, mut vmax) = (f32::INFINITY, f32::NEG_INFINITY);
    let mut brick_bytes = 0u64;
    let mut max_slab = 0u64;
    for bk in 0..g.bdims[2] {
        let zlo = (bk * b).saturating_sub(pad);
        let zhi = ((bk + 1) * b + pad).min(nz - 1);
        let nzs = zhi - zlo + 1;
        let slab = src.planes(zlo, nzs)?;
        max_slab = max_slab.max(slab.len() as u64 * 4);
        let layer: Vec<LayerBrick> = (0..g.bdims[0] * g.bdims[1])
            .into_par_iter()
            .map(|ij| {
                let bb = [ij % g.bdims[0], ij / g.bdims[0], bk];
                let (data, lo, hi) = cut_brick(&g, &slab, zlo, nzs, bb);
                let payload = if opts.kind.has_bricks() {
                    Some(encode(&data).map_err(|e| RaycastError::io(out, e))?)
                } else {
                    None
                };
                let zfp = match opts.zfp_rate {
                    Some(r) => Some(
                        crate::zfp::compress(&data, g.side(), r)
                            .ok_or_else(|| RaycastError::Settings("ZFP is not available".into()))?,
                    ),
                    None => None,
                };
                Ok((g.id(bb), data, lo, hi, payload, zfp))
            })
            .collect::<Result<_>>()?;
        for (id, data, lo, hi, payload, zfp) in layer {
            if let Some(z) = &zfp {
                writer.zfp_brick(id, z)?;
            }
            vmin = vmin.min(lo);
            vmax = vmax.max(hi);
            if let Some(p) = &payload {
                brick_bytes += p.len() as u64;
            }
            writer.brick(id, lo, hi, payload.as_deref())?;
            if opts.kind.has_network() {
                // reservoir sampling (Algorithm R), seeded
                seen += 1;
                if reservoir.len() < opts.train_bricks {
                    reservoir.push((id, data));
                } else {
                    let r = (rng.next_u64() % seen as u64) as usize;
                    if r < opts.train_bricks {
                        reservoir[r] = (id, data);
                    }
                }
            }
        }
        // base planes owned by this layer
        let i0 = bk * b / f;
        let i1 = if bk + 1 == g.bdims[2] {
            g.base_dims[2]
        } else {
            (bk + 1) * b / f
        };
        let clamp = |v: i64, n: usize| v.clamp(0, n as i64 - 1) as usize;
        base[i0 * base_plane..i1 * base_plane]
            .par_chunks_mut(base_plane)
            .enumerate()
            .for_each(|(kk, plane)| {
                let kc = ((i0 + kk) * f) as i64;
                for jj in 0..g.base_dims[1] {
                    let jc = (jj * f) as i64;
                    for ii in 0..g.base_dims[0] {
                        let ic = (ii * f) as i64;
                        let (mut sum, mut cnt) = (0f64, 0u32);
                        for dk in -(h as i64)..=h as i64 {
                            let k = clamp(kc + dk, nz) - zlo;
                            for dj in -(h as i64)..=h as i64 {
                                let j = clamp(jc + dj, ny);
                                for di in -(h as i64)..=h as i64 {
                                    let i = clamp(ic + di, nx);
                                    sum += slab[i + nx * (j + ny * k)] as f64;
                                    cnt += 1;
                                }
                            }
                        }
                        plane[ii + g.base_dims[0] * jj] = (sum / cnt as f64) as f32;
                    }
                }
            });
        progress(bk + 1, g.bdims[2]);
    }
    let network = match (opts.kind.has_network(), trainer) {
        (true, Some(t)) => {
            reservoir.sort_by_key(|(id, _)| *id);
            Some(t(&TrainingData {
                geometry: g,
                base: base.clone(),
                bricks: reservoir,
                range: (vmin, vmax),
            })?)
        }
        _ => None,
    };
    let bytes = writer.finish(
        &base,
        network.as_deref(),
        src.spacing(),
        src.origin(),
        (vmin, vmax),
        opts.kind,
        src.describe(),
        opts.zfp_rate,
    )?;
    Ok(PrepareReport {
        bytes,
        brick_bytes,
        geometry: g,
        max_slab_bytes: max_slab,
    })
}
