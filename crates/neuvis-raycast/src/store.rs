//! The `.nvb` brick store: bricks with aprons (losslessly compressed), the brick index with
//! per-brick value ranges, the base volume, and optionally the super-resolution network.
//!
//! Layout (little endian): the 16-byte preamble `NVBRICK\0`, version `u32`, reserved `u32`; the
//! brick payloads; the index section (per brick: min `f32`, max `f32`, offset `u64`, length
//! `u32`, CRC-32 `u32`); the base section; the network section; the JSON header; and a 32-byte
//! trailer: header offset `u64`, header length `u64`, header CRC-32 `u32`, reserved `u32`,
//! `NVBRKEND`. The header holds the geometry, spacing, origin, value range and the offset, length
//! and CRC-32 of every section, so a reader checks everything before trusting it, and a writer can
//! stream bricks first and write the small sections once the volume has been seen. Bricks are
//! byte-shuffled (the four bytes of every `f32` in four planes, as Blosc does) and zstd-compressed;
//! each has its own CRC-32, checked when it is read.

use crate::error::{RaycastError, Result};
use crate::geom::Geometry;
use neuvis_base::named::Named;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"NVBRICK\0";
const END: &[u8; 8] = b"NVBRKEND";
const VERSION: u32 = 1;
const TRAILER: u64 = 32;
const ENTRY: usize = 24;
/// zstd level of bricks and base.
pub const ZSTD_LEVEL: i32 = 3;

/// Where a section lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Byte offset.
    pub offset: u64,
    /// Byte length.
    pub len: u64,
    /// CRC-32 of the bytes.
    pub crc: u32,
}

/// What the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Full-resolution bricks, no network.
    Exact,
    /// Base + network only; bricks are reconstructed.
    Neural,
    /// Both.
    Both,
}

impl Named for StoreKind {
    const ALL: &'static [StoreKind] = &[StoreKind::Exact, StoreKind::Neural, StoreKind::Both];

    fn name_of(self) -> &'static str {
        match self {
            StoreKind::Exact => "exact",
            StoreKind::Neural => "neural",
            StoreKind::Both => "both",
        }
    }
}

impl StoreKind {
    /// Parses `exact`, `neural` or `both`.
    pub fn parse(s: &str) -> Option<StoreKind> {
        StoreKind::from_name(s)
    }
    /// The command-line name.
    pub fn name(self) -> &'static str {
        self.name_of()
    }
    /// Whether full-resolution bricks are stored.
    pub fn has_bricks(self) -> bool {
        self != StoreKind::Neural
    }
    /// Whether a network is stored.
    pub fn has_network(self) -> bool {
        self != StoreKind::Exact
    }
}

/// The JSON header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always `neuvis-brick-store`.
    pub format: String,
    /// Brick geometry.
    pub geometry: Geometry,
    /// World spacing of the full grid.
    pub spacing: [f32; 3],
    /// World origin of the full grid.
    pub origin: [f32; 3],
    /// (min, max) of all samples.
    pub range: (f32, f32),
    /// What the store keeps.
    pub kind: StoreKind,
    /// Human-readable description of the source volume.
    pub source: String,
    /// The brick index.
    pub index: Section,
    /// The base volume (shuffled, zstd).
    pub base: Section,
    /// The network, if stored.
    pub network: Option<Section>,
    /// ZFP fixed-rate bricks (the `compressed` baseline), if stored.
    #[serde(default)]
    pub zfp: Option<ZfpSection>,
    /// Set in the part of a sharded `prepare` (`OUT.part-IIII-of-NNNN.nvb`): which brick layers it
    /// holds and the settings the merge needs. A part cannot be rendered; `neuvis merge` makes the
    /// store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<PartInfo>,
}

