// The brick super-resolution network on the GPU, for a batch of bricks at once, writing the
// reconstructed bricks straight into their atlas slots. The same network as sr.rs's forward
// pass: the input patch is read from the base volume on the GPU (normalized), the positional
// encoding enters the first layer as a per-brick bias (`bias0`, folded on the host by
// `SrNet::first_bias`), `hidden` valid 3×3×3 convolutions with GELU, a 1×1×1 convolution to f³
// residuals per base cell (a voxel shuffle), added to the trilinear upsampling of the base.
//
// One invocation per (brick, voxel, block of CB output channels) for the convolutions, per (brick,
// stored sample) for the last layer. Activations are channel-last, `[brick][voxel][channel]`.
// Weights are PyTorch's `[C_out, C_in, k, k, k]`, all layers in one buffer (`w_off`, `b_off`).

struct Layer {
    dims: vec3<u32>, brick: u32,
    base_dims: vec3<u32>, factor: u32,
    bdims: vec3<u32>, side: u32,
    // this layer: input side, output side, input channels (of the weights), output channels
    in_side: u32, os: u32, cin: u32, cout: u32,
    w_off: u32, b_off: u32, hidden: u32, count: u32,
    mean: f32, sdev: f32, row: u32, pad: u32,
};

@group(0) @binding(0) var<uniform> L: Layer;
@group(0) @binding(1) var<storage, read> base: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
// per brick of the batch: its coordinates and its atlas slot
@group(0) @binding(3) var<storage, read> bricks: array<vec4<u32>>;
// per brick: the first layer's bias with the positional encoding folded in, [brick][cout]
@group(0) @binding(4) var<storage, read> bias0: array<f32>;
@group(0) @binding(5) var<storage, read> x_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> x_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> atlas: array<f32>;

fn gelu(x: f32) -> f32 {
    // erf by Abramowitz–Stegun 7.1.26, as neuvis_base::activation::gelu
    let z = x * 0.70710678118654752;
    let a = abs(z);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let erf_abs = 1.0 - poly * exp(-a * a);
    let erf = select(erf_abs, -erf_abs, z < 0.0);
    return 0.5 * x * (1.0 + erf);
}

fn flat(gid: vec3<u32>) -> u32 {
    return gid.x + gid.y * L.row;
}

// Output channels per invocation of a convolution: each input value read serves CB of them
// (register blocking, as the CPU's AVX2 kernel keeps its accumulators in registers).
const CB: u32 = 8u;

// what a convolution's invocation computes: output channels `co .. co + CB` (those below `cout`)
// of voxel `v` (at `o`) of brick `n`
struct Target { ok: bool, n: u32, v: u32, co: u32, o: vec3<u32> };

fn output_of(gid: vec3<u32>) -> Target {
    var t: Target;
    let vol = L.os * L.os * L.os;
    let blocks = (L.cout + CB - 1u) / CB;
    let idx = flat(gid);
    t.ok = idx < L.count * vol * blocks;
    t.co = (idx % blocks) * CB;
    t.v = (idx / blocks) % vol;
    t.n = idx / (blocks * vol);
    t.o = vec3<u32>(t.v % L.os, (t.v / L.os) % L.os, t.v / (L.os * L.os));
    return t;
}

// the base sample of the network's input at patch position p of brick b (clamped into the grid)
fn input(b: vec3<u32>, p: vec3<u32>) -> f32 {
    let start = vec3<i32>(b * L.brick / L.factor) - 1 - i32(L.hidden);
    let q = clamp(start + vec3<i32>(p), vec3<i32>(0), vec3<i32>(L.base_dims) - 1);
    let v = base[u32(q.x) + L.base_dims.x * (u32(q.y) + L.base_dims.y * u32(q.z))];
    return (v - L.mean) / L.sdev;
}

// the first 3×3×3 convolution: the base channel only, the rest is in `bias0`
@compute @workgroup_size(64, 1, 1)
fn first(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = output_of(gid);
    if !t.ok {
        return;
    }
    let nc = min(CB, L.cout - t.co);
    let b = bricks[t.n].xyz;
    var acc: array<f32, CB>;
    for (var j = 0u; j < nc; j++) {
        acc[j] = bias0[t.n * L.cout + t.co + j];
    }
    for (var dz = 0u; dz < 3u; dz++) {
        for (var dy = 0u; dy < 3u; dy++) {
            for (var dx = 0u; dx < 3u; dx++) {
                let kk = dx + 3u * (dy + 3u * dz);
                let x = input(b, t.o + vec3<u32>(dx, dy, dz));
                for (var j = 0u; j < nc; j++) {
                    acc[j] += weights[L.w_off + (t.co + j) * L.cin * 27u + kk] * x;
                }
            }
        }
    }
    let out = (t.n * L.os * L.os * L.os + t.v) * L.cout + t.co;
    for (var j = 0u; j < nc; j++) {
        x_out[out + j] = gelu(acc[j]);
    }
}

