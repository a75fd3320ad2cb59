//! `neuvis amr` as the CLI, the Python package and the benchmarks run it: its settings
//! ([`AmrOptions`], whose `Default` is the only place the command's defaults are written), what
//! it writes into its output folder ([`OutputPlan`], [`write_outputs`]), the record it leaves
//! there ([`History`], `history.json`) and the table it prints per iteration ([`table_header`],
//! [`table_row`]).
//!
//! ```
//! use neuvis_amr::job::AmrOptions;
//! // settings as a script gives them (the Python package passes them as JSON like this)
//! let o: AmrOptions = serde_json::from_str(r#"{"method": "basic", "tau": 0.05}"#).unwrap();
//! assert_eq!(o.tau, 0.05);
//! assert_eq!(o.p, AmrOptions::default().p);
//! let cfg = o.config(2).unwrap();
//! assert_eq!(cfg.total_error_samples, 262_144); // 2-D default
//! // a misspelt setting is named, not ignored
//! let e = serde_json::from_str::<AmrOptions>(r#"{"max_iter": 3}"#).unwrap_err();
//! assert!(e.to_string().contains("max_iter"));
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::amr::{AmrConfig, AmrRun, BasicError, IterationRecord, Method};
use crate::inr::{Inr, InrSpec};
use crate::output::{conforming_mesh_vtk, slice_image, time_slice_vtk, write_png, write_pvd, write_vtu, Slice};
use crate::{atomic, AmrError, Result};
use std::io::Write;

/// What `meta.json` of an AMR output folder says it holds.
pub const FOLDER_CONTENTS: &str = "neuvis amr: history, meshes and slices";

/// Every setting of one `neuvis amr` run: the refinement (the paper's T, P, ε, τ and the run's
/// limits) and what is drawn. Field names are the Python package's keyword arguments; `t` and
/// `p` also read as `error_threshold` and `proportion_threshold`, the CLI's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmrOptions {
    /// Refinement method.
    pub method: Method,
    /// The paper's T: refine an element while the pruned INR's relative error on it exceeds this.
    #[serde(alias = "error_threshold")]
    pub t: f64,
    /// The paper's P: refine an element while the proportion of neurons pruning keeps exceeds this.
    #[serde(alias = "proportion_threshold")]
    pub p: f64,
    /// ε of the interpolative decomposition.
    pub eps: f64,
    /// τ of the basic method.
    pub tau: f64,
    /// How the basic method measures its relative error.
    pub basic_error: BasicError,
    /// Points per element for the ID.
    pub id_samples: usize,
    /// Points per element for the error estimate.
    pub error_samples: usize,
    /// Maximum iterations.
    pub max_it: usize,
    /// Stop once the mesh has more DOFs than this.
    pub max_dofs: usize,
    /// Never let an iteration grow the mesh past this many elements.
    pub max_elements: usize,
    /// The first this many iterations refine uniformly (recorded, and counted toward `max_it`).
    pub initial_refinements: usize,
    /// Seed of all random samples.
    pub seed: u64,
    /// Points for the total error (`None`: 262,144 in 2-D, 1,048,576 otherwise).
    pub total_error_samples: Option<usize>,
    /// Floor δ of relative errors |f − g| / max(|f|, δ) (`None`: 1% of max |f|).
    pub rel_floor: Option<f64>,
    /// Slices of 3-D and 4-D INRs to draw, `AXIS=VALUE` (empty: x at the domain's middle).
    pub slices: Vec<String>,
    /// Times of the 3-D slices of a 4-D INR (empty: the first, middle and last time).
    pub time_slices: Vec<f64>,
    /// Pixels along the longer side of PNG slices.
    pub slice_px: u32,
    /// Colour range of the PNG slices (`None`: the range of the vertex values).
    pub range: Option<[f64; 2]>,
}

impl Default for AmrOptions {
    /// The paper's settings (T = 0.1, P = 0.15 from its Table 2, ε = 1e-3, 256 ID samples) and
    /// neuvis's run limits: the defaults of `neuvis amr` and of `neuvis.amr()`.
    fn default() -> Self {
        AmrOptions {
            method: Method::Pruning,
            t: 0.1,
            p: 0.15,
            eps: 1e-3,
            tau: 0.1,
            basic_error: BasicError::Reference,
            id_samples: 256,
            error_samples: 32,
            max_it: 9,
            max_dofs: 10_000,
            max_elements: 4_000_000,
            initial_refinements: 0,
            seed: 0,
            total_error_samples: None,
            rel_floor: None,
            slices: Vec::new(),
            time_slices: Vec::new(),
            slice_px: 768,
            range: None,
        }
    }
}

