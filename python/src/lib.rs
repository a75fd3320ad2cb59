//! Python bindings of neuvis (`import neuvis`): open a `.nrvi` model and decode any (t, θ, φ) to a
//! NumPy image, read a volume to NumPy with neuvis's readers, evaluate an INR spec at points, and
//! run the AMR driver. The Python package (`python/neuvis/`) wraps this module; `pip install
//! ./python` or `maturin develop` builds both.
//!
//! Main design decision: the bindings call the same library functions the CLI calls, on the CPU
//! (the codec's burn-free decoder, faer INR evaluation), so a Python result equals the CLI's
//! (`python/tests/` compares them); long computations release the GIL (`Python::detach`).
#![deny(missing_docs)]

use std::path::Path;

use numpy::ndarray::{Array1, Array3, Array4};
use numpy::{IntoPyArray, PyArray1, PyArray3, PyArray4, PyReadonlyArray2};
use pyo3::exceptions::{PyIOError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use neuvis_codec::codec::Decoder;
use neuvis_codec::container::Nrvi;

/// A neuvis error as a Python `ValueError` (its message names the file and the field).
fn value_err(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// Largest `.nrvi` file opened (models are kilobytes to megabytes).
const MAX_MODEL: u64 = 1 << 32;

/// A `.nrvi` model opened for decoding on the CPU.
#[pyclass(module = "neuvis._neuvis", frozen)]
struct Model {
    dec: Decoder,
    path: String,
}

impl Model {
    /// RGBA bytes of the views `ps`, decoded with the GIL released.
    fn rgba(&self, py: Python<'_>, ps: &[[f64; 3]], batch: usize) -> PyResult<Vec<u8>> {
        for p in ps {
            self.dec
                .check_range(*p)
                .map_err(|e| value_err(format!("{}: {e}", self.path)))?;
        }
        py.detach(|| -> Result<Vec<u8>, String> {
            let imgs = self.dec.decode(ps, batch.max(1)).map_err(|e| e.to_string())?;
            Ok(imgs.iter().flat_map(|i| i.to_rgba()).collect())
        })
        .map_err(|e| value_err(format!("{}: {e}", self.path)))
    }
}

#[pymethods]
impl Model {
    /// Opens and checks a `.nrvi` file.
    #[new]
    fn new(path: &str) -> PyResult<Self> {
        let bytes = neuvis_base::fs::read_regular(Path::new(path), MAX_MODEL)
            .map_err(|e| PyIOError::new_err(format!("{path}: {e}")))?;
        let file = Nrvi::from_bytes(&bytes).map_err(|e| value_err(format!("{path}: {e}")))?;
        let dec = Decoder::cpu(&file).map_err(|e| value_err(format!("{path}: {e}")))?;
        Ok(Model {
            dec,
            path: path.to_string(),
        })
    }

    /// Image width in pixels.
    #[getter]
    fn width(&self) -> usize {
        self.dec.header.width
    }

    /// Image height in pixels.
    #[getter]
    fn height(&self) -> usize {
        self.dec.header.height
    }

    /// The training grid: `times`, `thetas`, `phis` (sorted) and `params`, every (t, θ, φ) trained on.
    fn grid<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let g = &self.dec.header.grid;
        let d = PyDict::new(py);
        d.set_item("times", g.times.clone())?;
        d.set_item("thetas", g.thetas.clone())?;
        d.set_item("phis", g.phis.clone())?;
        let params: Vec<(f64, f64, f64)> = g.params().into_iter().map(|p| (p[0], p[1], p[2])).collect();
        d.set_item("params", params)?;
        Ok(d)
    }

    /// Decodes the view (t, θ, φ) (degrees; any value inside the trained ranges) to an
    /// `height × width × 4` uint8 array: RGB and the mask as alpha (255 foreground).
    fn decode<'py>(&self, py: Python<'py>, t: f64, theta: f64, phi: f64) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let rgba = self.rgba(py, &[[t, theta, phi]], 1)?;
        let (w, h) = (self.dec.header.width, self.dec.header.height);
        let a = Array3::from_shape_vec((h, w, 4), rgba).map_err(value_err)?;
        Ok(a.into_pyarray(py))
    }

    /// Decodes many views at once to an `n × height × width × 4` uint8 array (the GIL is released
    /// while the network runs).
    #[pyo3(signature = (params, batch = 16))]
    fn decode_many<'py>(
        &self,
        py: Python<'py>,
        params: Vec<(f64, f64, f64)>,
        batch: usize,
    ) -> PyResult<Bound<'py, PyArray4<u8>>> {
        let ps: Vec<[f64; 3]> = params.iter().map(|&(t, a, b)| [t, a, b]).collect();
        let rgba = self.rgba(py, &ps, batch)?;
        let (w, h) = (self.dec.header.width, self.dec.header.height);
        let a = Array4::from_shape_vec((ps.len(), h, w, 4), rgba).map_err(value_err)?;
        Ok(a.into_pyarray(py))
    }

    fn __repr__(&self) -> String {
        format!(
            "neuvis.Model('{}', {}x{}, {} trained views)",
            self.path,
            self.dec.header.width,
            self.dec.header.height,
            self.dec.header.grid.len()
        )
    }
}

