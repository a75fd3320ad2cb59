//! The speculative raycaster on the GPU (feature `gpu`): wgpu compute shaders (Vulkan, Metal,
//! DX12; Mesa's lavapipe runs them on the CPU).
//!
//! The GPU holds the base volume, the bricks' value ranges (the octree's leaves), the brick page
//! table and a brick atlas whose slot count `--budget-mb` sets, so the budget bounds GPU memory
//! as it bounds the CPU engine's memory. A frame is rendered in passes as on the CPU: one
//! invocation per pixel walks the bricks front to back (a 3-D DDA over the brick grid, skipping
//! every brick whose range excludes the isovalue); a ray that meets a brick that is not in the
//! atlas records a request for it, suspends there and continues on the base volume for the
//! progressive image. After a pass the host reads back only the per-brick request counts and use
//! flags (8 bytes a brick), answers the most requested bricks (at most the atlas's slots; least
//! recently used slots are reused) and the suspended rays resume. `neural` bricks are
//! reconstructed on the GPU (`sr.wgsl`: the network's convolutions over the base already there,
//! in batches, written straight into their slots; only each brick's coordinates, slot and
//! first-layer bias are uploaded); exact bricks from the store, trilinear and ZFP bricks are made
//! on the host in parallel batches and uploaded. `full` (the whole volume in one GPU buffer, the same
//! traversal) is the in-core GPU baseline, `dense` marches it without skipping.
//!
//! Host memory stays bounded as well: the store's index and base, the network, and one batch of
//! bricks in flight. The budget counts what the GPU holds (base, tables, frame state, the
//! network's weights and a batch's activations, the atlas) and the host's copy of the network. The shader repeats the CPU engine's arithmetic (sampling, bracketing,
//! bisection, secant, gradient, shading), so `exact` on the GPU matches `full` on the CPU up to
//! floating-point contraction on silhouettes; the tests check ≥ 50 dB.

use crate::engine::{check_view, Budget, Engine, FrameStats, Method, RenderOptions};
use crate::error::{RaycastError, Result};
use crate::store::Store;
use neuvis_base::camera::Camera;
use neuvis_base::future::block_on;
use neuvis_base::lru::LruStats;
use neuvis_base::MaskedImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

mod sr;

const NONE: u32 = u32::MAX;
/// The shader's workgroup edge (8 × 8 pixels).
const WG: usize = 8;
/// Words of the traffic buffer before the per-brick counters.
const HEAD: usize = 4;

/// The adapter a [`GpuEngine`] runs on and what it holds there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    /// The adapter's name ("NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 19.1.7, 256 bits)").
    pub adapter: String,
    /// Graphics API (Vulkan, Metal, Dx12).
    pub backend: String,
    /// Discrete, integrated, virtual or CPU (software).
    pub kind: String,
    /// Bytes allocated on the GPU: base, tables, frame state, atlas or whole volume.
    pub gpu_bytes: usize,
    /// Brick slots of the atlas (0 for `full` and `dense`).
    pub atlas_slots: usize,
    /// Whether the atlas is smaller than the budget allows because of the adapter's largest
    /// buffer.
    pub atlas_capped_by_adapter: bool,
}

impl std::fmt::Display for GpuInfo {
    /// One line: the adapter, its API and kind, what is allocated on it and the atlas's slots.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GPU {} ({}, {}) | {:.1} MB allocated, atlas of {} bricks{}",
            self.adapter,
            self.backend,
            self.kind,
            self.gpu_bytes as f64 / 1e6,
            self.atlas_slots,
            if self.atlas_capped_by_adapter {
                " (capped by the adapter's largest buffer)"
            } else {
                ""
            }
        )
    }
}

/// The mutable part: the atlas's bookkeeping, mirrored by the GPU's page table.
struct Atlas {
    /// Per brick: its slot, or `NONE`.
    page: Vec<u32>,
    /// Per slot: its brick, or `NONE`.
    owner: Vec<u32>,
    /// Per slot: the pass clock of its last use.
    stamp: Vec<u64>,
    clock: u64,
    stats: LruStats,
}

