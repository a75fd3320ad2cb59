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

/// `len` bytes at each of the increasing offsets `at` of the voxel stream of a `.nii` or
/// (decompressed, in one pass) `.nii.gz`.
fn read_blocks(path: &Path, gz: bool, at: &[u64], len: usize) -> Result<Vec<Vec<u8>>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| VolumeError::io(path, e))?;
    let mut dec = if gz {
        let g = f.try_clone().map_err(|e| VolumeError::io(path, e))?;
        Some(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(g)))
    } else {
        None
    };
    let mut pos = 0u64;
    let mut out = Vec::with_capacity(at.len());
    for &a in at {
        let src: &mut dyn Read = match dec.as_mut() {
            Some(d) => {
                let want = a.saturating_sub(pos);
                let got = std::io::copy(&mut d.by_ref().take(want), &mut std::io::sink())
                    .map_err(|e| VolumeError::io(path, e))?;
                if got != want {
                    return Err(VolumeError::Truncated {
                        path: path.to_path_buf(),
                        msg: format!("the voxel data ends before offset {a}"),
                    });
                }
                d
            }
            None => {
                f.seek(SeekFrom::Start(a)).map_err(|e| VolumeError::io(path, e))?;
                &mut f
            }
        };
        let mut buf = Vec::with_capacity(len);
        src.take(len as u64)
            .read_to_end(&mut buf)
            .map_err(|e| VolumeError::io(path, e))?;
        if buf.len() != len {
            return Err(VolumeError::Truncated {
                path: path.to_path_buf(),
                msg: format!(
                    "the voxel data ends {} bytes into a {len}-byte volume at offset {a}",
                    buf.len()
                ),
            });
        }
        pos = a + len as u64;
        out.push(buf);
    }
    Ok(out)
}

/// NIfTI's intent code for a vector per voxel (components along dim[5]).
const INTENT_VECTOR: i16 = 1007;

/// What a NIfTI header says about the volumes a file holds.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Time steps (dim[4]).
    pub steps: usize,
    /// Components per voxel (dim[5]).
    pub components: usize,
    /// Time of each step: `toffset` + k × `pixdim[4]`, in the file's time unit (`xyzt_units`).
    pub times: Vec<f64>,
    /// Whether the header gives a time (a step spacing or a time offset).
    pub has_time: bool,
}

/// Reads and checks the header's rank and extra dimensions.
fn layout(path: &Path, hdr: &NiftiHeader) -> Result<Layout> {
    let rank = hdr.dim[0] as usize;
    if !(1..=7).contains(&rank) {
        return Err(VolumeError::format(
            path,
            format!("invalid rank dim[0] = {}", hdr.dim[0]),
        ));
    }
    let d = |a: usize| if a <= rank { hdr.dim[a] as usize } else { 1 };
    if d(6) * d(7) != 1 || (d(5) > 1 && hdr.intent_code != INTENT_VECTOR) {
        return Err(VolumeError::format(
            path,
            format!(
                "field 'dim': {rank}-D NIfTI with dim = {:?} (intent {}); neuvis reads 3-D volumes over time (dim[4]) with a vector per voxel (dim[5], intent VECTOR)",
                &hdr.dim[1..=rank],
                hdr.intent_code
            ),
        ));
    }
    let (steps, components) = (d(4).max(1), d(5).max(1));
    let dt = hdr.pixdim[4] as f64;
    let t0 = hdr.toffset as f64;
    let dt_ok = dt.is_finite() && dt > 0.0 && steps > 1;
    let times = (0..steps)
        .map(|k| (if t0.is_finite() { t0 } else { 0.0 }) + k as f64 * if dt_ok { dt } else { 1.0 })
        .collect();
    Ok(Layout {
        steps,
        components,
        times,
        has_time: dt_ok || (t0.is_finite() && t0 != 0.0),
    })
}

