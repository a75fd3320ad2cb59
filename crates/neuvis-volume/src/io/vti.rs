//! VTK XML ImageData (`.vti`) and ParaView data collections (`.pvd`).
//!
//! Every encoding `vtkXMLImageDataWriter` produces is read: appended raw (its default in
//! ParaView), appended base64, inline base64 (`format="binary"`) and ASCII; uncompressed or
//! zlib-compressed (`vtkZLibDataCompressor`, in blocks); `header_type` UInt32 or UInt64; either
//! byte order; all ten numeric types. Point data and cell data are read (cell data as a grid of
//! cell centres). One array is chosen as in [`super::arrays`].
//!
//! The reader is our own rather than `vtkio`'s: vtkio 0.6 skips the compression header of inline
//! base64 arrays (it reads zlib-compressed `format="binary"` data as if it were raw) and indexes
//! the file with counts it has not checked. Here every size the file claims (extent, block
//! counts, block sizes, offsets) is checked with checked arithmetic against the bytes present and
//! the memory cap before anything is allocated, and a damaged zlib block is an error naming the
//! array.

use super::arrays::{self, ArrayInfo};
use crate::dtype::{check_finite, decode, DType, Endian, ReadOptions};
use crate::error::{Result, VolumeError};
use crate::field::{check_dims, ScalarField};
use base64::Engine;
use quick_xml::events::{BytesStart, Event};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest `.vti` file read (whole, into memory): 64 GiB; the memory check applies first.
const MAX_FILE: u64 = 64 << 30;

/// The collection-level facts of a `.vti` file.
#[derive(Debug, Default)]
struct Header {
    kind: String,
    big_endian: bool,
    header64: bool,
    zlib: bool,
    whole: Option<[i64; 6]>,
    piece: Option<[i64; 6]>,
    pieces: usize,
    origin: [f64; 3],
    spacing: [f64; 3],
    direction: Option<[f64; 9]>,
    point_active: Option<String>,
    cell_active: Option<String>,
    arrays: Vec<Array>,
}

/// One `DataArray` element of `PointData` or `CellData`.
#[derive(Debug)]
struct Array {
    info: ArrayInfo,
    dtype: DType,
    format: Format,
    offset: u64,
    /// The element's text (inline `binary` and `ascii` arrays).
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Ascii,
    Binary,
    Appended,
}

fn vtk_type(t: &str) -> Option<DType> {
    Some(match t {
        "Int8" | "Char" => DType::I8,
        "UInt8" | "UnsignedChar" => DType::U8,
        "Int16" | "Short" => DType::I16,
        "UInt16" | "UnsignedShort" => DType::U16,
        "Int32" | "Int" => DType::I32,
        "UInt32" | "UnsignedInt" => DType::U32,
        "Int64" | "Long" | "LongLong" | "IdType" => DType::I64,
        "UInt64" | "UnsignedLong" | "UnsignedLongLong" => DType::U64,
        "Float32" | "Float" => DType::F32,
        "Float64" | "Double" => DType::F64,
        _ => return None,
    })
}

fn attrs(path: &Path, e: &BytesStart) -> Result<Vec<(String, String)>> {
    e.attributes()
        .map(|a| {
            let a = a.map_err(|err| VolumeError::format(path, format!("malformed XML attribute: {err}")))?;
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| VolumeError::format(path, format!("malformed XML attribute: {err}")))?;
            Ok((a.key.local_name().as_ref().to_string(), v.into_owned()))
        })
        .collect()
}

fn numbers<const N: usize, T: std::str::FromStr>(path: &Path, what: &str, s: &str) -> Result<[T; N]> {
    let v: Vec<T> = s.split_ascii_whitespace().map_while(|x| x.parse().ok()).collect();
    let n = v.len();
    v.try_into()
        .map_err(|_| VolumeError::format(path, format!("{what}=\"{s}\": expected {N} numbers, read {n}")))
}

