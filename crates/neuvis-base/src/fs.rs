//! Atomic file writes.

use std::io::Write;
use std::path::Path;

/// The name prefix of neuvis's temporary files: a file of this name that a killed process left is
/// neuvis's own, and a resumed run may remove it from its own partial output.
pub const TEMP_PREFIX: &str = ".neuvis-tmp";

/// Writes `path` atomically: `write` fills a temporary file (`.neuvis-tmp…`, mode 0644) in the same
/// directory, which is renamed over `path` only when everything succeeded; on error nothing is
/// left behind and an existing `path` is untouched.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("a.txt");
/// neuvis_base::write_atomic(&p, |w| std::io::Write::write_all(w, b"hi")).unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"hi");
/// let err = neuvis_base::write_atomic(&p, |_| Err(std::io::Error::other("no")));
/// assert!(err.is_err());
/// assert_eq!(std::fs::read(&p).unwrap(), b"hi");
/// assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
/// ```
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let tmp = builder.tempfile_in(dir)?;
    let mut w = std::io::BufWriter::new(tmp.as_file());
    write(&mut w)?;
    w.flush()?;
    drop(w);
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Reads a whole regular file of at most `max` bytes: a device (`/dev/zero`), a pipe or a folder,
/// or a larger file, is an error before anything is read.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} bytes, more than the {max} a file of this kind may have", meta.len()),
        ));
    }
    let mut v = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut std::io::Read::take(f, max + 1), &mut v)?;
    if v.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file grew while being read",
        ));
    }
    Ok(v)
}

/// Bytes free for this user on the file system holding `path` (or its nearest existing
/// ancestor), from `statvfs`; `None` where the system does not say.
pub fn free_space(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let abs = std::path::absolute(path).ok()?;
    let existing = abs.ancestors().find(|p| p.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value to be overwritten; `c` is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: statvfs reads the C string and writes one struct.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// Why an output path is refused (see [`check_output`]).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The output names one of the command's inputs.
    #[error("{}: is also an input of this command; choose another output path", .output.display())]
    IsInput {
        /// The output path as given.
        output: std::path::PathBuf,
    },
    /// The output lies inside an input folder (a Cinema database's own `data.csv`, say).
    #[error("{}: is inside the input {}; neuvis never writes into its inputs, choose an output outside it", .output.display(), .input.display())]
    InsideInput {
        /// The output path as given.
        output: std::path::PathBuf,
        /// The input folder that holds it.
        input: std::path::PathBuf,
    },
    /// The output is a folder that holds one of the inputs.
    #[error("{}: holds the input {}; choose another output path", .output.display(), .input.display())]
    HoldsInput {
        /// The output path as given.
        output: std::path::PathBuf,
        /// The input inside it.
        input: std::path::PathBuf,
    },
    /// The output is `/`, the working directory or one of its parents.
    #[error("{}: is the working directory, one of its parents or /; neuvis never replaces those", .output.display())]
    Protected {
        /// The output path as given.
        output: std::path::PathBuf,
    },
    /// The output exists and `--overwrite` was not given.
    #[error("{}: already exists; pass --overwrite to replace it", .output.display())]
    Exists {
        /// The output path as given.
        output: std::path::PathBuf,
    },
    /// The output exists but is not something this command writes, so `--overwrite` leaves it.
    #[error("{}: exists and is not {what}; --overwrite only replaces what neuvis wrote", .output.display())]
    NotOurs {
        /// The output path as given.
        output: std::path::PathBuf,
        /// What the command would replace.
        what: &'static str,
    },
    /// Creating the output folder or its `meta.json` failed.
    #[error("{}: cannot create it: {source}", .output.display())]
    Create {
        /// The output path as given.
        output: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The folder that should hold the output does not exist.
    #[error("{}: the folder {} does not exist; create it first", .output.display(), .parent.display())]
    NoParent {
        /// The output path as given.
        output: std::path::PathBuf,
        /// The missing folder.
        parent: std::path::PathBuf,
    },
}

/// What a command writes at its output path, which decides what `--overwrite` may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// A Cinema database or another folder neuvis writes with a `meta.json` whose `generator`
    /// starts with `neuvis` (its `data.csv` or other files beside it).
    NeuvisFolder,
    /// A file starting with these bytes (a format's magic: `NRVI`, …).
    FileWithMagic(&'static [u8], &'static str),
    /// A file whose first [`MARK_WINDOW`] bytes hold this mark, which neuvis writes into every
    /// such file and a file from elsewhere does not carry: a CSV table's exact header row, a
    /// comment (`comment neuvis` in a PLY header, `<!-- written by neuvis` in XML and SVG,
    /// `# written by neuvis` in a script), a `"generator": "neuvis …"` key (JSON, safetensors
    /// metadata), a PNG text chunk ([`PNG_MARK`]).
    FileWithMark(&'static [u8], &'static str),
}

/// How far into a file [`OutputKind::FileWithMark`] looks for its mark.
pub const MARK_WINDOW: usize = 8192;

/// The mark in every PNG neuvis writes: a `tEXt` chunk, keyword `Software`, text `neuvis …`
/// (chunk type and data as they lie in the file, before the image data).
pub const PNG_MARK: &[u8] = b"tEXtSoftware\0neuvis";

/// A PNG that neuvis wrote ([`PNG_MARK`]); any other PNG is left alone by `--overwrite`.
pub const PNG_OUTPUT: OutputKind =
    OutputKind::FileWithMark(PNG_MARK, "a PNG image neuvis wrote (tEXt Software: neuvis)");

/// Whether the first [`MARK_WINDOW`] bytes of the regular file `path` hold `mark`.
pub fn has_mark(path: &Path, mark: &[u8]) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = Vec::with_capacity(MARK_WINDOW);
    if std::io::Read::read_to_end(&mut std::io::Read::take(f, MARK_WINDOW as u64), &mut head).is_err() {
        return false;
    }
    !mark.is_empty() && head.windows(mark.len()).any(|w| w == mark)
}

