//! VTK legacy `STRUCTURED_POINTS` files (ASCII and binary) through the `vtkio` crate.

use super::arrays::{self, ArrayInfo};
use crate::dtype::{check_finite, ReadOptions};
use crate::error::{Result, VolumeError};
use crate::field::{check_dims, ScalarField};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use vtkio::model::{Attribute, DataSet, ElementType, Extent, Piece};

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

/// Calls `each` with every whitespace-separated token of `r` (at most its first 64 bytes: binary
/// sections have arbitrarily long "tokens" that are never held whole), as vtkio's parser, which
/// allows any whitespace, newlines included, between a keyword and its numbers, sees them.
fn tokens(mut r: impl BufRead, mut each: impl FnMut(&[u8]) -> Result<()>) -> std::io::Result<Result<()>> {
    let mut tok = Vec::with_capacity(64);
    let mut in_tok = false;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            if in_tok {
                if let Err(e) = each(&tok) {
                    return Ok(Err(e));
                }
            }
            return Ok(Ok(()));
        }
        let n = buf.len();
        for &c in buf {
            if c.is_ascii_whitespace() {
                if in_tok {
                    if let Err(e) = each(&tok) {
                        return Ok(Err(e));
                    }
                    tok.clear();
                    in_tok = false;
                }
            } else {
                in_tok = true;
                if tok.len() < 64 {
                    tok.push(c);
                }
            }
        }
        r.consume(n);
    }
}

/// VTK's data type names, as a FIELD array header ends with one.
const VTK_TYPES: [&str; 13] = [
    "bit",
    "unsigned_char",
    "char",
    "unsigned_short",
    "short",
    "unsigned_int",
    "int",
    "unsigned_long",
    "long",
    "float",
    "double",
    "vtkIdType",
    "vtktypeint64",
];

/// Checks every count the file claims before vtkio allocates for it, reading it as vtkio's parser
/// does (tokens, any whitespace between them): `POINT_DATA n` and `CELL_DATA n` must equal the
/// grid's points and cells, `SCALARS name type n` and `COLOR_SCALARS name n` have 1–4 components,
/// `TEXTURE_COORDINATES name d` 1–3 dimensions, and the counts of `LOOKUP_TABLE name n`,
/// `FIELD name n` and each FIELD array `name ncomp ntuples type` must fit in the file's length
/// (every value takes at least a byte, every array header eight).
fn check_counts(path: &Path, dims: [usize; 3], file_len: u64) -> Result<()> {
    let f = std::fs::File::open(path).map_err(|e| VolumeError::io(path, e))?;
    let points = dims.iter().map(|&d| d as u64).product::<u64>();
    let cells = dims.iter().map(|&d| d.saturating_sub(1).max(1) as u64).product::<u64>();
    // the last five tokens, the newest last, and the position of the last SCALARS keyword
    let mut last: std::collections::VecDeque<String> = std::collections::VecDeque::with_capacity(6);
    let (mut pos, mut scalars_at) = (0u64, None::<u64>);
    // nom's `tag_no_case` matches a keyword at the start of a longer word ("SCALARSs" is SCALARS
    // then the name "s") and its integers stop at the first non-digit: split and read the same way
    const KEYWORDS: [&str; 8] = [
        "POINT_DATA",
        "CELL_DATA",
        "COLOR_SCALARS",
        "TEXTURE_COORDINATES",
        "LOOKUP_TABLE",
        "FIELD",
        "SCALARS",
        "VECTORS",
    ];
    let mut check = |t: &[u8]| -> Result<()> {
        pos += 1;
        last.push_back(String::from_utf8_lossy(t).into_owned());
        if last.len() > 5 {
            last.pop_front();
        }
        let k = last.len();
        let at = |back: usize| last.get(k.wrapping_sub(back + 1)).map(String::as_str);
        let key = |back: usize| at(back).map(str::to_ascii_uppercase).unwrap_or_default();
        let num = |back: usize| {
            at(back).and_then(|v| {
                let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
                if digits.is_empty() {
                    None
                } else {
                    Some(digits.parse::<u64>().unwrap_or(u64::MAX))
                }
            })
        };
        let bad = |field: &str, n: u64, why: String| Err(VolumeError::format(path, format!("{field} {n}: {why}")));
        if key(0) == "SCALARS" {
            scalars_at = Some(pos);
        }
        match key(1).as_str() {
            "POINT_DATA" => {
                if let Some(n) = num(0).filter(|&n| n != points) {
                    return bad("POINT_DATA", n, format!("the {dims:?} grid has {points} points"));
                }
            }
            "CELL_DATA" => {
                if let Some(n) = num(0).filter(|&n| n != cells) {
                    return bad("CELL_DATA", n, format!("the {dims:?} grid has {cells} cells"));
                }
            }
            _ => {}
        }
        match key(2).as_str() {
            "COLOR_SCALARS" => {
                if let Some(n) = num(0).filter(|n| !(1..=4).contains(n)) {
                    return bad("COLOR_SCALARS components", n, "VTK allows 1 to 4".into());
                }
            }
            "TEXTURE_COORDINATES" => {
                if let Some(n) = num(0).filter(|n| !(1..=3).contains(n)) {
                    return bad("TEXTURE_COORDINATES dimension", n, "VTK allows 1 to 3".into());
                }
            }
            // a LOOKUP_TABLE line of a SCALARS header has no count: what follows is data
            // (a SCALARS after the LOOKUP_TABLE does not own it: checked_sub is None then)
            "LOOKUP_TABLE" if scalars_at.is_none_or(|s| (pos - 2).checked_sub(s).is_none_or(|d| d > 4)) => {
                if let Some(n) = num(0).filter(|&n| n.saturating_mul(4) > file_len) {
                    return bad(
                        "LOOKUP_TABLE",
                        n,
                        format!("entries cannot fit in the {file_len}-byte file"),
                    );
                }
            }
            "FIELD" => {
                if let Some(n) = num(0).filter(|&n| n.saturating_mul(8) > file_len) {
                    return bad("FIELD", n, format!("arrays cannot fit in the {file_len}-byte file"));
                }
            }
            _ => {}
        }
        if key(3) == "SCALARS" {
            if let Some(n) = num(0).filter(|n| !(1..=4).contains(n)) {
                return bad("SCALARS components", n, "VTK allows 1 to 4".into());
            }
        }
        // a FIELD array header: name, components, tuples, type
        if let (Some(c), Some(tu), Some(ty)) = (num(2), num(1), at(0)) {
            if VTK_TYPES.iter().any(|v| v.eq_ignore_ascii_case(ty)) && c.saturating_mul(tu) > file_len {
                return bad(
                    &format!("FIELD array '{}'", at(3).unwrap_or("?")),
                    c.saturating_mul(tu),
                    format!("values cannot fit in the {file_len}-byte file"),
                );
            }
        }
        Ok(())
    };
    let res = tokens(BufReader::with_capacity(1 << 16, f), |t| {
        let upper = t.to_ascii_uppercase();
        match KEYWORDS
            .iter()
            .find(|k| upper.starts_with(k.as_bytes()) && upper.len() > k.len())
        {
            Some(k) => {
                check(&t[..k.len()])?;
                check(&t[k.len()..])
            }
            None => check(t),
        }
    });
    res.map_err(|e| VolumeError::io(path, e))?
}

