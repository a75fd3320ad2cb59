//! From a trained network to a `.nrvi` file and back to images.

use crate::config::{Arch, NetConfig, Plan, Skip};
use crate::container::{Header, Nrvi};
use crate::cpu::CpuNet;
use crate::dataset::encode_params;
use crate::quant::{dequantize, BitWidths};
use crate::weights::FlatTensor;
use crate::CodecError;
use neuvis_base::MaskedImage;
#[cfg(feature = "train")]
use {
    crate::container::TensorInfo,
    crate::dataset::Dataset,
    crate::net::NerviNet,
    crate::quant::quantize,
    crate::weights::{collect, load},
    burn::prelude::*,
};

/// Quantizes every tensor of `net` to its width in `bits` and assembles the container.
#[cfg(feature = "train")]
pub fn build_container(
    net: &NerviNet,
    cfg: &NetConfig,
    data: &Dataset,
    bits: BitWidths,
    source: serde_json::Value,
) -> Result<Nrvi, CodecError> {
    bits.check()?;
    let mut tensors = Vec::new();
    let mut symbols = Vec::new();
    for t in collect(net) {
        if t.data.iter().any(|v| !v.is_finite()) {
            return Err(CodecError::Diverged(format!("weights of {} are not finite", t.name)));
        }
        let tb = bits.for_tensor(&t.name);
        let (q, min, max) = quantize(&t.data, tb);
        symbols.extend(q);
        tensors.push(TensorInfo {
            name: t.name,
            shape: t.shape,
            min,
            max,
            bits: (tb != bits.max()).then_some(tb),
        });
    }
    Ok(Nrvi {
        header: Header {
            net: cfg.clone(),
            width: data.width,
            height: data.height,
            background: [255, 255, 255],
            params: data.space.clone(),
            grid: data.grid(),
            bits: bits.max(),
            tensors,
            raw_bytes: data.raw_bytes(),
            source,
        },
        symbols,
    })
}

/// The dequantized tensors of a container, in network order.
pub fn dequantized(file: &Nrvi) -> Vec<FlatTensor> {
    let mut off = 0;
    file.header
        .tensors
        .iter()
        .map(|t| {
            let n: usize = t.shape.iter().product();
            let data = dequantize(&file.symbols[off..off + n], t.min, t.max, t.bits(file.header.bits));
            off += n;
            FlatTensor {
                name: t.name.clone(),
                shape: t.shape.clone(),
                data,
            }
        })
        .collect()
}

/// A network ready to decode images.
pub struct Decoder {
    /// The container's header.
    pub header: Header,
    engine: Engine,
}

/// Where the forward pass runs: the direct CPU engine ([`crate::cpu`]) on the CPU device, burn on
/// the others (GPUs; feature `train`).
enum Engine {
    Cpu(CpuNet),
    #[cfg(feature = "train")]
    Burn {
        net: NerviNet,
        device: Device,
    },
}

impl Decoder {
    /// Builds the network of `file` with its dequantized weights for the direct CPU engine.
    pub fn cpu(file: &Nrvi) -> Result<Decoder, CodecError> {
        let engine = Engine::Cpu(CpuNet::new(&file.header.net, &dequantized(file))?);
        Ok(Decoder {
            header: file.header.clone(),
            engine,
        })
    }

    /// Builds the network of `file` with its dequantized weights for `device` (the direct CPU
    /// engine on burn's CPU device, burn's forward pass elsewhere).
    #[cfg(feature = "train")]
    pub fn new(file: &Nrvi, device: &Device) -> Result<Decoder, CodecError> {
        let tensors = dequantized(file);
        let engine = if *device == Device::flex() {
            Engine::Cpu(CpuNet::new(&file.header.net, &tensors)?)
        } else {
            let net = NerviNet::new(&file.header.net, 0, device);
            let net = load(net, &tensors, device)?;
            Engine::Burn {
                net,
                device: device.clone(),
            }
        };
        Ok(Decoder {
            header: file.header.clone(),
            engine,
        })
    }

