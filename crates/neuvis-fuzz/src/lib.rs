//! Seeded, structure-aware mutation fuzzing of every file neuvis reads.
//!
//! A [`Target`] is one reader (or a reader and what a user does next with its result: decode a
//! view, render a frame, load every image). [`Mutator`] derives inputs from the committed seed
//! corpus (`corpus/`, written by `tools/fuzz_corpus.sh`): byte flips, interesting integers, cut,
//! duplicated and inserted ranges, and in text — headers, JSON, CSV — numbers replaced by
//! hostile ones (`4000000000`, `-1`, `18446744073709551615`, `nan`, `1e308`).
//!
//! Main design decision: mutants are *repaired* so the parsers themselves are reached, not only
//! the first checksum: the `.nrvi` CRC-32 is recomputed (and the deflated header is sometimes
//! mutated as JSON and re-deflated), every section and brick CRC of a `.nvb` and its header CRC
//! are recomputed, gzip streams (NRRD, `.nii.gz`) are mutated decompressed and compressed again,
//! PyTorch zip archives are rebuilt with valid CRCs, and PNG chunk CRCs are fixed. Everything is
//! seeded ([`neuvis_base::SplitMix64`]), so input `i` of a target is the same on every machine;
//! the harness (`tests/fuzz.rs`) adds the counting allocator, the watchdog and the panic counter.

use neuvis_base::SplitMix64;
use std::path::{Path, PathBuf};

/// What one input did: accepted (`Ok`) or refused with an error message.
pub type Outcome = Result<(), String>;

/// One reader under test.
pub struct Target {
    /// Name (also the corpus folder).
    pub name: &'static str,
    /// Builds the input files for `seed` mutated by `m` into `dir` and returns the path to open.
    pub make: fn(&Seed, &mut Mutator, &Path) -> std::io::Result<PathBuf>,
    /// Reads `path` as a user's command would and does the next step with the result.
    pub run: fn(&Path) -> Outcome,
}

/// A seed file of the corpus (with its siblings, for multi-file formats).
#[derive(Debug, Clone)]
pub struct Seed {
    /// File name.
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
    /// Other files of the same seed folder (detached NRRD data, Cinema images): name, contents.
    pub siblings: Vec<(String, Vec<u8>)>,
}

/// Every target, in the order the harness runs them.
pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "nrvi",
            make: make_nrvi,
            run: run_nrvi,
        },
        Target {
            name: "nvb",
            make: make_nvb,
            run: run_nvb,
        },
        Target {
            name: "nrrd",
            make: make_nrrd,
            run: run_volume,
        },
        Target {
            name: "nifti",
            make: make_nifti,
            run: run_volume,
        },
        Target {
            name: "vtk",
            make: make_plain,
            run: run_volume,
        },
        Target {
            name: "vti",
            make: make_plain,
            run: run_volume,
        },
        Target {
            name: "weights",
            make: make_weights,
            run: run_weights,
        },
        Target {
            name: "cinema",
            make: make_cinema,
            run: run_cinema,
        },
    ]
}

/// The seeds of `target` in `corpus` (one per file of its folder; a Cinema seed is a folder).
pub fn seeds(corpus: &Path, target: &str) -> std::io::Result<Vec<Seed>> {
    let dir = corpus.join(target);
    let mut files: Vec<PathBuf> = walk(&dir)?;
    files.sort();
    let read_all = |skip: &Path| -> std::io::Result<Vec<(String, Vec<u8>)>> {
        let mut v = Vec::new();
        for f in &files {
            if f != skip {
                let rel = f.strip_prefix(&dir).unwrap_or(f).to_string_lossy().into_owned();
                v.push((rel, std::fs::read(f)?));
            }
        }
        Ok(v)
    };
    let mut out = Vec::new();
    for f in &files {
        let name = f.strip_prefix(&dir).unwrap_or(f).to_string_lossy().into_owned();
        // data files of a detached header and Cinema images are siblings, not seeds
        let is_seed = match target {
            "nrrd" => !name.ends_with(".raw"),
            "cinema" => name.ends_with("data.csv"),
            _ => true,
        };
        if is_seed {
            out.push(Seed {
                name,
                bytes: std::fs::read(f)?,
                siblings: read_all(f)?,
            });
        }
    }
    Ok(out)
}

fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            v.extend(walk(&p)?);
        } else {
            v.push(p);
        }
    }
    Ok(v)
}

/// Integers that break size arithmetic, as little-endian bytes of every width.
const INTERESTING: [u64; 12] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    1 << 31,
    1 << 63,
    u64::MAX,
];

