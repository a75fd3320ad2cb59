//! NRRD (teem's "nearly raw raster data"): attached and detached headers, raw, gzip and ascii
//! encodings; writing as NRRD0004 with `space directions` and `space origin`.
//!
//! Format reference: <http://teem.sourceforge.net/nrrd/format.html>.

use crate::dtype::{check_finite, decode, DType, Endian, ReadOptions};
use crate::error::{Result, VolumeError};
use crate::field::{check_dims, ScalarField};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Longest header we accept; real headers are a few hundred bytes.
const MAX_HEADER: usize = 1 << 20;

/// Most time steps one NRRD file may hold (a series lists its steps before reading any).
pub const MAX_STEPS: usize = 100_000;

fn nrrd_type(s: &str) -> Option<DType> {
    Some(match s.trim() {
        "signed char" | "int8" | "int8_t" => DType::I8,
        "uchar" | "unsigned char" | "uint8" | "uint8_t" => DType::U8,
        "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => DType::I16,
        "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => DType::U16,
        "int" | "signed int" | "int32" | "int32_t" => DType::I32,
        "uint" | "unsigned int" | "uint32" | "uint32_t" => DType::U32,
        "longlong"
        | "long long"
        | "long long int"
        | "signed long long"
        | "signed long long int"
        | "int64"
        | "int64_t" => DType::I64,
        "ulonglong" | "unsigned long long" | "unsigned long long int" | "uint64" | "uint64_t" => DType::U64,
        "float" => DType::F32,
        "double" => DType::F64,
        _ => return None,
    })
}

fn parse_vector(s: &str) -> Option<Vec<f32>> {
    let s = s.trim();
    let inner = s.strip_prefix('(')?.strip_suffix(')')?;
    inner.split(',').map(|v| v.trim().parse::<f32>().ok()).collect()
}

/// Axis kinds that hold the components of a value (vectors, colours, tensors, lists) rather than
/// a position in space or time.
fn is_component_kind(k: &str) -> bool {
    !matches!(k, "domain" | "space" | "time")
}

/// What each axis of a NRRD holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axes {
    /// Samples per axis, fastest first.
    pub sizes: Vec<usize>,
    /// The 2 or 3 spatial axes, x first.
    pub spatial: Vec<usize>,
    /// The time axis, if any (`kinds: … time`).
    pub time: Option<usize>,
    /// The component axis, if any (`kinds: vector …`, `RGB-color`, `list`, …).
    pub comp: Option<usize>,
    /// Time value of each step: `axis mins` + k × `spacings` of the time axis, else k.
    pub times: Vec<f64>,
}

impl Axes {
    /// Number of time steps (1 without a time axis).
    pub fn steps(&self) -> usize {
        self.time.map_or(1, |a| self.sizes[a])
    }
    /// Number of components (1 without a component axis).
    pub fn components(&self) -> usize {
        self.comp.map_or(1, |a| self.sizes[a])
    }
    /// The volume's grid.
    pub fn dims(&self) -> [usize; 3] {
        let d = |i: usize| self.spatial.get(i).map_or(1, |&a| self.sizes[a]);
        [d(0), d(1), d(2)]
    }
}