impl AmrOptions {
    /// The driver's settings for a `dim`-dimensional INR, unchecked.
    pub(crate) fn config_unchecked(&self, dim: usize) -> AmrConfig {
        AmrConfig {
            method: self.method,
            t: self.t,
            p: self.p,
            eps: self.eps,
            tau: self.tau,
            basic_error: self.basic_error,
            id_samples: self.id_samples,
            error_samples: self.error_samples,
            max_it: self.max_it,
            max_dofs: self.max_dofs,
            max_elements: self.max_elements,
            initial_refinements: self.initial_refinements,
            seed: self.seed,
            total_error_samples: self
                .total_error_samples
                .unwrap_or(if dim <= 2 { 262_144 } else { 1_048_576 }),
            rel_floor: self.rel_floor,
        }
    }

    /// The driver's settings for a `dim`-dimensional INR, checked ([`AmrConfig::validate`]).
    pub fn config(&self, dim: usize) -> Result<AmrConfig> {
        let c = self.config_unchecked(dim);
        c.validate()?;
        Ok(c)
    }

    /// What the run will draw for the INR `spec`, checked before the (long) run so that a typo
    /// fails at once.
    pub fn plan(&self, spec: &InrSpec) -> Result<OutputPlan> {
        let d = spec.domain.len();
        let bad = |m: String| Err(AmrError::Config(m));
        if let Some([lo, hi]) = self.range {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return bad(format!("range [{lo}, {hi}]: needs LO < HI, both finite"));
            }
        }
        if !(16..=8192).contains(&self.slice_px) {
            return bad(format!("slice_px = {}: use 16 to 8192 pixels", self.slice_px));
        }
        let times: Vec<f64> = if d == 4 {
            let [lo, hi] = spec.domain[3];
            if self.time_slices.is_empty() {
                vec![lo, 0.5 * (lo + hi), hi]
            } else {
                if let Some(t) = self.time_slices.iter().find(|t| !(lo..=hi).contains(*t)) {
                    return bad(format!("time slice {t} is outside the INR's time domain [{lo}, {hi}]"));
                }
                self.time_slices.clone()
            }
        } else {
            if !self.time_slices.is_empty() {
                return bad(format!("time slices are for 4-D INRs; this one has {d} inputs"));
            }
            vec![]
        };
        let mut slices = Vec::new();
        if d <= 2 {
            if !self.slices.is_empty() {
                return bad(format!("slices are for 3-D and 4-D INRs; a {d}-D INR is drawn whole"));
            }
            if d == 2 {
                slices.push(Slice::whole());
            }
        } else {
            let specs = if self.slices.is_empty() {
                let [lo, hi] = spec.domain[0];
                vec![format!("x={}", 0.5 * (lo + hi))]
            } else {
                self.slices.clone()
            };
            if d == 3 {
                for s in &specs {
                    slices.push(Slice::parse(s, 3, None)?);
                }
            } else {
                for &t in &times {
                    for s in &specs {
                        slices.push(Slice::parse(s, 4, Some(t))?);
                    }
                }
            }
        }
        Ok(OutputPlan {
            times,
            slices,
            slice_px: self.slice_px,
            range: self.range.map(|[lo, hi]| (lo, hi)),
        })
    }
}

impl AmrConfig {
    /// The defaults of [`AmrOptions`] with `method`, for a `dim`-dimensional INR: T = 0.1,
    /// P = 0.15 (the paper's Table 2), ε = 1e-3, ID samples 256, error samples 32, 262,144
    /// total-error points in 2-D and 1,048,576 otherwise.
    pub fn defaults(method: Method, dim: usize) -> AmrConfig {
        AmrOptions {
            method,
            ..AmrOptions::default()
        }
        .config_unchecked(dim)
    }
}

/// What an AMR run writes besides its history, decided before the run ([`AmrOptions::plan`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputPlan {
    /// Times of the 3-D meshes of a 4-D INR (`mesh_t{t}.vtu`, listed in `mesh.pvd`).
    pub times: Vec<f64>,
    /// PNG slices (`mesh.png` for a 2-D INR, `slice_{name}.png` otherwise).
    pub slices: Vec<Slice>,
    /// Pixels along the longer side of PNG slices.
    pub slice_px: u32,
    /// Colour range of the PNG slices (`None`: the range of the vertex values).
    pub range: Option<(f64, f64)>,
}