/// Parses the XML before the appended data (the whole file when there is none).
fn parse_header(path: &Path, xml: &str) -> Result<Header> {
    let mut rd = quick_xml::Reader::from_str(xml);
    let mut h = Header {
        spacing: [1.0; 3],
        ..Default::default()
    };
    // where we are: 0 elsewhere, 1 PointData, 2 CellData
    let mut section = 0u8;
    let mut in_array: Option<Array> = None;
    // elements nested in a DataArray (VTK's <InformationKey>s hold the L2-norm range of vectors):
    // their text is not array data
    let mut nested = 0usize;
    loop {
        let ev = rd
            .read_event()
            .map_err(|e| VolumeError::format(path, format!("malformed XML at byte {}: {e}", rd.buffer_position())))?;
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            if in_array.is_some() {
                nested += usize::from(!empty);
                continue;
            }
            let name = e.local_name().as_ref().to_string();
            let a = attrs(path, e)?;
            let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            match name.as_str() {
                "VTKFile" => {
                    h.kind = get("type").unwrap_or("").to_string();
                    h.big_endian = get("byte_order") == Some("BigEndian");
                    h.header64 = match get("header_type") {
                        None | Some("UInt32") => false,
                        Some("UInt64") => true,
                        Some(t) => {
                            return Err(VolumeError::format(
                                path,
                                format!("header_type=\"{t}\": expected UInt32 or UInt64"),
                            ))
                        }
                    };
                    h.zlib = match get("compressor") {
                        None | Some("") => false,
                        Some("vtkZLibDataCompressor") => true,
                        Some(c) => {
                            return Err(VolumeError::format(
                                path,
                                format!(
                                    "compressor=\"{c}\" is not supported; neuvis reads zlib or uncompressed \
                                     files (in ParaView: File > Save Data, Compressor Type ZLib or None)"
                                ),
                            ))
                        }
                    };
                    if h.kind != "ImageData" {
                        return Err(VolumeError::format(
                            path,
                            format!(
                                "VTK XML type \"{}\" is not supported; neuvis reads ImageData (.vti) volumes",
                                h.kind
                            ),
                        ));
                    }
                }
                "ImageData" => {
                    let ext =
                        get("WholeExtent").ok_or_else(|| VolumeError::format(path, "ImageData has no WholeExtent"))?;
                    h.whole = Some(numbers(path, "WholeExtent", ext)?);
                    if let Some(o) = get("Origin") {
                        h.origin = numbers(path, "Origin", o)?;
                    }
                    if let Some(s) = get("Spacing") {
                        h.spacing = numbers(path, "Spacing", s)?;
                    }
                    if let Some(d) = get("Direction") {
                        h.direction = Some(numbers(path, "Direction", d)?);
                    }
                }
                "Piece" => {
                    h.pieces += 1;
                    if let Some(ext) = get("Extent") {
                        h.piece = Some(numbers(path, "Piece Extent", ext)?);
                    }
                }
                "PointData" | "CellData" => {
                    section = if name == "PointData" { 1 } else { 2 };
                    let active = get("Scalars").map(str::to_string);
                    if section == 1 {
                        h.point_active = active;
                    } else {
                        h.cell_active = active;
                    }
                    if empty {
                        section = 0;
                    }
                }
                "DataArray" if section != 0 => {
                    let t = get("type").unwrap_or("");
                    let arr_name = get("Name").unwrap_or("").to_string();
                    let Some(dtype) = vtk_type(t) else {
                        // string and bit arrays cannot be a volume: skip them
                        if !empty {
                            in_array = None;
                            rd.read_to_end(e.name())
                                .map_err(|err| VolumeError::format(path, format!("malformed XML: {err}")))?;
                        }
                        continue;
                    };
                    let components: usize = match get("NumberOfComponents") {
                        None => 1,
                        Some(c) => c
                            .trim()
                            .parse()
                            .ok()
                            .filter(|&c| (1..=1024).contains(&c))
                            .ok_or_else(|| {
                                VolumeError::format(
                                    path,
                                    format!("DataArray '{arr_name}': NumberOfComponents=\"{c}\" (expected 1 to 1024)"),
                                )
                            })?,
                    };
                    let format = match get("format") {
                        Some("ascii") => Format::Ascii,
                        Some("binary") => Format::Binary,
                        Some("appended") => Format::Appended,
                        f => {
                            return Err(VolumeError::format(
                                path,
                                format!(
                                    "DataArray '{arr_name}': format=\"{}\" (expected ascii, binary or appended)",
                                    f.unwrap_or("")
                                ),
                            ))
                        }
                    };
                    let offset = match (format, get("offset")) {
                        (Format::Appended, Some(o)) => o.trim().parse().map_err(|_| {
                            VolumeError::format(path, format!("DataArray '{arr_name}': offset=\"{o}\" is not a number"))
                        })?,
                        (Format::Appended, None) => {
                            return Err(VolumeError::format(
                                path,
                                format!("DataArray '{arr_name}': appended data without an offset"),
                            ))
                        }
                        _ => 0,
                    };
                    let arr = Array {
                        info: ArrayInfo {
                            name: arr_name,
                            components,
                            cells: section == 2,
                        },
                        dtype,
                        format,
                        offset,
                        text: String::new(),
                    };
                    if empty {
                        h.arrays.push(arr);
                    } else {
                        in_array = Some(arr);
                    }
                }
                _ => {}
            }
            continue;
        }
        match ev {
            Event::Text(t) => {
                if let Some(a) = in_array.as_mut().filter(|_| nested == 0) {
                    a.text.push_str(&t.xml10_content());
                }
            }
            Event::End(_) if nested > 0 => nested -= 1,
            Event::End(e) => match e.local_name().as_ref() {
                "DataArray" => {
                    if let Some(a) = in_array.take() {
                        h.arrays.push(a);
                    }
                }
                "PointData" | "CellData" => section = 0,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if h.kind.is_empty() {
        return Err(VolumeError::format(path, "not a VTK XML file (no <VTKFile> element)"));
    }
    Ok(h)
}

/// Where the appended data of a file starts, and whether it is base64.
struct Appended<'a> {
    bytes: &'a [u8],
    base64: bool,
}

/// Splits the file at `<AppendedData`: the XML before it, and the data after its `_` marker.
fn split_appended<'a>(path: &Path, file: &'a [u8]) -> Result<(&'a [u8], Option<Appended<'a>>)> {
    const TAG: &[u8] = b"<AppendedData";
    let Some(at) = file.windows(TAG.len()).position(|w| w == TAG) else {
        return Ok((file, None));
    };
    let rest = &file[at..];
    let close = rest
        .iter()
        .position(|&c| c == b'>')
        .ok_or_else(|| VolumeError::format(path, "unterminated <AppendedData> tag"))?;
    let tag = String::from_utf8_lossy(&rest[..close]);
    let base64 = if tag.contains("\"base64\"") {
        true
    } else if tag.contains("\"raw\"") {
        false
    } else {
        return Err(VolumeError::format(
            path,
            format!("{tag}>: expected encoding=\"raw\" or \"base64\""),
        ));
    };
    let after = &rest[close + 1..];
    let us = after
        .iter()
        .position(|&c| c == b'_')
        .ok_or_else(|| VolumeError::format(path, "AppendedData without its '_' marker"))?;
    if !after[..us].iter().all(u8::is_ascii_whitespace) {
        return Err(VolumeError::format(path, "AppendedData: text before the '_' marker"));
    }
    let mut bytes = &after[us + 1..];
    if base64 {
        // the encoded text ends at the first '<' or whitespace
        let end = bytes
            .iter()
            .position(|&c| c == b'<' || c.is_ascii_whitespace())
            .unwrap_or(bytes.len());
        bytes = &bytes[..end];
    }
    Ok((&file[..at], Some(Appended { bytes, base64 })))
}

