//! Cinema spec D databases: a directory `NAME.cdb/` with `data.csv` (one row per image, columns
//! for the parameters and a `FILE` column with the image path relative to the directory) and the
//! images. neuvis also writes `meta.json` with how the images were made.

use crate::error::{CollectionError, Result};
use crate::grid::View;
use neuvis_base::MaskedImage;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One row of `data.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Time value.
    pub time: f64,
    /// θ in degrees.
    pub theta: f64,
    /// φ in degrees.
    pub phi: f64,
    /// Image path relative to the database directory.
    pub file: String,
    /// Other columns' values, in the order of [`CinemaDb::extra_columns`].
    pub extra: Vec<String>,
}

/// A spec D database opened for reading.
#[derive(Debug, Clone)]
pub struct CinemaDb {
    /// The database directory.
    pub dir: PathBuf,
    /// Names of the columns other than time, theta, phi and FILE, in file order.
    pub extra_columns: Vec<String>,
    /// The rows.
    pub entries: Vec<Entry>,
    /// Contents of `meta.json`, if present.
    pub meta: Option<serde_json::Value>,
}

/// Formats an angle for a file name: `45` → `045`, `22.5` → `022p5`.
fn angle_tag(a: f64) -> String {
    if (a - a.round()).abs() < 1e-9 {
        format!("{:03}", a.round() as i64)
    } else {
        format!("{:07.3}", a).trim_end_matches('0').replace('.', "p")
    }
}

/// The relative image path neuvis uses for a view: `t0003/th045_ph090.png`.
pub fn image_name(v: &View) -> String {
    format!("t{:04}/th{}_ph{}.png", v.step, angle_tag(v.theta), angle_tag(v.phi))
}

pub use neuvis_base::fmt_num;

impl CinemaDb {
    /// The step number of each time value, read from the image folders neuvis names by step
    /// (`t0024/…` → 24): `(time, step)` sorted by time, or `None` when some image is not in a
    /// `tNNNN/` folder or one time value spans several folders. Decoders name their folders with
    /// it, so a decoded `t0024/` holds the same views as the ground truth's.
    pub fn time_steps(&self) -> Option<Vec<(f64, usize)>> {
        let mut map: Vec<(f64, usize)> = Vec::new();
        for e in &self.entries {
            let (dir, _) = e.file.split_once('/')?;
            let digits = dir.strip_prefix('t')?;
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let step: usize = digits.parse().ok()?;
            match map.iter().find(|(t, _)| *t == e.time) {
                Some(&(_, s)) if s != step => return None,
                Some(_) => {}
                None => map.push((e.time, step)),
            }
        }
        map.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some(map)
    }

    /// Opens a database: parses `data.csv` (columns in any order; `time`, `theta`, `phi` matched
    /// case-insensitively; the file column is `FILE` or the first column whose name starts with
    /// `FILE`), keeps unknown columns, and checks that every listed file exists.
    pub fn open(dir: &Path) -> Result<CinemaDb> {
        let csv_path = dir.join("data.csv");
        if !dir.is_dir() {
            let (kind, why) = if dir.exists() {
                (
                    std::io::ErrorKind::InvalidInput,
                    "is a file, not a Cinema database (a folder with data.csv)",
                )
            } else {
                (std::io::ErrorKind::NotFound, "does not exist")
            };
            return Err(CollectionError::io(dir, std::io::Error::new(kind, why)));
        }
        if !csv_path.is_file() {
            return Err(CollectionError::io(
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "is not a Cinema database: it has no data.csv",
                ),
            ));
        }
        let fmt = |m: String| CollectionError::Format {
            path: csv_path.clone(),
            msg: m,
        };
        let mut rd = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_path(&csv_path)
            .map_err(|e| match e.into_kind() {
                csv::ErrorKind::Io(io) => CollectionError::io(&csv_path, io),
                k => fmt(format!("{k:?}")),
            })?;
        let headers: Vec<String> = rd
            .headers()
            .map_err(|e| fmt(e.to_string()))?
            .iter()
            .map(String::from)
            .collect();
        let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let file_col = headers
            .iter()
            .position(|h| h == "FILE")
            .or_else(|| headers.iter().position(|h| h.starts_with("FILE")))
            .ok_or_else(|| fmt(format!("no FILE column (columns: {})", headers.join(","))))?;
        let tcol = find("time");
        let (thcol, phcol) = match (find("theta"), find("phi")) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                return Err(fmt(format!(
                    "needs 'theta' and 'phi' columns (columns: {})",
                    headers.join(",")
                )))
            }
        };
        let known = [Some(file_col), tcol, Some(thcol), Some(phcol)];
        let extra_idx: Vec<usize> = (0..headers.len()).filter(|i| !known.contains(&Some(*i))).collect();
        let mut entries = Vec::new();
        for (row_no, rec) in rd.records().enumerate() {
            let rec = rec.map_err(|e| fmt(e.to_string()))?;
            let line = row_no + 2;
            let num = |i: usize, what: &str| -> Result<f64> {
                let s = rec.get(i).unwrap_or("");
                s.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| fmt(format!("line {line}: {what} '{s}' is not a number")))
            };
            entries.push(Entry {
                time: match tcol {
                    Some(c) => num(c, "time")?,
                    None => 0.0,
                },
                theta: num(thcol, "theta")?,
                phi: num(phcol, "phi")?,
                file: rec.get(file_col).unwrap_or("").to_string(),
                extra: extra_idx
                    .iter()
                    .map(|&i| rec.get(i).unwrap_or("").to_string())
                    .collect(),
            });
        }
        if entries.is_empty() {
            return Err(fmt("lists no images".into()));
        }
        let missing: Vec<String> = entries
            .iter()
            .filter(|e| !dir.join(&e.file).is_file())
            .map(|e| e.file.clone())
            .collect();
        if !missing.is_empty() {
            return Err(CollectionError::MissingFiles {
                db: dir.to_path_buf(),
                missing,
            });
        }
        let meta_path = dir.join("meta.json");
        let meta = if meta_path.is_file() {
            let t = std::fs::read_to_string(&meta_path).map_err(|e| CollectionError::io(&meta_path, e))?;
            Some(serde_json::from_str(&t).map_err(|e| CollectionError::Format {
                path: meta_path.clone(),
                msg: format!("invalid JSON: {e}"),
            })?)
        } else {
            None
        };
        Ok(CinemaDb {
            dir: dir.to_path_buf(),
            extra_columns: extra_idx.iter().map(|&i| headers[i].clone()).collect(),
            entries,
            meta,
        })
    }

    /// Loads the image of row `i`.
    ///
    /// # Panics
    /// Panics if `i` is out of range.
    pub fn load(&self, i: usize) -> Result<MaskedImage> {
        Ok(MaskedImage::load_png(&self.dir.join(&self.entries[i].file))?)
    }

    /// The width and height of row `i`'s image, from its file header (no pixels decoded).
    ///
    /// # Panics
    /// Panics if `i` is out of range.
    pub fn dimensions(&self, i: usize) -> Result<(usize, usize)> {
        Ok(MaskedImage::png_dimensions(&self.dir.join(&self.entries[i].file))?)
    }
}

/// Writes a database into a temporary sibling directory and renames it into place at the end,
/// so an interrupted run never leaves a database that looks complete.
///
/// The temporary directory is `.NAME.partial` beside the target; with `resume`, a previous run's
/// images there are kept (they were each written atomically) when its `meta.json` matches.
#[derive(Debug)]
pub struct DbWriter {
    target: PathBuf,
    tmp: PathBuf,
    overwrite: bool,
    /// `data.csv` lines after the header.
    rows: Vec<String>,
    dirs: HashSet<PathBuf>,
    /// Rows a part must hold (its shard's block), checked by `finish`.
    part_rows: Option<usize>,
}

/// Removes the temporary files [`crate::write_atomic`] leaves when a process dies mid-write
/// (`.neuvis-tmp…`, regular files only) from `dir` and its sub-folders: only ever called on a
/// partial folder whose `meta.json` shows neuvis made it.
fn remove_stale_temporaries(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| CollectionError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| CollectionError::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| CollectionError::io(&path, e))?;
        if kind.is_dir() {
            remove_stale_temporaries(&path)?;
        } else if kind.is_file()
            && entry
                .file_name()
                .to_string_lossy()
                .starts_with(neuvis_base::fs::TEMP_PREFIX)
        {
            std::fs::remove_file(&path).map_err(|e| CollectionError::io(&path, e))?;
        }
    }
    Ok(())
}

/// The hidden folder `.NAME.partial` beside `target` where [`DbWriter`] writes `target` until it
/// is complete (and where an interrupted or failed run leaves what it wrote, for `--resume`).
pub fn partial_path(target: &Path) -> Option<PathBuf> {
    let name = target.file_name()?;
    Some(target.with_file_name(format!(".{}.partial", name.to_string_lossy())))
}

/// Where a part of a sharded database says which part it is.
const SHARD_FILE: &str = "shard.json";

/// The `data.csv` header neuvis writes.
const CSV_HEADER: &str = "time,theta,phi,FILE\n";

fn csv_line(v: &View, file: &str) -> String {
    format!("{},{},{},{}\n", fmt_num(v.time), fmt_num(v.theta), fmt_num(v.phi), file)
}

impl DbWriter {
    /// Starts writing `target`. Fails if `target` exists (unless `overwrite`) or if a partial run
    /// exists and `resume` is not set, or its settings (`meta`) differ.
    pub fn create(target: &Path, meta: &serde_json::Value, resume: bool, overwrite: bool) -> Result<DbWriter> {
        // the one output rule: an existing target is replaced only with `overwrite` and only if
        // neuvis wrote it; never `/`, the working directory or its parents; the parent must exist
        neuvis_base::check_output(target, neuvis_base::OutputKind::NeuvisFolder, overwrite, &[])?;
        let mut meta = meta.clone();
        if let Some(obj) = meta.as_object_mut() {
            obj.entry("generator")
                .or_insert_with(|| serde_json::json!(format!("neuvis {}", env!("CARGO_PKG_VERSION"))));
        }
        let meta_text = serde_json::to_string_pretty(&meta).map_err(|e| CollectionError::Invalid(e.to_string()))?;
        DbWriter::create_with_text(target, &meta_text, resume, overwrite)
    }

    /// [`DbWriter::create`] with `meta.json`'s text as given (the merge copies the parts' text, so
    /// no number is reformatted).
    fn create_with_text(target: &Path, meta_text: &str, resume: bool, overwrite: bool) -> Result<DbWriter> {
        neuvis_base::check_output(target, neuvis_base::OutputKind::NeuvisFolder, overwrite, &[])?;
        let tmp = partial_path(target)
            .ok_or_else(|| CollectionError::Invalid(format!("{}: not a directory name", target.display())))?;
        if tmp.exists() {
            if !resume {
                return Err(CollectionError::io(
                    &tmp,
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "an interrupted run left this; pass --resume to continue it or delete it",
                    ),
                ));
            }
            let old = std::fs::read_to_string(tmp.join("meta.json")).unwrap_or_default();
            if old != meta_text {
                return Err(CollectionError::Format {
                    path: tmp.join("meta.json"),
                    msg: "the interrupted run used different settings; delete it or repeat its settings".into(),
                });
            }
            // a run killed while writing an image left its temporary file (`.neuvis-tmp…`, never
            // renamed into place); neuvis made it inside its own partial folder, so it goes
            remove_stale_temporaries(&tmp)?;
        } else {
            std::fs::create_dir_all(&tmp).map_err(|e| CollectionError::io(&tmp, e))?;
            crate::write_atomic(&tmp.join("meta.json"), |f| {
                std::io::Write::write_all(f, meta_text.as_bytes())
            })?;
        }
        Ok(DbWriter {
            target: target.to_path_buf(),
            tmp,
            overwrite,
            rows: Vec::new(),
            dirs: HashSet::new(),
            part_rows: None,
        })
    }

    /// Starts writing shard `shard`'s part of the database `target` (see
    /// [`neuvis_base::shard`]): rows `rows` of the `total` rows the single-process run writes go
    /// to `target`'s part path, whose `meta.json` is the single-process one and whose `shard.json`
    /// (index, count, first row, rows, total rows) [`merge_parts`] checks. The whole job
    /// ([`neuvis_base::Shard::WHOLE`]) writes `target` as [`DbWriter::create`] does.
    pub fn create_part(
        target: &Path,
        meta: &serde_json::Value,
        shard: neuvis_base::Shard,
        rows: std::ops::Range<usize>,
        total: usize,
        resume: bool,
        overwrite: bool,
    ) -> Result<DbWriter> {
        if shard.is_whole() {
            return DbWriter::create(target, meta, resume, overwrite);
        }
        let info = serde_json::json!({
            "index": shard.index, "count": shard.count,
            "first_row": rows.start, "rows": rows.len(), "total_rows": total,
        });
        let mut w = DbWriter::create(&shard.part_path(target), meta, resume, overwrite)?;
        crate::write_atomic(&w.tmp.join(SHARD_FILE), |f| {
            std::io::Write::write_all(f, info.to_string().as_bytes())
        })?;
        w.part_rows = Some(rows.len());
        Ok(w)
    }

    /// The hidden folder the images are written into (`.NAME.partial` beside the target), renamed
    /// into place by [`DbWriter::finish`]; an interrupted run leaves it for `--resume`.
    pub fn partial_dir(&self) -> &Path {
        &self.tmp
    }

    /// Whether the image for `view` is already present (from a resumed run).
    pub fn has(&self, view: &View) -> bool {
        self.tmp.join(image_name(view)).is_file()
    }

    /// Whether the image for `view` is present, decodes, and is `width × height`: what a resumed
    /// run may keep (an image cut short by a crash, or of another size, is rendered again).
    pub fn has_valid(&self, view: &View, width: usize, height: usize) -> bool {
        let p = self.tmp.join(image_name(view));
        p.is_file() && MaskedImage::load_png(&p).is_ok_and(|im| (im.width(), im.height()) == (width, height))
    }

    /// Creates the sub-directories for `views` (call before writing from several threads).
    pub fn prepare(&mut self, views: &[View]) -> Result<()> {
        for v in views {
            let p = self.tmp.join(image_name(v));
            if let Some(parent) = p.parent() {
                if self.dirs.insert(parent.to_path_buf()) {
                    std::fs::create_dir_all(parent).map_err(|e| CollectionError::io(parent, e))?;
                }
            }
        }
        Ok(())
    }

    /// Writes the image of `view` (atomically) and returns its size in bytes. Thread-safe after
    /// [`DbWriter::prepare`].
    pub fn write(&self, view: &View, img: &MaskedImage) -> Result<u64> {
        let p = self.tmp.join(image_name(view));
        img.save_png(&p)?;
        Ok(std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0))
    }

    /// Rows recorded so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Gives up: removes the partial database this writer created (its `.NAME.partial` folder,
    /// which only neuvis writes), leaving any existing database untouched.
    pub fn abort(self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }

    /// Records a row for `data.csv`.
    pub fn push(&mut self, view: View) {
        let name = image_name(&view);
        self.rows.push(csv_line(&view, &name));
    }

    /// Writes `data.csv` and moves the database into place. Returns the target path.
    pub fn finish(self) -> Result<PathBuf> {
        if let Some(n) = self.part_rows {
            if n != self.rows.len() {
                return Err(CollectionError::Invalid(format!(
                    "{}: the part should hold {n} rows but {} were written",
                    self.target.display(),
                    self.rows.len()
                )));
            }
        }
        let mut text = String::from(CSV_HEADER);
        for line in &self.rows {
            text.push_str(line);
        }
        crate::write_atomic(&self.tmp.join("data.csv"), |w| {
            std::io::Write::write_all(w, text.as_bytes())
        })?;
        if self.target.exists() && self.overwrite {
            // checked again right before deleting: only a folder neuvis wrote goes
            neuvis_base::check_output(&self.target, neuvis_base::OutputKind::NeuvisFolder, true, &[])?;
            std::fs::remove_dir_all(&self.target).map_err(|e| CollectionError::io(&self.target, e))?;
        }
        std::fs::rename(&self.tmp, &self.target).map_err(|e| CollectionError::io(&self.target, e))?;
        Ok(self.target)
    }
}

/// What [`merge_parts`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeReport {
    /// The merged database.
    pub output: PathBuf,
    /// Parts merged.
    pub parts: usize,
    /// Images in the merged database.
    pub images: usize,
    /// Images hard-linked from the parts (the rest were copied: another file system).
    pub linked: usize,
}

/// Reads a part's `meta.json` text and its `shard.json`.
fn part_meta(dir: &Path) -> Result<(String, serde_json::Value)> {
    let p = dir.join("meta.json");
    let text = std::fs::read_to_string(&p).map_err(|e| CollectionError::io(&p, e))?;
    let sp = dir.join(SHARD_FILE);
    let st = std::fs::read_to_string(&sp).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CollectionError::Format {
            path: sp.clone(),
            msg: "missing: not a part written with --shard".into(),
        },
        _ => CollectionError::io(&sp, e),
    })?;
    let shard = serde_json::from_str(&st).map_err(|e| CollectionError::Format {
        path: sp.clone(),
        msg: format!("invalid JSON: {e}"),
    })?;
    Ok((text, shard))
}

/// Links `src` to `dst` (same file system), or copies it. Returns whether it linked.
fn link_or_copy(src: &Path, dst: &Path) -> Result<bool> {
    match std::fs::hard_link(src, dst) {
        Ok(()) => Ok(true),
        Err(_) => {
            std::fs::copy(src, dst).map_err(|e| CollectionError::io(dst, e))?;
            Ok(false)
        }
    }
}

/// Assembles the parts of a sharded run (`OUT.part-IIII-of-NNNN.cdb`, see [`DbWriter::create_part`])
/// into the database `output`: the same `meta.json`, `data.csv` and image files, byte for byte, as
/// the single-process run writes. Every part must be present and complete and all must come from one
/// job (the same settings); otherwise nothing is written and the error names the parts concerned.
/// Images are hard-linked from the parts when they share a file system (the merge then costs no
/// copy; the parts stay and can be removed with `remove_parts`), copied otherwise.
pub fn merge_parts(output: &Path, overwrite: bool, remove_parts: bool) -> Result<MergeReport> {
    let parts = neuvis_base::shard::find_parts(output).map_err(|e| CollectionError::Invalid(e.to_string()))?;
    let mut meta: Option<String> = None;
    let mut bodies = Vec::with_capacity(parts.len());
    let mut next_row = 0usize;
    let mut total = None;
    for (shard, dir) in &parts {
        if !dir.is_dir() {
            return Err(CollectionError::Invalid(format!(
                "{}: a part of a Cinema database must be a folder",
                dir.display()
            )));
        }
        let (m, sh) = part_meta(dir)?;
        let field = |k: &str| sh.get(k).and_then(|v| v.as_u64()).map(|v| v as usize);
        let fmt_err = |msg: String| CollectionError::Format {
            path: dir.join(SHARD_FILE),
            msg,
        };
        let (Some(index), Some(count), Some(first), Some(rows), Some(t)) = (
            field("index"),
            field("count"),
            field("first_row"),
            field("rows"),
            field("total_rows"),
        ) else {
            return Err(fmt_err(format!(
                "shard object {sh} lacks index/count/first_row/rows/total_rows"
            )));
        };
        if (index, count) != (shard.index, shard.count) {
            return Err(fmt_err(format!(
                "says it is part {index}/{count}, but its name says {shard}"
            )));
        }
        if *total.get_or_insert(t) != t || first != next_row {
            return Err(fmt_err(format!(
                "rows {first}..{} of {t} do not follow the previous part (expected row {next_row} of {})",
                first + rows,
                total.unwrap_or(t)
            )));
        }
        next_row += rows;
        match &meta {
            None => meta = Some(m),
            Some(first_meta) if *first_meta != m => {
                return Err(CollectionError::Format {
                    path: dir.join("meta.json"),
                    msg: format!(
                        "was made with other settings than {} (meta.json differs): the parts are of different runs",
                        parts[0].1.display()
                    ),
                })
            }
            Some(_) => {}
        }
        // a shard can be empty (more tasks than images); CinemaDb refuses empty databases
        let db = if rows == 0 {
            CinemaDb {
                dir: dir.clone(),
                extra_columns: Vec::new(),
                entries: Vec::new(),
                meta: None,
            }
        } else {
            CinemaDb::open(dir)?
        };
        if db.entries.len() != rows {
            return Err(fmt_err(format!(
                "should hold {rows} images but data.csv lists {}",
                db.entries.len()
            )));
        }
        let csv_path = dir.join("data.csv");
        let text = std::fs::read_to_string(&csv_path).map_err(|e| CollectionError::io(&csv_path, e))?;
        let body = text.strip_prefix(CSV_HEADER).ok_or_else(|| CollectionError::Format {
            path: csv_path.clone(),
            msg: "not written by neuvis (unexpected header)".into(),
        })?;
        bodies.push((dir.clone(), body.to_string(), db));
    }
    if Some(next_row) != total {
        return Err(CollectionError::Invalid(format!(
            "the parts of {} hold {next_row} of {} rows",
            output.display(),
            total.unwrap_or(0)
        )));
    }
    let meta = meta.unwrap_or_default();
    let mut w = DbWriter::create_with_text(output, &meta, false, overwrite)?;
    let mut linked = 0;
    let res = (|| -> Result<()> {
        for (dir, body, db) in &bodies {
            for e in &db.entries {
                let rel = Path::new(&e.file);
                if rel.is_absolute() || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
                    return Err(CollectionError::Format {
                        path: dir.join("data.csv"),
                        msg: format!("'{}' is not a plain relative path", e.file),
                    });
                }
                let dst = w.tmp.join(rel);
                if let Some(parent) = dst.parent() {
                    if w.dirs.insert(parent.to_path_buf()) {
                        std::fs::create_dir_all(parent).map_err(|e| CollectionError::io(parent, e))?;
                    }
                }
                if dst.exists() {
                    return Err(CollectionError::Invalid(format!(
                        "{} appears in two parts (duplicated rows)",
                        e.file
                    )));
                }
                if link_or_copy(&dir.join(rel), &dst)? {
                    linked += 1;
                }
            }
            w.rows.extend(body.lines().map(|l| format!("{l}\n")));
        }
        Ok(())
    })();
    if let Err(e) = res {
        w.abort();
        return Err(e);
    }
    let images = w.rows.len();
    let output = w.finish()?;
    if remove_parts {
        for (_, dir) in &parts {
            // only what neuvis wrote: a part folder with neuvis's meta.json
            if neuvis_base::fs::is_neuvis_folder(dir) {
                std::fs::remove_dir_all(dir).map_err(|e| CollectionError::io(dir, e))?;
            }
        }
    }
    Ok(MergeReport {
        output,
        parts: parts.len(),
        images,
        linked,
    })
}