/// Numbers that break parsers of text.
const HOSTILE_NUMBERS: [&str; 14] = [
    "0",
    "-1",
    "1",
    "4000000000",
    "2147483647",
    "18446744073709551615",
    "9223372036854775809",
    "99999999999999999999999",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "1e-320",
    "65536",
];

/// A seeded mutator.
pub struct Mutator {
    rng: SplitMix64,
}

impl Mutator {
    /// The mutator for input `index` of a run seeded with `seed`.
    pub fn new(seed: u64, index: u64) -> Mutator {
        let mut rng = SplitMix64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next_u64();
        Mutator { rng }
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.uniform(0.0, 1.0) < p
    }

    /// 1–8 byte-level mutations of `b`.
    pub fn bytes(&mut self, b: &mut Vec<u8>) {
        let rounds = 1 + self.below(8);
        for _ in 0..rounds {
            if b.is_empty() {
                b.push(self.rng.next_u64() as u8);
                continue;
            }
            let i = self.below(b.len());
            match self.below(8) {
                0 => b[i] ^= 1 << self.below(8),
                1 => b[i] = self.rng.next_u64() as u8,
                2 | 3 => {
                    let v = INTERESTING[self.below(INTERESTING.len())];
                    let w = [1, 2, 4, 8][self.below(4)];
                    for (k, byte) in v.to_le_bytes().iter().take(w).enumerate() {
                        if let Some(x) = b.get_mut(i + k) {
                            *x = *byte;
                        }
                    }
                }
                4 => {
                    let n = 1 + self.below(64.min(b.len() - i));
                    b.drain(i..i + n);
                }
                5 => {
                    let n = 1 + self.below(64.min(b.len() - i));
                    let chunk: Vec<u8> = b[i..i + n].to_vec();
                    let at = self.below(b.len() + 1);
                    b.splice(at..at, chunk);
                }
                6 => {
                    let n = 1 + self.below(16);
                    let junk: Vec<u8> = (0..n).map(|_| self.rng.next_u64() as u8).collect();
                    b.splice(i..i, junk);
                }
                _ => b.truncate(i),
            }
        }
    }

    /// 1–4 mutations of the numbers in a text (header lines, JSON, CSV): a number replaced by a
    /// hostile one, or a line duplicated or dropped; falls back to byte mutations.
    pub fn text(&mut self, b: &mut Vec<u8>) {
        let rounds = 1 + self.below(4);
        for _ in 0..rounds {
            let spans = number_spans(b);
            match self.below(6) {
                0..=3 if !spans.is_empty() => {
                    let (s, e) = spans[self.below(spans.len())];
                    let with = HOSTILE_NUMBERS[self.below(HOSTILE_NUMBERS.len())];
                    b.splice(s..e, with.bytes());
                }
                4 => {
                    let lines: Vec<usize> = b
                        .iter()
                        .enumerate()
                        .filter(|(_, &c)| c == b'\n')
                        .map(|(i, _)| i)
                        .collect();
                    if lines.len() >= 2 {
                        let k = self.below(lines.len() - 1);
                        let (s, e) = (lines[k] + 1, lines[k + 1] + 1);
                        let line = b[s..e].to_vec();
                        if self.chance(0.5) {
                            b.splice(s..s, line);
                        } else {
                            b.drain(s..e);
                        }
                    }
                }
                _ => self.bytes(b),
            }
        }
    }
}

/// Byte ranges of decimal numbers (with sign, point and exponent) in `b`.
fn number_spans(b: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let mut s = i;
            if s > 0 && b[s - 1] == b'-' {
                s -= 1;
            }
            while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'e' | b'E' | b'+' | b'-')) {
                i += 1;
            }
            v.push((s, i));
        } else {
            i += 1;
        }
    }
    v
}

/// The IEEE CRC-32 (zlib, PNG, gzip, `.nrvi`, `.nvb`).
pub fn crc32(b: &[u8]) -> u32 {
    neuvis_codec::container::crc32(b)
}

fn write(dir: &Path, name: &str, b: &[u8]) -> std::io::Result<PathBuf> {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&p, b)?;
    Ok(p)
}

fn gunzip(b: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(b)
        .take(64 << 20)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = e.write_all(b);
    e.finish().unwrap_or_default()
}

// ---------------------------------------------------------------------------------- .nrvi