// a hidden 3×3×3 convolution over all channels
@compute @workgroup_size(64, 1, 1)
fn hidden(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = output_of(gid);
    if !t.ok {
        return;
    }
    let nc = min(CB, L.cout - t.co);
    let s = L.in_side;
    let in_base = t.n * s * s * s;
    var acc: array<f32, CB>;
    for (var j = 0u; j < nc; j++) {
        acc[j] = weights[L.b_off + t.co + j];
    }
    for (var dz = 0u; dz < 3u; dz++) {
        for (var dy = 0u; dy < 3u; dy++) {
            for (var dx = 0u; dx < 3u; dx++) {
                let kk = dx + 3u * (dy + 3u * dz);
                let iv = in_base + (t.o.x + dx) + s * ((t.o.y + dy) + s * (t.o.z + dz));
                for (var ci = 0u; ci < L.cin; ci++) {
                    let x = x_in[iv * L.cin + ci];
                    for (var j = 0u; j < nc; j++) {
                        acc[j] += weights[L.w_off + ((t.co + j) * L.cin + ci) * 27u + kk] * x;
                    }
                }
            }
        }
    }
    let out = (t.n * L.os * L.os * L.os + t.v) * L.cout + t.co;
    for (var j = 0u; j < nc; j++) {
        x_out[out + j] = gelu(acc[j]);
    }
}

// the base at fine index i along axis a, as sr.rs's trilinear_brick: (lower, upper, fraction)
fn axis(gi: i32, a: u32) -> vec3<f32> {
    let f = f32(L.factor);
    let bd = L.base_dims[a];
    let x = clamp(f32(clamp(gi, 0, i32(L.dims[a]) - 1)) / f, 0.0, f32(bd - 1u));
    let i = min(u32(x), bd - 2u);
    return vec3<f32>(f32(min(i, bd - 1u)), f32(min(i + 1u, bd - 1u)), x - f32(i));
}

fn bv(i: f32, j: f32, k: f32) -> f32 {
    return base[u32(i) + L.base_dims.x * (u32(j) + L.base_dims.y * u32(k))];
}

fn lerp(a: f32, b: f32, t: f32) -> f32 {
    return a + (b - a) * t;
}

// the 1×1×1 convolution to f³ residuals, added to the trilinear upsampling, into the atlas
@compute @workgroup_size(64, 1, 1)
fn last(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = L.side;
    let n3 = s * s * s;
    let idx = flat(gid);
    if idx >= L.count * n3 {
        return;
    }
    let l = idx % n3;
    let n = idx / n3;
    let lv = vec3<u32>(l % s, (l / s) % s, l / (s * s));
    let br = bricks[n];
    // the trilinear upsampling (x, then y, then z, as base_sample)
    let org = vec3<i32>(br.xyz * L.brick) - 1 + vec3<i32>(lv);
    let tx = axis(org.x, 0u);
    let ty = axis(org.y, 1u);
    let tz = axis(org.z, 2u);
    let x00 = lerp(bv(tx.x, ty.x, tz.x), bv(tx.y, ty.x, tz.x), tx.z);
    let x10 = lerp(bv(tx.x, ty.y, tz.x), bv(tx.y, ty.y, tz.x), tx.z);
    let x01 = lerp(bv(tx.x, ty.x, tz.y), bv(tx.y, ty.x, tz.y), tx.z);
    let x11 = lerp(bv(tx.x, ty.y, tz.y), bv(tx.y, ty.y, tz.y), tx.z);
    let tri = lerp(lerp(x00, x10, ty.z), lerp(x01, x11, ty.z), tz.z);
    // the residual: output channel (sub-position) and base cell of the stored sample
    let f = L.factor;
    let q = lv + f - 1u;
    let cell = q / f;
    let sub = q % f;
    let c = sub.x + f * (sub.y + f * sub.z);
    let po = L.os;
    let cv = cell.x + po * (cell.y + po * cell.z);
    var r = weights[L.b_off + c];
    let xi = (n * po * po * po + cv) * L.cin;
    for (var ci = 0u; ci < L.cin; ci++) {
        r += weights[L.w_off + c * L.cin + ci] * x_in[xi + ci];
    }
    atlas[br.w * n3 + l] = tri + r * L.sdev;
}