    /// Wraps an in-memory network (e.g. straight after training).
    #[cfg(feature = "train")]
    pub fn from_net(header: Header, net: NerviNet, device: &Device) -> Result<Decoder, CodecError> {
        let engine = if *device == Device::flex() {
            Engine::Cpu(CpuNet::new(&header.net, &collect(&net))?)
        } else {
            Engine::Burn {
                net,
                device: device.clone(),
            }
        };
        Ok(Decoder { header, engine })
    }

    /// Forces burn's forward pass on `device` (the reference the CPU engine is tested against).
    #[cfg(feature = "train")]
    pub fn with_burn(file: &Nrvi, device: &Device) -> Result<Decoder, CodecError> {
        let net = NerviNet::new(&file.header.net, 0, device);
        let net = load(net, &dequantized(file), device)?;
        Ok(Decoder::burn_reference(file.header.clone(), net, device))
    }

    /// Wraps an in-memory network, always decoding with burn's forward pass on `device`.
    #[cfg(feature = "train")]
    pub fn burn_reference(header: Header, net: NerviNet, device: &Device) -> Decoder {
        Decoder {
            header,
            engine: Engine::Burn {
                net,
                device: device.clone(),
            },
        }
    }

    /// Whether `p` lies on the training grid ([`crate::container::Grid::contains`]).
    pub fn on_grid(&self, p: [f64; 3]) -> bool {
        self.header.grid.contains(p)
    }

    /// The views a decode asks for: the training grid's when `views` is empty, else each
    /// `"t,θ,φ"` (degrees, as `neuvis decompress --view` takes them) parsed and checked against
    /// the trained ranges ([`Decoder::check_range`]).
    pub fn views(&self, views: &[String]) -> Result<Vec<[f64; 3]>, CodecError> {
        if views.is_empty() {
            return Ok(self.header.grid.params());
        }
        views
            .iter()
            .map(|s| {
                let bad = |why: String| CodecError::Input(format!("--view '{s}': {why}"));
                let v = s
                    .split(',')
                    .map(|x| x.trim().parse::<f64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(e.to_string()))?;
                let [t, th, ph] = v[..] else {
                    return Err(bad("expected t,theta,phi".into()));
                };
                self.check_range([t, th, ph])?;
                Ok([t, th, ph])
            })
            .collect()
    }

    /// Checks that `p` lies inside the trained parameter ranges (φ is periodic and always valid).
    pub fn check_range(&self, p: [f64; 3]) -> Result<(), CodecError> {
        let s = &self.header.params;
        let eps = 1e-9;
        if !p.iter().all(|v| v.is_finite()) {
            let names = ["time", "θ", "φ"];
            let bad: Vec<String> = p
                .iter()
                .zip(names)
                .filter(|(v, _)| !v.is_finite())
                .map(|(v, n)| format!("{n} = {v}"))
                .collect();
            return Err(CodecError::Input(format!(
                "parameters must be finite numbers: {}",
                bad.join(", ")
            )));
        }
        if p[0] < s.time[0] - eps || p[0] > s.time[1] + eps {
            return Err(CodecError::Input(format!(
                "time {} is outside the trained range [{}, {}]",
                p[0], s.time[0], s.time[1]
            )));
        }
        if !(0.0 - eps..=180.0 + eps).contains(&p[1]) {
            return Err(CodecError::Input(format!("θ {} is outside [0, 180]", p[1])));
        }
        Ok(())
    }

