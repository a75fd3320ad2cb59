//! Picking one scalar array out of a file that holds several (VTK point data, FIELD arrays, cell
//! data), and reducing a vector array to a scalar: `--array NAME`, `--component K`, magnitude.

use crate::dtype::ReadOptions;
use crate::error::{Result, VolumeError};
use std::path::Path;

/// One array a file holds, as the selection sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArrayInfo {
    /// Its name (VTK allows an empty one).
    pub name: String,
    /// Values per tuple.
    pub components: usize,
    /// Whether it lives on cells (VTK `CellData`, `CELL_DATA`) rather than points.
    pub cells: bool,
}

/// How a chosen array becomes one value per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// A one-component array, taken as it is.
    Scalar,
    /// Component `k` of a vector array.
    Component(usize),
    /// The Euclidean norm of each tuple (ParaView's "Magnitude").
    Magnitude,
}

/// "RTData (1 component), gradient (3 components, cells)": what an error lists.
pub(crate) fn list(arrays: &[ArrayInfo]) -> String {
    if arrays.is_empty() {
        return "none".into();
    }
    arrays
        .iter()
        .map(|a| {
            format!(
                "'{}' ({} component{}{})",
                a.name,
                a.components,
                if a.components == 1 { "" } else { "s" },
                if a.cells { ", cell data" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Chooses the array to read and how to reduce it.
///
/// Without `--array` the choice is the one ParaView colours by: the active point scalars
/// (`active`), else the first one-component point array, else the first point array, then the
/// same among cell arrays. `--component K` picks a component; a vector array without it gives
/// its magnitude.
pub(crate) fn choose(
    path: &Path,
    arrays: &[ArrayInfo],
    active: Option<&str>,
    opts: &ReadOptions,
) -> Result<(usize, Pick)> {
    let idx = match &opts.array {
        Some(name) => arrays.iter().position(|a| &a.name == name).ok_or_else(|| {
            VolumeError::format(
                path,
                format!("--array '{name}': no such array; the file holds {}", list(arrays)),
            )
        })?,
        None => {
            let by = |cells: bool| {
                arrays
                    .iter()
                    .position(|a| a.cells == cells && Some(a.name.as_str()) == active && a.components == 1)
                    .or_else(|| arrays.iter().position(|a| a.cells == cells && a.components == 1))
                    .or_else(|| arrays.iter().position(|a| a.cells == cells))
            };
            by(false)
                .or_else(|| by(true))
                .ok_or_else(|| VolumeError::format(path, "the file holds no numeric data array"))?
        }
    };
    let a = &arrays[idx];
    let pick = match (a.components, opts.component) {
        (0, _) => {
            return Err(VolumeError::format(
                path,
                format!("array '{}': NumberOfComponents 0", a.name),
            ))
        }
        (1, None | Some(0)) => Pick::Scalar,
        (n, Some(k)) if k < n => Pick::Component(k),
        (n, Some(k)) => {
            return Err(VolumeError::format(
                path,
                format!(
                    "--component {k}: array '{}' has {n} component{} (0 to {})",
                    a.name,
                    if n == 1 { "" } else { "s" },
                    n - 1
                ),
            ))
        }
        (_, None) => Pick::Magnitude,
    };
    Ok((idx, pick))
}

/// Reduces interleaved tuples of `components` values to one value each.
pub(crate) fn reduce(values: Vec<f32>, components: usize, pick: Pick) -> Vec<f32> {
    match pick {
        Pick::Scalar => values,
        Pick::Component(k) => values.chunks_exact(components).map(|t| t[k]).collect(),
        Pick::Magnitude => values
            .chunks_exact(components)
            .map(|t| t.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt() as f32)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrays() -> Vec<ArrayInfo> {
        let a = |name: &str, components, cells| ArrayInfo {
            name: name.into(),
            components,
            cells,
        };
        vec![
            a("velocity", 3, false),
            a("rho", 1, false),
            a("p", 1, false),
            a("id", 1, true),
        ]
    }

    #[test]
    fn default_is_the_active_or_first_scalar_array() {
        let p = Path::new("f.vti");
        let o = ReadOptions::default();
        assert_eq!(choose(p, &arrays(), None, &o).unwrap(), (1, Pick::Scalar));
        assert_eq!(choose(p, &arrays(), Some("p"), &o).unwrap(), (2, Pick::Scalar));
        let vec_only = &arrays()[..1];
        assert_eq!(choose(p, vec_only, None, &o).unwrap(), (0, Pick::Magnitude));
        assert_eq!(choose(p, &arrays()[3..], None, &o).unwrap(), (0, Pick::Scalar));
    }

    #[test]
    fn named_arrays_and_components() {
        let p = Path::new("f.vti");
        let mut o = ReadOptions {
            array: Some("velocity".into()),
            ..Default::default()
        };
        assert_eq!(choose(p, &arrays(), None, &o).unwrap(), (0, Pick::Magnitude));
        o.component = Some(2);
        assert_eq!(choose(p, &arrays(), None, &o).unwrap(), (0, Pick::Component(2)));
        o.component = Some(3);
        let e = choose(p, &arrays(), None, &o).unwrap_err().to_string();
        assert!(e.contains("--component 3") && e.contains("0 to 2"), "{e}");
        o.array = Some("nope".into());
        let e = choose(p, &arrays(), None, &o).unwrap_err().to_string();
        assert!(
            e.contains("'velocity' (3 components)") && e.contains("'id' (1 component, cell data)"),
            "{e}"
        );
        assert_eq!(
            reduce(vec![3.0, 4.0, 0.0, 1.0, 2.0, 2.0], 3, Pick::Magnitude),
            vec![5.0, 3.0]
        );
        assert_eq!(
            reduce(vec![3.0, 4.0, 0.0, 1.0, 2.0, 2.0], 3, Pick::Component(1)),
            vec![4.0, 2.0]
        );
    }
}