/// Reads one array of a legacy `STRUCTURED_POINTS` file: `SCALARS`, `VECTORS` and the arrays of
/// `FIELD` blocks, on points or cells, chosen as in [`super::arrays`] (by default the `SCALARS`).
pub fn read_vtk_legacy(path: &Path, opts: &ReadOptions) -> Result<ScalarField> {
    let dims = prescan(path)?;
    let file_len = std::fs::metadata(path).map_err(|e| VolumeError::io(path, e))?.len();
    // every point's value takes at least one byte of the file
    let points = dims.iter().map(|&d| d as u64).product::<u64>();
    if points > file_len {
        return Err(VolumeError::format(
            path,
            format!("DIMENSIONS {dims:?}: {points} points cannot fit in the {file_len}-byte file"),
        ));
    }
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
    // every point and cell array, FIELD arrays flattened into the list under their own names
    let mut found: Vec<(ArrayInfo, vtkio::model::IOBuffer)> = Vec::new();
    let mut active = None;
    for (cells, attrs) in [(false, piece.data.point), (true, piece.data.cell)] {
        for a in attrs {
            match a {
                Attribute::DataArray(d) => {
                    if matches!(d.elem, ElementType::LookupTable) {
                        continue;
                    }
                    if !cells && active.is_none() && matches!(d.elem, ElementType::Scalars { .. }) {
                        active = Some(d.name.clone());
                    }
                    let components = d.num_comp();
                    found.push((
                        ArrayInfo {
                            name: d.name,
                            components,
                            cells,
                        },
                        d.data,
                    ));
                }
                Attribute::Field { data_array, .. } => {
                    for f in data_array {
                        let components = f.num_comp();
                        found.push((
                            ArrayInfo {
                                name: f.name,
                                components,
                                cells,
                            },
                            f.data,
                        ));
                    }
                }
            }
        }
    }
    let infos: Vec<ArrayInfo> = found.iter().map(|(i, _)| i.clone()).collect();
    let (idx, pick) = arrays::choose(path, &infos, active.as_deref(), opts)?;
    let (info, buf) = found.swap_remove(idx);
    let name = info.name.clone();
    let pdims = dims;
    let dims = if info.cells {
        dims.map(|d| d.saturating_sub(1).max(1))
    } else {
        dims
    };
    let n = dims.iter().product::<usize>();
    let values: Vec<f32> = buf
        .cast_into::<f32>()
        .ok_or_else(|| VolumeError::format(path, format!("array '{name}' has an unsupported type")))?;
    if values.len() != n.saturating_mul(info.components) {
        return Err(VolumeError::SizeMismatch {
            path: path.to_path_buf(),
            expected: n.saturating_mul(info.components) as u64,
            actual: values.len() as u64,
            detail: format!("array '{name}' values (counted as values, not bytes)"),
        });
    }
    let mut data = arrays::reduce(values, info.components, pick);
    check_finite(path, &mut data, opts)?;
    let spacing = spacing.map(|s| if s.is_finite() && s > 0.0 { s } else { 1.0 });
    let origin = if info.cells {
        [0, 1, 2].map(|i| origin[i] + if pdims[i] > 1 { 0.5 * spacing[i] } else { 0.0 })
    } else {
        origin
    };
    ScalarField::new(dims, spacing, origin, data)
}