/// Reads a volume with neuvis's readers (`.vti`, `.vtk`, `.nrrd`/`.nhdr`, `.nii`/`.nii.gz`, raw
/// with `raw_dims`) into a `float32` array indexed `[z, y, x]`, and a dict with `spacing`,
/// `origin` and `dims` (x, y, z order, as in the file). `step` picks a time step of a file that
/// holds several (4-D NIfTI, NRRD with a time axis; `series()` lists them with their times).
#[pyfunction]
#[pyo3(signature = (path, array = None, component = None, nan_to = None, spacing = None, raw_dims = None, raw_dtype = "u8", raw_endian = "little", raw_skip = 0, step = None))]
#[allow(clippy::too_many_arguments)]
fn read_volume<'py>(
    py: Python<'py>,
    path: &str,
    array: Option<String>,
    component: Option<usize>,
    nan_to: Option<f32>,
    spacing: Option<(f32, f32, f32)>,
    raw_dims: Option<(usize, usize, usize)>,
    raw_dtype: &str,
    raw_endian: &str,
    raw_skip: u64,
    step: Option<usize>,
) -> PyResult<(Bound<'py, PyArray3<f32>>, Bound<'py, PyDict>)> {
    let opts = neuvis_volume::ReadOptions {
        nan_to,
        array,
        component,
        spacing: spacing.map(|(a, b, c)| [a, b, c]),
    };
    let raw = match raw_dims {
        None => None,
        Some((x, y, z)) => {
            let dtype = neuvis_volume::DType::parse(raw_dtype)
                .ok_or_else(|| value_err(format!("raw_dtype '{raw_dtype}': expected u8, i16, f32, …")))?;
            let mut spec = neuvis_volume::RawSpec::new([x, y, z], dtype);
            spec.endian = neuvis_volume::Endian::parse(raw_endian)
                .ok_or_else(|| value_err(format!("raw_endian '{raw_endian}': expected little or big")))?;
            spec.header_skip = raw_skip;
            if let Some(s) = opts.spacing {
                spec.spacing = s;
            }
            Some(spec)
        }
    };
    let f = py
        .detach(|| match step {
            Some(k) if raw.is_none() => neuvis_volume::io::read_volume_step(Path::new(path), &opts, k),
            _ => neuvis_volume::read_volume(Path::new(path), raw.as_ref(), &opts),
        })
        .map_err(value_err)?;
    let [nx, ny, nz] = f.dims();
    let info = PyDict::new(py);
    info.set_item("spacing", f.spacing().to_vec())?;
    info.set_item("origin", f.origin().to_vec())?;
    info.set_item("dims", vec![nx, ny, nz])?;
    let a = Array3::from_shape_vec((nz, ny, nx), f.into_data()).map_err(value_err)?;
    Ok((a.into_pyarray(py), info))
}

/// The time steps of a series (a `.pvd`, files, or glob patterns; natural order): a list of
/// `(time, path)`.
#[pyfunction]
fn series(inputs: Vec<String>) -> PyResult<Vec<(f64, String)>> {
    let s = neuvis_volume::open_series(&inputs, &neuvis_volume::OpenOptions::default()).map_err(value_err)?;
    let mut out = Vec::with_capacity(s.len());
    for i in 0..s.len() {
        out.push((s.time(i), s.step_name(i)));
    }
    Ok(out)
}

/// An implicit neural representation loaded from its JSON spec (and safetensors or PyTorch weights).
#[pyclass(module = "neuvis._neuvis", frozen)]
struct Inr {
    inr: neuvis_amr::Inr,
}

