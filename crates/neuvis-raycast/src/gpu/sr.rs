//! The brick network on the GPU (`sr.wgsl`): requested bricks are reconstructed in batches by
//! compute passes that read the base volume already on the GPU and write the bricks straight into
//! their atlas slots, so nothing but each brick's coordinates, slot and first-layer bias crosses
//! the bus.

use crate::geom::Geometry;
use crate::sr::SrNet;

/// Words of the shader's `Layer`.
const LAYER_WORDS: usize = 24;
/// Scratch activations per batch stay under this many bytes (two ping-pong buffers; counted
/// against the budget: 8 MiB is ~37 bricks of 32³ at factor 4 and 16 channels a batch, a million
/// invocations a layer).
const SCRATCH_BYTES: usize = 8 << 20;
/// Invocations per workgroup of every entry point.
const WG: usize = 64;
/// Output channels per invocation of a convolution (`CB` of `sr.wgsl`).
const CB: usize = 8;

/// One layer's dispatch: its entry point, bind group, uniform buffer and shape.
struct Step {
    pipeline: usize,
    bind: wgpu::BindGroup,
    uniform: wgpu::Buffer,
    /// Uniform words, less the batch count and the row width written per batch.
    words: Vec<u32>,
    /// Invocations per brick.
    per_brick: usize,
}

/// The network's weights and pipelines on the GPU, and scratch for a batch of bricks.
pub(super) struct SrGpu {
    net: SrNet,
    pipelines: [wgpu::ComputePipeline; 3],
    steps: Vec<Step>,
    bricks: wgpu::Buffer,
    bias0: wgpu::Buffer,
    /// Bricks per batch.
    batch: usize,
    max_groups: usize,
}

impl SrGpu {
    /// Bytes this needs on the GPU for `net` (weights, scratch, batch tables), and the batch.
    pub(super) fn plan(net: &SrNet) -> (usize, usize) {
        let cfg = &net.config;
        let c = cfg.channels;
        // the largest activation: the first layer's output
        let act = (cfg.in_side() - 2).pow(3) * c * 4;
        let batch = (SCRATCH_BYTES / (2 * act)).clamp(1, 512);
        let bytes = cfg.params() * 4 + 2 * batch * act + batch * (16 + c * 4) + (cfg.hidden + 1) * LAYER_WORDS * 4;
        (bytes, batch)
    }

