// The speculative isosurface raycaster as a compute shader: one invocation per pixel and pass.
//
// The arithmetic follows the CPU engine (engine/trace.rs, neuvis_volume::sample) step by step:
// the index-space ray, the slab clip, the fine lattice t0 + m·h, 12 bisections and a secant step,
// the trilinear central-difference gradient and Blinn–Phong with a head light. The traversal
// differs only in how bricks are enumerated: a 3-D DDA over the brick grid visits them front to
// back (the CPU walks the min–max octree), and each brick's range is tested before its interval
// (the same slab clip of its cell box) is marched.
//
// Per pixel `px` holds (status, resume t, colour, provisional colour): status 0 = not traced yet,
// 1 = done, 2 + id = suspended at brick id. `traffic` holds [0] rays suspended this pass,
// [1..4) unused, then per brick its requests this pass, then per brick whether a ray used it.

struct Params {
    eye: vec3<f32>, width: u32,
    forward: vec3<f32>, height: u32,
    right: vec3<f32>, tx: f32,
    up: vec3<f32>, ty: f32,
    origin: vec3<f32>, iso: f32,
    spacing: vec3<f32>, h: f32,
    color: vec3<f32>, hb: f32,
    dims: vec3<u32>, brick: u32,
    bdims: vec3<u32>, factor: u32,
    base_dims: vec3<u32>, side: u32,
    ambient: f32, diffuse: f32, specular: f32, shininess: f32,
    // 0 speculative (atlas), 1 full (whole volume in `vol`, same traversal), 2 dense (no skipping)
    mode: u32, provisional: u32, nbricks: u32, pad: u32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> base: array<f32>;
// the brick atlas (slot s at s·side³), or the whole volume for `full` and `dense`
@group(0) @binding(2) var<storage, read> vol: array<f32>;
@group(0) @binding(3) var<storage, read> ranges: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> page: array<u32>;
@group(0) @binding(5) var<storage, read_write> px: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> traffic: array<atomic<u32>>;

const NONE: u32 = 0xffffffffu;
const SRC_BASE: u32 = 0u;
const SRC_VOL: u32 = 1u;
const SRC_BRICK: u32 = 2u;

// the brick being sampled: its atlas offset and the global index of its first sample
var<private> b_off: u32;
var<private> b_org: vec3<i32>;

struct Ray { o: vec3<f32>, d: vec3<f32>, inv: vec3<f32>, t0: f32, t1: f32, dir: vec3<f32> };

fn at(src: u32, i: u32, j: u32, k: u32) -> f32 {
    if src == SRC_BASE {
        return base[i + P.base_dims.x * (j + P.base_dims.y * k)];
    }
    if src == SRC_VOL {
        return vol[i + P.dims.x * (j + P.dims.y * k)];
    }
    let l = vec3<i32>(i32(i), i32(j), i32(k)) - b_org;
    return vol[b_off + u32(l.x) + P.side * (u32(l.y) + P.side * u32(l.z))];
}

fn dims_of(src: u32) -> vec3<u32> {
    if src == SRC_BASE {
        return P.base_dims;
    }
    return P.dims;
}

// (cell index, fraction) of x on an axis of n samples, clamped as ScalarField::sample_index
fn split(x: f32, n: u32) -> vec2<f32> {
    let c = min(max(x, 0.0), f32(n - 1u));
    let i = min(u32(c), n - 2u);
    return vec2<f32>(f32(i), c - f32(i));
}

fn lerp(a: f32, b: f32, t: f32) -> f32 {
    return a + (b - a) * t;
}

fn trilinear(src: u32, p: vec3<f32>) -> f32 {
    let n = dims_of(src);
    let sx = split(p.x, n.x);
    let sy = split(p.y, n.y);
    let sz = split(p.z, n.z);
    let i = u32(sx.x);
    let j = u32(sy.x);
    let k = u32(sz.x);
    let i1 = min(i + 1u, n.x - 1u);
    let j1 = min(j + 1u, n.y - 1u);
    let k1 = min(k + 1u, n.z - 1u);
    let c00 = lerp(at(src, i, j, k), at(src, i1, j, k), sx.y);
    let c10 = lerp(at(src, i, j1, k), at(src, i1, j1, k), sx.y);
    let c01 = lerp(at(src, i, j, k1), at(src, i1, j, k1), sx.y);
    let c11 = lerp(at(src, i, j1, k1), at(src, i1, j1, k1), sx.y);
    return lerp(lerp(c00, c10, sy.y), lerp(c01, c11, sy.y), sz.y);
}

// central differences at a grid point (one-sided at the borders)
fn grid_gradient(src: u32, sp: vec3<f32>, idx: vec3<u32>) -> vec3<f32> {
    let n = dims_of(src);
    var g = vec3<f32>(0.0);
    for (var a = 0u; a < 3u; a++) {
        let lo = select(idx[a] - 1u, 0u, idx[a] == 0u);
        let hi = min(idx[a] + 1u, n[a] - 1u);
        var p0 = idx;
        var p1 = idx;
        p0[a] = lo;
        p1[a] = hi;
        g[a] = (at(src, p1.x, p1.y, p1.z) - at(src, p0.x, p0.y, p0.z)) / (f32(hi - lo) * sp[a]);
    }
    return g;
}

fn gradient(src: u32, sp: vec3<f32>, p: vec3<f32>) -> vec3<f32> {
    let n = dims_of(src);
    let sx = split(p.x, n.x);
    let sy = split(p.y, n.y);
    let sz = split(p.z, n.z);
    let i0 = u32(sx.x);
    let j0 = u32(sy.x);
    let k0 = u32(sz.x);
    var ii = array<u32, 2>(i0, min(i0 + 1u, n.x - 1u));
    var jj = array<u32, 2>(j0, min(j0 + 1u, n.y - 1u));
    var kk = array<u32, 2>(k0, min(k0 + 1u, n.z - 1u));
    var wx = array<f32, 2>(1.0 - sx.y, sx.y);
    var wy = array<f32, 2>(1.0 - sy.y, sy.y);
    var wz = array<f32, 2>(1.0 - sz.y, sz.y);
    var g = vec3<f32>(0.0);
    for (var c = 0u; c < 2u; c++) {
        for (var b = 0u; b < 2u; b++) {
            for (var a = 0u; a < 2u; a++) {
                let w = wx[a] * wy[b] * wz[c];
                if w != 0.0 {
                    g += w * grid_gradient(src, sp, vec3<u32>(ii[a], jj[b], kk[c]));
                }
            }
        }
    }
    return g;
}

// slab intersection of the ray with the index box [lo, hi]: (t0, t1, 1 if it meets it)
fn clip(r: Ray, lo: vec3<f32>, hi: vec3<f32>) -> vec3<f32> {
    var t0 = r.t0;
    var t1 = r.t1;
    for (var a = 0u; a < 3u; a++) {
        if r.d[a] == 0.0 {
            if r.o[a] < lo[a] || r.o[a] > hi[a] {
                return vec3<f32>(0.0, 0.0, 0.0);
            }
            continue;
        }
        var ta = (lo[a] - r.o[a]) * r.inv[a];
        var tb = (hi[a] - r.o[a]) * r.inv[a];
        if ta > tb {
            let s = ta;
            ta = tb;
            tb = s;
        }
        t0 = max(t0, ta);
        t1 = min(t1, tb);
    }
    return vec3<f32>(t0, t1, select(0.0, 1.0, t0 <= t1));
}

fn val(src: u32, r: Ray, t: f32, inv_scale: f32, lo: vec3<f32>, hi: vec3<f32>) -> f32 {
    let p = clamp(r.o + t * r.d, lo, hi) * inv_scale;
    return trilinear(src, p) - P.iso;
}

// the first bracket of a crossing in [ta, tb] on the lattice r.t0 + m·h: (a, b, 1 if found)
fn bracket(src: u32, scale: f32, r: Ray, ta: f32, tb: f32, h: f32, lo: vec3<f32>, hi: vec3<f32>) -> vec3<f32> {
    let inv_scale = 1.0 / scale;
    var t = ta;
    var prev = val(src, r, t, inv_scale, lo, hi);
    var m = floor((ta - r.t0) / h) + 1.0;
    loop {
        var tn = min(r.t0 + m * h, tb);
        if tn <= t {
            tn = tb;
        }
        let cur = val(src, r, tn, inv_scale, lo, hi);
        if (prev < 0.0) != (cur < 0.0) {
            return vec3<f32>(t, tn, 1.0);
        }
        if tn >= tb {
            return vec3<f32>(0.0, 0.0, 0.0);
        }
        prev = cur;
        t = tn;
        m += 1.0;
    }
    return vec3<f32>(0.0, 0.0, 0.0);
}

fn finite(x: f32) -> bool {
    return x == x && abs(x) <= 3.40282347e38;
}

fn pos(r: Ray, t: f32, inv_scale: f32, lo: vec3<f32>, hi: vec3<f32>) -> vec3<f32> {
    var p: vec3<f32>;
    for (var k = 0u; k < 3u; k++) {
        let x = r.o[k] + t * r.d[k];
        p[k] = select(lo[k], clamp(x, lo[k], hi[k]), finite(x)) * inv_scale;
    }
    return p;
}

fn normalize3(a: vec3<f32>) -> vec3<f32> {
    let n = sqrt(dot(a, a));
    if n > 0.0 {
        return a / n;
    }
    return a;
}

// bisection and a secant step inside a bracket, then the shaded colour
fn refine(src: u32, scale: f32, r: Ray, br: vec3<f32>, lo: vec3<f32>, hi: vec3<f32>) -> vec3<f32> {
    let inv_scale = 1.0 / scale;
    var a = br.x;
    var b = br.y;
    let fa_neg = trilinear(src, pos(r, a, inv_scale, lo, hi)) - P.iso < 0.0;
    for (var i = 0; i < 12; i++) {
        let m = 0.5 * (a + b);
        if (trilinear(src, pos(r, m, inv_scale, lo, hi)) - P.iso < 0.0) == fa_neg {
            a = m;
        } else {
            b = m;
        }
    }
    let fa = trilinear(src, pos(r, a, inv_scale, lo, hi)) - P.iso;
    let fb = trilinear(src, pos(r, b, inv_scale, lo, hi)) - P.iso;
    var t = 0.5 * (a + b);
    if fb != fa {
        t = clamp(a - fa * (b - a) / (fb - fa), a, b);
    }
    let g = gradient(src, P.spacing * scale, pos(r, t, inv_scale, lo, hi));
    var n = normalize3(g);
    let d = r.dir;
    if dot(n, n) == 0.0 || dot(n, d) > 0.0 {
        n = select(-n, -d, dot(n, n) == 0.0);
    }
    let ndl = abs(dot(n, -d));
    let k = P.ambient + P.diffuse * ndl;
    let spec = P.specular * pow(ndl, P.shininess);
    return min(P.color * k + spec, vec3<f32>(1.0));
}

fn pack(c: vec3<f32>) -> u32 {
    let q = vec3<u32>(floor(clamp(c, vec3<f32>(0.0), vec3<f32>(1.0)) * 255.0 + 0.5));
    return 0xff000000u | (q.x << 16u) | (q.y << 8u) | q.z;
}

fn index_ray(x: u32, y: u32) -> Ray {
    let u = (2.0 * (f32(x) + 0.5) / f32(P.width) - 1.0) * P.tx;
    let v = (1.0 - 2.0 * (f32(y) + 0.5) / f32(P.height)) * P.ty;
    let dir = normalize3(P.forward + u * P.right + v * P.up);
    var r: Ray;
    r.o = (P.eye - P.origin) / P.spacing;
    r.d = dir / P.spacing;
    r.inv = 1.0 / r.d;
    r.t0 = 0.0;
    r.t1 = 3.40282347e38;
    r.dir = dir;
    return r;
}

fn cell_lo(c: vec3<i32>) -> vec3<f32> {
    return vec3<f32>(vec3<u32>(c) * P.brick);
}

fn cell_hi(c: vec3<i32>) -> vec3<f32> {
    return vec3<f32>(min((vec3<u32>(c) + 1u) * P.brick, P.dims - 1u));
}

@compute @workgroup_size(8, 8, 1)
fn trace(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= P.width || gid.y >= P.height {
        return;
    }
    let p = gid.x + P.width * gid.y;
    let st = px[p];
    if st.x == 1u {
        return;
    }
    var r = index_ray(gid.x, gid.y);
    let vmax = vec3<f32>(P.dims - 1u);
    let root = clip(r, vec3<f32>(0.0), vmax);
    if root.z == 0.0 || !(root.x < root.y) {
        px[p] = vec4<u32>(1u, 0u, 0u, 0u);
        return;
    }
    r.t0 = root.x;
    r.t1 = root.y;
    let h = P.h;
    if P.mode == 2u {
        let br = bracket(SRC_VOL, 1.0, r, r.t0, r.t1, h, vec3<f32>(0.0), vmax);
        var c = 0u;
        if br.z != 0.0 {
            c = pack(refine(SRC_VOL, 1.0, r, br, vec3<f32>(0.0), vmax));
        }
        px[p] = vec4<u32>(1u, 0u, c, 0u);
        return;
    }
    let resumed = st.x >= 2u;
    let pid = st.x - 2u;
    let t_from = bitcast<f32>(st.y);
    let f = f32(P.factor);
    var need = NONE;
    var need_t = 0.0;
    var done = false;
    var out = 0u;
    var prov = 0u;
    // 3-D DDA over the brick grid, front to back
    let bd = vec3<i32>(P.bdims);
    let bsz = f32(P.brick);
    var c: vec3<i32>;
    var step: vec3<i32>;
    for (var a = 0u; a < 3u; a++) {
        c[a] = clamp(i32(floor((r.o[a] + r.t0 * r.d[a]) / bsz)), 0, bd[a] - 1);
        step[a] = select(select(0, -1, r.d[a] < 0.0), 1, r.d[a] > 0.0);
    }
    loop {
        let id = u32(c.x + bd.x * (c.y + bd.y * c.z));
        let rg = ranges[id];
        if rg.x <= P.iso && P.iso <= rg.y {
            let lo = cell_lo(c);
            let hi = cell_hi(c);
            let tk = clip(r, lo, hi);
            if tk.z != 0.0 && !(resumed && tk.y <= t_from && id != pid) {
                let ta = tk.x;
                let tb = tk.y;
                if need == NONE {
                    var src = SRC_VOL;
                    var have = P.mode == 1u;
                    if !have {
                        let slot = page[id];
                        if slot != NONE {
                            have = true;
                            src = SRC_BRICK;
                            b_off = slot * P.side * P.side * P.side;
                            b_org = c * i32(P.brick) - 1;
                            atomicStore(&traffic[4u + P.nbricks + id], 1u);
                        }
                    }
                    if have {
                        let br = bracket(src, 1.0, r, ta, tb, h, lo, hi);
                        if br.z != 0.0 {
                            out = pack(refine(src, 1.0, r, br, lo, hi));
                            done = true;
                            break;
                        }
                    } else {
                        need = id;
                        need_t = ta;
                        if P.provisional == 0u {
                            break;
                        }
                    }
                }
                if need != NONE {
                    // provisional: march the base with steps of half a base cell
                    let br = bracket(SRC_BASE, f, r, ta, tb, P.hb, lo, hi);
                    if br.z != 0.0 {
                        prov = pack(refine(SRC_BASE, f, r, br, lo, hi));
                        break;
                    }
                }
            }
        }
        // the next brick: the nearest boundary crossing
        var tn = vec3<f32>(3.40282347e38);
        for (var a = 0u; a < 3u; a++) {
            if step[a] > 0 {
                tn[a] = (f32((c[a] + 1) * i32(P.brick)) - r.o[a]) * r.inv[a];
            } else if step[a] < 0 {
                tn[a] = (f32(c[a] * i32(P.brick)) - r.o[a]) * r.inv[a];
            }
        }
        var ax = 0u;
        if tn.y < tn[ax] {
            ax = 1u;
        }
        if tn.z < tn[ax] {
            ax = 2u;
        }
        if tn[ax] >= r.t1 {
            break;
        }
        c[ax] += step[ax];
        if c[ax] < 0 || c[ax] >= bd[ax] {
            break;
        }
    }
    if need == NONE || done {
        px[p] = vec4<u32>(1u, 0u, out, 0u);
    } else {
        px[p] = vec4<u32>(2u + need, bitcast<u32>(need_t), 0u, prov);
        atomicAdd(&traffic[0], 1u);
        atomicAdd(&traffic[4u + need], 1u);
    }
}
