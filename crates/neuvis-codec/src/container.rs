//! The `.nrvi` file: a compressed NeRVI/NeRV model and everything needed to decode images from it.
//!
//! Layout of format versions 3 and 4 (little endian):
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `NRVI` |
//! | 2 | format version (4, or 3 / 2 for a file that needs nothing newer) |
//! | 2 | reserved (0) |
//! | 4 | length `p` of the packed section (≤ 1 MiB) |
//! | p | packed section: raw DEFLATE of `u32 h` ‖ `h` bytes of UTF-8 JSON [`Header`] (network config, image size, background, parameter normalization, training grid, bits, per-tensor shapes, ranges and bits) ‖ for each distinct tensor width `w`, increasing: `2^w` bytes of canonical Huffman code lengths, one per symbol (0: unused) |
//! | 8 | number of coded symbols (= total weights) |
//! | per width: 8 | number of payload bits `b` of this width's stream |
//! | per width: ⌈b/8⌉ | the stream: MSB-first canonical Huffman codes of the symbols of the tensors with this width, in network order |
//! | 4 | CRC-32 (IEEE) of all preceding bytes |
//!
//! Version 4 adds the time span to the header's parameter normalization ([`ParamSpace::time_span`]):
//! a reader that ignored it would decode every time step of such a file with the wrong encoding, so
//! a file that has it says version 4 and older neuvis refuses it. Files without it (one time step)
//! are still written as version 3 or 2.
//!
//! Version 3 added per-tensor bits (the MLP and the convolutions at different widths, see
//! [`crate::quant::BitWidths`]), each width with its own code: one code over the union of a 7- and
//! a 10-bit alphabet cost 2.5 kB more on a 15 kB file. Version 2 is the same layout with a single
//! width and is what a uniform-width file is still written as; version 1 (still read) stored the JSON header uncompressed and the code table as
//! `(symbol u16, length u8)` triples. At the sizes NeRVI is made for (CR ≈ 500 on 64² images:
//! 15–20 kB files) those two took 2.5–3.5 kB, a sixth of the file; deflated, the header and a dense
//! length table take about a third of that (measured in the container tests).
//!
//! Reading checks the CRC first, then every length against the bytes present and against hard
//! limits (the packed section is inflated into at most 1 MiB + 128 KiB), so a damaged or hostile
//! file gives an error without a panic or an absurd allocation.

use crate::config::NetConfig;
use crate::huffman::Code;
use crate::CodecError;
use serde::{Deserialize, Serialize};

/// File magic.
pub const MAGIC: &[u8; 4] = b"NRVI";
/// Current format version (written when the header needs it); versions 1 to 3 are still read.
pub const VERSION: u16 = 4;
const MAX_HEADER: usize = 1 << 20;
/// Largest inflated packed section: length word, header, and code-length tables for distinct
/// widths up to 16 bits (Σ 2^w < 2^17).
const MAX_PACKED: usize = 4 + MAX_HEADER + (1 << 17);
/// Largest `.nrvi` file read (a model at [`MAX_WEIGHTS`] one-bit codes plus its header): 1 GiB.
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// Largest number of weights a file may claim.
pub const MAX_WEIGHTS: u64 = 1 << 31;

/// Shape and quantization range of one weight tensor, in network order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// Parameter path, e.g. `ups.0.conv.weight`.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Quantization range minimum.
    pub min: f32,
    /// Quantization range maximum.
    pub max: f32,
    /// Bits of this tensor when fewer than the header's `bits` (format version 3; absent: the
    /// header's `bits`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
}

impl TensorInfo {
    /// The tensor's quantization bits given the header's.
    pub fn bits(&self, header_bits: u32) -> u32 {
        self.bits.unwrap_or(header_bits)
    }
}