/// What a part of a sharded `prepare` holds and what the merge needs to finish the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartInfo {
    /// 0-based shard index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
    /// Brick layers (z) `[start, end)` whose bricks this part holds; other bricks' entries are empty.
    pub layers: [usize; 2],
    /// Base planes (z) `[start, end)` this part filled; the other planes are zero.
    pub base_planes: [usize; 2],
    /// The store the merge writes (a part always keeps exact bricks, which a neural store's network
    /// is trained from).
    pub kind: StoreKind,
    /// Bricks the merge samples for training the network.
    pub train_bricks: usize,
    /// Seed of that sample.
    pub seed: u64,
    /// The trainer's settings, as the command that made the part recorded them.
    pub trainer: crate::sr::SrTrainOptions,
}

/// Where the ZFP bricks' index lies and their rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZfpSection {
    /// Bits per value.
    pub rate: f64,
    /// Per brick: offset `u64`, length `u32`, CRC-32 `u32`.
    pub index: Section,
}

/// One brick index entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrickEntry {
    /// Smallest sample over the brick's cells (apron excluded).
    pub min: f32,
    /// Largest sample over the brick's cells.
    pub max: f32,
    /// Payload offset (0 when bricks are not stored).
    pub offset: u64,
    /// Payload length.
    pub len: u32,
    /// CRC-32 of the payload.
    pub crc: u32,
}

/// Byte-shuffles `v` (all first bytes, then all second bytes, …).
pub fn shuffle(v: &[f32]) -> Vec<u8> {
    let n = v.len();
    let mut out = vec![0u8; 4 * n];
    for (i, x) in v.iter().enumerate() {
        let b = x.to_le_bytes();
        for p in 0..4 {
            out[p * n + i] = b[p];
        }
    }
    out
}

/// Inverse of [`shuffle`]; `None` if the length is not a multiple of 4.
pub fn unshuffle(b: &[u8]) -> Option<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let n = b.len() / 4;
    Some(
        (0..n)
            .map(|i| f32::from_le_bytes([b[i], b[n + i], b[2 * n + i], b[3 * n + i]]))
            .collect(),
    )
}

/// Compresses samples: shuffle + zstd.
pub fn encode(v: &[f32]) -> std::io::Result<Vec<u8>> {
    zstd::bulk::compress(&shuffle(v), ZSTD_LEVEL)
}

/// Streams a store to disk: bricks first, then [`StoreWriter::finish`]. The file appears at its
/// path only when `finish` succeeds (temporary file + rename).
pub struct StoreWriter {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
    out: std::io::BufWriter<File>,
    pos: u64,
    entries: Vec<BrickEntry>,
    zfp: Vec<(u64, u32, u32)>,
    geometry: Geometry,
    part: Option<PartInfo>,
}