/// Works out which axis is space, time or components from `sizes`, `kinds`, `axis mins` and
/// `spacings`.
fn axes(path: &Path, get: &dyn Fn(&str) -> Option<String>, sizes: &[usize]) -> Result<Axes> {
    let fmt = |m: String| VolumeError::format(path, m);
    let d = sizes.len();
    let kinds: Option<Vec<String>> =
        get("kinds").map(|k| k.split_whitespace().map(|x| x.to_ascii_lowercase()).collect());
    let (mut spatial, mut time, mut comp) = (Vec::new(), None, None);
    match &kinds {
        Some(k) => {
            if k.len() != d {
                return Err(fmt(format!("field 'kinds' has {} entries for {d} axes", k.len())));
            }
            for (a, kind) in k.iter().enumerate() {
                let slot = if kind == "time" {
                    &mut time
                } else if is_component_kind(kind) {
                    &mut comp
                } else {
                    spatial.push(a);
                    continue;
                };
                if slot.is_some() {
                    return Err(fmt(format!(
                        "field 'kinds': '{}' has more than one {} axis; neuvis reads one time axis and one component axis",
                        k.join(" "),
                        if kind == "time" { "time" } else { "non-spatial" }
                    )));
                }
                *slot = Some(a);
            }
        }
        None => match sizes {
            [_, _] | [_, _, _] => spatial = (0..d).collect(),
            [1, _, _, _] => {
                comp = Some(0);
                spatial = vec![1, 2, 3];
            }
            _ => {
                return Err(fmt(format!(
                    "a {d}-D NRRD (sizes {sizes:?}) needs a 'kinds' field saying which axes are space, time and components (e.g. 'vector domain domain domain' or 'domain domain domain time')"
                )))
            }
        },
    }
    if !(2..=3).contains(&spatial.len()) || (spatial.len() == 2 && d > 2 && time.is_none() && comp.is_none()) {
        return Err(fmt(format!(
            "only 2-D and 3-D volumes are supported (with a time and a component axis at most), got sizes {sizes:?}{}",
            kinds
                .as_ref()
                .map(|k| format!(" and kinds '{}'", k.join(" ")))
                .unwrap_or_default()
        )));
    }
    let per_axis = |key: &str| -> Vec<f64> {
        get(key)
            .map(|v| {
                v.split_whitespace()
                    .map(|x| x.parse::<f64>().unwrap_or(f64::NAN))
                    .collect()
            })
            .unwrap_or_default()
    };
    if let Some(a) = time {
        if sizes[a] > MAX_STEPS {
            return Err(fmt(format!(
                "field 'sizes': a time axis of {} steps (at most {MAX_STEPS})",
                sizes[a]
            )));
        }
    }
    let times = match time {
        Some(a) => {
            let (mins, steps) = (per_axis("axis mins"), per_axis("spacings"));
            let (t0, dt) = (
                mins.get(a).copied().unwrap_or(f64::NAN),
                steps.get(a).copied().unwrap_or(f64::NAN),
            );
            (0..sizes[a])
                .map(|k| {
                    if t0.is_finite() && dt.is_finite() && dt > 0.0 {
                        t0 + k as f64 * dt
                    } else if t0.is_finite() {
                        t0 + k as f64
                    } else {
                        k as f64
                    }
                })
                .collect()
        }
        None => vec![0.0],
    };
    Ok(Axes {
        sizes: sizes.to_vec(),
        spatial,
        time,
        comp,
        times,
    })
}

/// The header fields of a NRRD file, lower-case keys, and the header's length in bytes.
fn read_header(path: &Path) -> Result<(HashMap<String, String>, usize, BufReader<std::fs::File>)> {
    let file = std::fs::File::open(path).map_err(|e| VolumeError::io(path, e))?;
    let mut rd = BufReader::new(file);
    let fmt = |m: String| VolumeError::format(path, m);
    let mut line = String::new();
    let mut header_len = 0usize;
    let mut read_line = |rd: &mut BufReader<std::fs::File>, line: &mut String| -> Result<usize> {
        line.clear();
        let n = rd.read_line(line).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => VolumeError::format(path, "header is not text"),
            _ => VolumeError::io(path, e),
        })?;
        header_len += n;
        if header_len > MAX_HEADER {
            return Err(VolumeError::format(path, "NRRD header longer than 1 MiB"));
        }
        Ok(n)
    };
    read_line(&mut rd, &mut line)?;
    if !line.starts_with("NRRD000") {
        return Err(fmt("not a NRRD file (missing 'NRRD000X' magic)".into()));
    }
    let mut fields: HashMap<String, String> = HashMap::new();
    loop {
        let n = read_line(&mut rd, &mut line)?;
        let l = line.trim_end_matches(['\n', '\r']);
        if n == 0 || l.is_empty() {
            break;
        }
        if l.starts_with('#') || l.contains(":=") {
            continue;
        }
        let (k, v) = l
            .split_once(": ")
            .ok_or_else(|| fmt(format!("malformed header line '{l}'")))?;
        fields.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    Ok((fields, header_len, rd))
}