    /// Decodes images for `params` (in batches of `batch` on burn devices; one image per thread on the CPU): the composited image over the background
    /// and the mask (NeRVI: predicted mask > 0.5; NeRV: pixels that differ from the background).
    pub fn decode(&self, params: &[[f64; 3]], batch: usize) -> Result<Vec<MaskedImage>, CodecError> {
        #[cfg(not(feature = "train"))]
        let _ = batch; // only burn devices decode in batches
        use rayon::prelude::*;
        for p in params {
            self.check_range(*p)?;
        }
        let h = &self.header;
        let net = &h.net;
        // the working memory of the images decoded at once, checked before any is allocated
        let per_image = net
            .decode_bytes()
            .ok_or_else(|| CodecError::Format("network buffer sizes overflow".into()))?;
        #[cfg(feature = "train")]
        let at_once = match &self.engine {
            Engine::Cpu(_) => rayon::current_num_threads(),
            Engine::Burn { .. } => batch.max(1),
        };
        #[cfg(not(feature = "train"))]
        let at_once = rayon::current_num_threads();
        let at_once = at_once.min(params.len()).max(1) as u64;
        // every decoded image is kept until the call returns (RGB and mask bytes); each decoding
        // thread's first allocation reserves a glibc heap (64 MiB of address space)
        let image_bytes = (h.width as u64).saturating_mul(h.height as u64).saturating_mul(4);
        let needed = per_image
            .saturating_add(64 << 20)
            .saturating_mul(at_once)
            .saturating_add(image_bytes.saturating_mul(params.len() as u64));
        neuvis_base::mem::check_memory(needed).map_err(|e| {
            CodecError::Input(format!(
                "decoding {} image(s) of {}x{}, {at_once} at once (network width c2 = {}): {e}; use fewer threads (--threads), a smaller --batch or a machine with more memory",
                params.len(),
                h.width,
                h.height,
                net.c2
            ))
        })?;
        let encode = |p: &[f64; 3]| {
            let mut q = *p;
            q[2] = q[2].rem_euclid(360.0);
            encode_params(&h.params, q, net.pe_base, net.pe_levels)
        };
        let hw = h.width * h.height;
        match &self.engine {
            Engine::Cpu(cpu) => params
                .par_iter()
                .map(|p| {
                    // a Ctrl-C stops between images (an image of a large model takes seconds)
                    if neuvis_base::interrupt::requested() {
                        return Err(CodecError::Interrupted(neuvis_base::Interrupted {
                            kept: "stopped while decoding".into(),
                            resumable: false,
                        }));
                    }
                    let out = cpu.forward(&encode(p));
                    self.to_image(&out[..3 * hw], (out.len() == 4 * hw).then(|| &out[3 * hw..]))
                })
                .collect(),
            #[cfg(feature = "train")]
            Engine::Burn { net: bnet, device } => {
                let mut out = Vec::with_capacity(params.len());
                for chunk in params.chunks(batch.max(1)) {
                    let x: Vec<f32> = chunk.iter().flat_map(&encode).collect();
                    let xt = Tensor::<1>::from_floats(x.as_slice(), device).reshape([chunk.len(), net.pe_dim()]);
                    let y = bnet
                        .forward(xt)
                        .into_data()
                        .convert::<f32>()
                        .try_to_vec::<f32>()
                        .map_err(|e| CodecError::Format(format!("{e:?}")))?;
                    let c = net.out_channels();
                    for b in 0..chunk.len() {
                        let one = &y[b * c * hw..(b + 1) * c * hw];
                        out.push(self.to_image(&one[..3 * hw], (c == 4).then(|| &one[3 * hw..]))?);
                    }
                }
                Ok(out)
            }
        }
    }