impl Atlas {
    fn used(&self) -> usize {
        self.owner.iter().filter(|&&b| b != NONE).count()
    }
}

/// The speculative raycaster on a GPU, bound to a store.
pub struct GpuEngine {
    cpu: Engine,
    /// The network on the GPU (`neural`).
    sr: Option<sr::SrGpu>,
    method: Method,
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    params: wgpu::Buffer,
    vol: wgpu::Buffer,
    page_buf: wgpu::Buffer,
    px: wgpu::Buffer,
    px_read: wgpu::Buffer,
    traffic: wgpu::Buffer,
    traffic_read: wgpu::Buffer,
    max_pixels: usize,
    brick_bytes: usize,
    budget: Budget,
    fixed: usize,
    info: GpuInfo,
    atlas: Mutex<Atlas>,
}

fn gpu_err(msg: impl std::fmt::Display) -> RaycastError {
    RaycastError::Settings(format!("GPU: {msg}"))
}

/// The high-performance adapter of wgpu's primary APIs, and a device with all its limits.
fn open_device() -> Result<(wgpu::Adapter, wgpu::Device, wgpu::Queue)> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::PRIMARY;
    let instance = wgpu::Instance::new(desc);
    let adapter = block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    }))
    .map_err(|e| {
        gpu_err(format!(
            "no usable adapter ({e}); `neuvis devices` lists what the machine offers. On Linux, wgpu needs a Vulkan driver (NVIDIA's, or Mesa's `mesa-vulkan-drivers`, whose lavapipe runs Vulkan on the CPU)"
        ))
    })?;
    let (device, queue) = block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("neuvis raycast"),
        required_limits: adapter.limits(),
        ..Default::default()
    }))
    .map_err(|e| gpu_err(format!("the adapter refused a device: {e}")))?;
    Ok((adapter, device, queue))
}