/// The sizes a header claims, checked against its dimension.
fn sizes(path: &Path, fields: &HashMap<String, String>) -> Result<Vec<usize>> {
    let fmt = |m: String| VolumeError::format(path, m);
    let get = |k: &str| fields.get(k).map(String::as_str);
    let dimension: usize = get("dimension")
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| fmt("header lacks a valid 'dimension'".into()))?;
    let sizes: Vec<usize> = get("sizes")
        .ok_or_else(|| fmt("header lacks 'sizes'".into()))?
        .split_whitespace()
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| fmt(format!("field 'sizes': bad size '{s}'")))
        })
        .collect::<Result<_>>()?;
    if sizes.len() != dimension {
        return Err(fmt(format!(
            "'sizes' has {} entries but dimension is {dimension}",
            sizes.len()
        )));
    }
    Ok(sizes)
}

/// The axes of a NRRD file from its header alone: how many time steps it holds and their times.
pub(crate) fn probe_nrrd(path: &Path) -> Result<Axes> {
    let (fields, header_len, _) = read_header(path)?;
    let sizes = sizes(path, &fields)?;
    let ax = axes(path, &|k| fields.get(k).cloned(), &sizes)?;
    if ax.time.is_none() {
        // one volume: the reader checks it, with the specific error
        return Ok(ax);
    }
    // a series lists its steps before reading any: every sample takes at least a byte of the data
    // (DEFLATE expands at most 1032:1)
    let data_len = match fields.get("data file").or_else(|| fields.get("datafile")) {
        None => std::fs::metadata(path)
            .map_err(|e| VolumeError::io(path, e))?
            .len()
            .saturating_sub(header_len as u64),
        Some(df) => {
            let p = super::named_file(path, "field 'data file'", df)?;
            std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0)
        }
    };
    let gz = fields
        .get("encoding")
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "gzip" | "gz"));
    let room = data_len.saturating_mul(if gz { 1032 } else { 1 });
    let n = sizes.iter().try_fold(1u64, |a, &s| a.checked_mul(s as u64));
    if n.is_none_or(|n| n > room) {
        return Err(VolumeError::format(
            path,
            format!(
                "field 'sizes': {} samples, more than the {data_len} data bytes can hold",
                shape(&sizes)
            ),
        ));
    }
    Ok(ax)
}

/// Reads a `.nrrd` (attached) or `.nhdr` (detached) file holding one volume (a vector volume
/// gives its magnitude or `opts.component`).
pub fn read_nrrd(path: &Path, opts: &ReadOptions) -> Result<ScalarField> {
    read_nrrd_step(path, opts, None)
}

