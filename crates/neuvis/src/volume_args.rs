//! Command-line options that name a volume (procedural, files, raw layout).

use anyhow::{bail, Context, Result};
use clap::Args;
use neuvis_volume::{field::parse_dims, open_series, DType, Endian, FieldSeries, OpenOptions, RawSpec, ReadOptions};

/// Where the volume comes from.
#[derive(Args, Debug, Clone)]
pub struct VolumeArgs {
    /// `tornado`, `marschner-lobb`, `blobs`, `turbulence`, or one or more files / glob patterns
    /// (.nrrd .nhdr .nii .nii.gz .vtk, or raw with --raw-dims); several files form a time series.
    #[arg(long, num_args = 1.., required = true, value_name = "VOLUME")]
    pub volume: Vec<String>,
    /// Grid size of a procedural field: N or NXxNYxNZ (default: tornado/blobs/turbulence 128, marschner-lobb 41).
    #[arg(long, value_name = "N|NXxNYxNZ")]
    pub dims: Option<String>,
    /// Seed of seeded procedural fields (blobs, turbulence).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The layout of raw files.
    #[command(flatten)]
    pub raw: RawArgs,
    /// Replace NaN/inf samples with this value instead of failing.
    #[arg(value_parser = crate::num::finite_f32, long, value_name = "VALUE", allow_negative_numbers = true)]
    pub nan_to: Option<f32>,
}

/// The layout of a raw volume file: one set of flags for every command that reads a volume.
#[derive(Args, Debug, Clone)]
pub struct RawArgs {
    /// Raw files: dimensions NXxNYxNZ (x fastest).
    #[arg(long, value_name = "NXxNYxNZ")]
    pub raw_dims: Option<String>,
    /// Raw files: sample type u8, i8, u16, i16, u32, f32 or f64.
    #[arg(long, default_value = "u8")]
    pub raw_dtype: String,
    /// Raw files: byte order, little or big.
    #[arg(long, default_value = "little")]
    pub raw_endian: String,
    /// Raw files: header bytes to skip.
    #[arg(long, default_value_t = 0)]
    pub raw_skip: u64,
    /// Raw files: grid spacing SX,SY,SZ.
    #[arg(long, value_name = "SX,SY,SZ")]
    pub raw_spacing: Option<String>,
}

impl Default for RawArgs {
    fn default() -> Self {
        RawArgs {
            raw_dims: None,
            raw_dtype: "u8".into(),
            raw_endian: "little".into(),
            raw_skip: 0,
            raw_spacing: None,
        }
    }
}

impl RawArgs {
    /// The raw layout these flags give, or `None` without `--raw-dims`.
    pub fn spec(&self) -> Result<Option<RawSpec>> {
        let Some(d) = &self.raw_dims else {
            return Ok(None);
        };
        let dims = parse_dims(d).with_context(|| format!("--raw-dims '{d}': expected NXxNYxNZ"))?;
        let Some(dtype) = DType::parse(&self.raw_dtype) else {
            bail!(
                "--raw-dtype '{}': expected u8, i8, u16, i16, u32, f32 or f64",
                self.raw_dtype
            );
        };
        let Some(endian) = Endian::parse(&self.raw_endian) else {
            bail!("--raw-endian '{}': expected little or big", self.raw_endian);
        };
        let mut spec = RawSpec::new(dims, dtype);
        spec.endian = endian;
        spec.header_skip = self.raw_skip;
        if let Some(s) = &self.raw_spacing {
            let v: Vec<f32> = s.split(',').filter_map(|x| x.trim().parse().ok()).collect();
            let [a, b, c] = v[..] else {
                bail!("--raw-spacing '{s}': expected SX,SY,SZ");
            };
            spec.spacing = [a, b, c];
        }
        Ok(Some(spec))
    }
}

impl VolumeArgs {
    /// A procedural field at its default size.
    pub fn procedural(name: &str) -> VolumeArgs {
        VolumeArgs {
            volume: vec![name.to_string()],
            dims: None,
            seed: 0,
            raw: RawArgs::default(),
            nan_to: None,
        }
    }

    /// Opens the series these options describe.
    pub fn open(&self) -> Result<Box<dyn FieldSeries>> {
        let dims = match &self.dims {
            Some(d) => Some(parse_dims(d).with_context(|| format!("--dims '{d}': expected N or NXxNYxNZ"))?),
            None => None,
        };
        let raw = self.raw.spec()?;
        let opts = OpenOptions {
            dims,
            seed: self.seed,
            raw,
            read: ReadOptions { nan_to: self.nan_to },
        };
        Ok(open_series(&self.volume, &opts)?)
    }
}