impl GpuEngine {
    /// Opens `path` for `method` on the GPU within `budget` (as [`Engine::open`]: base, tables,
    /// network, frame state and the brick atlas, or the whole volume for `full` and `dense`) for
    /// frames of at most `width × height` pixels.
    ///
    /// # Errors
    /// As [`Engine::open`]; no GPU adapter; a budget below the fixed part plus one brick; a
    /// volume (`full`, `dense`) larger than the adapter's largest buffer or the budget; GPU
    /// memory exhausted.
    pub fn open(
        path: &Path,
        method: Method,
        budget: impl Into<Budget>,
        width: usize,
        height: usize,
    ) -> Result<GpuEngine> {
        let budget = budget.into();
        let in_core = matches!(method, Method::Full | Method::Dense);
        // the host side: the store, its base and index, and what answers brick requests
        let cpu = Engine::open(
            path,
            if in_core { Method::Exact } else { method },
            Budget::Unbounded,
            1,
            1,
        )
        .map_err(|e| match e {
            RaycastError::Settings(m) if in_core && m.contains("keeps no full-resolution bricks") => {
                RaycastError::Settings(format!(
                    "{}: method {} needs the full-resolution bricks, but this store keeps none (--store neural)",
                    path.display(),
                    method.name()
                ))
            }
            e => e,
        })?;
        let store = cpu.store();
        let geom = *store.geometry();
        let nb = geom.nbricks();
        let npx = width * height;
        let brick_bytes = geom.brick_bytes();
        let full_bytes = if in_core {
            padded(geom.dims.iter().product::<usize>() * 4)
        } else {
            0
        };
        // the GPU's buffers as allocated: parameters, base, ranges, page table, pixel state and
        // its read-back copy, request counters and theirs
        let traffic_len = (HEAD + 2 * nb) * 4;
        let gpu_fixed = padded(PARAM_WORDS * 4)
            + padded(store.base.len() * 4)
            + padded(nb * 8)
            + padded(nb * 4)
            + 2 * padded(npx * 16)
            + 2 * padded(traffic_len);
        let net_bytes = cpu.network_bytes();
        // the network on the GPU: weights, a batch's activations and tables
        let sr_bytes = cpu.network().map_or(0, |n| sr::SrGpu::plan(n).0);
        let fixed = gpu_fixed + net_bytes + sr_bytes + full_bytes;
        let (adapter, device, queue) = open_device()?;
        let limits = device.limits();
        let max_buf = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size) as usize;
        let (slots, capped) = if in_core {
            if full_bytes > max_buf {
                return Err(gpu_err(format!(
                    "the volume ({:.2} GB) exceeds this adapter's largest buffer ({:.2} GB): use --method exact with a --budget-mb",
                    full_bytes as f64 / 1e9,
                    max_buf as f64 / 1e9
                )));
            }
            (0, false)
        } else {
            let want = match budget {
                Budget::Unbounded => nb,
                Budget::Bytes(b) => {
                    if b < fixed + brick_bytes {
                        return Err(RaycastError::Settings(format!(
                            "budget of {:.1} MB is too small for method {} on the GPU: base, tables, network and frame state need {:.1} MB and one brick {:.2} MB more",
                            b as f64 / 1e6,
                            method.name(),
                            fixed as f64 / 1e6,
                            brick_bytes as f64 / 1e6
                        )));
                    }
                    ((b - fixed) / brick_bytes).min(nb)
                }
            };
            let most = (max_buf / brick_bytes).max(1);
            (want.min(most), want > most)
        };
        if let (Budget::Bytes(b), true) = (budget, in_core) {
            if b < fixed {
                return Err(RaycastError::Settings(format!(
                    "budget of {:.1} MB is too small for method {}: the volume, base, tables and frame state need {:.1} MB",
                    b as f64 / 1e6,
                    method.name(),
                    fixed as f64 / 1e6
                )));
            }
        }
        // allocation failures and what a driver's shader compiler refuses become errors, not
        // wgpu's default panic
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let buffer = |label: &str, size: usize, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: padded(size) as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        let params = buffer(
            "params",
            PARAM_WORDS * 4,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let base = buffer("base", store.base.len() * 4, storage);
        let vol_bytes = if in_core { full_bytes } else { slots * brick_bytes };
        let vol = buffer("volume", vol_bytes, storage | wgpu::BufferUsages::COPY_SRC);
        let ranges = buffer("ranges", nb * 8, storage);
        let page_buf = buffer("page", nb * 4, storage);
        let px = buffer("pixels", npx * 16, storage | wgpu::BufferUsages::COPY_SRC);
        let px_read = buffer(
            "pixels read",
            npx * 16,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let traffic = buffer("traffic", traffic_len, storage | wgpu::BufferUsages::COPY_SRC);
        let traffic_read = buffer(
            "traffic read",
            traffic_len,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        queue.write_buffer(&base, 0, bytemuck::cast_slice(&store.base));
        let rg: Vec<f32> = store.entries.iter().flat_map(|e| [e.min, e.max]).collect();
        queue.write_buffer(&ranges, 0, bytemuck::cast_slice(&rg));
        queue.write_buffer(&page_buf, 0, bytemuck::cast_slice(&vec![NONE; nb]));
        if in_core {
            // the whole volume, assembled and uploaded one z layer of bricks at a time, so the
            // host never holds all of it
            upload_volume(&queue, &vol, store)?;
        }
        let sr = cpu
            .network()
            .map(|n| sr::SrGpu::new(&device, &queue, n, &geom, &base, &vol));
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("raycast.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("raycast.wgsl").into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("raycast"),
            layout: None,
            module: &module,
            entry_point: Some("trace"),
            compilation_options: Default::default(),
            cache: None,
        });
        let bind = bind_all(
            &device,
            "raycast",
            &pipeline.get_bind_group_layout(0),
            &[&params, &base, &vol, &ranges, &page_buf, &px, &traffic],
        );
        if let Some(e) = block_on(invalid.pop()) {
            return Err(gpu_err(format!("this adapter refused the raycaster's shaders: {e}")));
        }
        if let Some(e) = block_on(oom.pop()) {
            return Err(gpu_err(format!(
                "out of GPU memory allocating {:.1} MB: {e}",
                (fixed - net_bytes - full_bytes + vol_bytes) as f64 / 1e6
            )));
        }
        let i = adapter.get_info();
        let info = GpuInfo {
            adapter: i.name,
            backend: format!("{:?}", i.backend),
            kind: match i.device_type {
                wgpu::DeviceType::DiscreteGpu => "discrete GPU",
                wgpu::DeviceType::IntegratedGpu => "integrated GPU",
                wgpu::DeviceType::VirtualGpu => "virtual GPU",
                wgpu::DeviceType::Cpu => "CPU (software)",
                wgpu::DeviceType::Other => "other",
            }
            .into(),
            gpu_bytes: [
                &params,
                &base,
                &vol,
                &ranges,
                &page_buf,
                &px,
                &px_read,
                &traffic,
                &traffic_read,
            ]
            .iter()
            .map(|b| b.size() as usize)
            .sum::<usize>()
                + sr_bytes,
            atlas_slots: slots,
            atlas_capped_by_adapter: capped,
        };
        Ok(GpuEngine {
            atlas: Mutex::new(Atlas {
                page: vec![NONE; nb],
                owner: vec![NONE; slots],
                stamp: vec![0; slots],
                clock: 1,
                stats: LruStats::default(),
            }),
            cpu,
            sr,
            method,
            device,
            queue,
            pipeline,
            bind,
            params,
            vol,
            page_buf,
            px,
            px_read,
            traffic,
            traffic_read,
            max_pixels: npx,
            brick_bytes,
            budget,
            fixed,
            info,
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.cpu.store()
    }
    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }
    /// The adapter and what this engine holds on it.
    pub fn info(&self) -> &GpuInfo {
        &self.info
    }
    /// Bytes counted against the budget besides the atlas: base, tables, network, frame state
    /// (and the whole volume for `full` and `dense`).
    pub fn resident_fixed(&self) -> usize {
        self.fixed
    }
    /// Atlas bytes in use, the atlas's budget, and counters (as [`Engine::cache_state`]).
    pub fn cache_state(&self) -> (usize, Budget, LruStats) {
        let a = self.atlas.lock().expect("atlas lock");
        let cap = match self.budget {
            Budget::Bytes(_) if self.method.speculative() => Budget::Bytes(a.owner.len() * self.brick_bytes),
            Budget::Bytes(_) => Budget::Bytes(0),
            Budget::Unbounded => Budget::Unbounded,
        };
        (a.used() * self.brick_bytes, cap, a.stats)
    }
    /// The samples of brick `id` as the atlas holds them, or `None` when it is not resident: what
    /// the shader samples, for checks against the CPU engine's bricks ([`Engine::fetch`]).
    ///
    /// # Errors
    /// The device failed reading back.
    pub fn atlas_brick(&self, id: usize) -> Result<Option<Vec<f32>>> {
        let slot = match self.atlas.lock().expect("atlas lock").page.get(id) {
            Some(&s) if s != NONE => s as usize,
            _ => return Ok(None),
        };
        let read = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("brick read"),
            size: self.brick_bytes as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let enc = self.device.create_command_encoder(&Default::default());
        let words = self.read_back(enc, (&self.vol, slot * self.brick_bytes), &read, self.brick_bytes)?;
        Ok(Some(words.into_iter().map(f32::from_bits).collect()))
    }

    /// The orbit camera at (θ, φ), as [`Engine::camera`].
    pub fn camera(&self, opts: &RenderOptions, theta: f32, phi: f32) -> Camera {
        self.cpu.camera(opts, theta, phi)
    }

    /// Renders a view progressively, as [`Engine::render`]: `on_frame(image, pass)` sees every
    /// pass's image.
    pub fn render(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        mut on_frame: impl FnMut(&MaskedImage, usize),
    ) -> Result<(MaskedImage, FrameStats)> {
        self.render_impl(cam, opts, true, true, &mut |im, p| {
            on_frame(im, p);
            ControlFlow::Continue(())
        })
    }

    /// Renders a view and returns only the converged image (no image is read back between
    /// passes: what a frame-rate measurement times).
    pub fn render_converged(&self, cam: &Camera, opts: &RenderOptions) -> Result<(MaskedImage, FrameStats)> {
        self.render_impl(cam, opts, true, false, &mut |_, _| ControlFlow::Continue(()))
    }

    /// [`GpuEngine::render`] that stops after any pass for which `on_frame` breaks.
    pub fn render_until(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        mut on_frame: impl FnMut(&MaskedImage, usize) -> ControlFlow<()>,
    ) -> Result<(MaskedImage, FrameStats)> {
        self.render_impl(cam, opts, true, true, &mut on_frame)
    }

    /// Loads the bricks a view would need into the atlas, without provisional shading.
    pub fn prefetch(&self, cam: &Camera, opts: &RenderOptions) -> Result<FrameStats> {
        Ok(self
            .render_impl(cam, opts, false, false, &mut |_, _| ControlFlow::Continue(()))?
            .1)
    }

    fn write_params(&self, cam: &Camera, opts: &RenderOptions, provisional: bool) {
        let store = self.cpu.store();
        let g = store.geometry();
        let sp = store.header.spacing;
        let h = opts.step * sp[0].min(sp[1]).min(sp[2]);
        let hb = 0.5 * g.factor as f32 * h / opts.step;
        let ty = (cam.fov_y_deg.to_radians() / 2.0).tan();
        let tx = ty * cam.width as f32 / cam.height as f32;
        let f = f32::to_bits;
        let u = |v: usize| v as u32;
        let v3 = |v: [f32; 3]| v.map(f32::to_bits);
        let mut w: Vec<u32> = Vec::with_capacity(PARAM_WORDS);
        let mode = match self.method {
            Method::Full => 1,
            Method::Dense => 2,
            _ => 0,
        };
        for (vec, last) in [
            (v3(cam.eye), u(cam.width)),
            (v3(cam.forward), u(cam.height)),
            (v3(cam.right), f(tx)),
            (v3(cam.up), f(ty)),
            (v3(store.header.origin), f(opts.iso)),
            (v3(sp), f(h)),
            (v3(opts.color), f(hb)),
            (g.dims.map(u), u(g.brick)),
            (g.bdims.map(u), u(g.factor)),
            (g.base_dims.map(u), u(g.side())),
        ] {
            w.extend(vec);
            w.push(last);
        }
        let ph = &opts.phong;
        w.extend([f(ph.ambient), f(ph.diffuse), f(ph.specular), f(ph.shininess)]);
        w.extend([mode, provisional as u32, u(g.nbricks()), 0]);
        debug_assert_eq!(w.len(), PARAM_WORDS);
        self.queue.write_buffer(&self.params, 0, bytemuck::cast_slice(&w));
    }

    /// Copies `len` bytes of `src` into the mappable `dst` (in the same submission as `enc`'s
    /// work), waits, and returns them as words.
    fn read_back(
        &self,
        mut enc: wgpu::CommandEncoder,
        (src, offset): (&wgpu::Buffer, usize),
        dst: &wgpu::Buffer,
        len: usize,
    ) -> Result<Vec<u32>> {
        enc.copy_buffer_to_buffer(src, offset as u64, dst, 0, len as u64);
        self.queue.submit([enc.finish()]);
        let slice = dst.slice(..len as u64);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err(format!("the device stopped: {e}")))?;
        rx.recv()
            .map_err(|e| gpu_err(e.to_string()))?
            .map_err(|e| gpu_err(format!("reading results back: {e}")))?;
        let out = {
            let view = slice.get_mapped_range().map_err(|e| gpu_err(e.to_string()))?;
            bytemuck::cast_slice::<u8, u32>(&view).to_vec()
        };
        dst.unmap();
        Ok(out)
    }

    fn image(&self, w: usize, h: usize) -> Result<MaskedImage> {
        let enc = self.device.create_command_encoder(&Default::default());
        let px = self.read_back(enc, (&self.px, 0), &self.px_read, w * h * 16)?;
        let color: Vec<u32> = px.chunks_exact(4).map(|p| p[2]).collect();
        let prov: Vec<u32> = px.chunks_exact(4).map(|p| p[3]).collect();
        Ok(crate::engine::compose_image(w, h, &color, &prov))
    }

    fn render_impl(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        provisional: bool,
        images: bool,
        on_frame: &mut dyn FnMut(&MaskedImage, usize) -> ControlFlow<()>,
    ) -> Result<(MaskedImage, FrameStats)> {
        check_view(cam, opts)?;
        let (w, h) = (cam.width, cam.height);
        if w * h > self.max_pixels {
            return Err(RaycastError::Settings(format!(
                "a frame of {w}x{h} is larger than the {} pixels this GPU engine was opened for",
                self.max_pixels
            )));
        }
        let start = Instant::now();
        let nb = self.cpu.store().geometry().nbricks();
        let mut atlas = self.atlas.lock().expect("atlas lock");
        self.write_params(cam, opts, provisional);
        let mut stats = FrameStats::default();
        let mut touched_all = vec![false; nb];
        let mut missed_all: HashSet<u32> = HashSet::new();
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.clear_buffer(&self.px, 0, Some((w * h * 16) as u64));
        let mut last: Option<MaskedImage> = None;
        loop {
            enc.clear_buffer(&self.traffic, 0, None);
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &self.bind, &[]);
                pass.dispatch_workgroups(w.div_ceil(WG) as u32, h.div_ceil(WG) as u32, 1);
            }
            let traffic = self.read_back(enc, (&self.traffic, 0), &self.traffic_read, (HEAD + 2 * nb) * 4)?;
            enc = self.device.create_command_encoder(&Default::default());
            stats.passes += 1;
            if stats.passes == 1 {
                stats.first_s = start.elapsed().as_secs_f64();
            }
            let (requests, used) = traffic[HEAD..].split_at(nb);
            let clock = atlas.clock;
            for (id, _) in used.iter().enumerate().filter(|(_, &u)| u != 0) {
                touched_all[id] = true;
                let slot = atlas.page[id];
                if slot != NONE {
                    atlas.stamp[slot as usize] = clock;
                }
            }
            let pending = traffic[0];
            if images {
                let img = self.image(w, h)?;
                let stop = on_frame(&img, stats.passes - 1).is_break();
                last = Some(img);
                if stop {
                    break;
                }
            }
            if pending == 0 {
                break;
            }
            // answer the most requested bricks, at most what the atlas holds, in the least
            // recently used slots
            let mut req: Vec<(u32, u32)> = requests
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(id, &c)| (id as u32, c))
                .collect();
            req.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            req.truncate(atlas.owner.len());
            let mut victims: Vec<usize> = (0..atlas.owner.len()).collect();
            victims.sort_by_key(|&s| (atlas.owner[s] != NONE, atlas.stamp[s], s));
            let t0 = Instant::now();
            let assigned: Vec<(u32, usize)> = req
                .iter()
                .zip(&victims)
                .map(|(&(id, _), &slot)| {
                    let old = atlas.owner[slot];
                    if old != NONE {
                        atlas.page[old as usize] = NONE;
                        atlas.stats.evictions += 1;
                    }
                    atlas.owner[slot] = id;
                    atlas.page[id as usize] = slot as u32;
                    atlas.stamp[slot] = clock;
                    atlas.stats.inserts += 1;
                    atlas.stats.misses += 1;
                    missed_all.insert(id);
                    (id, slot)
                })
                .collect();
            if let Some(sr) = &self.sr {
                // the network on the GPU, in batches, straight into the slots
                sr.run(&self.device, &self.queue, self.cpu.store().geometry(), &assigned);
                self.device
                    .poll(wgpu::PollType::wait_indefinitely())
                    .map_err(|e| gpu_err(format!("the device stopped: {e}")))?;
            } else {
                // exact, trilinear or ZFP bricks from the host, in parallel batches
                let chunk = 4 * rayon::current_num_threads();
                for part in assigned.chunks(chunk) {
                    let loaded: Vec<Vec<f32>> = part
                        .par_iter()
                        .map(|&(id, _)| self.cpu.fetch(id as usize))
                        .collect::<Result<_>>()?;
                    for (&(_, slot), data) in part.iter().zip(&loaded) {
                        self.queue.write_buffer(
                            &self.vol,
                            (slot * self.brick_bytes) as u64,
                            bytemuck::cast_slice(data),
                        );
                    }
                }
            }
            stats.fetched += assigned.len();
            let used_bytes = atlas.used() * self.brick_bytes;
            atlas.stats.peak_bytes = atlas.stats.peak_bytes.max(used_bytes);
            self.queue
                .write_buffer(&self.page_buf, 0, bytemuck::cast_slice(&atlas.page));
            stats.fetch_s += t0.elapsed().as_secs_f64();
            atlas.clock += 1;
        }
        let img = match last {
            Some(i) => i,
            None => self.image(w, h)?,
        };
        stats.hits = touched_all
            .iter()
            .enumerate()
            .filter(|(id, &t)| t && !missed_all.contains(&(*id as u32)))
            .count();
        atlas.stats.hits += stats.hits as u64;
        stats.misses = missed_all.len();
        stats.converged_s = start.elapsed().as_secs_f64();
        Ok((img, stats))
    }
}

