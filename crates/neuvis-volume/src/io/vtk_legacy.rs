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

/// Reads the first one-component point array of a legacy `STRUCTURED_POINTS` file.
pub fn read_vtk_legacy(path: &Path, opts: &ReadOptions) -> Result<ScalarField> {
    let dims = prescan(path)?;
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