/// How (t, θ, φ) are normalized to `[−1, 1]` before positional encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpace {
    /// Time range of the training grid `[t_min, t_max]` (a single time maps to 0).
    pub time: [f64; 2],
    /// The span t is normalized over, when it is not `time` itself: `[t_min, 2·t_max − t_min]`
    /// ([`ParamSpace::time_span_of`]), so the time steps map to `[−1, 0]`. The encoding
    /// `sin/cos(2^l·π·x)` has period 2 in `x`, so over `time` itself the first and the last time
    /// step (`x = −1` and `x = 1`) got the same features and the network could not tell them
    /// apart: with two time steps it learnt their average (BENCHMARKS.md, "The demo"). Absent in
    /// files before format version 4, which decode as they were trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_span: Option<[f64; 2]>,
    /// The span θ (itself in `[0, 180]`) is normalized over, degrees: `[0, 360]` since issue #21
    /// (`dataset::THETA_SPAN`), `[0, 180]` in older files.
    pub theta: [f64; 2],
    /// φ range in degrees: `[0, 360]` (φ is periodic).
    pub phi: [f64; 2],
}

impl ParamSpace {
    /// The time span of a training grid over `[t_min, t_max]`: twice its length, so the times
    /// map to `[−1, 0]` (as θ over [`crate::dataset::THETA_SPAN`]); `None` for a single time.
    pub fn time_span_of(time: [f64; 2]) -> Option<[f64; 2]> {
        (time[1] > time[0]).then(|| [time[0], 2.0 * time[1] - time[0]])
    }

    /// Normalizes `(t, θ, φ)` to `[−1, 1]³`.
    pub fn normalize(&self, p: [f64; 3]) -> [f64; 3] {
        let n = |x: f64, r: [f64; 2]| {
            if r[1] > r[0] {
                2.0 * (x - r[0]) / (r[1] - r[0]) - 1.0
            } else {
                0.0
            }
        };
        [
            n(p[0], self.time_span.unwrap_or(self.time)),
            n(p[1], self.theta),
            n(p[2], self.phi),
        ]
    }
}

/// The parameters a model was trained on: the product `times × thetas × phis` (time-major, as
/// `neuvis render` writes them) stored as three short lists, or an explicit list otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Distinct times, increasing.
    pub times: Vec<f64>,
    /// Distinct θ, increasing.
    pub thetas: Vec<f64>,
    /// Distinct φ, increasing.
    pub phis: Vec<f64>,
    /// The explicit list when the parameters are not the full product (empty otherwise).
    pub explicit: Vec<[f64; 3]>,
}

