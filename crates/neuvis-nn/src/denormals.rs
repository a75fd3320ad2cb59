//! Flush-to-zero for CPU training: a guard that makes the calling thread and every thread of the
//! current rayon pool (where burn-flex and its matrix kernels run) treat subnormal floats as zero.
//!
//! Why: training NeRVI drives its mask logits far from zero (the L1 mask loss keeps pushing them
//! out), so the sigmoid's gradients and Adam's moments drift into the subnormal range, where x86
//! CPUs take a microcode assist of about a hundred cycles per operation. Measured on the 128² IR
//! collection, ten epochs took 456 s of CPU with IEEE subnormals and 167 s with them flushed, and
//! the quantized file was byte-identical (BENCHMARKS.md, "Flush-to-zero in training"): values below
//! 1.2 × 10⁻³⁸ never survive 7–9-bit quantization. PyTorch offers the same trade as
//! `torch.set_flush_denormal(True)`.
//!
//! On x86-64 the guard sets MXCSR's FTZ (flush results) and DAZ (treat inputs as zero) bits; on
//! AArch64 FPCR's FZ bit. Elsewhere it does nothing. Each thread keeps a nesting count, so guards
//! may overlap (two trainings in parallel on one pool) and the thread's previous mode comes back
//! when its last guard ends.
//!
//! ```
//! use neuvis_nn::denormals::FlushDenormals;
//! let tiny = std::hint::black_box(f32::MIN_POSITIVE);
//! {
//!     let _ftz = FlushDenormals::new();
//!     let half = tiny * std::hint::black_box(0.5f32);
//!     if FlushDenormals::supported() {
//!         assert_eq!(half, 0.0);
//!     }
//! }
//! assert!(tiny * std::hint::black_box(0.5f32) > 0.0); // IEEE again
//! ```

use std::cell::Cell;

/// The environment variable that, set to `1`, keeps IEEE subnormals during training
/// ([`FlushDenormals::for_training`] then does nothing).
pub const KEEP_ENV: &str = "NEUVIS_KEEP_DENORMALS";

thread_local! {
    /// (number of live guards on this thread, control word before the first one).
    static STATE: Cell<(u32, u64)> = const { Cell::new((0, 0)) };
}

