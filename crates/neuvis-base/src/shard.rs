//! Shards of an embarrassingly parallel job: which part of `n` items task `I` of `N` does, where
//! its output goes, and how a merge finds every part.
//!
//! A shard is a contiguous, balanced block of the items in the order the single-process run
//! handles them (`[I·n/N, (I+1)·n/N)`: sizes differ by at most one), so concatenating the parts in
//! index order gives the single-process output, row for row. Indices are 0-based, as Slurm's
//! `--array=0-(N-1)` numbers its tasks; `--shard slurm` reads `SLURM_ARRAY_TASK_ID`,
//! `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_COUNT` (a job array `--array=1-4` is shards 0–3 of 4).
//!
//! A part of output `OUT.ext` is `OUT.part-IIII-of-NNNN.ext` beside it (`tornado.cdb` →
//! `tornado.part-0002-of-0004.cdb`), an ordinary output of its own (same output rule, atomic,
//! resumable), so tasks on different nodes share nothing but the folder.

use std::path::{Path, PathBuf};

/// Most shards of one job (Slurm's default `MaxArraySize` is 1001).
pub const MAX_SHARDS: usize = 100_000;

/// Task `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based task index, `< count`.
    pub index: usize,
    /// Number of tasks, `1..=MAX_SHARDS`.
    pub count: usize,
}

/// Why a shard specification or a set of parts is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// `--shard` text that is not `I/N` or `slurm`.
    #[error(
        "--shard '{0}': expected I/N with 0 ≤ I < N ≤ {MAX_SHARDS} (0-based, as Slurm's --array=0-(N-1)) or 'slurm'"
    )]
    Syntax(String),
    /// `--shard slurm` outside a job array.
    #[error("--shard slurm: {0}")]
    Slurm(String),
    /// Parts missing, duplicated or of different jobs.
    #[error("{0}")]
    Parts(String),
}