impl Grid {
    /// Stores `params` compactly: as lists when they are exactly the product in time-major order.
    pub fn from_params(params: &[[f64; 3]]) -> Grid {
        let uniq = |k: usize| {
            let mut v: Vec<f64> = params.iter().map(|p| p[k]).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        let mut g = Grid {
            times: uniq(0),
            thetas: uniq(1),
            phis: uniq(2),
            explicit: Vec::new(),
        };
        if g.params() != params {
            g.explicit = params.to_vec();
        }
        g
    }

    /// The tolerance of "on the grid": two parameter values are the same when they differ by at
    /// most `ON_GRID_TOLERANCE · (1 + |x|)` (values come back from text: a collection's CSV, a URL).
    pub const ON_GRID_TOLERANCE: f64 = 1e-6;

    fn same(a: f64, b: f64) -> bool {
        (a - b).abs() <= Self::ON_GRID_TOLERANCE * (1.0 + b.abs())
    }

    /// Whether `t` is one of the trained times.
    pub fn has_time(&self, t: f64) -> bool {
        self.times.iter().any(|&x| Self::same(x, t))
    }

    /// Whether the view `(θ, φ)` was trained (at some time).
    pub fn has_view(&self, theta: f64, phi: f64) -> bool {
        if self.explicit.is_empty() {
            self.thetas.iter().any(|&x| Self::same(x, theta)) && self.phis.iter().any(|&x| Self::same(x, phi))
        } else {
            self.explicit
                .iter()
                .any(|q| Self::same(q[1], theta) && Self::same(q[2], phi))
        }
    }

    /// Whether `(t, θ, φ)` is one of the trained parameters: the one check of the decoder, `eval`'s
    /// groups and the explorer's "unseen" mark.
    ///
    /// ```
    /// use neuvis_codec::container::Grid;
    /// let g = Grid::from_params(&[[0.0, 30.0, 0.0], [0.0, 30.0, 90.0], [1.0, 30.0, 0.0], [1.0, 30.0, 90.0]]);
    /// assert!(g.contains([1.0, 30.0 + 1e-9, 90.0]));
    /// assert!(!g.contains([0.5, 30.0, 90.0]) && g.has_view(30.0, 90.0) && !g.has_time(0.5));
    /// let e = Grid::from_params(&[[0.0, 30.0, 0.0], [1.0, 60.0, 90.0]]); // not a product
    /// assert!(e.contains([1.0, 60.0, 90.0]) && !e.contains([0.0, 60.0, 90.0]) && e.has_view(60.0, 90.0));
    /// ```
    pub fn contains(&self, p: [f64; 3]) -> bool {
        if self.explicit.is_empty() {
            self.has_time(p[0]) && self.has_view(p[1], p[2])
        } else {
            self.explicit.iter().any(|q| (0..3).all(|k| Self::same(q[k], p[k])))
        }
    }

    /// Every (t, θ, φ) of the grid, in training order.
    pub fn params(&self) -> Vec<[f64; 3]> {
        if !self.explicit.is_empty() {
            return self.explicit.clone();
        }
        let mut out = Vec::with_capacity(self.len());
        for &t in &self.times {
            for &a in &self.thetas {
                for &b in &self.phis {
                    out.push([t, a, b]);
                }
            }
        }
        out
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        if self.explicit.is_empty() {
            self.times.len() * self.thetas.len() * self.phis.len()
        } else {
            self.explicit.len()
        }
    }

    /// Whether the grid is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The header's `source` block as neuvis writes it: where the training collection came from and
/// how the model was trained. Informational: a file may hold other keys (another writer's, or a
/// later release's), which [`Header::source`] keeps and [`Header::source_info`] ignores.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Source {
    /// The collection's folder name (without the folders above it, so the same seed gives the
    /// same file wherever the collection sits).
    pub collection: String,
    /// The collection's render settings (its `meta.json` `render` block), if it has them.
    pub render: Option<serde_json::Value>,
    /// Images trained on.
    pub images: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Of which quantization-aware.
    pub qat_epochs: usize,
    /// Quantization widths.
    pub bits: SourceBits,
    /// Peak learning rate.
    pub lr: f64,
    /// The MLP's learning rate as a multiple of `lr`.
    pub mlp_lr: f64,
    /// Images per step.
    pub batch: usize,
    /// Seed of the initialization and the shuffling.
    pub seed: u64,
    /// Fraction of the steps spent warming up.
    pub warmup: f64,
    /// The training PSNR of the last epoch (`None` when training recorded none).
    pub final_train_psnr: Option<f64>,
    /// `neuvis VERSION`.
    pub generator: String,
    /// The time steps left out of training (`compress --holdout-times K`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout_times: Option<HeldOutTimes>,
    /// The source collection's time values and step numbers (its `t0024/` folders), so
    /// `decompress` names its folders the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_steps: Option<Vec<(f64, usize)>>,
}

/// Quantization widths as [`Source`] records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceBits {
    /// Bits of the MLP blocks.
    pub mlp: u32,
    /// Bits of the upscale convolutions.
    pub conv: u32,
}

/// The time steps `compress --holdout-times K` left out of training.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HeldOutTimes {
    /// Every K-th step was held out (the first and last are always trained).
    pub every: usize,
    /// Their time values.
    pub times: Vec<f64>,
}