/// Reads one header integer (UInt32 or UInt64, in the file's byte order) at `at` of `b`.
fn header_int(b: &[u8], at: usize, h: &Header) -> Option<u64> {
    let w = if h.header64 { 8 } else { 4 };
    let s = b.get(at..at.checked_add(w)?)?;
    Some(match (h.header64, h.big_endian) {
        (false, false) => u64::from(u32::from_le_bytes(s.try_into().ok()?)),
        (false, true) => u64::from(u32::from_be_bytes(s.try_into().ok()?)),
        (true, false) => u64::from_le_bytes(s.try_into().ok()?),
        (true, true) => u64::from_be_bytes(s.try_into().ok()?),
    })
}

fn b64(path: &Path, name: &str, text: &[u8]) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| VolumeError::Truncated {
            path: path.to_path_buf(),
            msg: format!("array '{name}': bad base64 data: {e}"),
        })
}

/// Number of base64 characters that encode `n` bytes (with padding).
fn b64_len(n: u64) -> Option<u64> {
    n.checked_add(2)?.checked_div(3)?.checked_mul(4)
}

/// The decoded bytes of one array: `expected` bytes, or an error.
fn array_bytes(path: &Path, h: &Header, a: &Array, appended: Option<&Appended>, expected: u64) -> Result<Vec<u8>> {
    let name = &a.info.name;
    let hw: u64 = if h.header64 { 8 } else { 4 };
    let trunc = |msg: String| VolumeError::Truncated {
        path: path.to_path_buf(),
        msg: format!("array '{name}': {msg}"),
    };
    // the encoded stream: the inline text (whitespace removed) or the appended bytes at `offset`
    let inline: Vec<u8>;
    let (stream, base64): (&[u8], bool) = match a.format {
        Format::Ascii => {
            return Err(VolumeError::format(
                path,
                format!("array '{name}' is ascii, not binary"),
            ))
        }
        Format::Binary => {
            inline = a.text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
            (&inline, true)
        }
        Format::Appended => {
            let ap = appended.ok_or_else(|| {
                VolumeError::format(
                    path,
                    format!("array '{name}' is appended but the file has no AppendedData"),
                )
            })?;
            let off = usize::try_from(a.offset)
                .ok()
                .filter(|&o| o <= ap.bytes.len())
                .ok_or_else(|| {
                    trunc(format!(
                        "offset {} is past the {} bytes of appended data",
                        a.offset,
                        ap.bytes.len()
                    ))
                })?;
            (&ap.bytes[off..], ap.base64)
        }
    };
    // the first `n` bytes of the stream (the header, or its first part)
    let head = |n: u64| -> Result<Vec<u8>> {
        let len = if base64 { b64_len(n) } else { Some(n) }.ok_or_else(|| trunc(format!("size {n} overflows")))?;
        let s = stream
            .get(..usize::try_from(len).unwrap_or(usize::MAX))
            .ok_or_else(|| trunc(format!("needs {n} bytes of header, the data ends at {}", stream.len())))?;
        let v = if base64 { b64(path, name, s)? } else { s.to_vec() };
        if (v.len() as u64) < n {
            return Err(trunc(format!("needs {n} bytes of header, {} present", v.len())));
        }
        Ok(v)
    };
    // the `n` bytes after a header of `hdr` bytes. VTK base64-encodes the header and the data
    // as two streams (the header's padded with '=') in inline arrays, as one in appended ones:
    // where the header's length is not a multiple of 3, its last character tells which.
    let body = |hdr: u64, n: u64| -> Result<Vec<u8>> {
        let overflow = || trunc(format!("size {n} overflows"));
        let (from, len, skip) = if !base64 {
            (hdr, n, 0)
        } else {
            let hc = b64_len(hdr).ok_or_else(overflow)?;
            let joint = !hdr.is_multiple_of(3) && hc > 0 && stream.get(hc as usize - 1) != Some(&b'=');
            if joint {
                (
                    0,
                    b64_len(hdr.checked_add(n).ok_or_else(overflow)?).ok_or_else(overflow)?,
                    hdr,
                )
            } else {
                (hc, b64_len(n).ok_or_else(overflow)?, 0)
            }
        };
        let end = from
            .checked_add(len)
            .filter(|&e| e <= stream.len() as u64)
            .ok_or_else(|| {
                trunc(format!(
                    "needs {n} bytes after its header, the data ends at {} of {}",
                    stream.len(),
                    from.saturating_add(len)
                ))
            })?;
        let s = &stream[from as usize..end as usize];
        let mut v = if base64 { b64(path, name, s)? } else { s.to_vec() };
        if (v.len() as u64) < skip.saturating_add(n) {
            return Err(trunc(format!(
                "needs {n} bytes, {} present",
                v.len() as u64 - skip.min(v.len() as u64)
            )));
        }
        if skip > 0 {
            v.drain(..skip as usize);
        }
        v.truncate(n as usize);
        Ok(v)
    };
    if !h.zlib {
        let hd = head(hw)?;
        let claimed = header_int(&hd, 0, h).unwrap_or(0);
        if claimed != expected {
            return Err(VolumeError::SizeMismatch {
                path: path.to_path_buf(),
                expected,
                actual: claimed,
                detail: format!("array '{name}': its header's byte count against the extent, components and type"),
            });
        }
        crate::field::check_memory(expected, &path.display().to_string())?;
        return body(hw, expected);
    }
    // zlib: [blocks, block size, last block size, compressed size of each block], then the blocks
    let h3 = head(3 * hw)?;
    let (blocks, bs, last) = (
        header_int(&h3, 0, h).unwrap_or(0),
        header_int(&h3, hw as usize, h).unwrap_or(0),
        header_int(&h3, 2 * hw as usize, h).unwrap_or(0),
    );
    let total = match blocks {
        0 => 0,
        n => (n - 1)
            .checked_mul(bs)
            .and_then(|t| t.checked_add(if last == 0 { bs } else { last }))
            .ok_or_else(|| trunc(format!("{n} blocks of {bs} bytes overflow")))?,
    };
    if total != expected || (blocks > 0 && (last > bs || bs == 0)) {
        return Err(VolumeError::SizeMismatch {
            path: path.to_path_buf(),
            expected,
            actual: total,
            detail: format!(
                "array '{name}': compression header of {blocks} blocks of {bs} bytes (last {last}) against the extent, components and type"
            ),
        });
    }
    let hlen = blocks
        .checked_add(3)
        .and_then(|b| b.checked_mul(hw))
        .ok_or_else(|| trunc("block count overflows".into()))?;
    if hlen > stream.len() as u64 {
        return Err(trunc(format!(
            "{blocks} blocks claimed, the data holds {} bytes",
            stream.len()
        )));
    }
    let hd = head(hlen)?;
    let sizes: Vec<u64> = (0..blocks as usize)
        .map(|i| header_int(&hd, (3 + i) * hw as usize, h).unwrap_or(0))
        .collect();
    let comp_total = sizes
        .iter()
        .try_fold(0u64, |s, &c| s.checked_add(c))
        .ok_or_else(|| trunc("compressed sizes overflow".into()))?;
    crate::field::check_memory(expected.saturating_add(comp_total), &path.display().to_string())?;
    let comp = body(hlen, comp_total)?;
    let mut out = vec![0u8; expected as usize];
    let (mut src, mut dst) = (0usize, 0usize);
    for (i, &c) in sizes.iter().enumerate() {
        let want = if i + 1 == sizes.len() && last != 0 { last } else { bs } as usize;
        let block = &comp[src..src + c as usize];
        let mut z = flate2::read::ZlibDecoder::new(block);
        z.read_exact(&mut out[dst..dst + want])
            .map_err(|e| trunc(format!("zlib block {i} of {blocks}: {e}")))?;
        src += c as usize;
        dst += want;
    }
    Ok(out)
}

