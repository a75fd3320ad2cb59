//! Time series of scalar fields, loaded one step at a time.
//!
//! A collection of renders touches each time step once, and simulation time series are often larger
//! than memory, so a series hands out one field at a time instead of holding them all.

use crate::dtype::ReadOptions;
use crate::error::{Result, VolumeError};
use crate::field::ScalarField;
use crate::io::{read_volume, RawSpec};
use crate::procedural::Procedural;
use std::path::PathBuf;

/// A sequence of scalar fields with a time value each.
pub trait FieldSeries: Send + Sync {
    /// Number of time steps.
    fn len(&self) -> usize;
    /// Whether the series has no time steps.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Time value of step `i` (the step index for procedural fields).
    fn time(&self, i: usize) -> f64;
    /// Loads (or generates) step `i`.
    fn load(&self, i: usize) -> Result<ScalarField>;
    /// A short description for logs and metadata, e.g. `tornado 128x128x128`.
    fn describe(&self) -> String;
    /// What step `i` is read from: its file, or the description and the step.
    fn step_name(&self, i: usize) -> String {
        format!("{} step {i}", self.describe())
    }
}

/// Fields held in memory.
#[derive(Debug, Clone)]
pub struct TimeSeries {
    /// Time values, one per field.
    pub times: Vec<f64>,
    /// The fields.
    pub fields: Vec<ScalarField>,
}

impl FieldSeries for TimeSeries {
    fn len(&self) -> usize {
        self.fields.len()
    }
    fn time(&self, i: usize) -> f64 {
        self.times[i]
    }
    fn load(&self, i: usize) -> Result<ScalarField> {
        Ok(self.fields[i].clone())
    }
    fn describe(&self) -> String {
        format!("{} in-memory fields", self.fields.len())
    }
}

/// Volume files read on demand: one time step per file, or several for files that hold a time
/// axis (4-D NRRD/NIfTI).
#[derive(Debug, Clone)]
pub struct FileSeries {
    /// The steps in time order: a file, and which of its volumes for files that hold several.
    pub steps: Vec<(PathBuf, Option<usize>)>,
    /// Physical time of each step (`--time-values`, a `.pvd`'s `timestep`s, or the times the
    /// files state); `None` numbers the steps 0, 1, 2, …
    pub times: Option<Vec<f64>>,
    /// Layout for headerless raw files.
    pub raw: Option<RawSpec>,
    /// Reader options.
    pub opts: ReadOptions,
}

impl FieldSeries for FileSeries {
    fn len(&self) -> usize {
        self.steps.len()
    }
    fn time(&self, i: usize) -> f64 {
        self.times.as_ref().and_then(|t| t.get(i).copied()).unwrap_or(i as f64)
    }
    fn load(&self, i: usize) -> Result<ScalarField> {
        match &self.steps[i] {
            (p, None) => read_volume(p, self.raw.as_ref(), &self.opts),
            (p, Some(k)) => crate::io::read_volume_step(p, &self.opts, *k),
        }
    }
    fn step_name(&self, i: usize) -> String {
        match &self.steps[i] {
            (p, None) => p.display().to_string(),
            (p, Some(k)) => format!("{} volume {k}", p.display()),
        }
    }
    fn describe(&self) -> String {
        let mut files: Vec<&PathBuf> = self.steps.iter().map(|(p, _)| p).collect();
        files.dedup();
        match files.as_slice() {
            [one] if self.steps.len() > 1 => format!("{} ({} time steps)", one.display(), self.steps.len()),
            [one] => one.display().to_string(),
            [first, .., last] => format!("{} files {} … {}", files.len(), first.display(), last.display()),
            [] => "no files".into(),
        }
    }
}

/// A procedural field over its time steps.
#[derive(Debug, Clone)]
pub struct ProceduralSeries {
    /// Which field.
    pub field: Procedural,
    /// Grid dimensions.
    pub dims: [usize; 3],
    /// Number of time steps.
    pub steps: usize,
}

impl FieldSeries for ProceduralSeries {
    fn len(&self) -> usize {
        self.steps
    }
    fn time(&self, i: usize) -> f64 {
        i as f64
    }
    fn load(&self, i: usize) -> Result<ScalarField> {
        self.field.generate(self.dims, i as f64)
    }
    fn describe(&self) -> String {
        format!(
            "{} {}x{}x{}",
            self.field.name(),
            self.dims[0],
            self.dims[1],
            self.dims[2]
        )
    }
}

/// What [`open_series`] needs besides the names.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Grid size for procedural fields (their default when `None`).
    pub dims: Option<[usize; 3]>,
    /// Seed for seeded procedural fields (`blobs`, `turbulence`).
    pub seed: u64,
    /// Layout for raw files.
    pub raw: Option<RawSpec>,
    /// Reader options.
    pub read: ReadOptions,
    /// Physical time of each step, overriding a `.pvd`'s (`--time-values`); its length must be
    /// the number of files.
    pub times: Option<Vec<f64>>,
}

