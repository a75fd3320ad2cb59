//! Volume readers and writers, and the dispatcher that picks one from a file name.

mod arrays;
mod nifti_io;
mod nrrd;
mod raw;
mod vti;
mod vtk_legacy;

pub use nifti_io::read_nifti;
pub use nrrd::{read_nrrd, write_nrrd};
pub use raw::{read_raw, RawSpec};
pub use vti::{read_pvd, read_vti, PvdEntry};
pub use vtk_legacy::read_vtk_legacy;

use crate::dtype::ReadOptions;
use crate::error::{Result, VolumeError};
use crate::field::ScalarField;
use std::path::Path;

/// File formats neuvis reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Headerless raw samples (needs a [`RawSpec`]).
    Raw,
    /// NRRD, attached (`.nrrd`) or detached (`.nhdr`).
    Nrrd,
    /// NIfTI-1 (`.nii`, `.nii.gz`).
    Nifti,
    /// VTK legacy (`.vtk`) structured points.
    VtkLegacy,
    /// VTK XML ImageData (`.vti`).
    Vti,
    /// A ParaView data collection (`.pvd`): a time series of `.vti` files.
    Pvd,
}

impl Format {
    /// Guesses the format from the file name; `None` when the extension is not known.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".nrrd") || name.ends_with(".nhdr") {
            Some(Format::Nrrd)
        } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
            Some(Format::Nifti)
        } else if name.ends_with(".vtk") {
            Some(Format::VtkLegacy)
        } else if name.ends_with(".vti") {
            Some(Format::Vti)
        } else if name.ends_with(".pvd") {
            Some(Format::Pvd)
        } else if name.ends_with(".raw") || name.ends_with(".bin") || name.ends_with(".dat") {
            Some(Format::Raw)
        } else {
            None
        }
    }
}

/// Reads one volume file. `raw` must be given for headerless data; when it is given, the file is
/// read as raw whatever its extension.
///
/// `opts.array` and `opts.component` apply to the formats that hold named arrays (`.vti`, `.vtk`);
/// for the others they are an error rather than silently ignored.
pub fn read_volume(path: &Path, raw: Option<&RawSpec>, opts: &ReadOptions) -> Result<ScalarField> {
    let f = read_volume_as_written(path, raw, opts)?;
    match opts.spacing {
        Some(s) if s != f.spacing() => {
            if !s.iter().all(|x| x.is_finite() && *x > 0.0) {
                return Err(VolumeError::Invalid(format!(
                    "spacing {s:?} must be positive and finite"
                )));
            }
            let (dims, origin) = (f.dims(), f.origin());
            ScalarField::new(dims, s, origin, f.into_data())
        }
        _ => Ok(f),
    }
}

fn read_volume_as_written(path: &Path, raw: Option<&RawSpec>, opts: &ReadOptions) -> Result<ScalarField> {
    let format = if raw.is_some() {
        Some(Format::Raw)
    } else {
        Format::from_path(path)
    };
    if (opts.array.is_some() || opts.component.is_some())
        && matches!(format, Some(Format::Raw | Format::Nrrd | Format::Nifti))
    {
        return Err(VolumeError::format(
            path,
            "--array/--component select among the arrays of .vti and .vtk files; this file holds one unnamed array",
        ));
    }
    if let Some(spec) = raw {
        return read_raw(path, spec, opts);
    }
    match format {
        Some(Format::Nrrd) => read_nrrd(path, opts),
        Some(Format::Nifti) => read_nifti(path, opts),
        Some(Format::VtkLegacy) => read_vtk_legacy(path, opts),
        Some(Format::Vti) => read_vti(path, opts),
        Some(Format::Pvd) => {
            let steps = read_pvd(path)?;
            match steps.as_slice() {
                [one] => read_volume(&one.path, None, opts),
                [first, ..] => Err(VolumeError::format(
                    path,
                    format!(
                        "a time series of {} steps; this command reads one volume: give one of its files (e.g. {})",
                        steps.len(),
                        first.path.display()
                    ),
                )),
                [] => Err(VolumeError::format(path, "the collection lists no DataSet")),
            }
        }
        Some(Format::Raw) => Err(VolumeError::format(
            path,
            "raw data needs its layout: give --raw-dims NXxNYxNZ and --raw-dtype (u8, i8, u16, i16, u32, f32, f64)",
        )),
        None => Err(VolumeError::format(
            path,
            "unknown volume file type (expected .vti, .pvd, .vtk, .nrrd, .nhdr, .nii, .nii.gz, or raw with --raw-dims/--raw-dtype)",
        )),
    }
}

/// Writes a file atomically: `write` fills a temporary file in the same directory, which is
/// renamed over `path` only when it succeeded. On error no file is left behind.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    neuvis_base::write_atomic(path, write).map_err(|e| VolumeError::io(path, e))
}