impl StoreWriter {
    /// Starts a store for `geometry` at `path`.
    pub fn create(path: &Path, geometry: Geometry) -> Result<StoreWriter> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut b = tempfile::Builder::new();
        b.prefix(neuvis_base::fs::TEMP_PREFIX);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let tmp = b.tempfile_in(dir).map_err(|e| RaycastError::io(path, e))?;
        let file = tmp.reopen().map_err(|e| RaycastError::io(path, e))?;
        let mut out = std::io::BufWriter::new(file);
        let mut pre = Vec::with_capacity(16);
        pre.extend_from_slice(MAGIC);
        pre.extend_from_slice(&VERSION.to_le_bytes());
        pre.extend_from_slice(&0u32.to_le_bytes());
        out.write_all(&pre).map_err(|e| RaycastError::io(path, e))?;
        let unset = BrickEntry {
            min: f32::NAN,
            max: f32::NAN,
            offset: 0,
            len: 0,
            crc: 0,
        };
        Ok(StoreWriter {
            path: path.to_path_buf(),
            tmp,
            out,
            pos: 16,
            entries: vec![unset; geometry.nbricks()],
            zfp: Vec::new(),
            geometry,
            part: None,
        })
    }

    /// Makes this file the part `info` of a sharded store: bricks outside its layers stay empty.
    pub fn set_part(&mut self, info: PartInfo) {
        self.part = Some(info);
    }

    /// Records brick `id` as not held by this part (an empty entry).
    pub fn skip_brick(&mut self, id: usize) {
        self.entries[id] = BrickEntry {
            min: 0.0,
            max: 0.0,
            offset: 0,
            len: 0,
            crc: 0,
        };
        if !self.zfp.is_empty() {
            self.zfp[id] = (0, 0, 0);
        }
    }

    fn write(&mut self, b: &[u8]) -> Result<Section> {
        self.out.write_all(b).map_err(|e| RaycastError::io(&self.path, e))?;
        let s = Section {
            offset: self.pos,
            len: b.len() as u64,
            crc: crc32fast::hash(b),
        };
        self.pos += b.len() as u64;
        Ok(s)
    }

    /// Records brick `id`'s range and, if `payload` is given (see [`encode`]), writes it.
    pub fn brick(&mut self, id: usize, min: f32, max: f32, payload: Option<&[u8]>) -> Result<()> {
        let e = match payload {
            Some(p) => {
                let s = self.write(p)?;
                BrickEntry {
                    min,
                    max,
                    offset: s.offset,
                    len: s.len as u32,
                    crc: s.crc,
                }
            }
            None => BrickEntry {
                min,
                max,
                offset: 0,
                len: 0,
                crc: 0,
            },
        };
        self.entries[id] = e;
        Ok(())
    }

    /// Writes brick `id`'s ZFP payload (see [`crate::zfp::compress`]).
    pub fn zfp_brick(&mut self, id: usize, payload: &[u8]) -> Result<()> {
        if self.zfp.is_empty() {
            self.zfp = vec![(0, 0, 0); self.geometry.nbricks()];
        }
        let s = self.write(payload)?;
        self.zfp[id] = (s.offset, s.len as u32, s.crc);
        Ok(())
    }

    /// Writes the index, the base, the network and the header, and moves the file into place.
    /// `zfp_rate` must be given when ZFP bricks were written.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        mut self,
        base: &[f32],
        network: Option<&[u8]>,
        spacing: [f32; 3],
        origin: [f32; 3],
        range: (f32, f32),
        kind: StoreKind,
        source: String,
        zfp_rate: Option<f64>,
    ) -> Result<u64> {
        if self.entries.iter().any(|e| e.min.is_nan()) {
            return Err(RaycastError::Settings("internal: a brick was never written".into()));
        }
        let mut idx = Vec::with_capacity(self.entries.len() * ENTRY);
        for e in &self.entries {
            idx.extend_from_slice(&e.min.to_le_bytes());
            idx.extend_from_slice(&e.max.to_le_bytes());
            idx.extend_from_slice(&e.offset.to_le_bytes());
            idx.extend_from_slice(&e.len.to_le_bytes());
            idx.extend_from_slice(&e.crc.to_le_bytes());
        }
        let index = self.write(&idx)?;
        let enc = encode(base).map_err(|e| RaycastError::io(&self.path, e))?;
        let base = self.write(&enc)?;
        let network = match network {
            Some(n) => Some(self.write(n)?),
            None => None,
        };
        let zfp = match (zfp_rate, self.zfp.is_empty()) {
            (Some(rate), false) => {
                let mut zi = Vec::with_capacity(self.zfp.len() * 16);
                for &(o, l, c) in &self.zfp {
                    zi.extend_from_slice(&o.to_le_bytes());
                    zi.extend_from_slice(&l.to_le_bytes());
                    zi.extend_from_slice(&c.to_le_bytes());
                }
                Some(ZfpSection {
                    rate,
                    index: self.write(&zi)?,
                })
            }
            _ => None,
        };
        let header = Header {
            format: "neuvis-brick-store".into(),
            geometry: self.geometry,
            spacing,
            origin,
            range,
            kind,
            source,
            index,
            base,
            network,
            zfp,
            part: self.part.take(),
        };
        let json = serde_json::to_vec_pretty(&header).map_err(|e| RaycastError::Settings(e.to_string()))?;
        let h = self.write(&json)?;
        let mut tr = Vec::with_capacity(32);
        tr.extend_from_slice(&h.offset.to_le_bytes());
        tr.extend_from_slice(&h.len.to_le_bytes());
        tr.extend_from_slice(&h.crc.to_le_bytes());
        tr.extend_from_slice(&0u32.to_le_bytes());
        tr.extend_from_slice(END);
        self.write(&tr)?;
        let path = self.path.clone();
        self.out.flush().map_err(|e| RaycastError::io(&path, e))?;
        self.out.get_ref().sync_all().map_err(|e| RaycastError::io(&path, e))?;
        let size = self.pos;
        self.tmp.persist(&path).map_err(|e| RaycastError::io(&path, e.error))?;
        Ok(size)
    }
}

