//! Python bindings of neuvis (`import neuvis`): open a `.nrvi` model and decode any (t, θ, φ) to a
//! NumPy image, read a volume to NumPy with neuvis's readers, evaluate an INR spec at points, and
//! run the AMR driver. The Python package (`python/neuvis/`) wraps this module; `pip install
//! ./python` or `maturin develop` builds both.
//!
//! Main design decision: the bindings call the same library functions the CLI calls, on the CPU
//! (the codec's burn-free decoder, faer INR evaluation), so a Python result equals the CLI's
//! (`python/tests/` compares them); long computations release the GIL (`Python::detach`).

use std::path::{Path, PathBuf};

use numpy::ndarray::{Array1, Array3, Array4};
use numpy::{AllowTypeChange, IntoPyArray, PyArray3, PyArray4, PyArrayLike1, PyArrayLike2, PyArrayLikeDyn};
use pyo3::exceptions::{PyIOError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use neuvis_codec::codec::Decoder;
use neuvis_codec::container::Nrvi;

/// A neuvis error as a Python `ValueError` (its message names the file and the field; the CLI's
/// flags it mentions are named as this module's arguments).
fn value_err(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(python_names(&e.to_string()))
}

/// `msg` with the CLI's flags replaced by the keyword arguments that mean the same here.
fn python_names(msg: &str) -> String {
    const NAMES: [(&str, &str); 11] = [
        ("--overwrite", "overwrite=True"),
        ("--raw-dims", "raw_dims"),
        ("--raw-dtype", "raw_dtype"),
        ("--raw-endian", "raw_endian"),
        ("--raw-skip", "raw_skip"),
        ("--spacing", "spacing"),
        ("--array", "array"),
        ("--component", "component"),
        ("--nan-to", "nan_to"),
        ("--dims", "dims"),
        ("--step K", "step=K"),
    ];
    NAMES
        .iter()
        .fold(msg.to_string(), |m, (flag, arg)| m.replace(flag, arg))
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
    fn new(path: PathBuf) -> PyResult<Self> {
        let path = path.display().to_string();
        let bytes = neuvis_base::fs::read_regular(Path::new(&path), MAX_MODEL)
            .map_err(|e| PyIOError::new_err(format!("{path}: {e}")))?;
        let file = Nrvi::from_bytes(&bytes).map_err(|e| value_err(format!("{path}: {e}")))?;
        let dec = Decoder::cpu(&file).map_err(|e| value_err(format!("{path}: {e}")))?;
        Ok(Model { dec, path })
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
    /// while the network runs). `params`: `n` rows of (t, θ, φ), a list of tuples or lists or an
    /// `n × 3` array of any float type.
    #[pyo3(signature = (params, batch = 16))]
    fn decode_many<'py>(
        &self,
        py: Python<'py>,
        params: &Bound<'py, PyAny>,
        batch: usize,
    ) -> PyResult<Bound<'py, PyArray4<u8>>> {
        let arr: PyArrayLike2<'py, f64, AllowTypeChange> = params.extract().map_err(|_| {
            PyTypeError::new_err("params: expected n rows of (t, θ, φ): a list of triples or an n × 3 array")
        })?;
        let a = arr.as_array();
        if a.ncols() != 3 {
            return Err(value_err(format!(
                "params is {} × {}: expected n × 3 (t, θ, φ)",
                a.nrows(),
                a.ncols()
            )));
        }
        let ps: Vec<[f64; 3]> = a.rows().into_iter().map(|r| [r[0], r[1], r[2]]).collect();
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

