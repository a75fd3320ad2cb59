//! Tracing one ray: the index-space ray, the front-to-back octree walk over leaves whose range
//! contains the isovalue, bracketing the first sign change on a fine lattice, bisection and a
//! secant step, and shading.

use super::options::{Method, RenderOptions};
use super::sample::{dot, gradient, normalize, sample, BrickView, Dense, Voxels};
use super::Engine;
use crate::cache::BrickData;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

/// A ray in fine index space.
#[derive(Debug, Clone, Copy)]
pub(super) struct IRay {
    o: [f32; 3],
    d: [f32; 3],
    t0: f32,
    t1: f32,
    dir: [f32; 3],
    inv: [f32; 3],
}

/// Slab intersection of the ray with the index box `[lo, hi]`, clipped to the ray's extent.
#[inline]
pub(super) fn clip(r: &IRay, lo: [f32; 3], hi: [f32; 3]) -> Option<(f32, f32)> {
    let (mut t0, mut t1) = (r.t0, r.t1);
    for a in 0..3 {
        if r.d[a] == 0.0 {
            if r.o[a] < lo[a] || r.o[a] > hi[a] {
                return None;
            }
            continue;
        }
        let inv = r.inv[a];
        let (mut ta, mut tb) = ((lo[a] - r.o[a]) * inv, (hi[a] - r.o[a]) * inv);
        if ta > tb {
            std::mem::swap(&mut ta, &mut tb);
        }
        t0 = t0.max(ta);
        t1 = t1.min(tb);
    }
    (t0 <= t1).then_some((t0, t1))
}

/// Result of tracing one ray.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Trace {
    /// Final colour (hit) or background (miss).
    Done(Option<[f32; 3]>),
    /// Waiting for brick `id`, entered at `t`; with the provisional colour from the base.
    Need(u32, f32, Option<[f32; 3]>),
}

impl Engine {
    pub(super) fn index_ray(&self, eye: [f32; 3], dir: [f32; 3]) -> Option<IRay> {
        let o = [0, 1, 2].map(|a| (eye[a] - self.origin[a]) / self.spacing[a]);
        let d = [0, 1, 2].map(|a| dir[a] / self.spacing[a]);
        let r = IRay {
            o,
            d,
            t0: 0.0,
            t1: f32::INFINITY,
            dir,
            inv: d.map(|v| 1.0 / v),
        };
        let hi = self.geom.dims.map(|n| (n - 1) as f32);
        let (t0, t1) = clip(&r, [0.0; 3], hi)?;
        (t0 < t1).then_some(IRay { t0, t1, ..r })
    }