fn make_nrvi(seed: &Seed, m: &mut Mutator, dir: &Path) -> std::io::Result<PathBuf> {
    let mut b = seed.bytes.clone();
    if b.len() > 16 && m.chance(0.5) {
        // the header: inflate, mutate its JSON, deflate
        let plen = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize;
        if let Some(packed) = b
            .get(12..12 + plen)
            .and_then(|p| neuvis_codec::container::inflate_bounded(p).ok())
        {
            if packed.len() >= 4 {
                let hlen =
                    (u32::from_le_bytes([packed[0], packed[1], packed[2], packed[3]]) as usize).min(packed.len() - 4);
                let mut json = packed[4..4 + hlen].to_vec();
                m.text(&mut json);
                let repacked = neuvis_codec::container::pack(&json, &packed[4 + hlen..]);
                let mut nb = b[..8].to_vec();
                nb.extend((repacked.len() as u32).to_le_bytes());
                nb.extend(repacked);
                nb.extend(&b[12 + plen..]);
                b = nb;
            }
        }
    } else {
        m.bytes(&mut b);
    }
    // a valid CRC over everything before it
    if b.len() >= 8 {
        let n = b.len() - 4;
        let c = crc32(&b[..n]);
        b[n..].copy_from_slice(&c.to_le_bytes());
    }
    write(dir, "m.nrvi", &b)
}

fn run_nrvi(p: &Path) -> Outcome {
    let bytes = neuvis_base::fs::read_regular(p, neuvis_codec::container::MAX_FILE_BYTES).map_err(|e| e.to_string())?;
    let file = neuvis_codec::Nrvi::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let dec = neuvis_codec::Decoder::cpu(&file).map_err(|e| e.to_string())?;
    let params = dec.header.grid.params();
    let first = params.first().copied().ok_or("empty grid")?;
    dec.decode(&[first], 1).map_err(|e| e.to_string())?;
    Ok(())
}

// ---------------------------------------------------------------------------------- .nvb

