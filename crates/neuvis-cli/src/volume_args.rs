//! Command-line options that name and read a volume: one set of flags, parsed here, offered by
//! every command that reads one (`render`, `raycast prepare`, `isosurface`, `inr fit`, `bench render`).

use anyhow::{bail, Context, Result};
use clap::Args;
use neuvis_volume::{
    field::parse_dims, open_series, DType, Endian, FieldSeries, OpenOptions, Procedural, RawSpec, ReadOptions,
    ScalarField,
};

/// Where the volumes of `render` come from.
#[derive(Args, Debug, Clone)]
pub struct VolumeArgs {
    /// `tornado`, `marschner-lobb`, `blobs`, `turbulence`, a ParaView collection (.pvd: its
    /// timesteps are the time values), or one or more files / glob patterns (.vti .vtk .nrrd
    /// .nhdr .nii .nii.gz, or raw with --raw-dims); several files form a time series, a pattern's
    /// matches in natural order (t_2 before t_10), and a 4-D NIfTI or a NRRD with a time axis is
    /// one. Files a file names (a .pvd's DataSets, a .nhdr's data file) must be relative paths in
    /// its folder or below it (no '..', no absolute path).
    #[arg(long, num_args = 1.., required = true, value_name = "VOLUME")]
    pub volume: Vec<String>,
    /// Seed of seeded procedural fields (blobs, turbulence).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How to read it.
    #[command(flatten)]
    pub opts: VolumeOptions,
}

/// How to read a volume: the same flags in every command that reads one.
#[derive(Args, Debug, Clone, Default)]
pub struct VolumeOptions {
    /// Grid size of a procedural field: N or NXxNYxNZ (default: tornado/blobs/turbulence 128,
    /// marschner-lobb 41).
    #[arg(long, value_name = "N|NXxNYxNZ")]
    pub dims: Option<String>,
    /// The layout of raw files.
    #[command(flatten)]
    pub raw: RawArgs,
    /// Grid spacing (voxel size) SX,SY,SZ, replacing what the file says (raw files: default
    /// 1,1,1), e.g. 0.96,0.96,1.5 for a CT with 1.5 mm slices.
    #[arg(long, value_name = "SX,SY,SZ", visible_alias = "raw-spacing")]
    pub spacing: Option<String>,
    /// The array to read from files that hold several (.vti, .vtk point, cell and FIELD data;
    /// default: the active scalars, else the first one-component array).
    #[arg(long, value_name = "NAME")]
    pub array: Option<String>,
    /// The component K of a vector array or volume (.vti/.vtk vectors, NRRD `kinds: vector …`,
    /// NIfTI intent VECTOR; default: its magnitude, as ParaView colours by).
    #[arg(long, value_name = "K")]
    pub component: Option<usize>,
    /// Replace NaN/inf samples with this value instead of failing.
    #[arg(value_parser = crate::num::finite_f32, long, value_name = "VALUE", allow_negative_numbers = true)]
    pub nan_to: Option<f32>,
    /// Physical time of each step T0,T1,… (default: a .pvd's timesteps, or the times the files
    /// state: a 4-D NRRD's time axis, NIfTI pixdim[4]/toffset; else 0, 1, 2, …); the collection's
    /// `time` column holds them.
    #[arg(long, value_name = "T0,T1,…", value_delimiter = ',', allow_hyphen_values = true)]
    pub time_values: Option<Vec<f64>>,
}

/// `--step K` of the commands that read one volume (isosurface, raycast prepare, inr fit, bench
/// render; `render` takes `--times`, and its `--step` is the ray-marching step).
#[derive(Args, Debug, Clone, Default)]
pub struct StepArg {
    /// Read time step K (0-based) of a time series: a .pvd, a 4-D NRRD or NIfTI, or the tornado
    /// and blobs at time K.
    #[arg(long, value_name = "K")]
    pub step: Option<usize>,
}

/// The layout of a raw volume file.
#[derive(Args, Debug, Clone)]
pub struct RawArgs {
    /// Raw files: dimensions NXxNYxNZ (x fastest).
    #[arg(long, value_name = "NXxNYxNZ")]
    pub raw_dims: Option<String>,
    /// Raw files: sample type u8, i8, u16, i16, u32, i32, u64, i64, f32 or f64.
    #[arg(long, default_value = "u8")]
    pub raw_dtype: String,
    /// Raw files: byte order, little or big.
    #[arg(long, default_value = "little")]
    pub raw_endian: String,
    /// Raw files: header bytes to skip.
    #[arg(long, default_value_t = 0)]
    pub raw_skip: u64,
}

impl Default for RawArgs {
    fn default() -> Self {
        RawArgs {
            raw_dims: None,
            raw_dtype: "u8".into(),
            raw_endian: "little".into(),
            raw_skip: 0,
        }
    }
}

