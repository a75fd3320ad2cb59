//! NIfTI-1 (`.nii`, `.nii.gz`) through the `nifti` crate.
//!
//! The voxel grid is taken as is (i fastest); `pixdim` gives the spacing and the sform/qform
//! translation the origin. Rotations in the affine are not applied: neuvis renders in index-aligned
//! world space, as ParaView does for image data.

use crate::dtype::{check_finite, decode, DType, Endian, ReadOptions};
use crate::error::{Result, VolumeError};
use crate::field::{check_dims, ScalarField};
use nifti::{NiftiHeader, NiftiObject, NiftiType, ReaderOptions};
use std::path::Path;

fn map_err(path: &Path, e: nifti::NiftiError) -> VolumeError {
    match e {
        nifti::NiftiError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => VolumeError::Truncated {
            path: path.to_path_buf(),
            msg: "file ends before the voxel data does".into(),
        },
        nifti::NiftiError::Io(io) if io.kind() == std::io::ErrorKind::NotFound => VolumeError::io(path, io),
        nifti::NiftiError::Io(io) => VolumeError::Truncated {
            path: path.to_path_buf(),
            msg: io.to_string(),
        },
        other => VolumeError::format(path, format!("not a valid NIfTI-1 file: {other}")),
    }
}

/// Reads a NIfTI-1 volume. 4-D files are accepted only when the fourth dimension is 1.
pub fn read_nifti(path: &Path, opts: &ReadOptions) -> Result<ScalarField> {
    if !path.exists() {
        return Err(VolumeError::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    // Validate the header before the crate allocates the voxel buffer.
    let hdr = NiftiHeader::from_file(path).map_err(|e| map_err(path, e))?;
    let rank = hdr.dim[0] as usize;
    if !(1..=7).contains(&rank) {
        return Err(VolumeError::format(
            path,
            format!("invalid rank dim[0] = {}", hdr.dim[0]),
        ));
    }
    let d = |a: usize| if a <= rank { hdr.dim[a] as usize } else { 1 };
    let extra: usize = (4..=7).map(d).product();
    if extra != 1 {
        return Err(VolumeError::format(
            path,
            format!("{rank}-D NIfTI with {extra} volumes; neuvis reads one 3-D volume per file (split it, e.g. with fslsplit)"),
        ));
    }
    let dims = [d(1), d(2), d(3)];
    let what = path.display().to_string();
    let n = check_dims(dims, &what)?;
    let dtype = match hdr.data_type().map_err(|e| map_err(path, e))? {
        NiftiType::Uint8 => DType::U8,
        NiftiType::Int8 => DType::I8,
        NiftiType::Uint16 => DType::U16,
        NiftiType::Int16 => DType::I16,
        NiftiType::Uint32 => DType::U32,
        NiftiType::Int32 => DType::I32,
        NiftiType::Uint64 => DType::U64,
        NiftiType::Int64 => DType::I64,
        NiftiType::Float32 => DType::F32,
        NiftiType::Float64 => DType::F64,
        other => {
            return Err(VolumeError::format(
                path,
                format!("unsupported NIfTI data type {other:?}"),
            ))
        }
    };
    // the voxels a header claims must fit in the file: after `vox_offset` in a .nii, within
    // DEFLATE's largest expansion (1032:1) of a .nii.gz
    let need = (n as u64).saturating_mul(dtype.size() as u64);
    let file_len = std::fs::metadata(path).map_err(|e| VolumeError::io(path, e))?.len();
    let gz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let room = if gz {
        file_len.saturating_mul(1032)
    } else {
        file_len.saturating_sub(hdr.vox_offset.max(0.0) as u64)
    };
    if need > room {
        return Err(VolumeError::SizeMismatch {
            path: path.to_path_buf(),
            expected: need,
            actual: room,
            detail: format!(
                "{}x{}x{} {} claimed by the header (fields dim and datatype){}",
                dims[0],
                dims[1],
                dims[2],
                dtype.name(),
                if gz {
                    ", more than the compressed file can hold"
                } else {
                    ""
                }
            ),
        });
    }
    let obj = ReaderOptions::new().read_file(path).map_err(|e| map_err(path, e))?;
    let header = obj.header().clone();
    let raw = obj.into_volume().into_raw_data();
    if raw.len() != n * dtype.size() {
        return Err(VolumeError::SizeMismatch {
            path: path.to_path_buf(),
            expected: (n * dtype.size()) as u64,
            actual: raw.len() as u64,
            detail: format!("{}x{}x{} {}", dims[0], dims[1], dims[2], dtype.name()),
        });
    }
    let endian = match header.endianness {
        nifti::Endianness::Little => Endian::Little,
        nifti::Endianness::Big => Endian::Big,
    };
    let mut data = decode(&raw, dtype, endian);
    let (slope, inter) = (header.scl_slope, header.scl_inter);
    if slope != 0.0 && slope.is_finite() && inter.is_finite() && (slope != 1.0 || inter != 0.0) {
        data.iter_mut().for_each(|v| *v = *v * slope + inter);
    }
    check_finite(path, &mut data, opts)?;
    let mut spacing = [1f32; 3];
    for (a, s) in spacing.iter_mut().enumerate() {
        let p = header.pixdim[a + 1].abs();
        if p.is_finite() && p > 0.0 {
            *s = p;
        }
    }
    let origin = if header.sform_code > 0 {
        [header.srow_x[3], header.srow_y[3], header.srow_z[3]]
    } else if header.qform_code > 0 {
        [header.quatern_x, header.quatern_y, header.quatern_z]
    } else {
        [0.0; 3]
    };
    let origin = if origin.iter().all(|o| o.is_finite()) {
        origin
    } else {
        [0.0; 3]
    };
    ScalarField::new(dims, spacing, origin, data)
}
