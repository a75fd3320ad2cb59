//! Sample types and byte orders of raw volume data, and their decoding to `f32`.

use crate::error::{Result, VolumeError};
use std::path::Path;

/// Sample type of a raw data block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 16-bit integer.
    U16,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 32-bit integer.
    U32,
    /// Signed 32-bit integer.
    I32,
    /// Unsigned 64-bit integer.
    U64,
    /// Signed 64-bit integer.
    I64,
    /// IEEE 754 single precision.
    F32,
    /// IEEE 754 double precision.
    F64,
}

impl DType {
    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            DType::U8 | DType::I8 => 1,
            DType::U16 | DType::I16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::U64 | DType::I64 | DType::F64 => 8,
        }
    }

    /// Short name as accepted by [`DType::parse`] (`u8`, `f32`, …).
    pub fn name(self) -> &'static str {
        match self {
            DType::U8 => "u8",
            DType::I8 => "i8",
            DType::U16 => "u16",
            DType::I16 => "i16",
            DType::U32 => "u32",
            DType::I32 => "i32",
            DType::U64 => "u64",
            DType::I64 => "i64",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// Parses a short name (`u8`, `i16`, `f32`, …) or a common long one (`uint8`, `float`, `double`).
    pub fn parse(s: &str) -> Option<DType> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "u8" | "uint8" | "uchar" | "ubyte" => DType::U8,
            "i8" | "int8" | "char" | "byte" => DType::I8,
            "u16" | "uint16" | "ushort" => DType::U16,
            "i16" | "int16" | "short" => DType::I16,
            "u32" | "uint32" | "uint" => DType::U32,
            "i32" | "int32" | "int" => DType::I32,
            "u64" | "uint64" => DType::U64,
            "i64" | "int64" => DType::I64,
            "f32" | "float32" | "float" => DType::F32,
            "f64" | "float64" | "double" => DType::F64,
            _ => return None,
        })
    }
}

/// Byte order of multi-byte samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Endian {
    /// Least significant byte first (x86, ARM).
    #[default]
    Little,
    /// Most significant byte first (legacy VTK binary, some NRRD files).
    Big,
}

impl Endian {
    /// Parses `little`/`le` or `big`/`be`.
    pub fn parse(s: &str) -> Option<Endian> {
        match s.trim().to_ascii_lowercase().as_str() {
            "little" | "le" => Some(Endian::Little),
            "big" | "be" => Some(Endian::Big),
            _ => None,
        }
    }
}

macro_rules! decode_as {
    ($bytes:expr, $out:expr, $t:ty, $endian:expr) => {{
        const N: usize = std::mem::size_of::<$t>();
        for (chunk, o) in $bytes.chunks_exact(N).zip($out.iter_mut()) {
            let mut a = [0u8; N];
            a.copy_from_slice(chunk);
            *o = match $endian {
                Endian::Little => <$t>::from_le_bytes(a),
                Endian::Big => <$t>::from_be_bytes(a),
            } as f32;
        }
    }};
}

/// Decodes `bytes` (exactly `n × dtype.size()` long) into `f32` samples.
///
/// # Panics
/// Panics if `bytes.len()` is not a multiple of the sample size; callers check sizes first
/// and report mismatches as [`VolumeError::SizeMismatch`].
pub fn decode(bytes: &[u8], dtype: DType, endian: Endian) -> Vec<f32> {
    assert_eq!(
        bytes.len() % dtype.size(),
        0,
        "byte count not a multiple of the sample size"
    );
    let n = bytes.len() / dtype.size();
    let mut out = vec![0f32; n];
    match dtype {
        DType::U8 => out.iter_mut().zip(bytes).for_each(|(o, &b)| *o = b as f32),
        DType::I8 => out.iter_mut().zip(bytes).for_each(|(o, &b)| *o = b as i8 as f32),
        DType::U16 => decode_as!(bytes, out, u16, endian),
        DType::I16 => decode_as!(bytes, out, i16, endian),
        DType::U32 => decode_as!(bytes, out, u32, endian),
        DType::I32 => decode_as!(bytes, out, i32, endian),
        DType::U64 => decode_as!(bytes, out, u64, endian),
        DType::I64 => decode_as!(bytes, out, i64, endian),
        DType::F32 => decode_as!(bytes, out, f32, endian),
        DType::F64 => decode_as!(bytes, out, f64, endian),
    }
    out
}

/// Options that apply to every reader.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// Replace NaN and ±inf samples with this value instead of failing.
    pub nan_to: Option<f32>,
    /// The array to read from files that hold several (`.vti`, `.vtk` point, cell and FIELD
    /// data); `None` takes the active scalars, else the first one-component array.
    pub array: Option<String>,
    /// The component of a vector array; `None` takes the magnitude (ParaView's default).
    pub component: Option<usize>,
    /// Grid spacing replacing the file's (`--spacing`: a header that lost the voxel size).
    pub spacing: Option<[f32; 3]>,
}

/// Applies the non-finite policy of `opts` to freshly decoded samples of `path`.
///
/// Without `nan_to`, any non-finite sample is an error that reports how many there are.
pub fn check_finite(path: &Path, data: &mut [f32], opts: &ReadOptions) -> Result<()> {
    let mut count = 0usize;
    let mut first = usize::MAX;
    for (i, v) in data.iter_mut().enumerate() {
        if !v.is_finite() {
            if let Some(r) = opts.nan_to {
                *v = r;
            } else {
                if count == 0 {
                    first = i;
                }
                count += 1;
            }
        }
    }
    if count > 0 {
        return Err(VolumeError::NonFinite {
            path: path.to_path_buf(),
            count,
            first,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_endians() {
        let v: u16 = 0x1234;
        assert_eq!(decode(&v.to_le_bytes(), DType::U16, Endian::Little), vec![4660.0]);
        assert_eq!(decode(&v.to_be_bytes(), DType::U16, Endian::Big), vec![4660.0]);
        assert_eq!(decode(&[0xff], DType::I8, Endian::Little), vec![-1.0]);
        let f = (-2.5f64).to_be_bytes();
        assert_eq!(decode(&f, DType::F64, Endian::Big), vec![-2.5]);
    }

    #[test]
    fn non_finite_reported_or_replaced() {
        let mut d = vec![1.0, f32::NAN, 2.0, f32::INFINITY];
        let e = check_finite(Path::new("x.raw"), &mut d.clone(), &ReadOptions::default()).unwrap_err();
        assert!(e.to_string().contains("2 non-finite"), "{e}");
        assert!(e.to_string().contains("x.raw"));
        check_finite(
            Path::new("x.raw"),
            &mut d,
            &ReadOptions {
                nan_to: Some(0.0),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(d, vec![1.0, 0.0, 2.0, 0.0]);
    }
}