/// Reads time step `step` of a NRRD with a time axis (`None`: the file must hold one step).
pub(crate) fn read_nrrd_step(path: &Path, opts: &ReadOptions, step: Option<usize>) -> Result<ScalarField> {
    let (fields, header_len, rd) = read_header(path)?;
    let fmt = |m: String| VolumeError::format(path, m);
    let get = |k: &str| fields.get(k).map(String::as_str);
    let dtype_s = get("type").ok_or_else(|| fmt("header lacks 'type'".into()))?;
    let dtype = nrrd_type(dtype_s).ok_or_else(|| fmt(format!("unsupported NRRD type '{dtype_s}'")))?;
    let sizes = sizes(path, &fields)?;
    let ax = axes(path, &|k| fields.get(k).cloned(), &sizes)?;
    let step = match step {
        None if ax.steps() > 1 => {
            return Err(fmt(format!(
                "a time series of {} steps (kinds: … time); this command reads one volume: pick one with --step K (render and the Python series() read it as a series)",
                ax.steps()
            )))
        }
        None => 0,
        Some(k) if k >= ax.steps() => {
            return Err(fmt(format!("time step {k} of {} does not exist", ax.steps())));
        }
        Some(k) => k,
    };
    let ncomp = ax.components();
    if let Some(c) = opts.component {
        if c >= ncomp {
            return Err(fmt(format!(
                "--component {c}: the volume has {ncomp} component{} (fields 'sizes' and 'kinds')",
                if ncomp == 1 { "" } else { "s" }
            )));
        }
    }
    let dims = ax.dims();
    check_dims(dims, &path.display().to_string())?;
    let n = sizes
        .iter()
        .try_fold(1usize, |a, &s| a.checked_mul(s))
        .filter(|&n| n > 0)
        .ok_or_else(|| fmt(format!("field 'sizes': {sizes:?} has no samples or overflows")))?;
    let mut spacing = [1f32; 3];
    let mut origin = [0f32; 3];
    if let Some(sp) = get("spacings") {
        let v: Vec<&str> = sp.split_whitespace().collect();
        for (a, &axis) in ax.spatial.iter().enumerate() {
            if let Some(Ok(x)) = v.get(axis).map(|x| x.parse::<f32>()) {
                if x.is_finite() && x > 0.0 {
                    spacing[a] = x;
                }
            }
        }
    }
    if let Some(sd) = get("space directions") {
        let vecs: Vec<&str> = sd.split_whitespace().filter(|v| *v != "none").collect();
        for (a, v) in vecs.iter().take(3).enumerate() {
            let v = parse_vector(v).ok_or_else(|| fmt(format!("bad space direction '{v}'")))?;
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 && norm.is_finite() {
                spacing[a] = norm;
            }
        }
    }
    if let Some(o) = get("space origin") {
        let v = parse_vector(o).ok_or_else(|| fmt(format!("bad space origin '{o}'")))?;
        for (a, x) in v.into_iter().take(3).enumerate() {
            origin[a] = x;
        }
    }
    let endian = match get("endian") {
        Some(e) => Endian::parse(e).ok_or_else(|| fmt(format!("bad endian '{e}'")))?,
        None => Endian::Little,
    };
    let encoding = get("encoding")
        .ok_or_else(|| fmt("header lacks 'encoding'".into()))?
        .to_ascii_lowercase();
    let byte_skip: i64 = get("byte skip").and_then(|s| s.parse().ok()).unwrap_or(0);
    let line_skip: usize = get("line skip").and_then(|s| s.parse().ok()).unwrap_or(0);
    let data_file = get("data file").or_else(|| get("datafile"));

    // The byte source: the rest of this file, or a detached data file, which must be a regular
    // file in the header's folder or below it (never `/dev/zero`, never `/etc/passwd`); its size
    // is known before anything is read.
    let (data_path, mut source, mut left): (PathBuf, Box<dyn BufRead>, u64) = match data_file {
        None => {
            let len = std::fs::metadata(path).map_err(|e| VolumeError::io(path, e))?.len();
            (path.to_path_buf(), Box::new(rd), len.saturating_sub(header_len as u64))
        }
        Some(df) => {
            if df.starts_with("LIST") || df.contains('%') {
                return Err(fmt(format!("multi-file data '{df}' is not supported")));
            }
            let p = super::named_file(path, "field 'data file'", df)?;
            let meta = std::fs::metadata(&p).map_err(|e| VolumeError::io(&p, e))?;
            if !meta.is_file() {
                return Err(fmt(format!("field 'data file': {} is not a regular file", p.display())));
            }
            let f = std::fs::File::open(&p).map_err(|e| VolumeError::io(&p, e))?;
            (p, Box::new(BufReader::new(f)), meta.len())
        }
    };
    for done in 0..line_skip {
        let k = source.skip_until(b'\n').map_err(|e| VolumeError::io(&data_path, e))?;
        if k == 0 {
            return Err(fmt(format!(
                "field 'line skip': {line_skip} lines, but the data ends after {done}"
            )));
        }
        left = left.saturating_sub(k as u64);
    }
    let nbytes = n
        .checked_mul(dtype.size())
        .ok_or_else(|| fmt("field 'sizes': the byte count overflows".into()))?;
    // A time axis that is the slowest one (as pynrrd, ITK and teem write time series) makes each
    // step a contiguous block: binary encodings read only that block.
    let last_is_time = ax.time == Some(sizes.len() - 1);
    let (first, count) = if last_is_time && encoding != "ascii" && encoding != "text" && encoding != "txt" {
        let block = n / ax.steps();
        (step * block, block)
    } else {
        (0, n)
    };
    let (fb, cb) = (first * dtype.size(), count * dtype.size());
    // the encoded bytes and the decoded samples are held together
    crate::field::check_memory(
        (cb as u64).saturating_add(count as u64 * 4),
        &path.display().to_string(),
    )?;
    let mut source = source.take(left);
    let mut data = match encoding.as_str() {
        "raw" => {
            let start = if byte_skip == -1 {
                left.checked_sub(nbytes as u64)
            } else {
                u64::try_from(byte_skip).ok()
            };
            let ok = start.filter(|s| left.checked_sub(*s) == Some(nbytes as u64));
            let Some(start) = ok else {
                return Err(VolumeError::SizeMismatch {
                    path: data_path,
                    expected: nbytes as u64,
                    actual: left.saturating_sub(start.unwrap_or(0)),
                    detail: format!("sizes {} of {dtype_s}", shape(&sizes)),
                });
            };
            std::io::copy(&mut (&mut source).take(start + fb as u64), &mut std::io::sink())
                .map_err(|e| VolumeError::io(&data_path, e))?;
            let mut bytes = Vec::with_capacity(cb);
            (&mut source)
                .take(cb as u64)
                .read_to_end(&mut bytes)
                .map_err(|e| VolumeError::io(&data_path, e))?;
            if bytes.len() != cb {
                return Err(VolumeError::Truncated {
                    path: data_path,
                    msg: format!("read {} of {cb} data bytes at byte {}", bytes.len(), start + fb as u64),
                });
            }
            decode(&bytes, dtype, endian)
        }
        "gzip" | "gz" => {
            let skip = usize::try_from(byte_skip.max(0))
                .ok()
                .filter(|&s| s <= 1 << 30)
                .ok_or_else(|| fmt(format!("field 'byte skip': {byte_skip} is beyond 1 GiB")))?;
            // skip what comes before this step's block (all of `byte skip`, earlier steps) without
            // holding it, then read the block; reading the whole stream, one byte more than needed
            // shows a stream longer than the header says. The buffer grows with the data, so a
            // small hostile stream claiming a large volume or a gzip bomb cannot exhaust memory.
            let lead = (skip + fb) as u64;
            let mut dec = flate2::bufread::MultiGzDecoder::new(BufReader::new(source));
            let trunc = |e: std::io::Error| VolumeError::Truncated {
                path: data_path.clone(),
                msg: format!("gzip stream: {e}"),
            };
            let skipped = std::io::copy(&mut (&mut dec).take(lead), &mut std::io::sink()).map_err(trunc)?;
            let mut bytes = Vec::new();
            (&mut dec)
                .take(cb as u64 + u64::from(count == n))
                .read_to_end(&mut bytes)
                .map_err(trunc)?;
            if skipped != lead || bytes.len() != cb {
                return Err(VolumeError::Truncated {
                    path: data_path,
                    msg: format!(
                        "gzip stream decompresses to {} bytes, expected {} (sizes {} of {dtype_s})",
                        skipped + bytes.len() as u64,
                        lead + cb as u64,
                        shape(&sizes)
                    ),
                });
            }
            decode(&bytes, dtype, endian)
        }
        "ascii" | "text" | "txt" => {
            let mut s = String::new();
            source
                .read_to_string(&mut s)
                .map_err(|e| VolumeError::format(&data_path, format!("ascii data: {e}")))?;
            let v: Vec<f32> = s
                .split_whitespace()
                .map(|t| t.parse::<f64>().map(|x| x as f32))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| VolumeError::format(&data_path, format!("ascii data: {e}")))?;
            if v.len() != n {
                return Err(VolumeError::SizeMismatch {
                    path: data_path,
                    expected: n as u64,
                    actual: v.len() as u64,
                    detail: "ascii values, counted as values not bytes".into(),
                });
            }
            v
        }
        other => {
            return Err(VolumeError::UnknownEncoding {
                path: path.to_path_buf(),
                encoding: other.to_string(),
            })
        }
    };
    check_finite(path, &mut data, opts)?;
    let data = if count == n {
        gather(&ax, data, step, opts.component)
    } else {
        // the block of one step: the same axes with a time axis of one sample
        let mut one = ax.clone();
        if let Some(a) = one.time {
            one.sizes[a] = 1;
        }
        gather(&one, data, 0, opts.component)
    };
    ScalarField::new(dims, spacing, origin, data)
}

