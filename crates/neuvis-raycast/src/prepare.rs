//! `neuvis raycast prepare`: streams a volume into a brick store, one slab of brick layers at a
//! time, so the full-resolution volume is never held in memory.

use crate::error::{RaycastError, Result};
use crate::geom::Geometry;
use crate::store::{encode, PartInfo, Store, StoreKind, StoreWriter};
use neuvis_base::Shard;
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
    /// The block of brick layers (z) this process bricks into its part `OUT.part-IIII-of-NNNN.nvb`
    /// ([`merge_parts`] makes the store, training the network there); [`Shard::WHOLE`] does all.
    pub shard: Shard,
    /// The trainer's settings, recorded in a part for the merge (ignored without a shard).
    pub trainer_settings: crate::sr::SrTrainOptions,
}

impl Default for PrepareOptions {
    /// `neuvis raycast prepare`'s defaults: bricks of 32³ cells, a base of a quarter of the
    /// resolution, exact bricks and a network, 256 training bricks, seed 0, ZFP bricks where this
    /// build has ZFP ([`PrepareOptions::zfp_rate_for`]), the whole volume.
    fn default() -> Self {
        PrepareOptions {
            brick: 32,
            factor: 4,
            kind: StoreKind::Both,
            train_bricks: 256,
            seed: 0,
            zfp_rate: PrepareOptions::zfp_rate_for(StoreKind::Both, None),
            shard: Shard::WHOLE,
            trainer_settings: crate::sr::SrTrainOptions::default(),
        }
    }
}

impl PrepareOptions {
    /// Checks the settings that do not depend on the volume (the brick geometry is checked
    /// against its dimensions by [`prepare`]), so a caller can refuse them before it reads the
    /// volume; [`prepare`] checks them too.
    pub fn validate(&self) -> Result<()> {
        if self.zfp_rate.is_some() && !crate::zfp::AVAILABLE {
            return Err(RaycastError::Settings(
                "this neuvis was built without ZFP: rebuild with `--features zfp` (needs cmake and libclang-dev) or drop --zfp-rate".into(),
            ));
        }
        if let Some(r) = self.zfp_rate {
            if !(r.is_finite() && (1.0..=32.0).contains(&r)) {
                return Err(RaycastError::Settings(format!(
                    "ZFP rate {r} must be between 1 and 32 bits per value"
                )));
            }
        }
        if self.kind.has_network() {
            if self.train_bricks == 0 {
                return Err(RaycastError::Settings(
                    "train bricks 0: a store with a network needs at least 1".into(),
                ));
            }
            self.trainer_settings.validate()?;
        }
        Ok(())
    }

    /// Bits per value of the ZFP bricks when the user asked for `requested` (`Some(0.0)`: none):
    /// by default [`DEFAULT_ZFP_RATE`] for a store with both exact bricks and a network in builds
    /// with ZFP (`--features zfp`), none otherwise.
    pub fn zfp_rate_for(kind: StoreKind, requested: Option<f64>) -> Option<f64> {
        match requested {
            Some(0.0) => None,
            Some(r) => Some(r),
            None if kind == StoreKind::Both && crate::zfp::AVAILABLE => Some(DEFAULT_ZFP_RATE),
            None => None,
        }
    }
}

/// Bits per value of the ZFP bricks a `both` store holds by default.
pub const DEFAULT_ZFP_RATE: f64 = 8.0;

/// Algorithm R over the bricks in id order, seeded: the bricks the network trains on. The same
/// sample whether the bricks come from the volume (`prepare`) or from parts (`merge_parts`).
struct Reservoir {
    rng: neuvis_base::SplitMix64,
    keep: usize,
    seen: usize,
    bricks: Vec<(usize, Vec<f32>)>,
}

impl Reservoir {
    fn new(seed: u64, keep: usize) -> Reservoir {
        Reservoir {
            rng: neuvis_base::SplitMix64(seed ^ 0xB41C),
            keep,
            seen: 0,
            bricks: Vec::new(),
        }
    }
    fn offer(&mut self, id: usize, data: Vec<f32>) {
        self.seen += 1;
        if self.bricks.len() < self.keep {
            self.bricks.push((id, data));
        } else {
            let r = (self.rng.next_u64() % self.seen as u64) as usize;
            if r < self.keep {
                self.bricks[r] = (id, data);
            }
        }
    }
    fn into_sorted(mut self) -> Vec<(usize, Vec<f32>)> {
        self.bricks.sort_by_key(|(id, _)| *id);
        self.bricks
    }
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

impl std::fmt::Display for PrepareReport {
    /// One line: the store's size, against the f32 volume, its bricks and base, the largest slab.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = &self.geometry;
        let raw = g.dims.iter().product::<usize>() as f64 * 4.0;
        write!(
            f,
            "{:.2} MB, {:.3}× the f32 volume; bricks {:.2} MB, {} bricks of {}³ + apron, base {}x{}x{}; largest slab {:.1} MB",
            self.bytes as f64 / 1e6,
            self.bytes as f64 / raw,
            self.brick_bytes as f64 / 1e6,
            g.nbricks(),
            g.brick,
            g.base_dims[0],
            g.base_dims[1],
            g.base_dims[2],
            self.max_slab_bytes as f64 / 1e6
        )
    }
}