    /// Composites the network output (RGB planes `f`, mask plane `m̂` for NeRVI) into an image:
    /// `M̂ ⊙ f + (1 − M̂) ⊙ background`, mask `M̂ > 0.5`; NeRV: `f`, mask where it differs from the
    /// background by more than 2 levels.
    fn to_image(&self, f: &[f32], m: Option<&[f32]>) -> Result<MaskedImage, CodecError> {
        let h = &self.header;
        let hw = h.width * h.height;
        let bg = h.background.map(|c| c as f32 / 255.0);
        let mut rgb = vec![0u8; hw * 3];
        let mut mask = vec![0u8; hw];
        for p in 0..hw {
            let a = m.map_or(1.0, |m| m[p]);
            for c in 0..3 {
                let v = a * f[c * hw + p] + (1.0 - a) * bg[c];
                rgb[3 * p + c] = (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8 // round half up; v ≥ 0;
            }
            let on = match m {
                Some(m) => m[p] > 0.5,
                None => (0..3).any(|c| rgb[3 * p + c].abs_diff(h.background[c]) > 2),
            };
            mask[p] = if on { 255 } else { 0 };
        }
        MaskedImage::new(h.width, h.height, rgb, mask).map_err(|e| CodecError::Format(e.to_string()))
    }
}

/// Predicted file size in bytes for a network: weights at `bits` after Huffman coding plus the
/// overhead (see [`overhead_bytes`]). Trained weights have a bell-shaped histogram over their range,
/// so the code spends fewer bits than the width: about `bits − 0.8` per convolution weight (measured
/// 6.15 at 7 bits, 6.98 at 8 on a 16.6k-parameter NeRVI network after 220 epochs, 7.28 at 8 after
/// 40) and `bits − 1.5` per MLP weight, whose range is stretched by a few large weights (6.94 at 9
/// bits and 7.89 at 10 after 220 epochs; fewer bits are saved after short training, where the
/// whole network coded at 7.28 bits at 8; BENCHMARKS.md, codec section): the files written in the
/// equal-size comparison came out within 4 % of the prediction. A NeRVI MLP with a lower SIREN
/// frequency spreads its weights more evenly over their range and saves less: 6.96 bits at 8 with
/// ω₀ = 10 (220 epochs), 6.8–7.1 after 40, so the MLP's saving goes linearly from 1.0 bit at
/// ω₀ ≤ 10 to 1.5 at ω₀ ≥ 30 ([`mlp_bits_saved`]).
pub fn predicted_bytes(cfg: &NetConfig, bits: BitWidths, overhead: usize) -> f64 {
    let per = |b: u32, saved: f64| (b as f64 - saved).max(1.0) / 8.0;
    cfg.mlp_param_count() as f64 * per(bits.mlp, mlp_bits_saved(cfg))
        + cfg.upscale_param_count() as f64 * per(bits.conv, 0.8)
        + cfg.head_param_count() as f64 * per(bits.max(), 0.8)
        + overhead as f64
}

/// Bits per MLP weight that Huffman coding saves below the quantization width, as used by
/// [`predicted_bytes`]: 1.5 for NeRV and for NeRVI at ω₀ ≥ 30, 1.0 at ω₀ ≤ 10, linear between.
///
/// ```
/// use neuvis_codec::codec::mlp_bits_saved;
/// use neuvis_codec::{Arch, NetConfig};
/// let mut cfg = NetConfig::for_image(Arch::Nervi, 64, 64, 14, 7, 14).unwrap();
/// assert_eq!(mlp_bits_saved(&cfg), 1.5); // the paper's ω₀ = 30
/// cfg.omega0 = 20.0;
/// assert_eq!(mlp_bits_saved(&cfg), 1.25);
/// cfg.omega0 = 5.0;
/// assert_eq!(mlp_bits_saved(&cfg), 1.0);
/// ```
pub fn mlp_bits_saved(cfg: &NetConfig) -> f64 {
    match cfg.arch {
        Arch::Nerv => 1.5,
        Arch::Nervi => 1.0 + 0.5 * ((cfg.omega0 - 10.0) / 20.0).clamp(0.0, 1.0),
    }
}

/// Bytes of a file besides the weight payload: the fixed fields and the deflated header and code
/// table. Measured by writing the container of a 4-wide network with the same plan, architecture
/// and skips (the header lists the same tensors whatever the widths) for `data` and `source`; plus
/// `2^w / 4` bytes per width `w` because a trained network's code lengths (a bell of lengths) deflate less
/// well than those of a freshly initialized one (nearly all equal).
#[cfg(feature = "train")]
pub fn overhead_bytes(
    cfg: &NetConfig,
    data: &Dataset,
    bits: BitWidths,
    source: serde_json::Value,
) -> Result<usize, CodecError> {
    let mut tiny = cfg.clone();
    (tiny.c1, tiny.c0, tiny.c2, tiny.c_min) = (4, 4, 4, 4);
    let net = NerviNet::new(&tiny, 0, &Device::flex());
    let file = build_container(&net, &tiny, data, bits, source)?;
    let bytes = file.to_bytes()?;
    let payload: usize = file.coded_bits().iter().map(|&(_, _, b)| b.div_ceil(8) as usize).sum();
    Ok(bytes.len() - payload + (1 << bits.mlp) / 4 + if bits.mlp != bits.conv { (1 << bits.conv) / 4 } else { 0 })
}

/// Picks widths for a target file size: `c1 = c2 = s` (MLP width and first upscale channels) and
/// `C0 = s` for the paper plan or `⌈s/2⌉` for a start-grid plan, the largest `s` whose predicted
/// size (with `overhead` bytes besides the weights, see [`overhead_bytes`]) fits `target_bytes`.
/// `skip` and `omega0` are set on every candidate (ω₀ changes how well the MLP's weights code).
/// Errors when even `s = 4` is too large.
#[allow(clippy::too_many_arguments)]
pub fn size_for_target(
    arch: Arch,
    width: usize,
    height: usize,
    bits: BitWidths,
    target_bytes: f64,
    overhead: usize,
    plan: Plan,
    skip: Skip,
    omega0: f64,
) -> Result<NetConfig, CodecError> {
    let mut best = None;
    let make = |s: usize| {
        // Table 1's widths for the paper plan; with a larger start grid the reshaped MLP output
        // C0·h0·w0 grows with the grid, so C0 = ⌈s/2⌉ keeps the MLP from taking most of the budget
        let c0 = if plan == Plan::Paper { s } else { s.div_ceil(2) };
        let mut cfg = NetConfig::for_image_plan(arch, width, height, s, c0, s, plan)
            .map_err(|e| CodecError::Input(e.to_string()))?;
        cfg.skip = skip;
        cfg.omega0 = omega0;
        Ok::<_, CodecError>(cfg)
    };
    for s in 4..=2048 {
        let cfg = make(s)?;
        if predicted_bytes(&cfg, bits, overhead) <= target_bytes {
            best = Some(cfg);
        } else {
            break;
        }
    }
    best.ok_or_else(|| {
        CodecError::Input(format!(
            "no network fits {:.0} bytes (the smallest needs {:.0}); ask for a lower --ratio",
            target_bytes,
            make(4).map(|c| predicted_bytes(&c, bits, overhead)).unwrap_or(0.0)
        ))
    })
}

/// The `meta.json` of a collection decoded from the model file `model` (header `header`), where
/// `unseen` of the views lie off its training grid: what `neuvis decompress` records.
pub fn decoded_meta(model: &std::path::Path, header: &Header, unseen: usize) -> serde_json::Value {
    serde_json::json!({
        "generator": format!("neuvis {}", env!("CARGO_PKG_VERSION")),
        "decoded_from": model.display().to_string(),
        "image_size": [header.width, header.height],
        "background": header.background,
        "mask": "alpha channel: predicted mask > 0.5 (NeRVI) or non-background pixels (NeRV)",
        "unseen_parameters": unseen,
    })
}

/// Decodes `params` with `dec` into a new Cinema database at `out` with `meta` as its
/// `meta.json` (time steps numbered by sorted distinct time), `batch` images per forward pass;
/// `progress(n)` is called after every `n` images written. Returns the seconds spent in the
/// network. The database is written atomically (`.NAME.partial`, renamed at the end); `overwrite`
/// replaces an existing one. With a shard, only its block of `params` is decoded, into the part
/// `OUT.part-IIII-of-NNNN.cdb` (see `neuvis_collection::merge_parts`); time-step folders are
/// numbered over all of `params`, so the merged parts equal the single-process database.
#[allow(clippy::too_many_arguments)]
pub fn decode_to_db(
    dec: &Decoder,
    params: &[[f64; 3]],
    out: &std::path::Path,
    meta: &serde_json::Value,
    overwrite: bool,
    batch: usize,
    shard: neuvis_base::Shard,
    mut progress: impl FnMut(usize),
) -> Result<f64, CodecError> {
    use neuvis_collection::{DbWriter, View};
    let mut times: Vec<f64> = params.iter().map(|p| p[0]).collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    // the source collection's step numbers (its t0024/ folders), where the file records them;
    // else the index among the decoded times (past the source's last step for a time it lacks)
    let source_steps: Vec<(f64, usize)> = dec.header.source_info().time_steps.unwrap_or_default();
    let after = source_steps.iter().map(|&(_, s)| s + 1).max().unwrap_or(0);
    let step_of = |t: f64| {
        source_steps
            .iter()
            .find(|(st, _)| *st == t)
            .map(|&(_, s)| s)
            .unwrap_or_else(|| after + times.iter().position(|&x| x == t).unwrap_or(0))
    };
    let views: Vec<View> = params
        .iter()
        .map(|p| View {
            step: step_of(p[0]),
            time: p[0],
            theta: p[1],
            phi: p[2],
        })
        .collect();
    let mine = shard.range(views.len());
    let total = views.len();
    let views = views[mine.clone()].to_vec();
    let mut w = DbWriter::create_part(out, meta, shard, mine, total, false, overwrite)?;
    let mut decode_s = 0.0;
    let result = (|| {
        w.prepare(&views)?;
        let mut written_bytes = 0u64;
        for chunk in views.chunks(batch.max(1) * 4) {
            if neuvis_base::interrupt::requested() {
                // (the message is made below, where the partial output is removed)
                return Err(CodecError::Interrupted(neuvis_base::Interrupted {
                    kept: String::new(),
                    resumable: false,
                }));
            }
            // never fill the disk: stop while a reserve is left (a hostile grid can claim millions
            // of images from a few bytes)
            if let Some(free) = neuvis_base::fs::free_space(out) {
                let avg = if w.is_empty() {
                    0
                } else {
                    written_bytes / w.len() as u64
                };
                let need = avg.saturating_mul(chunk.len() as u64).saturating_add(DISK_RESERVE);
                if free < need {
                    return Err(CodecError::Input(format!(
                        "{}: the disk is nearly full after {} of {} images ({} MiB free, {} MiB kept in reserve); nothing was kept",
                        out.display(),
                        w.len(),
                        views.len(),
                        free >> 20,
                        DISK_RESERVE >> 20
                    )));
                }
            }
            let p: Vec<[f64; 3]> = chunk.iter().map(|v| [v.time, v.theta, v.phi]).collect();
            let td = std::time::Instant::now();
            let imgs = dec.decode(&p, batch)?;
            decode_s += td.elapsed().as_secs_f64();
            for (v, im) in chunk.iter().zip(&imgs) {
                written_bytes += w.write(v, im)?;
                w.push(*v);
            }
            progress(chunk.len());
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            w.finish()?;
            Ok(decode_s)
        }
        Err(e) => {
            // a failed decode leaves nothing behind (and nothing that blocks the next run)
            let done = w.len();
            w.abort();
            match e {
                CodecError::Interrupted(_) => Err(CodecError::Interrupted(neuvis_base::Interrupted {
                    kept: format!(
                        "stopped after {done} of {} images; nothing was kept (the partial {} is removed)",
                        views.len(),
                        out.display()
                    ),
                    resumable: false,
                })),
                e => Err(e),
            }
        }
    }
}

/// Free space [`decode_to_db`] leaves on the output's file system: 64 MiB (enough for the system
/// to go on, small enough not to refuse a small decode on a nearly full disk).
pub const DISK_RESERVE: u64 = 64 << 20;