/// Recomputes every CRC of a `.nvb` whose trailer and header still parse: bricks (in the index),
/// the index, the base, the network, the ZFP index and ZFP bricks, then the header and trailer.
fn fix_nvb(b: &mut Vec<u8>, mutate_header: Option<&mut Mutator>) {
    let len = b.len();
    if len < 48 {
        return;
    }
    let tr = len - 32;
    let u64at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
    let (hoff, hlen) = (u64at(b, tr) as usize, u64at(b, tr + 8) as usize);
    let Some(hend) = hoff.checked_add(hlen).filter(|&e| e <= tr) else {
        return;
    };
    let Ok(mut h) = serde_json::from_slice::<serde_json::Value>(&b[hoff..hend]) else {
        return;
    };
    let section = |s: &serde_json::Value| -> Option<(usize, usize)> {
        let o = s.get("offset")?.as_u64()? as usize;
        let l = s.get("len")?.as_u64()? as usize;
        (o.checked_add(l)? <= hoff).then_some((o, l))
    };
    // brick CRCs inside the index (entries of 24 bytes: min, max, offset u64, len u32, crc u32)
    if let Some((o, l)) = h.get("index").and_then(section) {
        for e in (o..o + l - l % 24).step_by(24) {
            let off = u64at(b, e + 8) as usize;
            let bl = u32::from_le_bytes(b[e + 16..e + 20].try_into().unwrap_or([0; 4])) as usize;
            if bl > 0 && off.checked_add(bl).is_some_and(|end| end <= hoff) {
                let c = crc32(&b[off..off + bl]);
                b[e + 20..e + 24].copy_from_slice(&c.to_le_bytes());
            }
        }
    }
    for key in ["index", "base", "network"] {
        if let Some((o, l)) = h.get(key).and_then(section) {
            h[key]["crc"] = crc32(&b[o..o + l]).into();
        }
    }
    if let Some((o, l)) = h.get("zfp").and_then(|z| z.get("index")).and_then(section) {
        for e in (o..o + l - l % 16).step_by(16) {
            let off = u64at(b, e) as usize;
            let bl = u32::from_le_bytes(b[e + 8..e + 12].try_into().unwrap_or([0; 4])) as usize;
            if off.checked_add(bl).is_some_and(|end| end <= hoff) {
                let c = crc32(&b[off..off + bl]);
                b[e + 12..e + 16].copy_from_slice(&c.to_le_bytes());
            }
        }
        h["zfp"]["index"]["crc"] = crc32(&b[o..o + l]).into();
    }
    let mut json = serde_json::to_vec(&h).unwrap_or_default();
    if let Some(m) = mutate_header {
        m.text(&mut json);
    }
    b.truncate(hoff);
    let c = crc32(&json);
    b.extend(&json);
    b.extend((hoff as u64).to_le_bytes());
    b.extend((json.len() as u64).to_le_bytes());
    b.extend(c.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(b"NVBRKEND");
}

fn make_nvb(seed: &Seed, m: &mut Mutator, dir: &Path) -> std::io::Result<PathBuf> {
    let mut b = seed.bytes.clone();
    match m.below(3) {
        0 => fix_nvb(&mut b, Some(m)),
        1 => {
            // the body (bricks, index, base, network), CRCs recomputed
            let body = b.len().saturating_sub(32 + 2048).max(16);
            let mut head = b[..body.min(b.len())].to_vec();
            let tail = b[body.min(b.len())..].to_vec();
            let before = head.len();
            let i = 16 + m.below(before.saturating_sub(16).max(1));
            let v = INTERESTING[m.below(INTERESTING.len())].to_le_bytes();
            let w = [1, 4, 8][m.below(3)];
            for (k, x) in v.iter().take(w).enumerate() {
                if let Some(y) = head.get_mut(i + k) {
                    *y = *x;
                }
            }
            if m.chance(0.3) {
                head[i.min(before - 1)] ^= 0x40;
            }
            head.extend(tail);
            b = head;
            fix_nvb(&mut b, None);
        }
        _ => {
            m.bytes(&mut b);
            fix_nvb(&mut b, None);
        }
    }
    write(dir, "s.nvb", &b)
}

fn run_nvb(p: &Path) -> Outcome {
    use neuvis_raycast::{Engine, Method, RenderOptions};
    let store = neuvis_raycast::Store::open_within(p, 64 << 20).map_err(|e| e.to_string())?;
    let nb = store.geometry().nbricks();
    for id in 0..nb.min(8) {
        let _ = store.read_brick(id);
    }
    let neural = store.network.is_some();
    drop(store);
    for method in [Method::Exact, Method::Neural, Method::Trilinear] {
        if method == Method::Neural && !neural {
            continue;
        }
        let e = match Engine::open(p, method, Some(64usize << 20), 16, 16) {
            Ok(e) => e,
            Err(e) => return Err(e.to_string()),
        };
        let range = e.store().header.range;
        let opts = RenderOptions::new(16, 16, 0.5 * (range.0 + range.1));
        let cam = e.camera(&opts, 60.0, 30.0);
        e.render(&cam, &opts, |_, _| {}).map_err(|e| e.to_string())?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------- volumes

/// Splits a NRRD/VTK-like file into its text header (through the first blank line, or all of it)
/// and the data.
fn split_header(b: &[u8]) -> (Vec<u8>, Vec<u8>) {
    match b.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (b[..i + 2].to_vec(), b[i + 2..].to_vec()),
        None => (b.to_vec(), Vec::new()),
    }
}

fn make_nrrd(seed: &Seed, m: &mut Mutator, dir: &Path) -> std::io::Result<PathBuf> {
    let (mut head, mut data) = split_header(&seed.bytes);
    let gz = String::from_utf8_lossy(&head).contains("encoding: gzip");
    if gz {
        data = gunzip(&data).unwrap_or(data);
    }
    match m.below(4) {
        0 | 1 => m.text(&mut head),
        2 => m.bytes(&mut data),
        _ => {
            m.text(&mut head);
            m.bytes(&mut data);
        }
    }
    if gz && !m.chance(0.05) {
        data = gzip(&data);
    }
    // detached data files travel along, sometimes mutated
    for (name, b) in &seed.siblings {
        if name.ends_with(".raw") {
            let mut b = b.clone();
            if m.chance(0.3) {
                m.bytes(&mut b);
            }
            write(dir, name, &b)?;
        }
    }
    head.extend(data);
    write(dir, &seed.name, &head)
}

fn make_nifti(seed: &Seed, m: &mut Mutator, dir: &Path) -> std::io::Result<PathBuf> {
    let gz = seed.name.ends_with(".gz");
    let mut b = if gz {
        gunzip(&seed.bytes).unwrap_or_default()
    } else {
        seed.bytes.clone()
    };
    // the header's integer and float fields are where the sizes are: mutate it more often
    if b.len() > 348 && m.chance(0.7) {
        let mut head = b[..348].to_vec();
        m.bytes(&mut head);
        head.resize(348, 0);
        b.splice(..348, head);
    } else {
        m.bytes(&mut b);
    }
    let out = if gz { gzip(&b) } else { b };
    write(dir, &seed.name, &out)
}

fn make_plain(seed: &Seed, m: &mut Mutator, dir: &Path) -> std::io::Result<PathBuf> {
    let mut b = seed.bytes.clone();
    if m.chance(0.6) {
        m.text(&mut b);
    } else {
        m.bytes(&mut b);
    }
    write(dir, &seed.name, &b)
}

fn run_volume(p: &Path) -> Outcome {
    // as `render` opens it: a file of several time steps (4-D NIfTI/NRRD) is a series
    let s = neuvis_volume::open_series(&[p.display().to_string()], &Default::default()).map_err(|e| e.to_string())?;
    for i in 0..s.len().min(4) {
        let f = s.load(i).map_err(|e| e.to_string())?;
        // what every command does next: the value range and a sample
        let (lo, hi) = f.range();
        if !(lo.is_finite() && hi.is_finite()) {
            return Err("non-finite range".into());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------- weights

fn make_weights(seed: &Seed, m: &mut Mutator, dir: &Path) -> std::io::Result<PathBuf> {
    if seed.name.ends_with(".pt") {
        // rebuild the zip archive around one mutated member, so its CRCs are valid
        if let Some(b) = rebuild_zip(&seed.bytes, m) {
            return write(dir, &seed.name, &b);
        }
    }
    let mut b = seed.bytes.clone();
    if seed.name.ends_with(".safetensors") && b.len() > 8 && m.chance(0.6) {
        // the JSON header behind the 8-byte length
        let n = (u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])) as usize).min(b.len() - 8);
        let mut json = b[8..8 + n].to_vec();
        m.text(&mut json);
        let mut nb = (json.len() as u64).to_le_bytes().to_vec();
        nb.extend(json);
        nb.extend(&b[8 + n..]);
        b = nb;
    } else {
        m.bytes(&mut b);
    }
    write(dir, &seed.name, &b)
}

fn rebuild_zip(bytes: &[u8], m: &mut Mutator) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let mut members = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).ok()?;
        let mut v = Vec::new();
        f.read_to_end(&mut v).ok()?;
        members.push((f.name().ok()?.to_string(), v));
    }
    if members.is_empty() {
        return None;
    }
    let k = m.below(members.len());
    if members[k].0.ends_with(".pkl") && m.chance(0.5) {
        m.text(&mut members[k].1);
    } else {
        m.bytes(&mut members[k].1);
    }
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in &members {
        w.start_file(name.as_str(), opts).ok()?;
        w.write_all(data).ok()?;
    }
    Some(w.finish().ok()?.into_inner())
}