    /// Uploads `net` and builds its pipelines for a store of geometry `g`; `base` is the base
    /// volume's buffer, `atlas` the brick atlas.
    pub(super) fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        net: &SrNet,
        g: &Geometry,
        base: &wgpu::Buffer,
        atlas: &wgpu::Buffer,
    ) -> SrGpu {
        let cfg = net.config;
        let (_, batch) = Self::plan(net);
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let buffer = |label: &str, size: usize, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: super::padded(size) as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        // all weights and biases in one buffer, layer by layer
        let mut flat: Vec<f32> = Vec::with_capacity(cfg.params());
        let mut offsets = Vec::new();
        for (w, b) in &net.layers {
            let wo = flat.len();
            flat.extend(w);
            let bo = flat.len();
            flat.extend(b);
            offsets.push((wo as u32, bo as u32));
        }
        let weights = buffer("sr weights", flat.len() * 4, storage);
        queue.write_buffer(&weights, 0, bytemuck::cast_slice(&flat));
        let act = (cfg.in_side() - 2).pow(3) * cfg.channels;
        let xa = buffer("sr activations a", batch * act * 4, wgpu::BufferUsages::STORAGE);
        let xb = buffer("sr activations b", batch * act * 4, wgpu::BufferUsages::STORAGE);
        let bricks = buffer("sr bricks", batch * 16, storage);
        let bias0 = buffer("sr first bias", batch * cfg.channels * 4, storage);
        let entry = |binding: u32, ty: wgpu::BufferBindingType| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let ro = wgpu::BufferBindingType::Storage { read_only: true };
        let rw = wgpu::BufferBindingType::Storage { read_only: false };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("sr"),
            entries: &[
                entry(0, wgpu::BufferBindingType::Uniform),
                entry(1, ro),
                entry(2, ro),
                entry(3, ro),
                entry(4, ro),
                entry(5, ro),
                entry(6, rw),
                entry(7, rw),
            ],
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("sr"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("sr.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("sr.wgsl").into()),
        });
        let pipelines = ["first", "hidden", "last"].map(|e| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(e),
                layout: Some(&pl),
                module: &module,
                entry_point: Some(e),
                compilation_options: Default::default(),
                cache: None,
            })
        });
        let u = |v: usize| v as u32;
        // the geometry words of `Layer`: dims, brick, base dims, factor, brick counts, side
        let mut head: Vec<u32> = Vec::with_capacity(12);
        for (v, w) in [(g.dims, g.brick), (g.base_dims, g.factor), (g.bdims, g.side())] {
            head.extend(v.map(u));
            head.push(u(w));
        }
        let scratch = [&xa, &xb];
        let mut steps = Vec::new();
        let nl = net.layers.len();
        for (li, &(wo, bo)) in offsets.iter().enumerate() {
            let last = li + 1 == nl;
            let in_side = cfg.in_side() - 2 * li;
            let (os, cin, cout, pipeline, per_brick) = if last {
                let po = cfg.out_side();
                (po, cfg.channels, cfg.out_channels(), 2, g.side().pow(3))
            } else {
                let os = in_side - 2;
                let cin = if li == 0 { cfg.in_channels() } else { cfg.channels };
                (
                    os,
                    cin,
                    cfg.channels,
                    usize::from(li > 0),
                    os.pow(3) * cfg.channels.div_ceil(CB),
                )
            };
            let mut words = head.clone();
            words.extend([u(in_side), u(os), u(cin), u(cout), wo, bo, u(cfg.hidden), 0]);
            words.extend([net.norm.mean.to_bits(), net.norm.std.to_bits(), 0, 0]);
            debug_assert_eq!(words.len(), LAYER_WORDS);
            let uniform = buffer(
                "sr layer",
                LAYER_WORDS * 4,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            );
            let (x_in, x_out) = (scratch[(li + 1) % 2], scratch[li % 2]);
            let resources = [&uniform, base, &weights, &bricks, &bias0, x_in, x_out, atlas];
            let bind = super::bind_all(device, "sr layer", &layout, &resources);
            steps.push(Step {
                pipeline,
                bind,
                uniform,
                words,
                per_brick,
            });
        }
        SrGpu {
            net: net.clone(),
            pipelines,
            steps,
            bricks,
            bias0,
            batch,
            max_groups: device.limits().max_compute_workgroups_per_dimension as usize,
        }
    }

    /// Reconstructs the bricks `(id, slot)` of `g` into their atlas slots, a batch per submission.
    pub(super) fn run(&self, device: &wgpu::Device, queue: &wgpu::Queue, g: &Geometry, assigned: &[(u32, usize)]) {
        for part in assigned.chunks(self.batch) {
            let mut table: Vec<u32> = Vec::with_capacity(4 * part.len());
            let mut bias: Vec<f32> = Vec::with_capacity(part.len() * self.net.config.channels);
            for &(id, slot) in part {
                let b = g.coords(id as usize);
                table.extend([b[0] as u32, b[1] as u32, b[2] as u32, slot as u32]);
                bias.extend(self.net.first_bias(g, b));
            }
            queue.write_buffer(&self.bricks, 0, bytemuck::cast_slice(&table));
            queue.write_buffer(&self.bias0, 0, bytemuck::cast_slice(&bias));
            let mut enc = device.create_command_encoder(&Default::default());
            for st in &self.steps {
                let total = st.per_brick * part.len();
                let groups = total.div_ceil(WG);
                let gx = groups.min(self.max_groups);
                let gy = groups.div_ceil(gx);
                let mut words = st.words.clone();
                words[19] = part.len() as u32;
                words[22] = (gx * WG) as u32;
                queue.write_buffer(&st.uniform, 0, bytemuck::cast_slice(&words));
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.pipelines[st.pipeline]);
                pass.set_bind_group(0, &st.bind, &[]);
                pass.dispatch_workgroups(gx as u32, gy as u32, 1);
            }
            queue.submit([enc.finish()]);
        }
    }
}
