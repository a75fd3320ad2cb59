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
    /// Opens a database: parses `data.csv` (columns in any order; `time`, `theta`, `phi` matched
    /// case-insensitively; the file column is `FILE` or the first column whose name starts with
    /// `FILE`), keeps unknown columns, and checks that every listed file exists.
    pub fn open(dir: &Path) -> Result<CinemaDb> {
        let csv_path = dir.join("data.csv");
        if !dir.is_dir() {
            return Err(CollectionError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not a Cinema database directory"),
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
    rows: Vec<(View, String)>,
    dirs: HashSet<PathBuf>,
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
        let meta = &meta;
        let name = target
            .file_name()
            .ok_or_else(|| CollectionError::Invalid(format!("{}: not a directory name", target.display())))?;
        let tmp = target.with_file_name(format!(".{}.partial", name.to_string_lossy()));
        let meta_text = serde_json::to_string_pretty(meta).map_err(|e| CollectionError::Invalid(e.to_string()))?;
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
        })
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
        self.rows.push((view, name));
    }

    /// Writes `data.csv` and moves the database into place. Returns the target path.
    pub fn finish(self) -> Result<PathBuf> {
        let mut text = String::from("time,theta,phi,FILE\n");
        for (v, f) in &self.rows {
            text.push_str(&format!(
                "{},{},{},{}\n",
                fmt_num(v.time),
                fmt_num(v.theta),
                fmt_num(v.phi),
                f
            ));
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
