//! The one output rule of every command (see [`neuvis_base::fs::check_output`]), checked before any
//! work starts:
//! - an output that is also an input (or a folder holding one) is refused;
//! - `/`, the working directory and its parents are never an output;
//! - the folder that will hold the output must exist;
//! - an existing output is refused unless `--overwrite` is given, and then replaced only if it is
//!   what the command writes: a folder neuvis wrote (`meta.json` with `"generator": "neuvis …"`),
//!   a file with the format's magic (`.nrvi`, `.nvb`), or a file with neuvis's mark (PNG text
//!   chunk, CSV header row, comments in PLY/VTP/SVG/scripts, `generator` in JSON and
//!   safetensors);
//! - an output inside an input folder is refused (a collection's own `data.csv`, say).

use anyhow::Result;
pub use neuvis_base::OutputKind;
use std::path::Path;

/// A `.nrvi` model.
pub const NRVI: OutputKind = OutputKind::FileWithMagic(b"NRVI", "a .nrvi model");
/// A `.nvb` brick store.
pub const NVB: OutputKind = OutputKind::FileWithMagic(b"NVBRICK\0", "a .nvb brick store");
/// A PNG image neuvis wrote (its `tEXt` Software chunk; other PNGs are left alone).
pub const PNG: OutputKind = neuvis_base::fs::PNG_OUTPUT;

/// Checks `output` against the rule for a command reading `inputs`.
pub fn check(output: &Path, kind: OutputKind, overwrite: bool, inputs: &[&Path]) -> Result<()> {
    neuvis_base::check_output(output, kind, overwrite, inputs)?;
    Ok(())
}

/// Refuses an output file whose extension is not one of `exts` (case-insensitive): a `.jpg` must
/// not receive PNG bytes.
pub fn check_extension(output: &Path, exts: &[&str]) -> Result<()> {
    let ok = output
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)));
    if !ok {
        anyhow::bail!(
            "{}: the output must end in {}",
            output.display(),
            exts.iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(" or ")
        );
    }
    Ok(())
}

/// Refuses a folder output named like a file (`decompress -o out.png` made a folder `out.png`):
/// a collection is a folder, conventionally `NAME.cdb`.
pub fn check_folder_name(output: &Path, what: &str) -> Result<()> {
    const FILE_TYPES: &[&str] = &[
        "png",
        "jpg",
        "jpeg",
        "tif",
        "tiff",
        "exr",
        "gif",
        "bmp",
        "webp",
        "nrvi",
        "nvb",
        "csv",
        "json",
        "txt",
        "vti",
        "vtk",
        "vtp",
        "vtu",
        "pvd",
        "ply",
        "nrrd",
        "nhdr",
        "nii",
        "gz",
        "raw",
        "mp4",
        "npy",
        "npz",
        "safetensors",
    ];
    if let Some(ext) = output.extension().and_then(|e| e.to_str()) {
        if FILE_TYPES.iter().any(|x| x.eq_ignore_ascii_case(ext)) {
            anyhow::bail!(
                "{}: {what} is a folder, and this name is a .{ext} file's; name it like {}.cdb",
                output.display(),
                output.with_extension("").display()
            );
        }
    }
    Ok(())
}

/// Checks an output folder against the rule, then creates it empty with a `meta.json` saying
/// neuvis wrote it ([`neuvis_base::fs::create_output_folder`]).
pub fn create_folder(dir: &Path, overwrite: bool, inputs: &[&Path], contents: &str) -> Result<()> {
    neuvis_base::fs::create_output_folder(dir, overwrite, inputs, contents)?;
    Ok(())
}
