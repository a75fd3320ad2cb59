//! Atomic file writes.

use std::io::Write;
use std::path::Path;

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
    builder.prefix(".neuvis-tmp");
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