/// `path` made absolute with `.`/`..` and symbolic links resolved as far as it exists.
fn resolved(path: &Path) -> std::path::PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) => resolved(parent).join(name),
        _ => abs,
    }
}

/// Whether `dir` is a folder neuvis wrote: it holds a `meta.json` whose `generator` starts with
/// `neuvis`.
pub fn is_neuvis_folder(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("meta.json")) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("generator")
                .and_then(|g| g.as_str())
                .map(|g| g.starts_with("neuvis"))
        })
        .unwrap_or(false)
}

/// The one rule for every output neuvis writes, checked before any work starts:
/// - an output equal to an input, a folder holding an input, or a path inside an input folder is
///   refused;
/// - `/`, the working directory and its parents are never an output;
/// - the folder that holds the output must exist (nothing is created above the output);
/// - an existing output is refused unless `overwrite`, and then replaced only if it is what
///   the command writes (`kind`): a folder neuvis wrote, a regular file with the format's magic, or
///   one carrying neuvis's mark (text formats, PNG).
///
/// ```
/// use neuvis_base::fs::{check_output, OutputKind};
/// let d = tempfile::tempdir().unwrap();
/// let input = d.path().join("v.nrrd");
/// std::fs::write(&input, b"NRRD0004\n").unwrap();
/// let csv = OutputKind::FileWithMark(b"time,psnr", "a table neuvis wrote");
/// assert!(check_output(&input, csv, true, &[&input]).is_err());
/// assert!(check_output(&d.path().join("out.csv"), csv, false, &[&input]).is_ok());
/// assert!(check_output(d.path(), OutputKind::NeuvisFolder, true, &[]).is_err());
/// ```
pub fn check_output(output: &Path, kind: OutputKind, overwrite: bool, inputs: &[&Path]) -> Result<(), OutputError> {
    let out = resolved(output);
    let owned = || output.to_path_buf();
    let cwd = std::env::current_dir().map(|c| resolved(&c)).ok();
    if out.parent().is_none() || cwd.is_some_and(|c| c.starts_with(&out)) {
        return Err(OutputError::Protected { output: owned() });
    }
    // inputs that are not files (a procedural volume's name) hold no data to protect
    for input in inputs.iter().filter(|i| i.exists()) {
        let inp = resolved(input);
        if inp == out {
            return Err(OutputError::IsInput { output: owned() });
        }
        if inp.starts_with(&out) {
            return Err(OutputError::HoldsInput {
                output: owned(),
                input: input.to_path_buf(),
            });
        }
        if inp.is_dir() && out.starts_with(&inp) {
            return Err(OutputError::InsideInput {
                output: owned(),
                input: input.to_path_buf(),
            });
        }
    }
    if let Some(parent) = out.parent() {
        if !parent.is_dir() {
            let shown = output
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(parent)
                .to_path_buf();
            return Err(OutputError::NoParent {
                output: owned(),
                parent: shown,
            });
        }
    }
    let meta = match std::fs::symlink_metadata(output) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    if !overwrite {
        return Err(OutputError::Exists { output: owned() });
    }
    let ours = match kind {
        OutputKind::NeuvisFolder => meta.is_dir() && is_neuvis_folder(output),
        OutputKind::FileWithMark(mark, _) => meta.is_file() && has_mark(output, mark),
        OutputKind::FileWithMagic(magic, _) => {
            meta.is_file() && {
                let mut head = vec![0u8; magic.len()];
                std::fs::File::open(output)
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                    .is_ok()
                    && head == magic
            }
        }
    };
    if !ours {
        let what = match kind {
            OutputKind::NeuvisFolder => "a folder neuvis wrote (meta.json with \"generator\": \"neuvis …\")",
            OutputKind::FileWithMagic(_, what) | OutputKind::FileWithMark(_, what) => what,
        };
        return Err(OutputError::NotOurs { output: owned(), what });
    }
    Ok(())
}

