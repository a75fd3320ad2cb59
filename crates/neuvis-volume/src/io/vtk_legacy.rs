//! VTK legacy `STRUCTURED_POINTS` files (ASCII and binary) through the `vtkio` crate.

use crate::dtype::{check_finite, ReadOptions};
use crate::error::{Result, VolumeError};
use crate::field::{check_dims, ScalarField};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use vtkio::model::{Attribute, DataSet, Extent, Piece};

/// Scans the text header for `DATASET` and `DIMENSIONS`, so absurd sizes are refused before any
/// allocation happens inside the parser.
fn prescan(path: &Path) -> Result<[usize; 3]> {
    let f = std::fs::File::open(path).map_err(|e| VolumeError::io(path, e))?;
    let mut rd = BufReader::new(f).take(1 << 16);
    let mut line = Vec::new();
    let mut first = true;
    let mut kind = None;
    loop {
        line.clear();
        let n = rd.read_until(b'\n', &mut line).map_err(|e| VolumeError::io(path, e))?;
        if n == 0 {
            break;
        }
        let l = String::from_utf8_lossy(&line);
        let l = l.trim();
        if first {
            if !l.starts_with("# vtk DataFile") {
                return Err(VolumeError::format(
                    path,
                    "not a VTK legacy file (missing '# vtk DataFile' line)",
                ));
            }
            first = false;
            continue;
        }
        let mut w = l.split_whitespace();
        match w.next().map(str::to_ascii_uppercase).as_deref() {
            Some("DATASET") => kind = w.next().map(str::to_ascii_uppercase),
            Some("DIMENSIONS") => {
                let v: Vec<usize> = w.filter_map(|x| x.parse().ok()).collect();
                if kind.as_deref() != Some("STRUCTURED_POINTS") {
                    break;
                }
                if let [x, y, z] = v[..] {
                    check_dims([x, y, z], &path.display().to_string())?;
                    return Ok([x, y, z]);
                }
                return Err(VolumeError::format(path, format!("bad DIMENSIONS line '{l}'")));
            }
            _ => {}
        }
    }
    match kind {
        Some(k) if k != "STRUCTURED_POINTS" => Err(VolumeError::format(
            path,
            format!("dataset type {k} is not supported; neuvis reads STRUCTURED_POINTS"),
        )),
        _ => Err(VolumeError::format(
            path,
            "no STRUCTURED_POINTS DIMENSIONS in the header",
        )),
    }
}

/// The first (at most 255) bytes of every line of `r`, however long the lines are (binary
/// sections have arbitrarily long "lines" that are never held whole).
fn line_heads(mut r: impl BufRead, mut each: impl FnMut(&[u8]) -> Result<()>) -> std::io::Result<Result<()>> {
    let mut head = Vec::with_capacity(256);
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            if !head.is_empty() {
                if let Err(e) = each(&head) {
                    return Ok(Err(e));
                }
            }
            return Ok(Ok(()));
        }
        let (used, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, Some(i)),
            None => (buf.len(), None),
        };
        let part = &buf[..end.unwrap_or(used)];
        let room = 255usize.saturating_sub(head.len());
        head.extend_from_slice(&part[..part.len().min(room)]);
        r.consume(used);
        if end.is_some() {
            if let Err(e) = each(&head) {
                return Ok(Err(e));
            }
            head.clear();
        }
    }
}