impl Shard {
    /// The whole job in one task.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` (0-based) or `slurm` (from the job-array environment).
    pub fn parse(s: &str) -> Result<Shard, ShardError> {
        if s.trim().eq_ignore_ascii_case("slurm") {
            return Shard::from_slurm(&|k| std::env::var(k).ok());
        }
        let bad = || ShardError::Syntax(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let i: usize = i.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || n > MAX_SHARDS || i >= n {
            return Err(bad());
        }
        Ok(Shard { index: i, count: n })
    }

    /// The shard of a Slurm job-array task, from the variables `env` gives: index =
    /// `SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN`, count = `SLURM_ARRAY_TASK_COUNT`; the array
    /// must be a contiguous range (`--array=0-3`, not `--array=1,5,9` or a `:step`).
    pub fn from_slurm(env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let get = |k: &str| -> Result<usize, ShardError> {
            let v = env(k).ok_or_else(|| {
                ShardError::Slurm(format!(
                    "{k} is not set: run inside a Slurm job array (sbatch --array=0-N) or give --shard I/N"
                ))
            })?;
            v.trim()
                .parse()
                .map_err(|_| ShardError::Slurm(format!("{k}='{v}' is not a task number")))
        };
        let (id, min, count) = (
            get("SLURM_ARRAY_TASK_ID")?,
            get("SLURM_ARRAY_TASK_MIN")?,
            get("SLURM_ARRAY_TASK_COUNT")?,
        );
        if let Ok(max) = get("SLURM_ARRAY_TASK_MAX") {
            if max.checked_sub(min).and_then(|d| d.checked_add(1)) != Some(count) {
                return Err(ShardError::Slurm(format!(
                    "the array {min}-{max} has {count} tasks: shards need a contiguous --array=A-B without steps or lists"
                )));
            }
        }
        if id < min || id - min >= count || count > MAX_SHARDS {
            return Err(ShardError::Slurm(format!(
                "task {id} is outside the array {min}..{min}+{count}"
            )));
        }
        Ok(Shard { index: id - min, count })
    }

    /// Whether this is the whole job.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// The items `[start, end)` of `n` this shard does: contiguous and balanced (sizes differ by
    /// at most one). Some shards are empty when `n < count`.
    pub fn range(&self, n: usize) -> std::ops::Range<usize> {
        let at = |i: usize| ((i as u128 * n as u128) / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }

    /// `IIII-of-NNNN`, the tag in a part's name (at least four digits each).
    pub fn tag(&self) -> String {
        format!("{:04}-of-{:04}", self.index, self.count)
    }

    /// The part of `output` this shard writes: `OUT.part-IIII-of-NNNN.ext` beside `output`
    /// (`OUT.part-…` when `output` has no extension). The whole job writes `output` itself.
    pub fn part_path(&self, output: &Path) -> PathBuf {
        if self.is_whole() {
            return output.to_path_buf();
        }
        part_path(output, &self.tag())
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn part_path(output: &Path, tag: &str) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    output.with_file_name(format!("{stem}.part-{tag}{ext}"))
}

/// The parts of `output` found beside it, in index order, checked: all of one job (one `N`),
/// none missing. The error names the missing indices (or the differing counts) and the pattern
/// searched, so a failed task of a job array is reported, not merged around.
pub fn find_parts(output: &Path) -> Result<Vec<(Shard, PathBuf)>, ShardError> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let probe = part_path(output, "\u{0}");
    let probe = probe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (pre, post) = probe.split_once('\u{0}').unwrap_or((&probe, ""));
    let pattern = format!("{pre}IIII-of-NNNN{post}");
    let rd = std::fs::read_dir(&dir)
        .map_err(|e| ShardError::Parts(format!("{}: cannot list the folder: {e}", dir.display())))?;
    let mut found: Vec<(Shard, PathBuf)> = Vec::new();
    for ent in rd.flatten() {
        let name = ent.file_name().to_string_lossy().into_owned();
        let Some(mid) = name.strip_prefix(pre).and_then(|r| r.strip_suffix(post)) else {
            continue;
        };
        let Some((i, n)) = mid.split_once("-of-") else { continue };
        if let (Ok(i), Ok(n)) = (i.parse::<usize>(), n.parse::<usize>()) {
            if n > 0 && i < n && n <= MAX_SHARDS {
                found.push((Shard { index: i, count: n }, ent.path()));
            }
        }
    }
    if found.is_empty() {
        return Err(ShardError::Parts(format!(
            "no parts of {} found (looked for {} in {})",
            output.display(),
            pattern,
            dir.display()
        )));
    }
    found.sort_by_key(|(s, _)| (s.count, s.index));
    let mut counts: Vec<usize> = found.iter().map(|(s, _)| s.count).collect();
    counts.dedup();
    if counts.len() > 1 {
        return Err(ShardError::Parts(format!(
            "the parts of {} come from jobs of {} tasks: remove the stale ones ({})",
            output.display(),
            counts.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" and "),
            found
                .iter()
                .map(|(_, p)| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let n = counts[0];
    let have: std::collections::HashSet<usize> = found.iter().map(|(s, _)| s.index).collect();
    let missing: Vec<usize> = (0..n).filter(|i| !have.contains(i)).collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing
            .iter()
            .take(10)
            .map(|&i| {
                part_path(output, &Shard { index: i, count: n }.tag())
                    .display()
                    .to_string()
            })
            .collect();
        return Err(ShardError::Parts(
            format!(
                "{} of {n} parts of {} are missing (task{} {}{}): rerun {} before merging",
                missing.len(),
                output.display(),
                if missing.len() == 1 { "" } else { "s" },
                missing
                    .iter()
                    .take(10)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                if missing.len() > 10 { ", …" } else { "" },
                if missing.len() == 1 { "it" } else { "them" },
            ) + &format!(" [{}]", names.join(", ")),
        ));
    }
    Ok(found)
}

/// Concatenates the parts of a table (a CSV with a header line: `eval --csv` with `--shard`) into
/// `output`: the header once, then every part's rows in index order, which is the single-process
/// table byte for byte. Every part's first line must be `header` (the table neuvis writes), so a
/// foreign file that happens to match the part names is neither merged nor, with `remove_parts`,
/// deleted; a missing part is an error naming it and nothing is written. `remove_parts` deletes the
/// parts after the table was written. Returns (parts, rows).
pub fn merge_text_parts(
    output: &Path,
    header: &'static str,
    overwrite: bool,
    remove_parts: bool,
) -> Result<(usize, usize), ShardError> {
    let parts = find_parts(output)?;
    let inputs: Vec<&Path> = parts.iter().map(|(_, p)| p.as_path()).collect();
    let kind = crate::fs::OutputKind::FileWithMark(header.as_bytes(), "a table neuvis wrote (its header row)");
    crate::fs::check_output(output, kind, overwrite, &inputs).map_err(|e| ShardError::Parts(e.to_string()))?;
    let mut text = format!("{header}\n");
    let mut rows = 0usize;
    for (_, p) in &parts {
        let bytes =
            crate::fs::read_regular(p, 1 << 32).map_err(|e| ShardError::Parts(format!("{}: {e}", p.display())))?;
        let t = String::from_utf8(bytes)
            .map_err(|_| ShardError::Parts(format!("{}: not a text table (not UTF-8)", p.display())))?;
        let (head, body) = t.split_once('\n').unwrap_or((&t, ""));
        if head != header {
            return Err(ShardError::Parts(format!(
                "{}: not a part of this table (its first line is not `{header}`)",
                p.display()
            )));
        }
        rows += body.lines().count();
        text.push_str(body);
    }
    crate::fs::write_atomic(output, |w| std::io::Write::write_all(w, text.as_bytes()))
        .map_err(|e| ShardError::Parts(format!("{}: {e}", output.display())))?;
    if remove_parts {
        for (_, p) in &parts {
            std::fs::remove_file(p).map_err(|e| ShardError::Parts(format!("{}: {e}", p.display())))?;
        }
    }
    Ok((parts.len(), rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_items_once_and_balance() {
        for n in [0usize, 1, 5, 7, 800, 38_400] {
            for count in [1usize, 2, 3, 4, 7, 64] {
                let mut next = 0;
                let mut sizes = Vec::new();
                for index in 0..count {
                    let r = Shard { index, count }.range(n);
                    assert_eq!(r.start, next, "n={n} count={count}");
                    next = r.end;
                    sizes.push(r.len());
                }
                assert_eq!(next, n);
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "n={n} count={count}: {sizes:?}");
            }
        }
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", "1/200000"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slurm_environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let s = Shard::from_slurm(&env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]))
        .unwrap();
        assert_eq!(s, Shard { index: 2, count: 4 });
        // --array=0-8:2 has 5 tasks but spans 9
        let e = Shard::from_slurm(&env(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "8"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("contiguous"), "{e}");
        let e = Shard::from_slurm(&env(&[])).unwrap_err();
        assert!(e.to_string().contains("SLURM_ARRAY_TASK_ID"), "{e}");
    }

    #[test]
    fn part_names_and_discovery() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("tornado.cdb");
        let s = Shard { index: 2, count: 4 };
        assert_eq!(s.part_path(&out), d.path().join("tornado.part-0002-of-0004.cdb"));
        assert_eq!(Shard::WHOLE.part_path(&out), out);
        assert_eq!(
            Shard { index: 0, count: 2 }.part_path(&d.path().join("scores")),
            d.path().join("scores.part-0000-of-0002")
        );
        for i in [0, 1, 3] {
            std::fs::create_dir(Shard { index: i, count: 4 }.part_path(&out)).unwrap();
        }
        let e = find_parts(&out).unwrap_err().to_string();
        assert!(e.contains("1 of 4 parts") && e.contains("task 2"), "{e}");
        std::fs::create_dir(s.part_path(&out)).unwrap();
        let parts = find_parts(&out).unwrap();
        assert_eq!(parts.iter().map(|(s, _)| s.index).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        std::fs::create_dir(Shard { index: 0, count: 2 }.part_path(&out)).unwrap();
        let e = find_parts(&out).unwrap_err().to_string();
        assert!(e.contains("2 and 4 tasks"), "{e}");
    }

    #[test]
    fn text_parts_concatenate_and_foreign_tables_stay() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("s.csv");
        let part = |i: usize| Shard { index: i, count: 2 }.part_path(&out);
        std::fs::write(part(0), "a,b\n1,2\n3,4\n").unwrap();
        std::fs::write(part(1), "x,y\n5,6\n").unwrap();
        let e = merge_text_parts(&out, "a,b", false, true).unwrap_err().to_string();
        assert!(e.contains("s.part-0001-of-0002.csv") && e.contains("not a part"), "{e}");
        assert!(!out.exists() && part(0).exists() && part(1).exists());
        std::fs::write(part(1), "a,b\n5,6\n").unwrap();
        assert_eq!(merge_text_parts(&out, "a,b", false, true).unwrap(), (2, 3));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "a,b\n1,2\n3,4\n5,6\n");
        assert!(!part(0).exists() && !part(1).exists());
    }
}