/// An open store: header, index and base in memory; bricks read on demand.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    file: File,
    file_len: u64,
    /// The header.
    pub header: Header,
    /// The brick index.
    pub entries: Vec<BrickEntry>,
    /// The base volume (x fastest, `geometry.base_dims`).
    pub base: Vec<f32>,
    /// The network bytes, if stored.
    pub network: Option<Vec<u8>>,
    /// ZFP bricks: (offset, length, CRC-32) per brick, if stored.
    pub zfp: Option<Vec<(u64, u32, u32)>>,
}

fn read_at(file: &File, path: &Path, offset: u64, len: u64, file_len: u64, what: &str) -> Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    if offset.checked_add(len).is_none_or(|e| e > file_len) {
        return Err(RaycastError::corrupt(
            path,
            format!("{what} at bytes {offset}..+{len} points past the end of the {file_len}-byte file"),
        ));
    }
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, offset)
        .map_err(|e| RaycastError::io(path, e))?;
    Ok(buf)
}

/// A reader that hashes (CRC-32) what passes through it.
struct CrcRead<R> {
    inner: R,
    hasher: crc32fast::Hasher,
}

impl<R: std::io::Read> std::io::Read for CrcRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads the base section (`n` samples): the compressed bytes stream from the file through the
/// CRC and zstd, and the four byte planes of the shuffle are folded into the samples one plane at
/// a time, so opening holds the base plus a quarter of it, not the compressed section, the
/// inflated bytes and the samples at once (2–3× the base: a budget broken while it was checked).
/// A damaged section is reported as such (CRC) even when it fails to decompress first.
fn read_base(file: &File, path: &Path, s: &Section, file_len: u64, n: usize) -> Result<Vec<f32>> {
    use std::io::Read;
    if s.offset.checked_add(s.len).is_none_or(|e| e > file_len) {
        return Err(RaycastError::corrupt(
            path,
            format!(
                "base volume at bytes {}..+{} points past the end of the {file_len}-byte file",
                s.offset, s.len
            ),
        ));
    }
    let mut src = CrcRead {
        inner: std::io::BufReader::new(PositionedRead {
            file,
            at: s.offset,
            end: s.offset + s.len,
        }),
        hasher: crc32fast::Hasher::new(),
    };
    let inflated = (|| -> std::io::Result<Result<Vec<u32>>> {
        let mut dec = zstd::stream::read::Decoder::new(&mut src)?;
        let mut words = vec![0u32; n];
        let mut plane = vec![0u8; n];
        for p in 0..4 {
            if let Err(e) = dec.read_exact(&mut plane) {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    return Ok(Err(RaycastError::corrupt(path, "base volume has the wrong size")));
                }
                return Err(e);
            }
            for (w, &b) in words.iter_mut().zip(&plane) {
                *w |= (b as u32) << (8 * p);
            }
        }
        if dec.read(&mut [0u8; 1])? != 0 {
            return Ok(Err(RaycastError::corrupt(path, "base volume has the wrong size")));
        }
        Ok(Ok(words))
    })();
    // the rest of the section, for the CRC
    std::io::copy(&mut src, &mut std::io::sink()).map_err(|e| RaycastError::io(path, e))?;
    if src.hasher.finalize() != s.crc {
        return Err(RaycastError::corrupt(
            path,
            "base volume CRC mismatch: the file is damaged",
        ));
    }
    let words =
        inflated.map_err(|e| RaycastError::corrupt(path, format!("base volume does not decompress: {e}")))??;
    Ok(words.into_iter().map(f32::from_bits).collect())
}

