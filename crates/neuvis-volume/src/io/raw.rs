//! Headerless raw volumes: dimensions, sample type, byte order and header skip come from the caller.

use crate::dtype::{check_finite, decode, DType, Endian, ReadOptions};
use crate::error::{Result, VolumeError};
use crate::field::{check_dims, ScalarField};
use std::path::Path;

/// How to interpret a headerless raw file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawSpec {
    /// Grid dimensions (x fastest in the file).
    pub dims: [usize; 3],
    /// Sample type.
    pub dtype: DType,
    /// Byte order of multi-byte samples.
    pub endian: Endian,
    /// Bytes to skip at the start of the file.
    pub header_skip: u64,
    /// Grid spacing.
    pub spacing: [f32; 3],
}

impl RawSpec {
    /// A spec with unit spacing, little endian and no header.
    pub fn new(dims: [usize; 3], dtype: DType) -> Self {
        RawSpec {
            dims,
            dtype,
            endian: Endian::Little,
            header_skip: 0,
            spacing: [1.0; 3],
        }
    }
}

/// Reads a raw file. The file must hold exactly `header_skip + nx·ny·nz·size(dtype)` bytes.
pub fn read_raw(path: &Path, spec: &RawSpec, opts: &ReadOptions) -> Result<ScalarField> {
    let what = path.display().to_string();
    let n = check_dims(spec.dims, &what)?;
    let meta = std::fs::metadata(path).map_err(|e| VolumeError::io(path, e))?;
    let expected = n as u64 * spec.dtype.size() as u64;
    let actual = meta.len().saturating_sub(spec.header_skip);
    if actual != expected || meta.len() < spec.header_skip {
        return Err(VolumeError::SizeMismatch {
            path: path.to_path_buf(),
            expected,
            actual,
            detail: format!(
                "{}x{}x{} {} after {} header bytes",
                spec.dims[0],
                spec.dims[1],
                spec.dims[2],
                spec.dtype.name(),
                spec.header_skip
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| VolumeError::io(path, e))?;
    let mut data = decode(&bytes[spec.header_skip as usize..], spec.dtype, spec.endian);
    check_finite(path, &mut data, opts)?;
    ScalarField::new(spec.dims, spec.spacing, [0.0; 3], data)
}