/// Reads a volume with neuvis's readers (`.vti`, `.vtk`, `.nrrd`/`.nhdr`, `.nii`/`.nii.gz`, a step
/// of a `.pvd`, raw with `raw_dims`) or makes a built-in one (`tornado`, `marschner-lobb`, `blobs`,
/// `turbulence`: `dims`, `seed`, time `step`) into a `float32` array indexed `[z, y, x]`, and a
/// dict with `spacing`, `origin` and `dims` (x, y, z order, as in the file). `path` is a `str` or
/// a `pathlib.Path`; `spacing`, `raw_dims` and `dims` take any sequence of three numbers. `step`
/// picks a time step of a file that holds several (4-D NIfTI, NRRD with a time axis, `.pvd`;
/// `series()` lists them with their times).
#[pyfunction]
#[pyo3(signature = (path, array = None, component = None, nan_to = None, spacing = None, raw_dims = None, raw_dtype = "u8", raw_endian = "little", raw_skip = 0, step = None, dims = None, seed = 0))]
#[allow(clippy::too_many_arguments)]
fn read_volume<'py>(
    py: Python<'py>,
    path: PathBuf,
    array: Option<String>,
    component: Option<usize>,
    nan_to: Option<f32>,
    spacing: Option<Bound<'py, PyAny>>,
    raw_dims: Option<Bound<'py, PyAny>>,
    raw_dtype: &str,
    raw_endian: &str,
    raw_skip: u64,
    step: Option<usize>,
    dims: Option<Bound<'py, PyAny>>,
    seed: u64,
) -> PyResult<(Bound<'py, PyArray3<f32>>, Bound<'py, PyDict>)> {
    let spacing = three(spacing, "spacing")?.map(|v| v.map(|x| x as f32));
    let raw_dims = sizes(raw_dims, "raw_dims")?;
    let dims = sizes(dims, "dims")?;
    let opts = neuvis_volume::ReadOptions {
        nan_to,
        array,
        component,
        spacing,
    };
    let name = path.to_string_lossy().into_owned();
    let procedural = if path.exists() {
        None
    } else {
        neuvis_volume::procedural::Procedural::from_name(&name, seed)
    };
    if dims.is_some() && procedural.is_none() {
        return Err(value_err(format!(
            "{name}: dims is the grid of a built-in volume (tornado, marschner-lobb, blobs, turbulence); a file has its own"
        )));
    }
    let raw = match raw_dims {
        None => None,
        Some([x, y, z]) => {
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
        .detach(|| match (&procedural, step) {
            (Some(p), k) => {
                let s = neuvis_volume::open_series(
                    std::slice::from_ref(&name),
                    &neuvis_volume::OpenOptions {
                        dims: Some(dims.unwrap_or(p.default_dims())),
                        seed,
                        ..Default::default()
                    },
                )?;
                let k = k.unwrap_or(0);
                if k >= s.len() {
                    return Err(neuvis_volume::VolumeError::Invalid(format!(
                        "{name}: no step {k}: it has {} (0 to {})",
                        s.len(),
                        s.len() - 1
                    )));
                }
                s.load(k)
            }
            (None, Some(k)) if raw.is_none() => neuvis_volume::io::read_volume_step(&path, &opts, k),
            (None, _) => neuvis_volume::read_volume(&path, raw.as_ref(), &opts),
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

/// Three numbers from any sequence or array-like (`spacing`, `raw_dims`, `dims`).
fn three(v: Option<Bound<'_, PyAny>>, name: &str) -> PyResult<Option<[f64; 3]>> {
    let Some(v) = v else { return Ok(None) };
    let bad = || PyTypeError::new_err(format!("{name}: expected three numbers (a tuple, list or array)"));
    let a: PyArrayLike1<'_, f64, AllowTypeChange> = v.extract().map_err(|_| bad())?;
    match a.as_array().to_vec()[..] {
        [x, y, z] => Ok(Some([x, y, z])),
        _ => Err(bad()),
    }
}

/// Three sizes (whole numbers ≥ 1) from any sequence or array-like.
fn sizes(v: Option<Bound<'_, PyAny>>, name: &str) -> PyResult<Option<[usize; 3]>> {
    let Some(t) = three(v, name)? else { return Ok(None) };
    if t.iter()
        .any(|x| !(x.is_finite() && *x >= 1.0 && x.fract() == 0.0 && *x <= u32::MAX as f64))
    {
        return Err(value_err(format!(
            "{name} {t:?}: expected three whole numbers of at least 1"
        )));
    }
    Ok(Some(t.map(|x| x as usize)))
}

/// The time steps of a series (a `.pvd`, files, or glob patterns; natural order): a list of
/// `(time, path)`. (The package's `series` also takes one path, `str` or `pathlib.Path`.)
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
///
/// `Inr(spec, weights=None)`; `inr(points)` evaluates it in float64: an `n × dim` array-like (any
/// float type, nested lists too) gives `n` values, one point (a `dim`-vector) gives one float.
#[pyclass(module = "neuvis._neuvis", frozen)]
struct Inr {
    inr: neuvis_amr::Inr,
    /// The spec's path, for the repr.
    spec: String,
}

#[pymethods]
impl Inr {
    /// Loads `spec` (JSON) and the weights it names, or `weights` if given.
    #[new]
    #[pyo3(signature = (spec, weights = None))]
    fn new(spec: PathBuf, weights: Option<PathBuf>) -> PyResult<Self> {
        let inr = neuvis_amr::Inr::load(&spec, weights.as_deref()).map_err(value_err)?;
        Ok(Inr {
            inr,
            spec: spec.display().to_string(),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "neuvis.Inr('{}', {} inputs, hidden {:?}, {:?})",
            self.spec,
            self.inr.dim(),
            self.inr.spec.hidden,
            self.inr.spec.activation
        )
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

    /// Evaluates the INR in float64 at `points`: an `n × dim` array-like (any float type, lists
    /// too) gives `n` values; one point, a `dim`-vector, gives one float.
    fn __call__<'py>(&self, py: Python<'py>, points: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let arr: PyArrayLikeDyn<'py, f64, AllowTypeChange> = points.extract().map_err(|_| {
            PyTypeError::new_err("points: expected an array-like of numbers, n × dim or one point of dim")
        })?;
        let a = arr.as_array();
        let (one, a) = match a.ndim() {
            1 => (true, a.to_shape((1, a.len())).map_err(value_err)?.into_owned()),
            2 => (
                false,
                a.into_dimensionality::<numpy::ndarray::Ix2>()
                    .map_err(value_err)?
                    .into_owned(),
            ),
            n => {
                return Err(value_err(format!(
                    "points have {n} dimensions; give n × dim or one point"
                )))
            }
        };
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
        if one {
            return Ok(v[0].into_pyobject(py)?.into_any());
        }
        Ok(Array1::from_vec(v).into_pyarray(py).into_any())
    }
}

/// Runs `neuvis amr` over the INR `spec`: `options` is a JSON object of
/// `neuvis_amr::job::AmrOptions` (only the settings given; the library holds every default, and a
/// misspelt key is an error naming it). With `output`, writes the same folder as the CLI (history,
/// meshes, MFEM files, PNG slices) under the same output rule. Returns `history.json`'s record as
/// JSON, plus `written` (the files) when a folder was written.
#[pyfunction]
#[pyo3(signature = (spec, weights = None, options = "{}", output = None, overwrite = false))]
fn amr_json(
    py: Python<'_>,
    spec: PathBuf,
    weights: Option<PathBuf>,
    options: &str,
    output: Option<PathBuf>,
    overwrite: bool,
) -> PyResult<String> {
    use neuvis_amr::job::{run_to_folder, History};
    let opts = amr_options(options)?;
    let inr = neuvis_amr::Inr::load(&spec, weights.as_deref()).map_err(value_err)?;
    let name = spec.display().to_string();
    let (run, written) = match &output {
        Some(out) => {
            let mut inputs = vec![spec.as_path()];
            inputs.extend(weights.as_deref());
            let (run, w) = py
                .detach(|| run_to_folder(&inr, &name, &inputs, &opts, out, overwrite, |_| {}))
                .map_err(amr_err)?;
            (run, Some(w))
        }
        None => {
            let cfg = opts.config(inr.dim()).map_err(value_err)?;
            opts.plan(&inr.spec).map_err(value_err)?;
            let run = py
                .detach(|| neuvis_amr::run(&inr.net, &inr.spec.domain, &cfg, |_| {}))
                .map_err(value_err)?;
            (run, None)
        }
    };
    let mut v = serde_json::to_value(History::of(&run, &name)).map_err(value_err)?;
    if let (Some(w), Some(obj)) = (written, v.as_object_mut()) {
        obj.insert("written".into(), serde_json::json!(w.files));
        for warning in &w.warnings {
            // the slice was written without its colour bar: say so as Python does
            let warn = py.import("warnings")?;
            warn.call_method1("warn", (warning.as_str(),))?;
        }
    }
    serde_json::to_string(&v).map_err(value_err)
}

/// The settings a Python caller gave (a JSON object), with an error naming the one that does not
/// fit: `amr settings: slices: invalid type: …`.
fn amr_options(json: &str) -> PyResult<neuvis_amr::job::AmrOptions> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| value_err(format!("amr settings: {e}")))?;
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            value_err(format!("amr settings: {}", e.inner()))
        } else {
            value_err(format!("amr settings: {path}: {}", e.inner()))
        }
    })
}

/// An AMR error as Python raises it: an existing output is a `FileExistsError`, a failed read or
/// write an `OSError`, anything else a `ValueError`.
fn amr_err(e: neuvis_amr::AmrError) -> PyErr {
    use neuvis_amr::AmrError;
    match &e {
        AmrError::Output(neuvis_base::OutputError::Exists { .. }) => {
            pyo3::exceptions::PyFileExistsError::new_err(python_names(&e.to_string()))
        }
        AmrError::Io { .. } | AmrError::Output(neuvis_base::OutputError::Create { .. }) => {
            PyIOError::new_err(python_names(&e.to_string()))
        }
        _ => value_err(e),
    }
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