impl Source {
    /// Reads a `source` block: each field that is missing or of another type takes its default,
    /// so a file of another writer still opens; keys that are not fields are ignored.
    ///
    /// ```
    /// use neuvis_codec::container::Source;
    /// let v = serde_json::json!({"time_steps": [[0.5, 3]], "epochs": "many", "other": 1});
    /// let s = Source::lenient(&v);
    /// assert_eq!(s.time_steps, Some(vec![(0.5, 3)]));
    /// assert_eq!(s.epochs, 0); // not a number: the default
    /// assert_eq!(Source::lenient(&serde_json::json!("text")), Source::default());
    /// ```
    pub fn lenient(v: &serde_json::Value) -> Source {
        let serde_json::Value::Object(map) = v else {
            return Source::default();
        };
        // field by field, so that one odd field does not lose the others
        let fits = |k: &String, v: &serde_json::Value| {
            let one: serde_json::Map<String, serde_json::Value> = [(k.clone(), v.clone())].into_iter().collect();
            serde_json::from_value::<Source>(serde_json::Value::Object(one)).is_ok()
        };
        let kept: serde_json::Map<String, serde_json::Value> = map
            .iter()
            .filter(|(k, v)| fits(k, v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        serde_json::from_value(serde_json::Value::Object(kept)).unwrap_or_default()
    }

    /// As the header stores it (a JSON object, keys sorted).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The JSON header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Network shape.
    pub net: NetConfig,
    /// Image width.
    pub width: usize,
    /// Image height.
    pub height: usize,
    /// Background colour composited under the mask.
    pub background: [u8; 3],
    /// Parameter normalization.
    pub params: ParamSpace,
    /// The training grid.
    pub grid: Grid,
    /// Quantization bits: the widest tensor's (the Huffman alphabet has `2^bits` symbols); tensors
    /// with fewer say so in [`TensorInfo::bits`].
    pub bits: u32,
    /// Weight tensors in network order.
    pub tensors: Vec<TensorInfo>,
    /// Bytes of the raw RGB images the model represents (N·H·W·3).
    pub raw_bytes: u64,
    /// Where the training collection came from, and how it was trained (informational; what
    /// neuvis writes there is a [`Source`]).
    pub source: serde_json::Value,
}

impl Header {
    /// The `source` block read as neuvis writes it ([`Source::lenient`]).
    pub fn source_info(&self) -> Source {
        Source::lenient(&self.source)
    }

    /// Per tensor width, increasing: the width and how many weights have it (one entry for a
    /// uniform-width file). Shapes are assumed valid, as in any header [`Nrvi::from_bytes`] or
    /// [`crate::codec::build_container`] returns.
    pub fn weights_per_width(&self) -> Vec<(u32, u64)> {
        widths(self)
            .into_iter()
            .map(|w| {
                let n = self
                    .tensors
                    .iter()
                    .filter(|t| t.bits(self.bits) == w)
                    .map(|t| t.shape.iter().map(|&d| d as u64).product::<u64>())
                    .sum();
                (w, n)
            })
            .collect()
    }
}

/// A decoded container: header and quantized symbols.
#[derive(Debug, Clone, PartialEq)]
pub struct Nrvi {
    /// The header.
    pub header: Header,
    /// Quantized weights of all tensors, concatenated in order.
    pub symbols: Vec<u16>,
}

fn fmt(msg: impl Into<String>) -> CodecError {
    CodecError::Format(msg.into())
}

/// CRC-32 (IEEE 802.3, as zlib and PNG) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

impl Nrvi {
    /// Serializes the container (format version 3, or 2 when every tensor has the same width).
    pub fn to_bytes(&self) -> Result<Vec<u8>, CodecError> {
        let header = serde_json::to_vec(&self.header).map_err(|e| fmt(format!("header: {e}")))?;
        if header.len() > MAX_HEADER {
            return Err(fmt(format!(
                "header of {} bytes exceeds 1 MiB (training grid too large)",
                header.len()
            )));
        }
        validate_header(&self.header)?;
        let sizes = tensor_sizes(&self.header)?;
        if sizes.iter().sum::<u64>() != self.symbols.len() as u64 {
            return Err(fmt(format!(
                "{} symbols for tensors holding {}",
                self.symbols.len(),
                sizes.iter().sum::<u64>()
            )));
        }
        let groups = widths(&self.header);
        let per_group = split_by_width(&self.header, &groups, &self.symbols);
        let mut dense = Vec::new();
        let mut streams = Vec::new();
        for (&w, symbols) in groups.iter().zip(&per_group) {
            let code = Code::from_symbols(symbols);
            let mut table = vec![0u8; 1 << w];
            for &(sym, len) in &code.lengths {
                *table
                    .get_mut(sym as usize)
                    .ok_or_else(|| fmt(format!("symbol {sym} does not fit {w} bits")))? = len;
            }
            dense.extend_from_slice(&table);
            streams.push(code.encode(symbols));
        }
        let packed = pack(&header, &dense);
        let mut out = Vec::with_capacity(self.symbols.len() + packed.len() + 64);
        out.extend_from_slice(MAGIC);
        // with one width the file is a version-2 file, which older readers open
        let version: u16 = if self.header.params.time_span.is_some() {
            VERSION
        } else if groups.len() > 1 {
            3
        } else {
            2
        };
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        out.extend_from_slice(&packed);
        out.extend_from_slice(&(self.symbols.len() as u64).to_le_bytes());
        for (payload, bits) in &streams {
            out.extend_from_slice(&bits.to_le_bytes());
            out.extend_from_slice(payload);
        }
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Ok(out)
    }

    /// Per tensor width, increasing: the width, the number of weights and the bits of their
    /// Huffman-coded stream (what [`Nrvi::to_bytes`] writes as payload).
    ///
    /// # Panics
    /// If the symbols do not match the header's tensors (a container from
    /// [`crate::codec::build_container`] or [`Nrvi::from_bytes`] always does).
    pub fn coded_bits(&self) -> Vec<(u32, usize, u64)> {
        let groups = widths(&self.header);
        split_by_width(&self.header, &groups, &self.symbols)
            .iter()
            .zip(&groups)
            .map(|(s, &w)| (w, s.len(), Code::from_symbols(s).encode(s).1))
            .collect()
    }

    /// Reads and validates the `.nrvi` file `path` (at most [`MAX_FILE_BYTES`], a regular file);
    /// every error names the file.
    pub fn read(path: &std::path::Path) -> Result<Nrvi, CodecError> {
        let bytes = neuvis_base::fs::read_regular(path, MAX_FILE_BYTES).map_err(|source| CodecError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Nrvi::from_bytes(&bytes).map_err(|e| CodecError::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// Parses and validates a container.
    pub fn from_bytes(data: &[u8]) -> Result<Nrvi, CodecError> {
        if data.len() < 4 || &data[..4] != MAGIC {
            return Err(fmt("not a .nrvi file (wrong magic)"));
        }
        if data.len() < 12 + 4 + 16 + 4 {
            return Err(fmt(format!("truncated: {} bytes", data.len())));
        }
        let body = &data[..data.len() - 4];
        let stored = u32::from_le_bytes(data[data.len() - 4..].try_into().expect("4 bytes"));
        if crc32(body) != stored {
            return Err(fmt("CRC mismatch: the file is damaged or truncated"));
        }
        let mut r = Reader { d: body, pos: 4 };
        let version = r.u16()?;
        r.u16()?;
        let (header, codes) = match version {
            1 => {
                let (h, c) = read_v1_sections(&mut r)?;
                (h, vec![c])
            }
            2..=4 => read_v2_sections(&mut r)?,
            _ => {
                return Err(fmt(format!(
                    "format version {version} is not supported (this neuvis reads 1 to {VERSION})"
                )))
            }
        };
        if version < 4 && header.params.time_span.is_some() {
            return Err(fmt(format!(
                "a time span in the parameter normalization needs format version 4, the file says {version}"
            )));
        }
        if version < 3 && header.tensors.iter().any(|t| t.bits.is_some()) {
            return Err(fmt(format!(
                "per-tensor bits need format version 3, the file says {version}"
            )));
        }
        let n = r.u64()?;
        let sizes = tensor_sizes(&header)?;
        let expected: u64 = sizes.iter().sum();
        if n != expected {
            return Err(fmt(format!("{n} coded weights but the tensors hold {expected}")));
        }
        // one stream per width, each decoded with its own code
        let groups = widths(&header);
        let mut decoded = Vec::with_capacity(groups.len());
        for (&w, code) in groups.iter().zip(&codes) {
            let count: u64 = header
                .tensors
                .iter()
                .zip(&sizes)
                .filter(|(t, _)| t.bits(header.bits) == w)
                .map(|(_, &n)| n)
                .sum();
            let bits = r.u64()?;
            let present = r.rest().len() as u64;
            if bits > present * 8 {
                return Err(fmt(format!(
                    "payload claims {bits} bits but {present} bytes are present"
                )));
            }
            let payload = r.take(bits.div_ceil(8) as usize)?;
            // the table has 2^w entries, so every decoded symbol fits w bits
            let symbols = code
                .decode(payload, bits, count as usize)
                .map_err(|e| fmt(e.to_string()))?;
            decoded.push(symbols.into_iter());
        }
        if !r.rest().is_empty() {
            return Err(fmt(format!("{} bytes after the payload", r.rest().len())));
        }
        // back to network order
        let mut symbols = Vec::with_capacity(n as usize);
        for (t, &len) in header.tensors.iter().zip(&sizes) {
            let g = groups
                .iter()
                .position(|&w| w == t.bits(header.bits))
                .expect("every tensor width is a group");
            symbols.extend(decoded[g].by_ref().take(len as usize));
        }
        Ok(Nrvi { header, symbols })
    }
}

/// The distinct widths of the tensors, increasing: one Huffman code and stream each.
fn widths(h: &Header) -> Vec<u32> {
    let mut w: Vec<u32> = h.tensors.iter().map(|t| t.bits(h.bits)).collect();
    w.sort_unstable();
    w.dedup();
    w
}

/// Element counts of the tensors (shapes are checked against overflow by `validate_header`).
fn tensor_sizes(h: &Header) -> Result<Vec<u64>, CodecError> {
    h.tensors
        .iter()
        .map(|t| {
            t.shape
                .iter()
                .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
                .ok_or_else(|| fmt("tensor shape overflows"))
        })
        .collect()
}

/// The symbols of each width group, in network order within a group.
fn split_by_width(h: &Header, groups: &[u32], symbols: &[u16]) -> Vec<Vec<u16>> {
    let mut out = vec![Vec::new(); groups.len()];
    let mut off = 0;
    for t in &h.tensors {
        let n: usize = t.shape.iter().product();
        let g = groups
            .iter()
            .position(|&w| w == t.bits(h.bits))
            .expect("every tensor width is a group");
        out[g].extend_from_slice(&symbols[off..off + n]);
        off += n;
    }
    out
}

/// Raw DEFLATE (best compression) of `u32 len(header)` ‖ `header` ‖ `lengths`.
pub fn pack(header: &[u8], lengths: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    // writing into a Vec cannot fail
    let _ = enc.write_all(&(header.len() as u32).to_le_bytes());
    let _ = enc.write_all(header);
    let _ = enc.write_all(lengths);
    enc.finish().unwrap_or_default()
}

/// Inflates a packed section (the inverse of [`pack`]) to at most 1 MiB + 128 KiB; a longer or
/// malformed stream is an error.
pub fn inflate_bounded(data: &[u8]) -> Result<Vec<u8>, CodecError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .take(MAX_PACKED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| fmt(format!("packed header section: {e}")))?;
    if out.len() > MAX_PACKED {
        return Err(fmt("packed header section inflates beyond 1 MiB"));
    }
    Ok(out)
}

fn parse_header(json: &[u8]) -> Result<Header, CodecError> {
    let header: Header = serde_json::from_slice(json).map_err(|e| fmt(format!("invalid header: {e}")))?;
    validate_header(&header)?;
    Ok(header)
}

/// Version 1: plain JSON header, then `(symbol u16, length u8)` entries.
fn read_v1_sections(r: &mut Reader<'_>) -> Result<(Header, Code), CodecError> {
    let hlen = r.u32()? as usize;
    if hlen > MAX_HEADER {
        return Err(fmt(format!("header length {hlen} exceeds 1 MiB")));
    }
    let header = parse_header(r.take(hlen)?)?;
    let k = r.u32()? as usize;
    if k == 0 || k > 1 << 16 {
        return Err(fmt(format!("Huffman table with {k} entries")));
    }
    let table = r.take(3 * k)?;
    let lengths: Vec<(u16, u8)> = table
        .chunks_exact(3)
        .map(|c| (u16::from_le_bytes([c[0], c[1]]), c[2]))
        .collect();
    let code = Code { lengths };
    code.validate().map_err(|e| fmt(e.to_string()))?;
    if code.lengths.iter().any(|&(s, _)| (s as u64) >= 1u64 << header.bits) {
        return Err(fmt(format!("Huffman table holds symbols beyond {} bits", header.bits)));
    }
    Ok((header, code))
}

/// Versions 2 and 3: one DEFLATE section holding the header and a dense code-length table per
/// tensor width (increasing; version 2 has one width).
fn read_v2_sections(r: &mut Reader<'_>) -> Result<(Header, Vec<Code>), CodecError> {
    let plen = r.u32()? as usize;
    if plen > MAX_HEADER {
        return Err(fmt(format!("packed header length {plen} exceeds 1 MiB")));
    }
    let packed = inflate_bounded(r.take(plen)?)?;
    let mut p = Reader { d: &packed, pos: 0 };
    let hlen = p.u32()? as usize;
    if hlen > MAX_HEADER {
        return Err(fmt(format!("header length {hlen} exceeds 1 MiB")));
    }
    let header = parse_header(p.take(hlen)?)?;
    let groups = widths(&header);
    let need: usize = groups.iter().map(|&w| 1usize << w).sum();
    if p.rest().len() != need {
        return Err(fmt(format!(
            "Huffman tables have {} code lengths, widths {groups:?} need {need}",
            p.rest().len()
        )));
    }
    let mut codes = Vec::with_capacity(groups.len());
    for &w in &groups {
        let lengths: Vec<(u16, u8)> = p
            .take(1 << w)?
            .iter()
            .enumerate()
            .filter(|(_, &l)| l > 0)
            .map(|(s, &l)| (s as u16, l))
            .collect();
        let code = Code { lengths };
        code.validate().map_err(|e| fmt(e.to_string()))?;
        codes.push(code);
    }
    Ok((header, codes))
}

fn validate_header(h: &Header) -> Result<(), CodecError> {
    if !(1..=16).contains(&h.bits) {
        return Err(fmt(format!("bits {} outside 1..=16", h.bits)));
    }
    h.net.validate().map_err(|e| fmt(e.to_string()))?;
    let (w, hh) = h.net.image_size();
    if (w, hh) != (h.width, h.height) || w == 0 || hh == 0 {
        return Err(fmt(format!(
            "network output {w}x{hh} does not match image size {}x{}",
            h.width, h.height
        )));
    }
    if h.net.param_count() as u64 > MAX_WEIGHTS
        || h.net.c0 > 65536
        || h.net.c1 > 65536
        || h.net.c2 > 65536
        || h.net.factors.len() > 16
    {
        return Err(fmt("network too large"));
    }
    let mut total = 0u64;
    for t in &h.tensors {
        let n = t
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
            .ok_or_else(|| fmt("tensor shape overflows"))?;
        total = total.checked_add(n).ok_or_else(|| fmt("tensor sizes overflow"))?;
        if !(t.min.is_finite() && t.max.is_finite() && t.min <= t.max) {
            return Err(fmt(format!("tensor {} has an invalid range", t.name)));
        }
        if !(1..=h.bits).contains(&t.bits(h.bits)) {
            return Err(fmt(format!(
                "tensor {} has {} bits, the file at most {}",
                t.name,
                t.bits(h.bits),
                h.bits
            )));
        }
    }
    if total != h.net.param_count() as u64 || total > MAX_WEIGHTS {
        return Err(fmt(format!(
            "tensors hold {total} weights, the network needs {}",
            h.net.param_count()
        )));
    }
    let g = &h.grid;
    let finite = g
        .times
        .iter()
        .chain(&g.thetas)
        .chain(&g.phis)
        .chain(g.explicit.iter().flatten())
        .all(|v| v.is_finite());
    if g.is_empty() || !finite || (g.explicit.is_empty() && g.len() > 10_000_000) {
        return Err(fmt("empty, non-finite or absurd training grid"));
    }
    let p = &h.params;
    let range_ok = |r: [f64; 2]| r[0].is_finite() && r[1].is_finite() && r[0] <= r[1];
    if !(range_ok(p.time) && range_ok(p.theta) && range_ok(p.phi)) {
        return Err(fmt("params: a non-finite or reversed range in time, theta or phi"));
    }
    if let Some(span) = p.time_span {
        if !(range_ok(span) && span[1] > span[0] && span[0] <= p.time[0] && span[1] >= p.time[1]) {
            return Err(fmt(format!(
                "params.time_span {span:?} must be a finite range holding params.time {:?}",
                p.time
            )));
        }
    }
    Ok(())
}

struct Reader<'a> {
    d: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.d.len())
            .ok_or_else(|| fmt(format!("truncated: needs {n} more bytes at offset {}", self.pos)))?;
        let s = &self.d[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, CodecError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn rest(&self) -> &'a [u8] {
        &self.d[self.pos..]
    }
}

/// How an image relates to what a model was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Split {
    /// (t, θ, φ) is a training image.
    Trained,
    /// A time step the model did not see, at a trained view.
    HeldOutTime,
    /// A trained time step at a view the model did not see.
    UnseenView,
    /// Neither the time nor the view was trained.
    UnseenBoth,
}

impl Split {
    /// The row label of `eval --holdout`'s table.
    pub fn label(self) -> &'static str {
        match self {
            Split::Trained => "trained (on the model's grid)",
            Split::HeldOutTime => "held-out time steps, trained views",
            Split::UnseenView => "trained time steps, unseen views",
            Split::UnseenBoth => "unseen time steps and views",
        }
    }