#[pymethods]
impl Inr {
    /// Loads `spec` (JSON) and the weights it names, or `weights` if given.
    #[new]
    #[pyo3(signature = (spec, weights = None))]
    fn new(spec: &str, weights: Option<&str>) -> PyResult<Self> {
        let inr = neuvis_amr::Inr::load(Path::new(spec), weights.map(Path::new)).map_err(value_err)?;
        Ok(Inr { inr })
    }

    /// Input dimension.
    #[getter]
    fn dim(&self) -> usize {
        self.inr.dim()
    }

    /// The domain, one `(lo, hi)` per input.
    #[getter]
    fn domain(&self) -> Vec<(f64, f64)> {
        self.inr.spec.domain.iter().map(|d| (d[0], d[1])).collect()
    }

    /// Evaluates the INR (float64) at `points`, an `n × dim` array; returns `n` values.
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        points: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let a = points.as_array();
        if a.ncols() != self.inr.dim() {
            return Err(value_err(format!(
                "points are {} × {}; this INR takes {} inputs",
                a.nrows(),
                a.ncols(),
                self.inr.dim()
            )));
        }
        let flat: Vec<f64> = a.iter().copied().collect();
        if flat.iter().any(|v| !v.is_finite()) {
            return Err(value_err("points hold NaN or infinite values"));
        }
        let v = py.detach(|| self.inr.net.eval(&flat));
        Ok(Array1::from_vec(v).into_pyarray(py))
    }
}

/// Runs the AMR driver over an INR (as `neuvis amr` does, without writing files) and returns
/// the run as JSON: `history` (one record per iteration), `stop_reason`, `rel_floor`, `config`.
#[pyfunction]
#[pyo3(signature = (spec, weights = None, method = "pruning", t = 0.1, p = 0.15, eps = 1e-3, tau = 0.1, basic_error = "reference", max_it = 9, max_dofs = 10_000, id_samples = 256, error_samples = 32, initial_refinements = 0, seed = 0, total_error_samples = None))]
#[allow(clippy::too_many_arguments)]
fn amr_json(
    py: Python<'_>,
    spec: &str,
    weights: Option<&str>,
    method: &str,
    t: f64,
    p: f64,
    eps: f64,
    tau: f64,
    basic_error: &str,
    max_it: usize,
    max_dofs: usize,
    id_samples: usize,
    error_samples: usize,
    initial_refinements: usize,
    seed: u64,
    total_error_samples: Option<usize>,
) -> PyResult<String> {
    let inr = neuvis_amr::Inr::load(Path::new(spec), weights.map(Path::new)).map_err(value_err)?;
    let m = neuvis_amr::Method::parse(method)
        .ok_or_else(|| value_err(format!("method '{method}': use pruning, basic or uniform")))?;
    let mut cfg = neuvis_amr::AmrConfig::defaults(m, inr.dim());
    cfg.t = t;
    cfg.p = p;
    cfg.eps = eps;
    cfg.tau = tau;
    cfg.basic_error = neuvis_amr::BasicError::parse(basic_error)
        .ok_or_else(|| value_err(format!("basic_error '{basic_error}': use reference or pointwise")))?;
    cfg.max_it = max_it;
    cfg.max_dofs = max_dofs;
    cfg.id_samples = id_samples;
    cfg.error_samples = error_samples;
    cfg.initial_refinements = initial_refinements;
    cfg.seed = seed;
    if let Some(n) = total_error_samples {
        cfg.total_error_samples = n;
    }
    cfg.validate().map_err(value_err)?;
    let run = py
        .detach(|| neuvis_amr::run(&inr.net, &inr.spec.domain, &cfg, |_| {}))
        .map_err(value_err)?;
    serde_json::to_string(&serde_json::json!({
        "history": run.history,
        "stop_reason": run.stop_reason,
        "rel_floor": run.rel_floor,
        "config": run.config,
    }))
    .map_err(value_err)
}

/// The compiled half of the `neuvis` Python package.
#[pymodule]
fn _neuvis(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<Inr>()?;
    m.add_function(wrap_pyfunction!(read_volume, m)?)?;
    m.add_function(wrap_pyfunction!(series, m)?)?;
    m.add_function(wrap_pyfunction!(amr_json, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