/// Checks the output folder `dir` against [`check_output`], then creates it empty (replacing the
/// folder neuvis wrote there before, when `overwrite`) with a `meta.json` saying neuvis wrote it
/// and what it holds (`contents`), so that a later `overwrite` recognizes it
/// ([`is_neuvis_folder`]).
///
/// ```
/// use neuvis_base::fs::{create_output_folder, is_neuvis_folder};
/// let d = tempfile::tempdir().unwrap();
/// let out = d.path().join("run");
/// create_output_folder(&out, false, &[], "a test").unwrap();
/// assert!(is_neuvis_folder(&out));
/// assert!(create_output_folder(&out, false, &[], "a test").is_err()); // exists
/// std::fs::write(out.join("x.csv"), "1").unwrap();
/// create_output_folder(&out, true, &[], "a test").unwrap(); // ours: replaced, empty again
/// assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
/// let user = d.path().join("photos");
/// std::fs::create_dir(&user).unwrap();
/// assert!(create_output_folder(&user, true, &[], "a test").is_err()); // never a user's folder
/// ```
pub fn create_output_folder(dir: &Path, overwrite: bool, inputs: &[&Path], contents: &str) -> Result<(), OutputError> {
    check_output(dir, OutputKind::NeuvisFolder, overwrite, inputs)?;
    let failed = |source| OutputError::Create {
        output: dir.to_path_buf(),
        source,
    };
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(failed)?;
    }
    std::fs::create_dir(dir).map_err(failed)?;
    let meta = serde_json::json!({
        "generator": format!("neuvis {}", env!("CARGO_PKG_VERSION")),
        "contents": contents,
    });
    write_atomic(&dir.join("meta.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, &meta).map_err(std::io::Error::from)
    })
    .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_follow_one_rule() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        let input = p.join("in.nrvi");
        std::fs::write(&input, b"NRVI....").unwrap();
        let k = OutputKind::FileWithMagic(b"NRVI", "a .nrvi model");
        // output == input, also spelled differently or through a symbolic link
        let same = p.join(".").join("in.nrvi");
        assert!(matches!(
            check_output(&same, k, true, &[&input]),
            Err(OutputError::IsInput { .. })
        ));
        std::os::unix::fs::symlink(&input, p.join("link.nrvi")).unwrap();
        assert!(matches!(
            check_output(&p.join("link.nrvi"), k, true, &[&input]),
            Err(OutputError::IsInput { .. })
        ));
        // a folder holding the input
        assert!(matches!(
            check_output(p, OutputKind::NeuvisFolder, true, &[&input]),
            Err(OutputError::HoldsInput { .. })
        ));
        // / and the working directory's ancestors
        assert!(matches!(
            check_output(Path::new("/"), OutputKind::NeuvisFolder, true, &[]),
            Err(OutputError::Protected { .. })
        ));
        let cwd = std::env::current_dir().unwrap();
        assert!(matches!(
            check_output(&cwd, OutputKind::NeuvisFolder, true, &[]),
            Err(OutputError::Protected { .. })
        ));
        assert!(matches!(
            check_output(cwd.parent().unwrap(), OutputKind::NeuvisFolder, true, &[]),
            Err(OutputError::Protected { .. })
        ));
        // missing parent folder
        assert!(matches!(
            check_output(
                &p.join("nod/x.csv"),
                OutputKind::FileWithMark(b"x", "a table"),
                false,
                &[]
            ),
            Err(OutputError::NoParent { .. })
        ));
        // existing: refused without --overwrite; with it only what neuvis writes
        let other = p.join("other.nrvi");
        std::fs::write(&other, b"not a model").unwrap();
        assert!(matches!(
            check_output(&other, k, false, &[]),
            Err(OutputError::Exists { .. })
        ));
        assert!(matches!(
            check_output(&other, k, true, &[]),
            Err(OutputError::NotOurs { .. })
        ));
        let model = p.join("m.nrvi");
        std::fs::write(&model, b"NRVI\x03\x00").unwrap();
        assert!(check_output(&model, k, true, &[&input]).is_ok());
        // folders: a foreign one is refused even with --overwrite, a neuvis one is replaceable
        let foreign = p.join("photos");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("data.csv"), "a,b\n").unwrap();
        assert!(matches!(
            check_output(&foreign, OutputKind::NeuvisFolder, true, &[]),
            Err(OutputError::NotOurs { .. })
        ));
        let db = p.join("out.cdb");
        std::fs::create_dir(&db).unwrap();
        std::fs::write(db.join("meta.json"), r#"{"generator": "neuvis 0.1.0"}"#).unwrap();
        assert!(check_output(&db, OutputKind::NeuvisFolder, true, &[]).is_ok());
        let csv = OutputKind::FileWithMark(b"time,psnr\n", "a table neuvis wrote");
        assert!(
            check_output(&db, csv, true, &[]).is_err(),
            "a folder is never a file output"
        );
    }

    #[test]
    fn text_outputs_are_replaced_only_when_they_carry_the_mark() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        let csv = OutputKind::FileWithMark(b"time,psnr\n", "a table neuvis wrote");
        let ours = p.join("scores.csv");
        std::fs::write(&ours, "time,psnr\n0,31.5\n").unwrap();
        assert!(check_output(&ours, csv, true, &[]).is_ok());
        // a user's table, notes, or a table whose header only starts like ours
        for (name, text) in [
            ("grades.csv", "name,grade\n"),
            ("notes.md", "# notes\n"),
            ("t.csv", "time,psnr_db\n"),
        ] {
            let f = p.join(name);
            std::fs::write(&f, text).unwrap();
            assert!(
                matches!(check_output(&f, csv, true, &[]), Err(OutputError::NotOurs { .. })),
                "{name}"
            );
        }
        // the mark must lie in the first MARK_WINDOW bytes
        let late = p.join("late.csv");
        std::fs::write(&late, format!("{}time,psnr\n", "x".repeat(MARK_WINDOW))).unwrap();
        assert!(check_output(&late, csv, true, &[]).is_err());
    }

    #[test]
    fn an_output_inside_an_input_folder_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("a.cdb");
        std::fs::create_dir(&db).unwrap();
        std::fs::write(db.join("data.csv"), "time,FILE\n").unwrap();
        let csv = OutputKind::FileWithMark(b"time,", "a table neuvis wrote");
        for out in [
            db.join("data.csv"),
            db.join("new.csv"),
            db.join("sub").join("..").join("x.csv"),
        ] {
            assert!(
                matches!(
                    check_output(&out, csv, true, &[&db]),
                    Err(OutputError::InsideInput { .. })
                ),
                "{}",
                out.display()
            );
        }
        // beside the input is fine
        assert!(check_output(&d.path().join("scores.csv"), csv, false, &[&db]).is_ok());
        assert!(std::fs::read_to_string(db.join("data.csv")).unwrap() == "time,FILE\n");
    }

    #[test]
    fn free_space_is_reported_for_missing_paths_too() {
        let d = tempfile::tempdir().unwrap();
        let a = free_space(d.path()).unwrap();
        let b = free_space(&d.path().join("not/yet/there")).unwrap();
        assert!(a > 0 && b > 0);
    }
}