    /// The key of the group in `eval --json`'s `splits`.
    pub fn key(self) -> &'static str {
        match self {
            Split::Trained => "trained",
            Split::HeldOutTime => "held_out_time",
            Split::UnseenView => "unseen_view",
            Split::UnseenBoth => "unseen_both",
        }
    }

    /// Every group, in the table's order.
    pub const ALL: [Split; 4] = [Split::Trained, Split::HeldOutTime, Split::UnseenView, Split::UnseenBoth];

    /// Where `(t, θ, φ)` falls relative to the training grid `g`.
    pub fn of(g: &Grid, p: [f64; 3]) -> Split {
        match (g.has_time(p[0]), g.has_view(p[1], p[2])) {
            (true, true) => Split::Trained,
            (false, true) => Split::HeldOutTime,
            (true, false) => Split::UnseenView,
            (false, false) => Split::UnseenBoth,
        }
    }
}

#[cfg(test)]
mod time_span_tests {
    use super::ParamSpace;

    /// E(x) = (sin 2^l·π·x, cos 2^l·π·x) written out here, independent of `encoding.rs`.
    fn features(x: f64) -> Vec<f64> {
        (0..4)
            .flat_map(|l| {
                let a = 2f64.powi(l) * std::f64::consts::PI * x;
                [a.sin(), a.cos()]
            })
            .collect()
    }

