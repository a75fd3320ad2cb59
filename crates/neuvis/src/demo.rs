//! `neuvis demo`: the README's main job on built-in data.

use crate::render::{self, ModeArg, RenderArgs};
use crate::volume_args::VolumeArgs;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// Options of `neuvis demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Output folder.
    #[arg(short, long, default_value = "neuvis-demo")]
    pub output: PathBuf,
    /// Image size.
    #[arg(long, default_value = "64")]
    pub size: String,
    /// Angle step for θ and φ in degrees.
    #[arg(long, default_value_t = 30.0)]
    pub angle_step: f64,
    /// Time steps of the tornado.
    #[arg(long, default_value = "0:48:12")]
    pub times: String,
}

/// Runs the demo: renders IR and DVR collections of the tornado.
pub fn run(a: &DemoArgs) -> Result<()> {
    std::fs::create_dir_all(&a.output)?;
    println!(
        "neuvis demo: tornado 128³, times {}, θ/φ every {}°, {} px images → {}",
        a.times,
        a.angle_step,
        a.size,
        a.output.display()
    );
    let mut rows = Vec::new();
    for mode in [ModeArg::Iso, ModeArg::Dvr] {
        let name = if mode == ModeArg::Iso {
            "tornado-ir.cdb"
        } else {
            "tornado-dvr.cdb"
        };
        let args = RenderArgs {
            volume: VolumeArgs::procedural("tornado"),
            mode,
            iso: (mode == ModeArg::Iso).then_some(0.17),
            color: "0.85,0.65,0.45".into(),
            tf: "cool-to-warm".into(),
            opacity: Some("0:0,0.15:0,0.5:0.35,1:0.9".into()),
            tf_range: None,
            tf_rescale: false,
            shade: false,
            size: a.size.clone(),
            theta_step: a.angle_step,
            phi_step: a.angle_step,
            cameras: None,
            times: a.times.clone(),
            fov: 30.0,
            step: 0.5,
            output: a.output.join(name),
            resume: false,
            overwrite: true,
            quiet: false,
        };
        let s = render::run(&args)?;
        rows.push((if mode == ModeArg::Iso { "IR" } else { "DVR" }, s));
    }
    println!("\n| mode | images | size | seconds | images/s | database |");
    println!("|------|-------:|------|--------:|---------:|----------|");
    for (m, s) in &rows {
        println!(
            "| {m} | {} | {}x{} | {:.1} | {:.1} | {} |",
            s.images,
            s.width,
            s.height,
            s.seconds,
            s.images as f64 / s.seconds.max(1e-9),
            s.output.display()
        );
    }
    println!("\nOpen the PNGs listed in each data.csv, or load the .cdb folders in a Cinema viewer.");
    Ok(())
}