#[cfg(target_arch = "x86_64")]
mod arch {
    /// MXCSR bits: FTZ (15) and DAZ (6).
    const BITS: u64 = 0x8040;
    pub const SUPPORTED: bool = true;
    pub fn get() -> u64 {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr stores the 32-bit MXCSR to the given, valid and aligned address.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags)) };
        u64::from(csr)
    }
    pub fn set(v: u64) {
        let csr = v as u32;
        // SAFETY: ldmxcsr loads a value read from MXCSR with only the FTZ/DAZ bits changed; both
        // are defined on every x86-64 CPU and change no rounding mode or exception mask.
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags, readonly)) };
    }
    pub fn flushing(v: u64) -> u64 {
        v | BITS
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    /// FPCR bit 24: FZ (flush-to-zero).
    const BITS: u64 = 1 << 24;
    pub const SUPPORTED: bool = true;
    pub fn get() -> u64 {
        let v: u64;
        // SAFETY: reading FPCR has no side effects.
        unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) v, options(nomem, nostack, preserves_flags)) };
        v
    }
    pub fn set(v: u64) {
        // SAFETY: writes back a value read from FPCR with only the FZ bit changed.
        unsafe { std::arch::asm!("msr fpcr, {}", in(reg) v, options(nomem, nostack, preserves_flags)) };
    }
    pub fn flushing(v: u64) -> u64 {
        v | BITS
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod arch {
    pub const SUPPORTED: bool = false;
    pub fn get() -> u64 {
        0
    }
    pub fn set(_: u64) {}
    pub fn flushing(v: u64) -> u64 {
        v
    }
}

fn enter() {
    STATE.with(|s| {
        let (depth, saved) = s.get();
        if depth == 0 {
            let now = arch::get();
            arch::set(arch::flushing(now));
            s.set((1, now));
        } else {
            s.set((depth + 1, saved));
        }
    });
}

fn leave() {
    STATE.with(|s| {
        let (depth, saved) = s.get();
        match depth {
            0 => {}
            1 => {
                arch::set(saved);
                s.set((0, 0));
            }
            d => s.set((d - 1, saved)),
        }
    });
}

/// While alive, the thread that made it and the threads of the rayon pool it was made in flush
/// subnormal floats to zero. Drop it on the thread, and in the pool, where it was made (a local
/// variable does that). See the [module documentation](self) for why.
#[must_use = "flushing stops when the guard is dropped"]
pub struct FlushDenormals {
    active: bool,
    /// The guard changes the creating thread's state, so it must not move to another thread.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl FlushDenormals {
    /// Starts flushing on this thread and on every thread of the current rayon pool.
    pub fn new() -> Self {
        enter();
        rayon::broadcast(|_| enter());
        FlushDenormals {
            active: true,
            _not_send: std::marker::PhantomData,
        }
    }

    /// [`new`](Self::new), unless the environment variable [`KEEP_ENV`] is `1`, in which case the
    /// guard does nothing (to compare against IEEE arithmetic).
    pub fn for_training() -> Self {
        if std::env::var(KEEP_ENV).is_ok_and(|v| v == "1") {
            FlushDenormals {
                active: false,
                _not_send: std::marker::PhantomData,
            }
        } else {
            Self::new()
        }
    }

    /// Whether this CPU architecture has a flush-to-zero mode the guard sets.
    pub fn supported() -> bool {
        arch::SUPPORTED
    }

    /// Whether this guard is flushing (false for a [`for_training`](Self::for_training) guard that
    /// the environment turned off).
    pub fn is_active(&self) -> bool {
        self.active
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        if self.active {
            rayon::broadcast(|_| leave());
            leave();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    /// Half of the smallest normal f32: a subnormal under IEEE, zero when flushing.
    fn half_min() -> f32 {
        black_box(f32::MIN_POSITIVE) * black_box(0.5f32)
    }

    /// Whether a subnormal input is read as zero (DAZ on x86, FZ on AArch64).
    fn subnormal_input_is_zero() -> bool {
        let sub = black_box(f32::from_bits(1)); // 1.4e-45
        sub * black_box(2.0f32) == 0.0
    }

    #[test]
    fn flushes_on_the_caller_and_every_pool_thread_then_restores() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().expect("pool");
        pool.install(|| {
            assert!(half_min() > 0.0, "IEEE subnormals before the guard");
            let g = FlushDenormals::new();
            assert!(g.is_active());
            if FlushDenormals::supported() {
                assert_eq!(half_min(), 0.0);
                assert!(subnormal_input_is_zero());
                let per_thread = rayon::broadcast(|_| (half_min(), subnormal_input_is_zero()));
                assert_eq!(per_thread.len(), 3);
                assert!(per_thread.iter().all(|&(h, z)| h == 0.0 && z), "{per_thread:?}");
            }
            drop(g);
            assert!(half_min() > 0.0);
            assert!(rayon::broadcast(|_| half_min()).iter().all(|&h| h > 0.0));
            assert_eq!(half_min(), f32::MIN_POSITIVE / 2.0, "exactly IEEE again");
        });
    }

    #[test]
    fn overlapping_guards_restore_only_after_the_last() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
        pool.install(|| {
            let a = FlushDenormals::new();
            let b = FlushDenormals::new();
            drop(a);
            if FlushDenormals::supported() {
                assert_eq!(half_min(), 0.0, "b still alive");
                assert!(rayon::broadcast(|_| half_min()).iter().all(|&h| h == 0.0));
            }
            drop(b);
            assert!(half_min() > 0.0);
            assert!(rayon::broadcast(|_| half_min()).iter().all(|&h| h > 0.0));
        });
    }
}