fn run_weights(p: &Path) -> Outcome {
    let t = neuvis_amr::weights::TensorMap::load(p, None).map_err(|e| e.to_string())?;
    let _ = t;
    Ok(())
}

// ---------------------------------------------------------------------------------- Cinema

/// Recomputes the CRC of every complete chunk of a PNG.
fn fix_png(b: &mut [u8]) {
    let mut i = 8;
    while i + 12 <= b.len() {
        let n = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let Some(end) = (i + 8).checked_add(n).filter(|&e| e + 4 <= b.len()) else {
            return;
        };
        let c = crc32(&b[i + 4..end]);
        b[end..end + 4].copy_from_slice(&c.to_be_bytes());
        i = end + 4;
    }
}

fn make_cinema(seed: &Seed, m: &mut Mutator, dir: &Path) -> std::io::Result<PathBuf> {
    let db = dir.join("db.cdb");
    let mut csv = seed.bytes.clone();
    let images: Vec<&(String, Vec<u8>)> = seed.siblings.iter().filter(|(n, _)| n.ends_with(".png")).collect();
    let which = if m.chance(0.5) {
        None
    } else {
        Some(m.below(images.len().max(1)))
    };
    if which.is_none() {
        m.text(&mut csv);
    }
    for (k, (name, b)) in images.iter().enumerate() {
        let mut b = b.clone();
        if which == Some(k) {
            m.bytes(&mut b);
            fix_png(&mut b);
        }
        let rel = name.strip_prefix("db/").unwrap_or(name);
        write(&db, rel, &b)?;
    }
    write(&db, "data.csv", &csv)?;
    Ok(db)
}

fn run_cinema(p: &Path) -> Outcome {
    let db = neuvis_collection::CinemaDb::open(p).map_err(|e| e.to_string())?;
    neuvis_codec::Dataset::load(&db).map_err(|e| e.to_string())?;
    Ok(())
}
