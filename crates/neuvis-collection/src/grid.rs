//! Parameter grids: which time steps and viewpoints a collection samples.

use crate::error::{CollectionError, Result};
use std::path::Path;

/// One image's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Index of the time step in its series.
    pub step: usize,
    /// Time value of that step.
    pub time: f64,
    /// Polar angle from +z, degrees in `[0, 180]`.
    pub theta: f64,
    /// Azimuth, degrees in `[0, 360)`.
    pub phi: f64,
}

/// Parses a time selection over a series of `n` steps: `a:b:s` (Python range, `b` exclusive),
/// `a:b`, `a`, a comma list `0,5,10`, or `all`.
pub fn parse_times(spec: &str, n: usize) -> Result<Vec<usize>> {
    let bad = |m: String| CollectionError::Invalid(format!("--times '{spec}': {m}"));
    let num = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| bad(format!("'{s}' is not a non-negative integer")))
    };
    let steps: Vec<usize> = if spec.trim() == "all" {
        (0..n).collect()
    } else if spec.contains(':') {
        let p: Vec<&str> = spec.split(':').collect();
        let (a, b, s) = match p.as_slice() {
            [a, b] => (num(a)?, num(b)?, 1),
            [a, b, s] => (num(a)?, num(b)?, num(s)?),
            _ => return Err(bad("expected start:stop[:step]".into())),
        };
        if s == 0 {
            return Err(bad("step must be positive".into()));
        }
        (a..b).step_by(s).collect()
    } else {
        spec.split(',').map(num).collect::<Result<_>>()?
    };
    if steps.is_empty() {
        return Err(bad("selects no time step".into()));
    }
    if let Some(&bad_step) = steps.iter().find(|&&s| s >= n) {
        return Err(bad(format!(
            "step {bad_step} is out of range: the series has {n} step(s) (0..{n})"
        )));
    }
    Ok(steps)
}

/// Angles `0, step, 2·step, … < end` (θ: end 180, φ: end 360, as in the NeRVI paper: a 9° step gives
/// 20 θ × 40 φ = 800 views).
pub fn angles(step: f64, end: f64) -> Result<Vec<f64>> {
    if !(step > 0.0 && step.is_finite()) {
        return Err(CollectionError::Invalid(format!("angle step {step} must be positive")));
    }
    let n = (end / step - 1e-9).ceil() as usize;
    Ok((0..n).map(|i| i as f64 * step).collect())
}

/// Reads an explicit camera list: lines `theta,phi` in degrees (a header line and `#` comments are
/// skipped).
pub fn read_camera_list(path: &Path) -> Result<Vec<(f64, f64)>> {
    let text = std::fs::read_to_string(path).map_err(|e| CollectionError::io(path, e))?;
    let mut out = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = l.split([',', ' ', '\t']).filter(|s| !s.is_empty()).collect();
        let nums: Option<Vec<f64>> = parts.iter().map(|p| p.parse::<f64>().ok()).collect();
        match nums.as_deref() {
            Some([t, p]) => {
                if !(0.0..=180.0).contains(t) || !p.is_finite() {
                    return Err(CollectionError::Format {
                        path: path.to_path_buf(),
                        msg: format!("line {}: theta {t} must be in [0, 180]", no + 1),
                    });
                }
                out.push((*t, p.rem_euclid(360.0)));
            }
            None if out.is_empty() && no == 0 => continue, // header
            _ => {
                return Err(CollectionError::Format {
                    path: path.to_path_buf(),
                    msg: format!("line {}: expected 'theta,phi', got '{l}'", no + 1),
                })
            }
        }
    }
    if out.is_empty() {
        return Err(CollectionError::Format {
            path: path.to_path_buf(),
            msg: "no cameras listed".into(),
        });
    }
    Ok(out)
}

/// The full grid: every time step × every camera, time-major.
pub fn grid(steps: &[(usize, f64)], cameras: &[(f64, f64)]) -> Vec<View> {
    steps
        .iter()
        .flat_map(|&(step, time)| cameras.iter().map(move |&(theta, phi)| View { step, time, theta, phi }))
        .collect()
}

/// Cartesian product of θ and φ lists.
pub fn orbit_cameras(thetas: &[f64], phis: &[f64]) -> Vec<(f64, f64)> {
    thetas.iter().flat_map(|&t| phis.iter().map(move |&p| (t, p))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_specs() {
        assert_eq!(parse_times("0:4:1", 48).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse_times("0:48:16", 48).unwrap(), vec![0, 16, 32]);
        assert_eq!(parse_times("2,5", 48).unwrap(), vec![2, 5]);
        assert_eq!(parse_times("all", 3).unwrap(), vec![0, 1, 2]);
        assert!(parse_times("0:4:0", 48).is_err());
        let e = parse_times("0:60", 48).unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
        assert!(parse_times("x", 4).is_err());
    }

    #[test]
    fn paper_grid_has_800_views() {
        let t = angles(9.0, 180.0).unwrap();
        let p = angles(9.0, 360.0).unwrap();
        assert_eq!((t.len(), p.len()), (20, 40));
        assert_eq!(*t.last().unwrap(), 171.0);
        assert_eq!(*p.last().unwrap(), 351.0);
        assert_eq!(angles(45.0, 180.0).unwrap(), vec![0.0, 45.0, 90.0, 135.0]);
        assert!(angles(0.0, 180.0).is_err());
    }
}
