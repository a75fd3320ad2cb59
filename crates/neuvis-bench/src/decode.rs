//! `neuvis bench decode`: decoded images per second of the CPU engine next to burn's forward pass
//! (flex; with `--device`, a GPU) on a randomly initialized network of the codec's size.

use crate::machine::{cuda_name, gpu_name};
use crate::table::Table;
use anyhow::Result;
use clap::Args;
use serde_json::json;
use std::time::Instant;

/// Options of `neuvis bench decode`.
#[derive(Args, Debug)]
pub struct DecodeBenchArgs {
    /// Image edge length.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Network width s (c1 = c2 = s, C0 = ⌈s/2⌉, 8×8 start); default: the width `--ratio 500`
    /// picks for 800 views.
    #[arg(long)]
    pub width: Option<usize>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Images to decode.
    #[arg(long, default_value_t = 160)]
    pub images: usize,
    /// Also decode with burn's forward pass on this device (gpu or cuda), cold (first batch:
    /// kernel compilation) and warm.
    #[arg(long)]
    pub device: Option<String>,
}

/// A randomly initialized NeRVI network of the size `--ratio 500` picks for 800 views of
/// `size`² (or of width `width`), with a header for the grid t = 0, θ and φ in steps of `step`°.
pub(crate) fn synthetic_model(
    size: usize,
    width: Option<usize>,
    step: usize,
) -> Result<(neuvis_codec::container::Header, neuvis_codec::NerviNet, Vec<[f64; 3]>)> {
    use neuvis_codec::codec::size_for_target;
    use neuvis_codec::container::{Grid, Header, ParamSpace};
    use neuvis_codec::{Arch, NerviNet, NetConfig, Plan};
    let raw = 800.0 * (size * size * 3) as f64;
    let cfg = match width {
        Some(s) => NetConfig::for_image_plan(Arch::Nervi, size, size, s, s.div_ceil(2), s, Plan::Start(8))?,
        None => size_for_target(
            Arch::Nervi,
            size,
            size,
            neuvis_codec::quant::BitWidths::uniform(9),
            raw / 500.0,
            2000,
            Plan::Start(8),
            neuvis_codec::Skip::Project,
            30.0,
        )?,
    };
    let net = NerviNet::new(&cfg, 0, &burn::prelude::Device::flex());
    let grid: Vec<[f64; 3]> = (0..=180 / step)
        .flat_map(|i| (0..360 / step).map(move |j| [0.0, (i * step) as f64, (j * step) as f64]))
        .collect();
    let header = Header {
        net: cfg,
        width: size,
        height: size,
        background: [255; 3],
        params: ParamSpace {
            time: [0.0, 0.0],
            time_span: None,
            theta: [0.0, 180.0],
            phi: [0.0, 360.0],
        },
        grid: Grid::from_params(&grid),
        bits: 9,
        tensors: vec![],
        raw_bytes: (grid.len() * size * size * 3) as u64,
        source: json!({}),
    };
    Ok((header, net, grid))
}

pub(crate) fn decode_bench(a: &DecodeBenchArgs) -> Result<()> {
    use neuvis_codec::codec::Decoder;
    let (header, net, _) = synthetic_model(a.size, a.width, 9)?;
    let cfg = header.net.clone();
    let device = burn::prelude::Device::flex();
    let params: Vec<[f64; 3]> = (0..a.images)
        .map(|i| [0.0, (i * 7 % 180) as f64, (i * 13 % 360) as f64])
        .collect();
    let gpu = match &a.device {
        Some(name) => {
            let dev = neuvis_nn::device::device(name)?;
            let gnet = neuvis_codec::weights::load(
                neuvis_codec::NerviNet::new(&cfg, 0, &dev),
                &neuvis_codec::weights::collect(&net),
                &dev,
            )?;
            Some((
                format!(
                    "burn forward on --device {name} ({})",
                    if neuvis_nn::device::canonical(name) == Some("cuda") {
                        cuda_name()
                    } else {
                        gpu_name()
                    }
                ),
                Decoder::burn_reference(header.clone(), gnet, &dev),
            ))
        }
        None => None,
    };
    let burn_dec = Decoder::burn_reference(header.clone(), net.clone(), &device);
    let dec = Decoder::from_net(header, net, &device)?;
    let mut rows = Vec::new();
    let mut engines: Vec<(String, &Decoder)> = vec![
        ("neuvis CPU engine".into(), &dec),
        ("burn-flex forward (baseline)".into(), &burn_dec),
    ];
    if let Some((name, d)) = &gpu {
        engines.push((name.clone(), d));
    }
    for (name, d) in engines {
        let t0 = Instant::now();
        d.decode(&params[..a.batch.min(params.len())], a.batch)?; // warm-up
        let cold = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let imgs = d.decode(&params, a.batch)?;
        rows.push((name, imgs.len(), t0.elapsed().as_secs_f64(), cold));
    }
    let mut table = Table::new(
        "decode",
        format!(
            "decode benchmark: NeRVI width {} ({} parameters, ≈ ratio 500 for 800 views), {}² images, burn batch {}, {} threads",
            cfg.c1,
            cfg.param_count(),
            a.size,
            a.batch,
            rayon::current_num_threads()
        ),
        &["engine", "first batch s (cold)", "images", "seconds", "images/s (warm)", "target"],
    );
    for (name, n, s, cold) in rows {
        table.row(vec![
            name.to_string(),
            format!("{cold:.2}"),
            n.to_string(),
            format!("{s:.2}"),
            format!("{:.1}", n as f64 / s),
            "≥ 100".into(),
        ]);
    }
    table.print();
    Ok(())
}