/// Compares file names as people (and ParaView's file-series reader) order them: runs of digits
/// by their value, so `t_2` comes before `t_10`; other characters as they are.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, dy) = (&x[..nx], &y[..ny]);
                // compare the values: strip leading zeros, then the longer is larger
                let tx = &dx[dx.iter().take_while(|&&c| c == b'0').count()..];
                let ty = &dy[dy.iter().take_while(|&&c| c == b'0').count()..];
                let o = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if o != Ordering::Equal {
                    return o;
                }
                x = &x[nx..];
                y = &y[ny..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

/// Opens a series from command-line style inputs: one procedural name (`tornado`,
/// `marschner-lobb`, `blobs`, `turbulence`); a ParaView collection (`.pvd`), whose data sets
/// are the steps and whose `timestep`s their times; or one or more files and glob patterns
/// (`data/t*.vti`), a pattern's matches in natural order (`t_2` before `t_10`), taken as
/// consecutive time steps.
pub fn open_series(inputs: &[String], opts: &OpenOptions) -> Result<Box<dyn FieldSeries>> {
    if let [name] = inputs {
        if let Some(p) = Procedural::from_name(name, opts.seed) {
            if opts.times.is_some() {
                // its time is the step that generates it; other values would be ignored
                return Err(VolumeError::Invalid(format!(
                    "--time-values names the times of file series; {name}'s time is its step number (pick steps with --times)"
                )));
            }
            let dims = opts.dims.unwrap_or(p.default_dims());
            crate::field::check_dims(dims, name)?;
            return Ok(Box::new(ProceduralSeries {
                field: p,
                dims,
                steps: p.default_steps(),
            }));
        }
    }
    let mut paths = Vec::new();
    let mut pvd_times = None;
    if let [one] = inputs {
        if crate::io::Format::from_path(std::path::Path::new(one)) == Some(crate::io::Format::Pvd) {
            let steps = crate::io::read_pvd(std::path::Path::new(one))?;
            pvd_times = Some(steps.iter().map(|s| s.time).collect::<Vec<_>>());
            paths = steps.into_iter().map(|s| s.path).collect();
        }
    }
    for inp in inputs.iter().filter(|_| pvd_times.is_none()) {
        if inp.contains(['*', '?', '[']) {
            let mut m: Vec<PathBuf> = glob::glob(inp)
                .map_err(|e| VolumeError::Invalid(format!("bad glob pattern '{inp}': {e}")))?
                .filter_map(|r| r.ok())
                .collect();
            if m.is_empty() {
                return Err(VolumeError::Invalid(format!("pattern '{inp}' matches no file")));
            }
            m.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
            paths.extend(m);
        } else {
            let p = PathBuf::from(inp);
            if !p.exists() {
                return Err(VolumeError::io(
                    &p,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "does not exist (nor is it a built-in volume: tornado, marschner-lobb, blobs, turbulence)",
                    ),
                ));
            }
            paths.push(p);
        }
    }
    if paths.is_empty() {
        return Err(VolumeError::Invalid("no volume given".into()));
    }
    // files that hold several time steps (4-D NRRD/NIfTI) contribute one step each, with the
    // times they state
    let mut steps = Vec::with_capacity(paths.len());
    let mut stated: Vec<Option<f64>> = Vec::with_capacity(paths.len());
    for p in paths {
        match crate::io::file_steps(&p, opts.raw.as_ref())? {
            Some((times, has)) => {
                for (k, t) in times.into_iter().enumerate() {
                    steps.push((p.clone(), Some(k)));
                    stated.push(has.then_some(t));
                }
            }
            None => {
                steps.push((p, None));
                stated.push(None);
            }
        }
    }
    if pvd_times.as_ref().is_some_and(|t| t.len() != steps.len()) {
        return Err(VolumeError::Invalid(
            "a .pvd whose data sets hold several time steps each: give the files and --time-values".into(),
        ));
    }
    let file_times: Option<Vec<f64>> = stated.iter().copied().collect();
    let times = match (&opts.times, pvd_times) {
        (Some(t), _) if t.len() != steps.len() => {
            return Err(VolumeError::Invalid(format!(
                "--time-values gives {} values for {} time steps",
                t.len(),
                steps.len()
            )))
        }
        (Some(t), _) => Some(t.clone()),
        (None, Some(t)) => Some(t),
        (None, None) => match file_times {
            Some(t) if t.windows(2).all(|w| w[0] < w[1]) => Some(t),
            Some(_) => {
                return Err(VolumeError::Invalid(
                    "the time values the files state do not increase: give --time-values".into(),
                ))
            }
            None => None,
        },
    };
    if let Some(t) = &times {
        if let Some(w) = t
            .windows(2)
            .find(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
        {
            return Err(VolumeError::Invalid(format!(
                "time values must increase: {} then {}",
                w[0], w[1]
            )));
        }
    }
    Ok(Box::new(FileSeries {
        steps,
        times,
        raw: opts.raw,
        opts: opts.read.clone(),
    }))
}