fn parse_ascii(path: &Path, a: &Array, n: usize) -> Result<Vec<f32>> {
    let mut v = Vec::with_capacity(n.min(a.text.len() / 2 + 1));
    for tok in a.text.split_ascii_whitespace() {
        let x: f64 = tok.parse().map_err(|_| {
            VolumeError::format(
                path,
                format!("array '{}': '{tok}' is not a number (value {})", a.info.name, v.len()),
            )
        })?;
        v.push(x as f32);
    }
    if v.len() != n {
        return Err(VolumeError::SizeMismatch {
            path: path.to_path_buf(),
            expected: n as u64,
            actual: v.len() as u64,
            detail: format!("array '{}' values (counted as values, not bytes)", a.info.name),
        });
    }
    Ok(v)
}

/// Reads one scalar array of a VTK XML ImageData file into a field (see the module doc).
pub fn read_vti(path: &Path, opts: &ReadOptions) -> Result<ScalarField> {
    let file = neuvis_base::fs::read_regular(path, MAX_FILE).map_err(|e| VolumeError::io(path, e))?;
    let (xml, appended) = split_appended(path, &file)?;
    let xml =
        std::str::from_utf8(xml).map_err(|e| VolumeError::format(path, format!("the XML header is not UTF-8: {e}")))?;
    let h = parse_header(path, xml)?;
    let whole = h
        .whole
        .ok_or_else(|| VolumeError::format(path, "no <ImageData WholeExtent=…> element"))?;
    if h.pieces != 1 {
        return Err(VolumeError::format(
            path,
            format!(
                "{} pieces: neuvis reads single-piece .vti files (ParaView writes one piece)",
                h.pieces
            ),
        ));
    }
    if h.piece.is_some_and(|p| p != whole) {
        return Err(VolumeError::format(
            path,
            format!(
                "Piece Extent {:?} differs from WholeExtent {whole:?}",
                h.piece.unwrap_or_default()
            ),
        ));
    }
    if let Some(d) = h.direction {
        if d != [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0] {
            return Err(VolumeError::format(
                path,
                format!("Direction {d:?} is not the identity; neuvis reads axis-aligned grids (resample with ParaView's Resample To Image)"),
            ));
        }
    }
    let mut pdims = [0usize; 3];
    for i in 0..3 {
        let n = whole[2 * i + 1]
            .checked_sub(whole[2 * i])
            .and_then(|d| d.checked_add(1))
            .filter(|&d| d >= 1)
            .ok_or_else(|| {
                VolumeError::format(path, format!("WholeExtent {whole:?}: axis {i} is empty or overflows"))
            })?;
        pdims[i] =
            usize::try_from(n).map_err(|_| VolumeError::format(path, format!("WholeExtent {whole:?} too large")))?;
    }
    if !h.spacing.iter().all(|s| s.is_finite() && *s > 0.0) || !h.origin.iter().all(|o| o.is_finite()) {
        return Err(VolumeError::format(
            path,
            format!(
                "Spacing {:?} / Origin {:?}: spacings must be positive and finite",
                h.spacing, h.origin
            ),
        ));
    }
    let infos: Vec<ArrayInfo> = h.arrays.iter().map(|a| a.info.clone()).collect();
    let active = if h.arrays.iter().any(|a| !a.info.cells) {
        h.point_active.as_deref()
    } else {
        h.cell_active.as_deref()
    };
    let (idx, pick) = arrays::choose(path, &infos, active, opts)?;
    let a = &h.arrays[idx];
    // cell data: one sample per cell, at the cell centre
    let (dims, origin) = if a.info.cells {
        let d = pdims.map(|n| n.saturating_sub(1).max(1));
        let o = [0, 1, 2].map(|i| {
            let half = if pdims[i] > 1 { 0.5 * h.spacing[i] } else { 0.0 };
            h.origin[i] + whole[2 * i] as f64 * h.spacing[i] + half
        });
        (d, o)
    } else {
        (
            pdims,
            [0, 1, 2].map(|i| h.origin[i] + whole[2 * i] as f64 * h.spacing[i]),
        )
    };
    let n = check_dims(dims, &path.display().to_string())?;
    let values = n
        .checked_mul(a.info.components)
        .ok_or_else(|| VolumeError::format(path, "extent × components overflows"))?;
    let data = match a.format {
        Format::Ascii => parse_ascii(path, a, values)?,
        _ => {
            let bytes = (values as u64)
                .checked_mul(a.dtype.size() as u64)
                .ok_or_else(|| VolumeError::format(path, "array size overflows"))?;
            let raw = array_bytes(path, &h, a, appended.as_ref(), bytes)?;
            decode(&raw, a.dtype, if h.big_endian { Endian::Big } else { Endian::Little })
        }
    };
    let mut data = arrays::reduce(data, a.info.components, pick);
    check_finite(path, &mut data, opts)?;
    ScalarField::new(dims, h.spacing.map(|s| s as f32), origin.map(|o| o as f32), data)
}