/// `[2, 3, 4]` → `2x3x4`.
fn shape(sizes: &[usize]) -> String {
    sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("x")
}

/// The samples of one volume: time step `step`, component `comp` or the magnitude over the
/// components, x fastest.
fn gather(ax: &Axes, data: Vec<f32>, step: usize, comp: Option<usize>) -> Vec<f32> {
    let mut stride = vec![0usize; ax.sizes.len()];
    let mut s = 1;
    for (a, st) in stride.iter_mut().enumerate() {
        *st = s;
        s *= ax.sizes[a];
    }
    if ax.sizes.len() == ax.spatial.len() {
        return data;
    }
    let dims = ax.dims();
    let sp = |i: usize| ax.spatial.get(i).map_or(0, |&a| stride[a]);
    let (sx, sy, sz) = (sp(0), sp(1), sp(2));
    let base = ax.time.map_or(0, |a| step * stride[a]);
    let (cs, nc) = (ax.comp.map_or(0, |a| stride[a]), ax.components());
    let mut out = Vec::with_capacity(dims[0] * dims[1] * dims[2]);
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                let o = base + x * sx + y * sy + z * sz;
                out.push(match comp {
                    Some(c) => data[o + c * cs],
                    None if nc == 1 => data[o],
                    None => (0..nc).map(|c| data[o + c * cs].powi(2)).sum::<f32>().sqrt(),
                });
            }
        }
    }
    out
}