impl VolumeOptions {
    /// `--spacing`, parsed.
    pub fn spacing(&self) -> Result<Option<[f32; 3]>> {
        let Some(s) = &self.spacing else {
            return Ok(None);
        };
        let v: Vec<f32> = s.split(',').map(|x| x.trim().parse().unwrap_or(f32::NAN)).collect();
        match v[..] {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_finite() && *x > 0.0) => Ok(Some([a, b, c])),
            _ => bail!("--spacing '{s}': expected three positive numbers SX,SY,SZ"),
        }
    }

    /// `--dims`, parsed.
    pub fn dims(&self) -> Result<Option<[usize; 3]>> {
        match &self.dims {
            Some(d) => Ok(Some(
                parse_dims(d).with_context(|| format!("--dims '{d}': expected N or NXxNYxNZ"))?,
            )),
            None => Ok(None),
        }
    }

    /// The reader options these flags give.
    pub fn read_options(&self) -> Result<ReadOptions> {
        Ok(ReadOptions {
            nan_to: self.nan_to,
            array: self.array.clone(),
            component: self.component,
            spacing: self.spacing()?,
        })
    }

    /// The raw layout these flags give, or `None` without `--raw-dims`.
    pub fn raw_spec(&self) -> Result<Option<RawSpec>> {
        let r = &self.raw;
        let Some(d) = &r.raw_dims else {
            return Ok(None);
        };
        let dims = parse_dims(d).with_context(|| format!("--raw-dims '{d}': expected NXxNYxNZ"))?;
        let Some(dtype) = DType::parse(&r.raw_dtype) else {
            bail!(
                "--raw-dtype '{}': expected u8, i8, u16, i16, u32, i32, u64, i64, f32 or f64",
                r.raw_dtype
            );
        };
        let Some(endian) = Endian::parse(&r.raw_endian) else {
            bail!("--raw-endian '{}': expected little or big", r.raw_endian);
        };
        let mut spec = RawSpec::new(dims, dtype);
        spec.endian = endian;
        spec.header_skip = r.raw_skip;
        if let Some(s) = self.spacing()? {
            spec.spacing = s;
        }
        Ok(Some(spec))
    }

    /// Opens the series `inputs` name (procedural names with `seed`).
    pub fn open(&self, inputs: &[String], seed: u64) -> Result<Box<dyn FieldSeries>> {
        let opts = OpenOptions {
            dims: self.dims()?,
            seed,
            raw: self.raw_spec()?,
            read: self.read_options()?,
            times: self.time_values.clone(),
        };
        Ok(open_series(inputs, &opts)?)
    }

    /// Reads one volume: a procedural field (at step `--step`, else 0; `--dims`, `seed`) or a file
    /// (`--step` K of a series file).
    pub fn read_one(&self, name: &str, seed: u64, step: &StepArg) -> Result<ScalarField> {
        if let Some(p) = Procedural::from_name(name, seed) {
            let dims = self.dims()?.unwrap_or(p.default_dims());
            neuvis_volume::field::check_dims(dims, name)?;
            let step = step.step.unwrap_or(0);
            if step >= p.default_steps() {
                bail!(
                    "--step {step}: {name} has {} time step{} (0 to {})",
                    p.default_steps(),
                    if p.default_steps() == 1 { "" } else { "s" },
                    p.default_steps() - 1
                );
            }
            let f = p.generate(dims, step as f64)?;
            return Ok(match self.spacing()? {
                Some(s) => ScalarField::new(f.dims(), s, f.origin(), f.into_data())?,
                None => f,
            });
        }
        if self.time_values.is_some() {
            bail!("--time-values is for time series; this command reads one volume");
        }
        let path = std::path::Path::new(name);
        let raw = self.raw_spec()?;
        match step.step {
            Some(_) if raw.is_some() => bail!("--step: a raw file holds one volume"),
            Some(k) => Ok(neuvis_volume::io::read_volume_step(path, &self.read_options()?, k)?),
            None => Ok(neuvis_volume::read_volume(path, raw.as_ref(), &self.read_options()?)?),
        }
    }
}

impl VolumeArgs {
    /// Opens the series these options describe.
    pub fn open(&self) -> Result<Box<dyn FieldSeries>> {
        self.opts.open(&self.volume, self.seed)
    }
}

/// The isovalue rule of every command: `--iso` when given, else the middle of the value range
/// (printed, with the range, so the user sees what was picked).
pub fn iso_or_mid(iso: Option<f32>, range: (f32, f32), quiet: bool) -> f32 {
    match iso {
        Some(v) => v,
        None => {
            let v = 0.5 * (range.0 + range.1);
            if !quiet {
                eprintln!(
                    "isovalue {} (the middle of the value range [{}, {}]; pass --iso to choose)",
                    v, range.0, range.1
                );
            }
            v
        }
    }
}