/// The serialized network `trainer` makes from the base and the sampled bricks, when `wanted`.
fn train_network(
    wanted: bool,
    trainer: Option<&Trainer>,
    geometry: Geometry,
    base: &[f32],
    reservoir: Reservoir,
    range: (f32, f32),
) -> Result<Option<Vec<u8>>> {
    match (wanted, trainer) {
        (true, Some(t)) => Ok(Some(t(&TrainingData {
            geometry,
            base: base.to_vec(),
            bricks: reservoir.into_sorted(),
            range,
        })?)),
        _ => Ok(None),
    }
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
    opts.validate()?;
    let g = Geometry::new(src.dims(), opts.brick, opts.factor)?;
    let part = !opts.shard.is_whole();
    if opts.kind.has_network() && trainer.is_none() && !part {
        return Err(RaycastError::Settings("a neural store needs a network trainer".into()));
    }
    if opts.shard.count > g.bdims[2] {
        return Err(RaycastError::Settings(format!(
            "--shard {}: the volume has {} brick layers (z), so at most {} tasks can share it",
            opts.shard, g.bdims[2], g.bdims[2]
        )));
    }
    let layers = opts.shard.range(g.bdims[2]);
    // a part keeps exact bricks whatever the store: the merge trains a network from them
    let part_kind = if part { StoreKind::Exact } else { opts.kind };
    let [nx, ny, nz] = g.dims;
    let (b, f) = (g.brick, g.factor);
    let h = f / 2;
    let pad = h.max(1);
    let base_plane = g.base_dims[0] * g.base_dims[1];
    let mut base = vec![0f32; g.base_len()];
    let target = opts.shard.part_path(out);
    let mut writer = StoreWriter::create(&target, g)?;
    let mut reservoir = Reservoir::new(opts.seed, opts.train_bricks);
    let (mut vmin, mut vmax) = (f32::INFINITY, f32::NEG_INFINITY);
    let mut brick_bytes = 0u64;
    let mut max_slab = 0u64;
    for bk in 0..g.bdims[2] {
        if !layers.contains(&bk) {
            for ij in 0..g.bdims[0] * g.bdims[1] {
                writer.skip_brick(g.id([ij % g.bdims[0], ij / g.bdims[0], bk]));
            }
            continue;
        }
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
                let payload = if part_kind.has_bricks() {
                    Some(encode(&data).map_err(|e| RaycastError::io(&target, e))?)
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
            if opts.kind.has_network() && !part {
                reservoir.offer(id, data);
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
        progress(bk + 1 - layers.start, layers.len());
    }
    let network = train_network(
        opts.kind.has_network() && !part,
        trainer,
        g,
        &base,
        reservoir,
        (vmin, vmax),
    )?;
    if part {
        let base_planes = |k: usize| {
            if k == g.bdims[2] {
                g.base_dims[2]
            } else {
                k * b / f
            }
        };
        writer.set_part(PartInfo {
            index: opts.shard.index,
            count: opts.shard.count,
            layers: [layers.start, layers.end],
            base_planes: [base_planes(layers.start), base_planes(layers.end)],
            kind: opts.kind,
            train_bricks: opts.train_bricks,
            seed: opts.seed,
            trainer: opts.trainer_settings.clone(),
        });
    }
    let bytes = writer.finish(
        &base,
        network.as_deref(),
        src.spacing(),
        src.origin(),
        (vmin, vmax),
        part_kind,
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

/// What [`merge_parts`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeReport {
    /// The store written.
    pub report: PrepareReport,
    /// Parts merged.
    pub parts: usize,
}

/// The parts' common settings, read before the merge starts.
pub fn part_settings(out: &Path) -> Result<PartInfo> {
    let parts = neuvis_base::shard::find_parts(out).map_err(|e| RaycastError::Settings(e.to_string()))?;
    let s = Store::open_any(&parts[0].1, u64::MAX)?;
    s.header
        .part
        .clone()
        .ok_or_else(|| RaycastError::Settings(format!("{}: not a part of a sharded prepare", parts[0].1.display())))
}

/// Assembles the parts of a sharded [`prepare`] (`OUT.part-IIII-of-NNNN.nvb`) into the store `out`,
/// the file a single-process `prepare` with the same settings writes, byte for byte: the bricks'
/// compressed payloads (and ZFP bricks) are copied in id order, the base planes and value ranges
/// joined, and for a neural store the network is trained here (`trainer`) on the same seeded sample
/// of bricks. Parts must all be present and of one run; the file appears only when complete.
pub fn merge_parts(
    out: &Path,
    trainer: Option<&Trainer>,
    mut progress: impl FnMut(usize, usize),
) -> Result<MergeReport> {
    let found = neuvis_base::shard::find_parts(out).map_err(|e| RaycastError::Settings(e.to_string()))?;
    let mut parts = Vec::with_capacity(found.len());
    for (shard, p) in &found {
        let s = Store::open_any(p, u64::MAX)?;
        let info = s.header.part.clone().ok_or_else(|| {
            RaycastError::Settings(format!(
                "{}: a finished store, not a part of a sharded prepare",
                p.display()
            ))
        })?;
        if (info.index, info.count) != (shard.index, shard.count) {
            return Err(RaycastError::corrupt(
                p,
                format!(
                    "says it is part {}/{}, but its name says {shard}",
                    info.index, info.count
                ),
            ));
        }
        parts.push((s, info));
    }
    let (first, finfo) = &parts[0];
    let h0 = &first.header;
    let g = h0.geometry;
    for (s, info) in &parts {
        let h = &s.header;
        let same = h.geometry == h0.geometry
            && h.spacing == h0.spacing
            && h.origin == h0.origin
            && h.source == h0.source
            && h.zfp.map(|z| z.rate) == h0.zfp.map(|z| z.rate)
            && (info.kind, info.train_bricks, info.seed, &info.trainer)
                == (finfo.kind, finfo.train_bricks, finfo.seed, &finfo.trainer);
        if !same {
            return Err(RaycastError::Settings(format!(
                "{} was made with other settings than {}: the parts are of different runs",
                s.path().display(),
                first.path().display()
            )));
        }
        let want = Shard {
            index: info.index,
            count: info.count,
        }
        .range(g.bdims[2]);
        if info.layers != [want.start, want.end] {
            return Err(RaycastError::corrupt(
                s.path(),
                format!("holds brick layers {:?}, expected {:?}", info.layers, want),
            ));
        }
    }
    let kind = finfo.kind;
    if kind.has_network() && trainer.is_none() {
        return Err(RaycastError::Settings("a neural store needs a network trainer".into()));
    }
    let mut writer = StoreWriter::create(out, g)?;
    let mut base = vec![0f32; g.base_len()];
    let plane = g.base_dims[0] * g.base_dims[1];
    let (mut vmin, mut vmax) = (f32::INFINITY, f32::NEG_INFINITY);
    let mut reservoir = Reservoir::new(finfo.seed, finfo.train_bricks);
    let mut brick_bytes = 0u64;
    for (s, info) in &parts {
        let [p0, p1] = info.base_planes;
        base[p0 * plane..p1 * plane].copy_from_slice(&s.base[p0 * plane..p1 * plane]);
        vmin = vmin.min(s.header.range.0);
        vmax = vmax.max(s.header.range.1);
    }
    for bk in 0..g.bdims[2] {
        let (s, _) = parts
            .iter()
            .find(|(_, i)| (i.layers[0]..i.layers[1]).contains(&bk))
            .ok_or_else(|| RaycastError::Settings(format!("no part holds brick layer {bk}")))?;
        for ij in 0..g.bdims[0] * g.bdims[1] {
            let id = g.id([ij % g.bdims[0], ij / g.bdims[0], bk]);
            if s.zfp.is_some() {
                writer.zfp_brick(id, &s.read_zfp(id)?)?;
            }
            let e = s.entries[id];
            let payload = s.read_raw_brick(id)?;
            if kind.has_network() {
                reservoir.offer(id, s.read_brick(id)?);
            }
            if kind.has_bricks() {
                brick_bytes += payload.len() as u64;
                writer.brick(id, e.min, e.max, Some(&payload))?;
            } else {
                writer.brick(id, e.min, e.max, None)?;
            }
        }
        progress(bk + 1, g.bdims[2]);
    }
    let network = train_network(kind.has_network(), trainer, g, &base, reservoir, (vmin, vmax))?;
    let bytes = writer.finish(
        &base,
        network.as_deref(),
        h0.spacing,
        h0.origin,
        (vmin, vmax),
        kind,
        h0.source.clone(),
        h0.zfp.map(|z| z.rate),
    )?;
    Ok(MergeReport {
        report: PrepareReport {
            bytes,
            brick_bytes,
            geometry: g,
            // the merge reads bricks one at a time
            max_slab_bytes: 0,
        },
        parts: parts.len(),
    })
}