/// Writes `field` as an attached NRRD (`float`, little endian, raw or gzip encoding), atomically:
/// the data goes to a temporary file next to `path` that is renamed at the end.
pub fn write_nrrd(path: &Path, field: &ScalarField, gzip: bool) -> Result<()> {
    let [nx, ny, nz] = field.dims();
    let sp = field.spacing();
    let o = field.origin();
    let mut header = format!(
        "NRRD0004\n# written by neuvis\ntype: float\ndimension: 3\nspace dimension: 3\nsizes: {nx} {ny} {nz}\n\
         space directions: ({},0,0) (0,{},0) (0,0,{})\nspace origin: ({},{},{})\nkinds: domain domain domain\n\
         endian: little\nencoding: {}\n\n",
        sp[0],
        sp[1],
        sp[2],
        o[0],
        o[1],
        o[2],
        if gzip { "gzip" } else { "raw" }
    );
    let mut bytes: Vec<u8> = Vec::with_capacity(field.data().len() * 4);
    for v in field.data() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    crate::io::write_atomic(path, |w| {
        w.write_all(std::mem::take(&mut header).as_bytes())?;
        if gzip {
            let mut enc = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
            enc.write_all(&bytes)?;
            enc.finish()?;
        } else {
            w.write_all(&bytes)?;
        }
        Ok(())
    })
}
