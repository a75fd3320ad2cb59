//! `neuvis merge`: assembles the parts that sharded runs (`--shard I/N`) wrote into the output a
//! single process writes.

use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

/// Options of `neuvis merge`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Example (four tasks, then the merge):
  for i in 0 1 2 3; do neuvis render --volume tornado --size 128 --shard $i/4 -o tornado.cdb; done
  neuvis merge tornado.cdb          # reads tornado.part-0000-of-0004.cdb … tornado.part-0003-of-0004.cdb")]
pub struct MergeArgs {
    /// The output the sharded command named with -o (or --csv): its parts
    /// OUT.part-IIII-of-NNNN.ext beside it are found, checked (all present, one run) and merged.
    pub output: PathBuf,
    /// Delete the parts once the output is written (only parts neuvis wrote).
    #[arg(long)]
    pub remove_parts: bool,
    #[command(flatten)]
    pub out: neuvis_cli::flags::OutputArgs,
    #[command(flatten)]
    pub device: neuvis_cli::flags::DeviceArg,
}

/// Runs `neuvis merge`.
pub fn run(a: &MergeArgs) -> Result<()> {
    let t0 = std::time::Instant::now();
    let parts = neuvis_base::shard::find_parts(&a.output)?;
    let first = &parts[0].1;
    let is_store = a.output.extension().is_some_and(|e| e.eq_ignore_ascii_case("nvb"));
    if first.is_dir() {
        let r = neuvis_collection::merge_parts(&a.output, a.out.overwrite, a.remove_parts)?;
        println!(
            "merged {} parts into {}: {} images ({} hard-linked, {} copied) in {:.2} s",
            r.parts,
            r.output.display(),
            r.images,
            r.linked,
            r.images - r.linked,
            t0.elapsed().as_secs_f64()
        );
    } else if is_store {
        let inputs: Vec<&std::path::Path> = parts.iter().map(|(_, p)| p.as_path()).collect();
        crate::outputs::check(&a.output, crate::outputs::NVB, a.out.overwrite, &inputs)?;
        let info = neuvis_raycast::prepare::part_settings(&a.output)?;
        let trainer = crate::raycast_cmd::sr_trainer(&info.trainer, &a.device);
        let trainer = match (info.kind.has_network(), trainer) {
            (true, Ok(t)) => Some(t),
            (true, Err(e)) => return Err(e),
            (false, _) => None,
        };
        let r = neuvis_raycast::prepare::merge_parts(
            &a.output,
            trainer.as_ref().map(|t| t as &neuvis_raycast::prepare::Trainer),
            |_, _| {},
        )?;
        if a.remove_parts {
            for p in &inputs {
                std::fs::remove_file(p)?;
            }
        }
        println!(
            "merged {} parts into {} ({:.2} MB, {} bricks) in {:.2} s",
            r.parts,
            a.output.display(),
            r.report.bytes as f64 / 1e6,
            r.report.geometry.nbricks(),
            t0.elapsed().as_secs_f64()
        );
    } else if first.is_file() {
        // the one table that shards: eval's per-image scores
        let (n, rows) = neuvis_base::shard::merge_text_parts(
            &a.output,
            neuvis_metrics::eval::CSV_HEADER,
            a.out.overwrite,
            a.remove_parts,
        )?;
        println!(
            "merged {n} parts into {}: {rows} rows in {:.2} s",
            a.output.display(),
            t0.elapsed().as_secs_f64()
        );
    } else {
        bail!("{}: not a part neuvis writes", first.display());
    }
    Ok(())
}