/// One data set of a ParaView collection: its time value and file.
#[derive(Debug, Clone, PartialEq)]
pub struct PvdEntry {
    /// The `timestep` attribute.
    pub time: f64,
    /// The `file` attribute, resolved against the `.pvd`'s folder.
    pub path: PathBuf,
}

/// Reads a ParaView data collection (`.pvd`): its data sets in time order, as ParaView plays them.
///
/// Data sets of several parts at one time step (`part="1"`, …: a multi-block collection) are
/// refused, since a volume is one grid.
pub fn read_pvd(path: &Path) -> Result<Vec<PvdEntry>> {
    let file = neuvis_base::fs::read_regular(path, 256 << 20).map_err(|e| VolumeError::io(path, e))?;
    let xml = std::str::from_utf8(&file).map_err(|e| VolumeError::format(path, format!("not UTF-8: {e}")))?;
    let mut rd = quick_xml::Reader::from_str(xml);
    let mut out: Vec<(f64, String, PathBuf)> = Vec::new();
    let mut collection = false;
    loop {
        let ev = rd
            .read_event()
            .map_err(|e| VolumeError::format(path, format!("malformed XML at byte {}: {e}", rd.buffer_position())))?;
        match &ev {
            Event::Start(e) | Event::Empty(e) => {
                let a = attrs(path, e)?;
                let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
                match e.local_name().as_ref() {
                    "VTKFile" => {
                        if get("type") != Some("Collection") {
                            return Err(VolumeError::format(
                                path,
                                format!("VTKFile type=\"{}\": a .pvd is a Collection", get("type").unwrap_or("")),
                            ));
                        }
                        collection = true;
                    }
                    "DataSet" => {
                        let f =
                            get("file").ok_or_else(|| VolumeError::format(path, "DataSet without a file attribute"))?;
                        let t = match get("timestep") {
                            None => out.len() as f64,
                            Some(t) => t.trim().parse::<f64>().ok().filter(|t| t.is_finite()).ok_or_else(|| {
                                VolumeError::format(path, format!("DataSet '{f}': timestep=\"{t}\" is not a number"))
                            })?,
                        };
                        let part = get("part").unwrap_or("0").to_string();
                        out.push((t, part, super::named_file(path, "DataSet file", f)?));
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !collection {
        return Err(VolumeError::format(
            path,
            "not a ParaView collection (no <VTKFile type=\"Collection\">)",
        ));
    }
    if out.is_empty() {
        return Err(VolumeError::format(path, "the collection lists no DataSet"));
    }
    if let Some((_, p, f)) = out.iter().find(|(_, p, _)| p.trim() != out[0].1.trim()) {
        return Err(VolumeError::format(
            path,
            format!(
                "DataSet {} is part {p}: multi-part collections are not volumes; neuvis reads one part per time step",
                f.display()
            ),
        ));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(w) = out.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(VolumeError::format(
            path,
            format!(
                "two DataSets at timestep {} ({} and {})",
                w[0].0,
                w[0].2.display(),
                w[1].2.display()
            ),
        ));
    }
    Ok(out.into_iter().map(|(time, _, path)| PvdEntry { time, path }).collect())
}
