//! The progressive pass scheduler: trace every active ray against a snapshot of the cache,
//! suspend rays at missing bricks, fetch the most requested bricks (at most what the cache holds)
//! in parallel batches, and resume until no ray waits.

use super::compose::{compose, pack};
use super::options::{FrameStats, RenderOptions};
use super::trace::Trace;
use super::Engine;
use crate::error::{RaycastError, Result};
use neuvis_base::camera::Camera;
use neuvis_base::MaskedImage;
use rayon::prelude::*;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Refuses a view no ray could finish: a non-finite isovalue, camera or step.
pub(crate) fn check_view(cam: &Camera, opts: &RenderOptions) -> Result<()> {
    if !opts.iso.is_finite() {
        return Err(RaycastError::Settings(format!("isovalue {} must be finite", opts.iso)));
    }
    // a non-finite camera (an angle of NaN or inf) would march rays that never end
    let finite = |v: [f32; 3]| v.iter().all(|x| x.is_finite());
    if !(finite(cam.eye) && finite(cam.ray_dir(0.5, 0.5)) && opts.step.is_finite() && opts.step > 0.0) {
        return Err(RaycastError::Settings(
            "the camera (eye, angles, field of view) and the step must be finite, the step positive".into(),
        ));
    }
    Ok(())
}

impl Engine {
    /// Renders a view progressively. `on_frame(image, pass)` sees every intermediate image
    /// (pass 0 is the first frame); the returned image is the converged one.
    pub fn render(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        mut on_frame: impl FnMut(&MaskedImage, usize),
    ) -> Result<(MaskedImage, FrameStats)> {
        self.render_impl(cam, opts, true, &mut |im, p| {
            on_frame(im, p);
            ControlFlow::Continue(())
        })
    }

    /// [`Engine::render`] that stops after any pass for which `on_frame` breaks (an interactive
    /// client moved on); the image returned is then the last progressive one.
    pub fn render_until(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        mut on_frame: impl FnMut(&MaskedImage, usize) -> ControlFlow<()>,
    ) -> Result<(MaskedImage, FrameStats)> {
        self.render_impl(cam, opts, true, &mut on_frame)
    }

    /// Loads the bricks a view would need into the cache, without shading provisional hits
    /// (used to prefetch for predicted camera positions).
    pub fn prefetch(&self, cam: &Camera, opts: &RenderOptions) -> Result<FrameStats> {
        Ok(self
            .render_impl(cam, opts, false, &mut |_, _| ControlFlow::Continue(()))?
            .1)
    }

    fn render_impl(
        &self,
        cam: &Camera,
        opts: &RenderOptions,
        provisional: bool,
        on_frame: &mut dyn FnMut(&MaskedImage, usize) -> ControlFlow<()>,
    ) -> Result<(MaskedImage, FrameStats)> {
        check_view(cam, opts)?;
        let start = Instant::now();
        let (w, hgt) = (cam.width, cam.height);
        let ray = |p: u32| {
            let p = p as usize;
            self.index_ray(cam.eye, cam.ray_dir((p % w) as f32 + 0.5, (p / w) as f32 + 0.5))
        };
        // per pixel: packed colour (0 = none), provisional colour, where a suspended ray resumes
        let mut color = vec![0u32; w * hgt];
        let mut prov = vec![0u32; w * hgt];
        let mut resume: Vec<(u32, f32)> = vec![(u32::MAX, 0.0); w * hgt];
        let mut active: Vec<u32> = (0..(w * hgt) as u32)
            .into_par_iter()
            .filter(|&p| ray(p).is_some())
            .collect();
        let touched: Vec<AtomicBool> = (0..self.geom.nbricks()).map(|_| AtomicBool::new(false)).collect();
        let mut stats = FrameStats::default();
        let mut missed_all: std::collections::HashSet<u32> = Default::default();
        let mut last_image;
        loop {
            let snap = if self.method.speculative() {
                self.cache.lock().expect("cache lock").snapshot()
            } else {
                HashMap::new()
            };
            // (colour or 0, needed brick or MAX, resume t, provisional colour or 0)
            let results: Vec<(u32, u32, f32, u32)> = active
                .par_iter()
                .map(|&p| {
                    let r = ray(p).expect("active rays hit the box");
                    let res = resume[p as usize];
                    let res = (res.0 != u32::MAX).then_some(res);
                    match self.trace(&r, opts, res, &snap, provisional, &touched) {
                        Trace::Done(c) => (pack(c), u32::MAX, 0.0, 0),
                        Trace::Need(id, t, c) => (0, id, t, pack(c)),
                    }
                })
                .collect();
            drop(snap);
            let mut counts: HashMap<u32, usize> = HashMap::new();
            let mut next = Vec::new();
            for (&p, &(c, id, t, pc)) in active.iter().zip(&results) {
                if id == u32::MAX {
                    color[p as usize] = c;
                    prov[p as usize] = 0;
                } else {
                    resume[p as usize] = (id, t);
                    prov[p as usize] = pc;
                    *counts.entry(id).or_default() += 1;
                    next.push(p);
                }
            }
            drop(results);
            {
                let mut cache = self.cache.lock().expect("cache lock");
                for (id, t) in touched.iter().enumerate() {
                    if t.load(Ordering::Relaxed) {
                        cache.touch(id as u32);
                    }
                }
            }
            last_image = compose(w, hgt, &color, &prov);
            stats.passes += 1;
            if stats.passes == 1 {
                stats.first_s = start.elapsed().as_secs_f64();
            }
            if on_frame(&last_image, stats.passes - 1).is_break() || next.is_empty() {
                break;
            }
            // fetch the most requested bricks, at most what the cache can hold
            let cap = {
                let c = self.cache.lock().expect("cache lock");
                (c.budget() / self.geom.brick_bytes()).max(1)
            };
            let mut req: Vec<(u32, usize)> = counts.into_iter().collect();
            req.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            req.truncate(cap);
            for &(id, _) in &req {
                missed_all.insert(id);
            }
            // fetch in small parallel batches, inserting as they arrive, so no more than a
            // batch of bricks is ever held outside the cache
            let t0 = Instant::now();
            let chunk = 4 * rayon::current_num_threads();
            for part in req.chunks(chunk) {
                let loaded: Vec<(u32, Vec<f32>)> = part
                    .par_iter()
                    .map(|&(id, _)| Ok((id, self.fetch(id as usize)?)))
                    .collect::<Result<_>>()?;
                stats.fetched += loaded.len();
                let mut cache = self.cache.lock().expect("cache lock");
                for (id, data) in loaded {
                    cache.stats_mut().misses += 1;
                    if !cache.insert(id, std::sync::Arc::new(data)) {
                        return Err(RaycastError::Settings(
                            "a brick does not fit in the cache budget".into(),
                        ));
                    }
                }
            }
            stats.fetch_s += t0.elapsed().as_secs_f64();
            active = next;
        }
        stats.hits = touched
            .iter()
            .enumerate()
            .filter(|(id, t)| t.load(Ordering::Relaxed) && !missed_all.contains(&(*id as u32)))
            .count();
        self.cache.lock().expect("cache lock").stats_mut().hits += stats.hits as u64;
        stats.misses = missed_all.len();
        stats.converged_s = start.elapsed().as_secs_f64();
        Ok((last_image, stats))
    }
}
