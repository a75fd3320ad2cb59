//! Parsers for numeric flags: every floating-point flag must be finite (NaN and ±inf are refused by
//! clap with the flag's name, before any work), and `--threads` is bounded by the machine.

/// A finite `f64` (the flag's range is checked where the option is used).
pub fn finite_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|e| format!("'{s}' is not a number ({e})"))?;
    if !v.is_finite() {
        return Err(format!("'{s}' is not a finite number"));
    }
    Ok(v)
}

/// A finite `f32` (also refusing values beyond `f32`'s range).
pub fn finite_f32(s: &str) -> Result<f32, String> {
    let v = finite_f64(s)?;
    let f = v as f32;
    if !f.is_finite() {
        return Err(format!("'{s}' is beyond the range of a 32-bit float"));
    }
    Ok(f)
}

/// A finite number above 0 (an angle step, a ratio).
pub fn positive_f64(s: &str) -> Result<f64, String> {
    let v = finite_f64(s)?;
    if v <= 0.0 {
        return Err(format!("'{s}' is not positive"));
    }
    Ok(v)
}

/// A duration in seconds: finite, 0 or more.
pub fn seconds(s: &str) -> Result<f64, String> {
    let v = finite_f64(s)?;
    if v < 0.0 {
        return Err(format!("'{s}' is negative: give 0 or more seconds"));
    }
    Ok(v)
}

/// Worker threads: 1 to 8 × the cores of this machine (at least 8).
pub fn threads(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|e| format!("'{s}' is not a thread count ({e})"))?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let max = (8 * cores).max(8);
    if !(1..=max).contains(&n) {
        return Err(format!("{n} threads: use 1 to {max} (8 × the {cores} cores here)"));
    }
    Ok(n)
}

/// An image size: `--size N` (N × N) or `--size WxH`, the one form every command's `--size` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageSize {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

impl std::fmt::Display for ImageSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// The largest side any `--size` takes (a command may allow less and says so).
pub const MAX_SIDE: usize = 16384;

/// Parses `N` or `WxH` (each side 1 to [`MAX_SIDE`]).
pub fn image_size(s: &str) -> Result<ImageSize, String> {
    let v: Option<Vec<usize>> = s.split(['x', 'X']).map(|x| x.trim().parse().ok()).collect();
    let ok = |n: usize| (1..=MAX_SIDE).contains(&n);
    match v.as_deref() {
        Some(&[n]) if ok(n) => Ok(ImageSize { width: n, height: n }),
        Some(&[w, h]) if ok(w) && ok(h) => Ok(ImageSize { width: w, height: h }),
        _ => Err(format!("'{s}': expected N or WxH with each side 1 to {MAX_SIDE}")),
    }
}

impl ImageSize {
    /// Refuses a side above `max` (a command's own limit), naming the flag.
    pub fn at_most(self, max: usize) -> anyhow::Result<ImageSize> {
        if self.width > max || self.height > max {
            anyhow::bail!("--size {self}: at most {max} pixels a side here");
        }
        Ok(self)
    }
}

/// Parses `--shard I/N` (0-based) or `--shard slurm` (from the job array's environment).
pub fn shard(s: &str) -> Result<neuvis_base::Shard, String> {
    neuvis_base::Shard::parse(s).map_err(|e| e.to_string().trim_start_matches("--shard ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_and_absurd_values_are_refused() {
        for bad in ["NaN", "nan", "inf", "-inf", "1e999", "x"] {
            assert!(finite_f64(bad).is_err(), "{bad}");
            assert!(finite_f32(bad).is_err(), "{bad}");
        }
        assert!(finite_f32("1e39").is_err());
        assert_eq!(finite_f64(" -2.5 "), Ok(-2.5));
        assert!(threads("0").is_err());
        assert!(threads("100000").is_err());
        assert_eq!(threads("1"), Ok(1));
    }
}