    /// Walks the leaves below node `c` of `level` (whose range contains `iso` and which the ray
    /// crosses over `(t0, t1)`) whose ranges contain `iso`, front to back, calling `leaf(id, t_in,
    /// t_out)` until it breaks.
    pub(super) fn walk(
        &self,
        r: &IRay,
        level: usize,
        c: [usize; 3],
        (t0, t1): (f32, f32),
        iso: f32,
        leaf: &mut impl FnMut(usize, f32, f32) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if level == 0 {
            return leaf(self.geom.id(c), t0, t1);
        }
        let cd = self.octree.levels[level - 1].dims;
        let s = self.geom.brick << (level - 1);
        // children in the order of the ray's direction signs: for splits through one point this
        // is front to back (a ray never goes from a child to one that is behind it on any axis)
        let flip = (r.d[0] < 0.0) as usize | ((r.d[1] < 0.0) as usize) << 1 | ((r.d[2] < 0.0) as usize) << 2;
        for i in 0..8 {
            let j = i ^ flip;
            let k = [2 * c[0] + (j & 1), 2 * c[1] + (j >> 1 & 1), 2 * c[2] + (j >> 2)];
            if k[0] >= cd[0] || k[1] >= cd[1] || k[2] >= cd[2] {
                continue;
            }
            let (lo, hi) = self.octree.range(level - 1, k);
            if !(lo <= iso && iso <= hi) {
                continue;
            }
            let klo = k.map(|v| (v * s) as f32);
            let khi = [0, 1, 2].map(|a| ((k[a] + 1) * s).min(self.geom.dims[a] - 1) as f32);
            if let Some(tk) = clip(r, klo, khi) {
                self.walk(r, level - 1, k, tk, iso, leaf)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// First bracket of a crossing of `iso` in `[ta, tb]`: samples at `ta`, the lattice
    /// `r.t0 + m·h` inside, and `tb`. Positions are clamped into `[lo, hi]`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn bracket<V: Voxels>(
        &self,
        v: &V,
        dims: [usize; 3],
        scale: f32,
        r: &IRay,
        ta: f32,
        tb: f32,
        h: f32,
        iso: f32,
        lo: [f32; 3],
        hi: [f32; 3],
    ) -> Option<(f32, f32)> {
        // scale is 1 or the base factor: multiplying by its inverse is exact for 1, 2, 4, 8
        let inv_scale = 1.0 / scale;
        let val = |t: f32| {
            let p = [0, 1, 2].map(|a| ((r.o[a] + t * r.d[a]).clamp(lo[a], hi[a])) * inv_scale);
            sample(v, dims, p) - iso
        };
        let mut t = ta;
        let mut prev = val(t);
        let mut m = ((ta - r.t0) / h).floor() + 1.0;
        loop {
            let tn = (r.t0 + m * h).min(tb);
            let tn = if tn <= t { tb } else { tn };
            let cur = val(tn);
            if (prev < 0.0) != (cur < 0.0) {
                return Some((t, tn));
            }
            if tn >= tb {
                return None;
            }
            prev = cur;
            t = tn;
            m += 1.0;
        }
    }

    /// Bisection + secant inside a bracket, then the shaded colour.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn refine<V: Voxels>(
        &self,
        v: &V,
        dims: [usize; 3],
        scale: f32,
        r: &IRay,
        (mut a, mut b): (f32, f32),
        iso: f32,
        lo: [f32; 3],
        hi: [f32; 3],
        opts: &RenderOptions,
    ) -> [f32; 3] {
        let inv_scale = 1.0 / scale;
        // a non-finite position (from non-finite samples, e.g. a network's overflow) stays in the box
        let pos = |t: f32| {
            [0, 1, 2].map(|k| {
                let x = r.o[k] + t * r.d[k];
                (if x.is_finite() { x.clamp(lo[k], hi[k]) } else { lo[k] }) * inv_scale
            })
        };
        let val = |t: f32| sample(v, dims, pos(t)) - iso;
        let fa_neg = val(a) < 0.0;
        for _ in 0..12 {
            let m = 0.5 * (a + b);
            if (val(m) < 0.0) == fa_neg {
                a = m;
            } else {
                b = m;
            }
        }
        let (fa, fb) = (val(a), val(b));
        let t = if fb != fa {
            (a - fa * (b - a) / (fb - fa)).clamp(a, b)
        } else {
            0.5 * (a + b)
        };
        let sp = self.spacing.map(|s| s * scale);
        let g = gradient(v, dims, sp, pos(t));
        let mut n = normalize(g);
        let d = r.dir;
        if dot(n, n) == 0.0 || dot(n, d) > 0.0 {
            n = if dot(n, n) == 0.0 { d.map(|x| -x) } else { n.map(|x| -x) };
        }
        opts.phong.shade(opts.color, n, d.map(|x| -x))
    }

    pub(super) fn brick_box(&self, id: usize) -> ([f32; 3], [f32; 3]) {
        self.geom.cell_box(self.geom.coords(id))
    }

    /// Traces one ray from `t_resume` (entering brick `pending` there, if any).
    pub(super) fn trace(
        &self,
        r: &IRay,
        opts: &RenderOptions,
        resume: Option<(u32, f32)>,
        snap: &HashMap<u32, BrickData>,
        provisional: bool,
        touched: &[AtomicBool],
    ) -> Trace {
        let iso = opts.iso;
        let h = opts.step * self.spacing[0].min(self.spacing[1]).min(self.spacing[2]);
        let dims = self.geom.dims;
        if self.method == Method::Dense {
            let v = Dense {
                data: self.full.as_deref().expect("dense has the volume"),
                dims,
            };
            let (lo, hi) = ([0.0; 3], dims.map(|n| (n - 1) as f32));
            return Trace::Done(
                self.bracket(&v, dims, 1.0, r, r.t0, r.t1, h, iso, lo, hi)
                    .map(|br| self.refine(&v, dims, 1.0, r, br, iso, lo, hi, opts)),
            );
        }
        let top = self.octree.levels.len() - 1;
        let mut out = Trace::Done(None);
        let mut need: Option<(u32, f32)> = None;
        let base = Dense {
            data: &self.store.base,
            dims: self.geom.base_dims,
        };
        let f = self.geom.factor as f32;
        let t_from = resume.map_or(f32::NEG_INFINITY, |(_, t)| t);
        let (rlo, rhi) = self.octree.range(top, [0; 3]);
        let root = if rlo <= iso && iso <= rhi {
            clip(r, [0.0; 3], dims.map(|n| (n - 1) as f32))
        } else {
            None
        };
        let Some(root) = root else {
            return Trace::Done(None);
        };
        let _ = self.walk(r, top, [0; 3], root, iso, &mut |id, ta, tb| {
            if let Some((pid, _)) = resume {
                if tb <= t_from && id as u32 != pid {
                    return ControlFlow::Continue(());
                }
            }
            let (lo, hi) = self.brick_box(id);
            if need.is_none() {
                let hit = if let Some(full) = &self.full {
                    let v = Dense { data: full, dims };
                    self.bracket(&v, dims, 1.0, r, ta, tb, h, iso, lo, hi)
                        .map(|br| self.refine(&v, dims, 1.0, r, br, iso, lo, hi, opts))
                } else if let Some(data) = snap.get(&(id as u32)) {
                    if !touched[id].load(Ordering::Relaxed) {
                        touched[id].store(true, Ordering::Relaxed);
                    }
                    let v = BrickView {
                        data,
                        o: self.geom.sample_origin(self.geom.coords(id)),
                        s: self.geom.side(),
                    };
                    self.bracket(&v, dims, 1.0, r, ta, tb, h, iso, lo, hi)
                        .map(|br| self.refine(&v, dims, 1.0, r, br, iso, lo, hi, opts))
                } else {
                    need = Some((id as u32, ta));
                    if !provisional {
                        return ControlFlow::Break(());
                    }
                    None
                };
                if let Some(c) = hit {
                    out = Trace::Done(Some(c));
                    return ControlFlow::Break(());
                }
            }
            if let Some((nid, nt)) = need {
                // provisional: march the base with steps of half a base cell
                let hb = 0.5 * f * h / opts.step;
                if let Some(br) = self.bracket(&base, self.geom.base_dims, f, r, ta, tb, hb, iso, lo, hi) {
                    let c = self.refine(&base, self.geom.base_dims, f, r, br, iso, lo, hi, opts);
                    out = Trace::Need(nid, nt, Some(c));
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        match (out, need) {
            (Trace::Done(_), Some((id, t))) => Trace::Need(id, t, None),
            (o, _) => o,
        }
    }
}