/// Checks every count a keyword line claims (`POINT_DATA n`, `CELL_DATA n`, `LOOKUP_TABLE name n`,
/// `FIELD name n`, `COLOR_SCALARS name n` and `FIELD` array lines `name ncomp ntuples type`)
/// against the grid and the file's length, before the parser allocates for them: each value takes at
/// least one byte, each array header at least eight.
fn check_counts(path: &Path, dims: [usize; 3], file_len: u64) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| VolumeError::io(path, e))?;
    let points = dims.iter().map(|&d| d as u64).product::<u64>();
    let cells = dims.iter().map(|&d| d.saturating_sub(1).max(1) as u64).product::<u64>();
    let mut field_arrays_left = 0u64;
    let res = line_heads(BufReader::with_capacity(1 << 16, f), |line| {
        let l = String::from_utf8_lossy(line);
        let w: Vec<&str> = l.split_whitespace().collect();
        let num = |i: usize| w.get(i).and_then(|v| v.parse::<u64>().ok());
        let bad = |field: &str, n: u64, why: String| Err(VolumeError::format(path, format!("{field} {n}: {why}")));
        let key = w.first().map(|k| k.to_ascii_uppercase()).unwrap_or_default();
        match (key.as_str(), w.len()) {
            ("POINT_DATA", 2) => {
                if let Some(n) = num(1).filter(|&n| n != points) {
                    return bad("POINT_DATA", n, format!("the {dims:?} grid has {points} points"));
                }
            }
            ("CELL_DATA", 2) => {
                if let Some(n) = num(1).filter(|&n| n != cells) {
                    return bad("CELL_DATA", n, format!("the {dims:?} grid has {cells} cells"));
                }
            }
            ("LOOKUP_TABLE", 3) | ("COLOR_SCALARS", 3) => {
                if let Some(n) = num(2).filter(|&n| n.saturating_mul(4) > file_len) {
                    return bad(&key, n, format!("entries cannot fit in the {file_len}-byte file"));
                }
            }
            ("FIELD", 3) => {
                if let Some(n) = num(2) {
                    if n.saturating_mul(8) > file_len {
                        return bad("FIELD", n, format!("arrays cannot fit in the {file_len}-byte file"));
                    }
                    field_arrays_left = n;
                }
            }
            (_, 4) if field_arrays_left > 0 => {
                // a FIELD array: name, components, tuples, type
                if let (Some(c), Some(t)) = (num(1), num(2)) {
                    field_arrays_left -= 1;
                    if c.saturating_mul(t) > file_len {
                        return bad(
                            &format!("FIELD array '{}'", w[0]),
                            c.saturating_mul(t),
                            format!("values cannot fit in the {file_len}-byte file"),
                        );
                    }
                }
            }
            _ => {}
        }
        Ok(())
    });
    res.map_err(|e| VolumeError::io(path, e))?
}

/// Reads the first one-component point array of a legacy `STRUCTURED_POINTS` file.
pub fn read_vtk_legacy(path: &Path, opts: &ReadOptions) -> Result<ScalarField> {
    let dims = prescan(path)?;
    let file_len = std::fs::metadata(path).map_err(|e| VolumeError::io(path, e))?.len();
    check_counts(path, dims, file_len)?;
    let f = std::fs::File::open(path).map_err(|e| VolumeError::io(path, e))?;
    let vtk = vtkio::Vtk::parse_legacy_be(BufReader::new(f))
        .map_err(|e| VolumeError::format(path, format!("VTK legacy parse error (truncated or corrupt?): {e}")))?;
    let DataSet::ImageData {
        origin,
        spacing,
        pieces,
        extent,
        ..
    } = vtk.data
    else {
        return Err(VolumeError::format(path, "not image data"));
    };
    if let Extent::Dims(d) = extent {
        if d.map(|x| x as usize) != dims {
            return Err(VolumeError::format(path, "inconsistent DIMENSIONS"));
        }
    }
    let piece = pieces
        .into_iter()
        .find_map(|p| match p {
            Piece::Inline(b) => Some(*b),
            _ => None,
        })
        .ok_or_else(|| VolumeError::format(path, "no inline data"))?;
    let n = dims.iter().product::<usize>();
    let arr = piece
        .data
        .point
        .into_iter()
        .find_map(|a| match a {
            Attribute::DataArray(d) if d.num_comp() == 1 => Some(d),
            _ => None,
        })
        .ok_or_else(|| VolumeError::format(path, "no one-component POINT_DATA scalars"))?;
    let name = arr.name.clone();
    let mut data: Vec<f32> = arr
        .data
        .cast_into::<f32>()
        .ok_or_else(|| VolumeError::format(path, format!("array '{name}' has an unsupported type")))?;
    if data.len() != n {
        return Err(VolumeError::SizeMismatch {
            path: path.to_path_buf(),
            expected: n as u64,
            actual: data.len() as u64,
            detail: format!("array '{name}' values (counted as values, not bytes)"),
        });
    }
    check_finite(path, &mut data, opts)?;
    let spacing = spacing.map(|s| if s.is_finite() && s > 0.0 { s } else { 1.0 });
    ScalarField::new(dims, spacing, origin, data)
}