/// A bind group of `buffers` whole, at bindings 0, 1, … in order.
fn bind_all(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &entries,
    })
}

/// A buffer's allocated size: wgpu refuses empty bindings and wants multiples of 4 bytes.
fn padded(size: usize) -> usize {
    size.max(16).next_multiple_of(4)
}

/// Words of the shader's `Params`.
const PARAM_WORDS: usize = 48;

/// Uploads the whole volume into `vol` (as [`crate::engine::assemble`] lays it out), one z layer
/// of bricks at a time: the host holds one layer of samples, not the volume.
fn upload_volume(queue: &wgpu::Queue, vol: &wgpu::Buffer, store: &Store) -> Result<()> {
    let g = *store.geometry();
    let [nx, ny, nz] = g.dims;
    let plane = nx * ny;
    let side = g.side();
    for bz in 0..g.bdims[2] {
        let z0 = if bz == 0 { 0 } else { bz * g.brick + 1 };
        let z1 = ((bz + 1) * g.brick + 1).min(nz);
        if z0 >= z1 {
            continue;
        }
        let mut slab = vec![0f32; (z1 - z0) * plane];
        for by in 0..g.bdims[1] {
            for bx in 0..g.bdims[0] {
                let b = [bx, by, bz];
                let data = store.read_brick(g.id(b))?;
                let o = g.sample_origin(b);
                let lo = [bx * g.brick, by * g.brick];
                let hi = [((bx + 1) * g.brick + 1).min(nx), ((by + 1) * g.brick + 1).min(ny)];
                for z in z0..z1 {
                    for y in lo[1]..hi[1] {
                        let ly = (y as i64 - o[1]) as usize;
                        let lz = (z as i64 - o[2]) as usize;
                        let lx = (lo[0] as i64 - o[0]) as usize;
                        let src = &data[lx + side * (ly + side * lz)..][..hi[0] - lo[0]];
                        let dst = (z - z0) * plane + y * nx + lo[0];
                        slab[dst..dst + src.len()].copy_from_slice(src);
                    }
                }
            }
        }
        queue.write_buffer(vol, (z0 * plane * 4) as u64, bytemuck::cast_slice(&slab));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The shaders parse and validate as WGSL with naga (wgpu's own front end), on any machine,
    /// with or without an adapter.
    #[test]
    fn shaders_are_valid_wgsl() {
        for (name, src) in [
            ("raycast.wgsl", include_str!("raycast.wgsl")),
            ("sr.wgsl", include_str!("sr.wgsl")),
        ] {
            let module =
                naga::front::wgsl::parse_str(src).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::default(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }
}