/// `Read` over the bytes `at..end` of a file by positioned reads (the file's cursor is not used).
struct PositionedRead<'a> {
    file: &'a File,
    at: u64,
    end: u64,
}

impl std::io::Read for PositionedRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let want = (buf.len() as u64).min(self.end - self.at) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl Store {
    /// Opens and checks a store: magic, version, trailer, header, every section's bounds and
    /// CRC-32, index consistency. Bricks are checked when read.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_within(path, u64::MAX)
    }

    /// [`Store::open`] refusing, before decompressing it, a base volume larger than `max_base`
    /// bytes (a memory budget) or than the memory available ([`neuvis_base::mem::check_memory`]).
    /// The base is inflated as a stream that stops at its stated size, so a decompression bomb
    /// never grows past it.
    pub fn open_within(path: &Path, max_base: u64) -> Result<Store> {
        let s = Store::open_any(path, max_base)?;
        if let Some(p) = &s.header.part {
            return Err(RaycastError::Settings(format!(
                "{}: this is part {} of {} of a sharded `raycast prepare`, not a store: assemble the parts with `neuvis merge` first",
                path.display(),
                p.index,
                p.count
            )));
        }
        Ok(s)
    }

    /// [`Store::open_within`] that also opens the part of a sharded `prepare` (for the merge).
    pub fn open_any(path: &Path, max_base: u64) -> Result<Store> {
        let mut file = File::open(path).map_err(|e| RaycastError::io(path, e))?;
        let file_len = file
            .seek(std::io::SeekFrom::End(0))
            .map_err(|e| RaycastError::io(path, e))?;
        if file_len < 16 + TRAILER {
            return Err(RaycastError::corrupt(
                path,
                format!("not a neuvis brick store: only {file_len} bytes"),
            ));
        }
        let pre = read_at(&file, path, 0, 16, file_len, "preamble")?;
        if &pre[..8] != MAGIC {
            return Err(RaycastError::corrupt(
                path,
                "not a neuvis brick store (wrong magic; expected a .nvb file from `neuvis raycast prepare`)",
            ));
        }
        let version = u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]);
        if version != VERSION {
            return Err(RaycastError::corrupt(
                path,
                format!("store version {version}, this build reads {VERSION}"),
            ));
        }
        let tr = read_at(&file, path, file_len - TRAILER, TRAILER, file_len, "trailer")?;
        if &tr[24..32] != END {
            return Err(RaycastError::corrupt(
                path,
                "truncated store: the end marker is missing",
            ));
        }
        let u64at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        let u32at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let (hoff, hlen, hcrc) = (u64at(&tr, 0), u64at(&tr, 8), u32at(&tr, 16));
        if hlen > 1 << 24 {
            return Err(RaycastError::corrupt(path, format!("header length {hlen} is absurd")));
        }
        let hb = read_at(&file, path, hoff, hlen, file_len - TRAILER, "header")?;
        if crc32fast::hash(&hb) != hcrc {
            return Err(RaycastError::corrupt(path, "header CRC mismatch: the file is damaged"));
        }
        let header: Header =
            serde_json::from_slice(&hb).map_err(|e| RaycastError::corrupt(path, format!("bad header: {e}")))?;
        if header.format != "neuvis-brick-store" {
            return Err(RaycastError::corrupt(
                path,
                format!("header format '{}'", header.format),
            ));
        }
        let g = header.geometry;
        let check = Geometry::new(g.dims, g.brick, g.factor).map_err(|e| RaycastError::corrupt(path, e.0))?;
        if check != g {
            return Err(RaycastError::corrupt(path, "inconsistent brick geometry in the header"));
        }
        let nb = g.nbricks() as u64;
        if g.dims.iter().any(|&d| d > 1 << 20) || g.base_len() as u64 > 1 << 31 || nb > 1 << 26 {
            return Err(RaycastError::corrupt(path, format!("absurd dimensions {:?}", g.dims)));
        }
        if header.spacing.iter().any(|s| !(s.is_finite() && *s > 0.0)) || header.origin.iter().any(|o| !o.is_finite()) {
            return Err(RaycastError::corrupt(
                path,
                "spacing must be finite and positive, origin finite",
            ));
        }
        let body = hoff;
        let section = |s: &Section, what: &str, want: Option<u64>| -> Result<Vec<u8>> {
            if let Some(w) = want {
                if s.len != w {
                    return Err(RaycastError::corrupt(
                        path,
                        format!("{what} holds {} bytes, expected {w}", s.len),
                    ));
                }
            }
            let b = read_at(&file, path, s.offset, s.len, body, what)?;
            if crc32fast::hash(&b) != s.crc {
                return Err(RaycastError::corrupt(
                    path,
                    format!("{what} CRC mismatch: the file is damaged"),
                ));
            }
            Ok(b)
        };
        let ib = section(&header.index, "brick index", Some(nb * ENTRY as u64))?;
        let mut entries = Vec::with_capacity(nb as usize);
        let held = |id: usize| match &header.part {
            None => true,
            Some(p) => (p.layers[0]..p.layers[1]).contains(&(id / (g.bdims[0] * g.bdims[1]))),
        };
        for (id, c) in ib.chunks_exact(ENTRY).enumerate() {
            let e = BrickEntry {
                min: f32::from_le_bytes(c[0..4].try_into().expect("4")),
                max: f32::from_le_bytes(c[4..8].try_into().expect("4")),
                offset: u64at(c, 8),
                len: u32at(c, 16),
                crc: u32at(c, 20),
            };
            if !(e.min.is_finite() && e.max.is_finite() && e.min <= e.max) {
                return Err(RaycastError::corrupt(
                    path,
                    "brick index holds a non-finite or inverted range",
                ));
            }
            if header.kind.has_bricks()
                && held(id)
                && (e.len == 0 || e.offset.checked_add(e.len as u64).is_none_or(|end| end > body))
            {
                return Err(RaycastError::corrupt(
                    path,
                    "brick index points past the brick payloads",
                ));
            }
            entries.push(e);
        }
        let base_bytes = g.base_len() as u64 * 4;
        if base_bytes > max_base {
            return Err(RaycastError::Settings(format!(
                "{}: a budget of {:.2} MB is too small: the base volume ({:?} samples, field `geometry`) alone needs {:.2} MB",
                path.display(),
                max_base as f64 / 1e6,
                g.base_dims,
                base_bytes as f64 / 1e6
            )));
        }
        neuvis_base::mem::check_memory(base_bytes).map_err(|e| {
            RaycastError::corrupt(path, format!("base volume {:?} (field `geometry`): {e}", g.base_dims))
        })?;
        let base = read_base(&file, path, &header.base, body, g.base_len())?;
        if base.iter().any(|v| !v.is_finite()) {
            return Err(RaycastError::corrupt(path, "base volume holds non-finite samples"));
        }
        let network = match (&header.network, header.kind.has_network()) {
            (Some(s), true) => Some(section(s, "network", None)?),
            (None, false) => None,
            _ => return Err(RaycastError::corrupt(path, "store kind and network section disagree")),
        };
        let zfp = match &header.zfp {
            None => None,
            Some(z) => {
                if !(z.rate.is_finite() && z.rate > 0.0 && z.rate <= 32.0) {
                    return Err(RaycastError::corrupt(
                        path,
                        format!("ZFP rate {} outside (0, 32]", z.rate),
                    ));
                }
                // without ZFP in this build the lengths cannot be checked (and are never decoded)
                let want = crate::zfp::compressed_len(g.side(), z.rate).map(|n| n as u32);
                let zb = section(&z.index, "ZFP index", Some(nb * 16))?;
                let v: Vec<(u64, u32, u32)> = zb
                    .chunks_exact(16)
                    .map(|c| (u64at(c, 0), u32at(c, 8), u32at(c, 12)))
                    .collect();
                if v.iter().enumerate().any(|(id, &(o, l, _))| {
                    held(id) && (want.is_some_and(|w| l != w) || o.checked_add(l as u64).is_none_or(|e| e > body))
                }) {
                    return Err(RaycastError::corrupt(
                        path,
                        "ZFP index points past the payloads or has wrong lengths",
                    ));
                }
                Some(v)
            }
        };
        Ok(Store {
            path: path.to_path_buf(),
            file,
            file_len,
            header,
            entries,
            base,
            network,
            zfp,
        })
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Total file size in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }
    /// The geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.header.geometry
    }

    /// Reads and checks brick `id`'s ZFP payload.
    pub fn read_zfp(&self, id: usize) -> Result<Vec<u8>> {
        let z = self.zfp.as_ref().ok_or_else(|| {
            RaycastError::Settings(format!(
                "{}: this store has no ZFP bricks (prepare with --zfp-rate R)",
                self.path.display()
            ))
        })?;
        let &(o, l, c) = z
            .get(id)
            .ok_or_else(|| RaycastError::Settings(format!("no brick {id}")))?;
        let b = read_at(&self.file, &self.path, o, l as u64, self.file_len, "ZFP brick")?;
        if crc32fast::hash(&b) != c {
            return Err(RaycastError::corrupt(
                &self.path,
                format!("ZFP brick {id} CRC mismatch: the file is damaged"),
            ));
        }
        Ok(b)
    }

    /// Reads and checks brick `id`'s compressed payload (see [`encode`]) without decoding it.
    pub fn read_raw_brick(&self, id: usize) -> Result<Vec<u8>> {
        let e = self
            .entries
            .get(id)
            .ok_or_else(|| RaycastError::Settings(format!("no brick {id}")))?;
        let b = read_at(&self.file, &self.path, e.offset, e.len as u64, self.file_len, "brick")?;
        if crc32fast::hash(&b) != e.crc {
            return Err(RaycastError::corrupt(
                &self.path,
                format!("brick {id} CRC mismatch: the file is damaged"),
            ));
        }
        Ok(b)
    }

    /// Reads, checks and decodes brick `id` (thread-safe: positioned reads).
    pub fn read_brick(&self, id: usize) -> Result<Vec<f32>> {
        let g = self.geometry();
        if !self.header.kind.has_bricks() {
            return Err(RaycastError::Settings(format!(
                "{}: this store keeps no full-resolution bricks (--store neural); use --method neural or trilinear",
                self.path.display()
            )));
        }
        let e = self
            .entries
            .get(id)
            .ok_or_else(|| RaycastError::Settings(format!("no brick {id}")))?;
        let b = read_at(&self.file, &self.path, e.offset, e.len as u64, self.file_len, "brick")?;
        if crc32fast::hash(&b) != e.crc {
            return Err(RaycastError::corrupt(
                &self.path,
                format!("brick {id} CRC mismatch: the file is damaged"),
            ));
        }
        let raw = zstd::bulk::decompress(&b, g.brick_bytes())
            .map_err(|err| RaycastError::corrupt(&self.path, format!("brick {id} does not decompress: {err}")))?;
        if raw.len() != g.brick_bytes() {
            return Err(RaycastError::corrupt(
                &self.path,
                format!("brick {id} has the wrong size"),
            ));
        }
        let v = unshuffle(&raw).expect("multiple of 4");
        if v.iter().any(|x| !x.is_finite()) {
            return Err(RaycastError::corrupt(
                &self.path,
                format!("brick {id} holds non-finite samples"),
            ));
        }
        Ok(v)
    }
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