    fn distance(a: f64, b: f64) -> f64 {
        features(a)
            .iter()
            .zip(features(b))
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    #[test]
    fn the_first_and_last_time_steps_encode_apart() {
        let old = ParamSpace {
            time: [0.0, 24.0],
            time_span: None,
            theta: [0.0, 360.0],
            phi: [0.0, 360.0],
        };
        let new = ParamSpace {
            time_span: ParamSpace::time_span_of(old.time),
            ..old.clone()
        };
        let t = |s: &ParamSpace, t: f64| s.normalize([t, 90.0, 0.0])[0];
        // over the time range itself the two ends are one period apart: the same features
        assert!(distance(t(&old, 0.0), t(&old, 24.0)) < 1e-9);
        // over the span they lie half a period apart, as far as the lowest frequency allows
        assert_eq!((t(&new, 0.0), t(&new, 24.0)), (-1.0, 0.0));
        assert!(distance(t(&new, 0.0), t(&new, 24.0)) > 1.9);
        // and every pair of distinct steps of a 48-step series is told apart
        let s48 = ParamSpace {
            time: [0.0, 47.0],
            time_span: ParamSpace::time_span_of([0.0, 47.0]),
            ..old.clone()
        };
        let min = (0..48)
            .flat_map(|a| (a + 1..48).map(move |b| (a, b)))
            .map(|(a, b)| distance(t(&s48, a as f64), t(&s48, b as f64)))
            .fold(f64::INFINITY, f64::min);
        assert!(min > 0.05, "closest pair of steps {min}");
        // one time step needs no span
        assert_eq!(ParamSpace::time_span_of([3.0, 3.0]), None);
    }
}
