//! `neuvis devices`: the compute backends this build has and the GPU adapters the machine offers.

use anyhow::Result;
use clap::Args;

/// Options of `neuvis devices`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  neuvis devices                 # backends compiled in, GPU adapters found
  neuvis devices --json          # the same as JSON
  neuvis devices --probe         # also compute on every GPU device found (wgpu, CUDA)")]
pub struct DevicesArgs {
    /// Also open `--device gpu` and `--device cuda` where present and check a small computation
    /// there against the CPU.
    #[arg(long)]
    pub probe: bool,
}

/// The backends compiled into this binary, as `--version` lists them.
pub fn backends_line() -> String {
    let names = neuvis_nn::device::names();
    format!(
        "{} (compute backends: {}{})",
        env!("CARGO_PKG_VERSION"),
        names.join(", "),
        if names.contains(&"gpu") {
            ""
        } else {
            "; the default build adds wgpu and cuda"
        }
    )
}

/// Runs `neuvis devices`.
pub fn run(a: &DevicesArgs) -> Result<()> {
    let r = neuvis_nn::report::DevicesReport::gather(a.probe);
    if crate::json_mode() {
        println!("{}", serde_json::to_string_pretty(&r.json())?);
        return Ok(());
    }
    print!("{r}");
    Ok(())
}