/// What [`write_outputs`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Written {
    /// File names, relative to the output folder, in the order written.
    pub files: Vec<String>,
    /// The colour range of the PNG slices, if any were drawn.
    pub png_range: Option<(f64, f64)>,
    /// What could not be done as planned but did not stop the writing (a colour bar without a font).
    pub warnings: Vec<String>,
}

/// Writes a finished run into the folder `dir` (which exists): `history.csv` and `history.json`;
/// in 1-D to 3-D `mesh.vtu` (the conforming interpolant, [`conforming_mesh_vtk`]) and MFEM's
/// `mesh.mesh` + `mesh.gf`; in 4-D a `mesh_t{t}.vtu` per planned time and `mesh.pvd` listing
/// them; and the planned PNG slices with a viridis colour bar.
pub fn write_outputs(run: &AmrRun, inr: &Inr, plan: &OutputPlan, dir: &Path, inr_name: &str) -> Result<Written> {
    let d = run.tree.dim;
    write_history(run, dir, inr_name)?;
    let mut files = vec!["history.csv".to_string(), "history.json".to_string()];
    let mut warnings = Vec::new();
    if d <= 3 {
        write_vtu(conforming_mesh_vtk(run, &inr.net), &dir.join("mesh.vtu"))?;
        crate::mfem::write_mfem(run, &dir.join("mesh.mesh"), &dir.join("mesh.gf"))?;
        files.extend(["mesh.vtu", "mesh.mesh", "mesh.gf"].map(String::from));
    } else {
        let mut series = Vec::new();
        for &t in &plan.times {
            let f = format!("mesh_t{t}.vtu");
            write_vtu(time_slice_vtk(run, &inr.net, t)?, &dir.join(&f))?;
            series.push((t, f.clone()));
            files.push(f);
        }
        write_pvd(&dir.join("mesh.pvd"), &series)?;
        files.push("mesh.pvd".into());
    }
    let mut png_range = None;
    if !plan.slices.is_empty() {
        let range = plan.range.unwrap_or_else(|| {
            run.values
                .values()
                .fold((f64::MAX, f64::MIN), |r, &v| (r.0.min(v), r.1.max(v)))
        });
        for s in &plan.slices {
            let img = slice_image(run, s, plan.slice_px, range)?;
            let f = if d == 2 {
                "mesh.png".to_string()
            } else {
                format!("slice_{}.png", s.name.replace(',', "_"))
            };
            // the colour bar's labels need a TrueType font; without one the slice is still written
            let img = match crate::plot::with_colorbar(&img, range, &dir.join(&f)) {
                Ok(with_bar) => with_bar,
                Err(e) => {
                    warnings.push(format!("{e}; {f} is written without a colour bar"));
                    img
                }
            };
            write_png(&img, &dir.join(&f))?;
            files.push(f);
        }
        png_range = Some(range);
    }
    Ok(Written {
        files,
        png_range,
        warnings,
    })
}

/// Writes `history.csv` (one row per iteration) and `history.json` (settings, floor, stop reason
/// and rows) into `dir`.
pub fn write_history(run: &AmrRun, dir: &Path, inr_name: &str) -> Result<()> {
    atomic(&dir.join("history.csv"), |w| {
        writeln!(w, "iteration,elements,dofs,conforming_dofs,total_error,max_error,discontinuous_error,refined,examined,mean_proportion,seconds,elapsed")?;
        for r in &run.history {
            writeln!(
                w,
                "{},{},{},{},{:.9e},{:.9e},{},{},{},{},{:.4},{:.4}",
                r.iteration,
                r.elements,
                r.dofs,
                r.conforming_dofs,
                r.total_error,
                r.max_error,
                r.discontinuous_error.map(|e| format!("{e:.9e}")).unwrap_or_default(),
                r.refined,
                r.examined,
                r.mean_proportion.map(|p| format!("{p:.5}")).unwrap_or_default(),
                r.seconds,
                r.elapsed
            )?;
        }
        Ok(())
    })?;
    // through a `Value`, whose maps sort their keys: the bytes earlier releases wrote
    let json = serde_json::to_value(History::of(run, inr_name))
        .map_err(|e| AmrError::io(&dir.join("history.json"), e.into()))?;
    atomic(&dir.join("history.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, &json)?;
        writeln!(w)
    })
}