/// The layout of a NIfTI file from its header alone.
pub(crate) fn probe_nifti(path: &Path) -> Result<Layout> {
    let hdr = NiftiHeader::from_file(path).map_err(|e| map_err(path, e))?;
    layout(path, &hdr)
}

/// Reads a NIfTI-1 volume: a 3-D file, or a vector volume (its magnitude, or `opts.component`).
pub fn read_nifti(path: &Path, opts: &ReadOptions) -> Result<ScalarField> {
    read_nifti_step(path, opts, None)
}

/// Reads time step `step` of a 4-D NIfTI (`None`: the file must hold one step).
pub(crate) fn read_nifti_step(path: &Path, opts: &ReadOptions, step: Option<usize>) -> Result<ScalarField> {
    if !path.exists() {
        return Err(VolumeError::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    // Validate the header before the crate allocates the voxel buffer.
    let hdr = NiftiHeader::from_file(path).map_err(|e| map_err(path, e))?;
    let lay = layout(path, &hdr)?;
    let step = match step {
        None if lay.steps > 1 => {
            return Err(VolumeError::format(
                path,
                format!(
                    "a time series of {} volumes (dim[4]); this command reads one volume: pick one with --step K (render and the Python series() read it as a series)",
                    lay.steps
                ),
            ))
        }
        None => 0,
        Some(k) if k >= lay.steps => {
            return Err(VolumeError::format(path, format!("time step {k} of {} does not exist", lay.steps)))
        }
        Some(k) => k,
    };
    if let Some(c) = opts.component {
        if c >= lay.components {
            return Err(VolumeError::format(
                path,
                format!(
                    "--component {c}: the volume has {} component{} (field dim[5])",
                    lay.components,
                    if lay.components == 1 { "" } else { "s" }
                ),
            ));
        }
    }
    let rank = hdr.dim[0] as usize;
    let d = |a: usize| if a <= rank { hdr.dim[a] as usize } else { 1 };
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
    let need = (n as u64)
        .saturating_mul(dtype.size() as u64)
        .saturating_mul((lay.steps * lay.components) as u64);
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
    let scale = |data: &mut [f32], h: &NiftiHeader| {
        let (slope, inter) = (h.scl_slope, h.scl_inter);
        if slope != 0.0 && slope.is_finite() && inter.is_finite() && (slope != 1.0 || inter != 0.0) {
            data.iter_mut().for_each(|v| *v = *v * slope + inter);
        }
    };
    let endian_of = |h: &NiftiHeader| match h.endianness {
        nifti::Endianness::Little => Endian::Little,
        nifti::Endianness::Big => Endian::Big,
    };
    let (mut data, header) = if lay.steps * lay.components == 1 {
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
        let mut data = decode(&raw, dtype, endian_of(&header));
        scale(&mut data, &header);
        (data, header)
    } else {
        // several volumes: read only those of this step (x, y, z, t, component; component slowest)
        let vol = n * dtype.size();
        let comps: Vec<usize> = match opts.component {
            Some(c) => vec![c],
            None => (0..lay.components).collect(),
        };
        let at: Vec<u64> = comps
            .iter()
            .map(|&c| (hdr.vox_offset.max(0.0) as u64) + ((c * lay.steps + step) as u64) * vol as u64)
            .collect();
        let mut acc: Vec<f32> = Vec::new();
        for bytes in read_blocks(path, gz, &at, vol)? {
            let mut v = decode(&bytes, dtype, endian_of(&hdr));
            scale(&mut v, &hdr);
            if comps.len() == 1 {
                acc = v;
            } else if acc.is_empty() {
                acc = v.iter().map(|x| x * x).collect();
            } else {
                acc.iter_mut().zip(&v).for_each(|(a, x)| *a += x * x);
            }
        }
        if comps.len() > 1 {
            acc.iter_mut().for_each(|a| *a = a.sqrt());
        }
        (acc, hdr.clone())
    };
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
