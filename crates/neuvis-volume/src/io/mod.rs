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
use std::path::{Path, PathBuf};

/// The file that a file names (a `.pvd` DataSet's `file`, a detached NRRD's `data file`), by one
/// rule: a relative path, resolved from the naming file's folder, that stays in that folder or
/// below it (no absolute path, no `..`). ParaView's own writers produce such paths; the rule keeps a
/// file from elsewhere from making neuvis read, or report the size of, files outside its folder.
/// The path is checked before anything at it is touched.
pub(crate) fn named_file(naming: &Path, field: &str, name: &str) -> Result<PathBuf> {
    let rel = Path::new(name);
    let inside = !name.is_empty()
        && rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    if !inside {
        return Err(VolumeError::format(
            naming,
            format!(
                "{field}: '{name}' must be a path relative to this file's folder, without '..' \
                 (neuvis reads only files beside or below the file that names them)"
            ),
        ));
    }
    Ok(naming.parent().unwrap_or(Path::new(".")).join(rel))
}

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
/// `opts.array` applies to the formats that hold named arrays (`.vti`, `.vtk`) and
/// `opts.component` to those and to vector NRRD/NIfTI volumes; for the others they are an error
/// rather than silently ignored. A file holding several time steps (4-D NRRD/NIfTI) is an error
/// here: [`crate::open_series`] reads it as a series ([`read_volume_step`]).
pub fn read_volume(path: &Path, raw: Option<&RawSpec>, opts: &ReadOptions) -> Result<ScalarField> {
    with_spacing(read_volume_as_written(path, raw, opts)?, opts)
}

fn read_volume_as_written(path: &Path, raw: Option<&RawSpec>, opts: &ReadOptions) -> Result<ScalarField> {
    let format = if raw.is_some() {
        Some(Format::Raw)
    } else {
        Format::from_path(path)
    };
    if opts.array.is_some() && matches!(format, Some(Format::Raw | Format::Nrrd | Format::Nifti)) {
        return Err(VolumeError::format(
            path,
            "--array selects among the arrays of .vti and .vtk files; this file holds one unnamed array",
        ));
    }
    if opts.component.is_some() && matches!(format, Some(Format::Raw)) {
        return Err(VolumeError::format(
            path,
            "--component: raw files hold one scalar per voxel",
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
                        "a time series of {} steps; this command reads one volume: pick one with --step K (0 to {}) or give one of its files (e.g. {})",
                        steps.len(),
                        steps.len() - 1,
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
        None if path.is_dir() => Err(VolumeError::format(
            path,
            "is a folder; give a volume file (.vti, .pvd, .vtk, .nrrd, .nhdr, .nii, .nii.gz, or raw with --raw-dims/--raw-dtype)",
        )),
        None if !path.exists() => Err(VolumeError::format(
            path,
            "does not exist (nor is it a built-in volume: tornado, marschner-lobb, blobs, turbulence)",
        )),
        None => Err(VolumeError::format(
            path,
            "unknown volume file type (expected .vti, .pvd, .vtk, .nrrd, .nhdr, .nii, .nii.gz, or raw with --raw-dims/--raw-dtype)",
        )),
    }
}

/// The time steps one file holds, for files that can hold several (4-D NRRD with a `time` axis,
/// 4-D NIfTI): each step's time value, and whether the file states times (NRRD `axis mins`,
/// NIfTI `pixdim[4]`/`toffset`) rather than numbering the steps. `None` for a file of one volume.
pub fn file_steps(path: &Path, raw: Option<&RawSpec>) -> Result<Option<(Vec<f64>, bool)>> {
    if raw.is_some() {
        return Ok(None);
    }
    match Format::from_path(path) {
        Some(Format::Nrrd) => {
            let ax = nrrd::probe_nrrd(path)?;
            let stated = ax.times.iter().enumerate().any(|(k, t)| *t != k as f64);
            Ok(ax.time.map(|_| (ax.times.clone(), stated)))
        }
        Some(Format::Nifti) => {
            let l = nifti_io::probe_nifti(path)?;
            Ok((l.steps > 1 || l.has_time).then_some((l.times, l.has_time)))
        }
        _ => Ok(None),
    }
}

/// Reads time step `step` of a file that holds several ([`file_steps`]), with the options of
/// [`read_volume`].
pub fn read_volume_step(path: &Path, opts: &ReadOptions, step: usize) -> Result<ScalarField> {
    if Format::from_path(path) == Some(Format::Pvd) {
        // a collection's step is one of its files, read with the same options
        let steps = read_pvd(path)?;
        let e = steps.get(step).ok_or_else(|| {
            VolumeError::format(
                path,
                format!(
                    "no step {step}: the collection has {} (0 to {})",
                    steps.len(),
                    steps.len() - 1
                ),
            )
        })?;
        return read_volume(&e.path, None, opts);
    }
    if opts.array.is_some() {
        return Err(VolumeError::format(
            path,
            "--array selects among the arrays of .vti and .vtk files; this file holds one unnamed array",
        ));
    }
    let f = match Format::from_path(path) {
        Some(Format::Nrrd) => nrrd::read_nrrd_step(path, opts, Some(step))?,
        Some(Format::Nifti) => nifti_io::read_nifti_step(path, opts, Some(step))?,
        _ if step == 0 => return read_volume(path, None, opts),
        _ => return Err(VolumeError::format(path, format!("holds one volume, not step {step}"))),
    };
    with_spacing(f, opts)
}

/// Applies `opts.spacing` (the user's voxel size) to a field read from a file.
fn with_spacing(f: ScalarField, opts: &ReadOptions) -> Result<ScalarField> {
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

/// Writes a file atomically: `write` fills a temporary file in the same directory, which is
/// renamed over `path` only when it succeeded. On error no file is left behind.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    neuvis_base::write_atomic(path, write).map_err(|e| VolumeError::io(path, e))
}