/// `history.json` of an AMR output folder: the INR, its dimension, the settings, the relative-error
/// floor used, why the run stopped and one record per iteration (written with sorted keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The driver's settings.
    pub config: AmrConfig,
    /// Inputs of the INR.
    pub dim: usize,
    /// One record per iteration (0 = the initial mesh).
    pub history: Vec<IterationRecord>,
    /// The INR's spec as it was named.
    pub inr: String,
    /// The relative-error floor δ that was used.
    pub rel_floor: f64,
    /// Why the run stopped.
    pub stop_reason: String,
}

impl History {
    /// The record of `run` over the INR named `inr_name`.
    pub fn of(run: &AmrRun, inr_name: &str) -> History {
        History {
            config: run.config.clone(),
            dim: run.tree.dim,
            history: run.history.clone(),
            inr: inr_name.to_string(),
            rel_floor: run.rel_floor,
            stop_reason: run.stop_reason.clone(),
        }
    }

    /// Reads `history.json` of the AMR output folder `dir`; an empty history is an error.
    pub fn read(dir: &Path) -> Result<History> {
        let path = dir.join("history.json");
        let text = neuvis_base::fs::read_regular(&path, 1 << 30).map_err(|e| {
            AmrError::io(
                &path,
                std::io::Error::new(
                    e.kind(),
                    format!("{e} (is {} a `neuvis amr` output folder?)", dir.display()),
                ),
            )
        })?;
        let h: History = serde_json::from_slice(&text)
            .map_err(|e| AmrError::spec(&path, format!("not a neuvis amr history: {e}")))?;
        if h.history.is_empty() {
            return Err(AmrError::spec(&path, "the history is empty"));
        }
        Ok(h)
    }

    /// The curve `neuvis amr compare` draws for the run folder `dir`: its history, labelled with
    /// the folder's name and the method, and marked "discontinuous error" when the history was
    /// written before the conforming error was reported (no `discontinuous_error` field).
    pub fn curve(dir: &Path) -> Result<crate::plot::Curve> {
        let h = History::read(dir)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let older = if h.history.iter().all(|r| r.discontinuous_error.is_none()) {
            ", discontinuous error"
        } else {
            ""
        };
        Ok(crate::plot::Curve {
            label: format!("{name} ({}{older})", h.config.method),
            history: h.history,
        })
    }
}

/// The header of the per-iteration table `neuvis amr` prints: RMSE and max error of the
/// conforming interpolant (the field written), the discontinuous interpolant's RMSE beside them.
pub fn table_header() -> String {
    format!(
        "{:>4} {:>9} {:>10} {:>10} {:>12} {:>11} {:>12} {:>8} {:>7} {:>8}",
        "it", "elements", "DOFs", "conf.DOFs", "RMSE", "max err", "disc. RMSE", "refined", "kept", "time s"
    )
}

/// One row of that table.
pub fn table_row(r: &IterationRecord) -> String {
    format!(
        "{:>4} {:>9} {:>10} {:>10} {:>12.4e} {:>11.3e} {:>12} {:>8} {:>7} {:>8.2}",
        r.iteration,
        r.elements,
        r.dofs,
        r.conforming_dofs,
        r.total_error,
        r.max_error,
        r.discontinuous_error
            .map(|e| format!("{e:.4e}"))
            .unwrap_or_else(|| "-".into()),
        r.refined,
        r.examined_proportion(),
        r.seconds
    )
}

impl IterationRecord {
    fn examined_proportion(&self) -> String {
        self.mean_proportion
            .map(|p| format!("{p:.3}"))
            .unwrap_or_else(|| "-".into())
    }
}

/// Runs `neuvis amr` in one process as a library call: checks the output folder `out` against
/// the output rule (never an input, a user's folder or the working directory; an existing one
/// only with `overwrite` and only if neuvis wrote it) and the plan before the run, refines, and
/// writes the folder. `progress` sees each iteration's record as it ends.
pub fn run_to_folder(
    inr: &Inr,
    inr_name: &str,
    inputs: &[&Path],
    options: &AmrOptions,
    out: &Path,
    overwrite: bool,
    progress: impl FnMut(&IterationRecord),
) -> Result<(AmrRun, Written)> {
    let cfg = options.config(inr.dim())?;
    let plan = options.plan(&inr.spec)?;
    neuvis_base::fs::check_output(out, neuvis_base::OutputKind::NeuvisFolder, overwrite, inputs)?;
    let run = crate::amr::run(&inr.net, &inr.spec.domain, &cfg, progress)?;
    neuvis_base::fs::create_output_folder(out, overwrite, inputs, FOLDER_CONTENTS)?;
    let written = write_outputs(&run, inr, &plan, out, inr_name)?;
    Ok((run, written))
}
