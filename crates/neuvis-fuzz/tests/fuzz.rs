//! The fuzz harness (a test without libtest's harness, so it can own the process): every target
//! of `neuvis_fuzz::targets()` reads `NEUVIS_FUZZ_INPUTS` seeded mutants (default 2,000; CI runs
//! 20,000) of its seed corpus, and the run fails on any
//! - panic (caught per input; the input is saved under `target/fuzz-findings/`),
//! - allocation over the cap: a counting global allocator refuses any single allocation above
//!   `ALLOC_CAP` (64 MiB: the seeds are a few kB) and any live total above `LIVE_CAP`, so a size
//!   a file claims must be checked against the file's length, not only against free memory,
//! - input running over `TIME_BOUND` (a watchdog thread saves the input and aborts: a hang would
//!   otherwise never end).
//!
//! `NEUVIS_FUZZ_SEED` changes the seed (default 24), `NEUVIS_FUZZ_TARGETS=nrvi,nvb` picks targets,
//! `NEUVIS_FUZZ_MINUTES` runs each target for a time instead of a count (for long local runs).

use neuvis_fuzz::{seeds, targets, Mutator};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Largest single allocation a reader may make for these small inputs (the seeds are at most a
/// few kB; a mutant may claim anything): 64 MiB, or `NEUVIS_FUZZ_CAP_MB`.
static ALLOC_CAP: AtomicUsize = AtomicUsize::new(64 << 20);
/// Largest live total: four times the single cap.
static LIVE_CAP: AtomicUsize = AtomicUsize::new(256 << 20);
/// Longest one input may run.
const TIME_BOUND: Duration = Duration::from_secs(20);

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static OVER: AtomicBool = AtomicBool::new(false);
static OVER_SIZE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if !admit(l.size()) {
            return std::ptr::null_mut();
        }
        let p = System.alloc(l);
        if p.is_null() {
            LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if !admit(l.size()) {
            return std::ptr::null_mut();
        }
        let p = System.alloc_zeroed(l);
        if p.is_null() {
            LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > l.size() && !admit(new - l.size()) {
            return std::ptr::null_mut();
        }
        let q = System.realloc(p, l, new);
        if q.is_null() {
            if new > l.size() {
                LIVE.fetch_sub(new - l.size(), Ordering::Relaxed);
            }
        } else if new < l.size() {
            LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
        }
        q
    }
}

/// Counts `n` more bytes, or records an over-cap request and refuses it (the process then aborts
/// in `handle_alloc_error`, after the watchdog's note below tells which input it was).
fn admit(n: usize) -> bool {
    let live = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    if n > ALLOC_CAP.load(Ordering::Relaxed) || live > LIVE_CAP.load(Ordering::Relaxed) {
        LIVE.fetch_sub(n, Ordering::Relaxed);
        OVER.store(true, Ordering::SeqCst);
        OVER_SIZE.store(n, Ordering::SeqCst);
        note_current("allocation over the cap");
        return false;
    }
    PEAK.fetch_max(live, Ordering::Relaxed);
    true
}

#[global_allocator]
static A: Counting = Counting;

/// The input being run: target, index, and where its files are (for the notes below).
static CURRENT: Mutex<Option<(String, u64, PathBuf)>> = Mutex::new(None);
static STARTED: AtomicU64 = AtomicU64::new(0);

/// Writes (without allocating) which input is running, and copies its files to the findings.
fn note_current(why: &str) {
    use std::io::Write;
    let mut buf = [0u8; 512];
    let n = {
        let mut c = std::io::Cursor::new(&mut buf[..]);
        if let Ok(g) = CURRENT.try_lock() {
            if let Some((t, i, _)) = g.as_ref() {
                let _ = writeln!(c, "fuzz: {why}: target {t}, input {i}");
            }
        }
        c.position() as usize
    };
    let _ = std::io::stderr().write_all(&buf[..n]);
}

fn findings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-findings")
}

fn save_finding(target: &str, index: u64, files: &Path, what: &str) {
    let dir = findings_dir().join(format!("{target}-{index}-{what}"));
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(rd) = std::fs::read_dir(files) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_file() {
                let _ = std::fs::copy(&p, dir.join(e.file_name()));
            } else if p.is_dir() {
                let _ = std::process::Command::new("cp").arg("-r").arg(&p).arg(&dir).status();
            }
        }
    }
}

#[derive(Default)]
struct Tally {
    inputs: u64,
    accepted: u64,
    refused: u64,
    panics: u64,
    slowest: Duration,
}

fn main() {
    // before any thread exists: the readers' own memory checks see a 256 MiB machine
    let env = |k: &str| std::env::var(k).ok();
    if let Some(mb) = env("NEUVIS_FUZZ_CAP_MB").and_then(|v| v.parse::<usize>().ok()) {
        ALLOC_CAP.store(mb << 20, Ordering::SeqCst);
        LIVE_CAP.store((4 * mb) << 20, Ordering::SeqCst);
    }
    std::env::set_var("NEUVIS_MEMORY_LIMIT_MB", "256");
    // `cargo test -- --list` and filters: this harness is one test named `fuzz`
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("fuzz: test");
        return;
    }
    if let Some(f) = args.iter().find(|a| !a.starts_with('-')) {
        if !"fuzz".contains(f.as_str()) {
            return;
        }
    }
    let inputs: u64 = env("NEUVIS_FUZZ_INPUTS").and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let minutes: Option<f64> = env("NEUVIS_FUZZ_MINUTES").and_then(|v| v.parse().ok());
    let seed: u64 = env("NEUVIS_FUZZ_SEED").and_then(|v| v.parse().ok()).unwrap_or(24);
    let only: Option<Vec<String>> = env("NEUVIS_FUZZ_TARGETS").map(|v| v.split(',').map(String::from).collect());
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    // NEUVIS_FUZZ_EMIT=DIR writes the inputs instead of running them (DIR/TARGET/INDEX/…), for
    // tools/cli_mutation.py, which runs the command-line tool on each
    if let Some(out) = env("NEUVIS_FUZZ_EMIT") {
        for t in targets() {
            if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == t.name)) {
                continue;
            }
            let seeds = seeds(&corpus, t.name).expect("corpus");
            for i in 0..inputs {
                let dir = Path::new(&out).join(t.name).join(i.to_string());
                std::fs::create_dir_all(&dir).expect("emit folder");
                let mut m = Mutator::new(seed, i ^ ((t.name.len() as u64) << 48));
                let s = &seeds[m.below(seeds.len())];
                let p = (t.make)(s, &mut m, &dir).expect("writing an input");
                println!("{} {}", t.name, p.display());
            }
        }
        return;
    }
    // NEUVIS_FUZZ_REPLAY=target:index writes that input to the findings folder and runs it alone
    if let Some((name, index)) = env("NEUVIS_FUZZ_REPLAY").and_then(|v| {
        let (a, b) = v.split_once(':')?;
        Some((a.to_string(), b.parse::<u64>().ok()?))
    }) {
        let t = targets().into_iter().find(|t| t.name == name).expect("no such target");
        let seeds = seeds(&corpus, t.name).expect("corpus");
        let dir = findings_dir().join(format!("{name}-{index}-replay"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("findings folder");
        let mut m = Mutator::new(seed, index ^ ((t.name.len() as u64) << 48));
        let s = &seeds[m.below(seeds.len())];
        let path = (t.make)(s, &mut m, &dir).expect("writing the input");
        println!(
            "replaying {name} input {index} from seed {} at {}",
            s.name,
            path.display()
        );
        let _ = std::panic::take_hook();
        println!("{:?}", (t.run)(&path));
        return;
    }
    // panics are counted, not printed 20,000 times: the first message of each target is kept
    let first_panic: &'static Mutex<Option<String>> = Box::leak(Box::new(Mutex::new(None)));
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut g) = first_panic.lock() {
            if g.is_none() {
                *g = Some(info.to_string());
            }
        }
    }));
    // the watchdog: an input running past the bound is saved and the process stops
    std::thread::spawn(|| loop {
        std::thread::sleep(Duration::from_millis(200));
        let started = STARTED.load(Ordering::SeqCst);
        if started == 0 {
            continue;
        }
        let now = epoch_ms();
        if now.saturating_sub(started) > TIME_BOUND.as_millis() as u64 {
            let cur = CURRENT.lock().ok().and_then(|g| g.clone());
            if let Some((t, i, files)) = cur {
                save_finding(&t, i, &files, "timeout");
                eprintln!(
                    "fuzz: target {t}, input {i} ran over {TIME_BOUND:?}; saved to {}",
                    findings_dir().display()
                );
            }
            std::process::exit(3);
        }
    });
    println!(
        "fuzz: seed {seed}, {} per target, caps {} MiB per allocation / {} MiB live, {TIME_BOUND:?} per input",
        minutes.map_or(format!("{inputs} inputs"), |m| format!("{m} min")),
        ALLOC_CAP.load(Ordering::Relaxed) >> 20,
        LIVE_CAP.load(Ordering::Relaxed) >> 20
    );
    println!("| target | seeds | inputs | accepted | refused | panics | slowest ms | peak heap MiB | inputs/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut failed = false;
    for t in targets() {
        if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == t.name)) {
            continue;
        }
        let seeds = seeds(&corpus, t.name).unwrap_or_else(|e| panic!("corpus {}: {e}", t.name));
        assert!(!seeds.is_empty(), "no seeds for {}", t.name);
        let mut tally = Tally::default();
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        let t0 = Instant::now();
        let scratch = tempfile::tempdir().expect("scratch folder");
        let mut i = 0u64;
        *first_panic.lock().unwrap() = None;
        loop {
            let done = match minutes {
                Some(m) => t0.elapsed().as_secs_f64() > m * 60.0,
                None => i >= inputs,
            };
            if done {
                break;
            }
            let dir = scratch.path().join(format!("{}", i % 2));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("scratch");
            let mut m = Mutator::new(seed, i ^ ((t.name.len() as u64) << 48));
            let s = &seeds[m.below(seeds.len())];
            let path = (t.make)(s, &mut m, &dir).expect("writing an input");
            *CURRENT.lock().unwrap() = Some((t.name.to_string(), i, dir.clone()));
            let ts = Instant::now();
            STARTED.store(epoch_ms(), Ordering::SeqCst);
            let r = std::panic::catch_unwind(|| (t.run)(&path));
            STARTED.store(0, Ordering::SeqCst);
            tally.slowest = tally.slowest.max(ts.elapsed());
            match r {
                Ok(Ok(())) => tally.accepted += 1,
                Ok(Err(_)) => tally.refused += 1,
                Err(_) => {
                    tally.panics += 1;
                    save_finding(t.name, i, &dir, "panic");
                }
            }
            tally.inputs += 1;
            i += 1;
        }
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.0} |",
            t.name,
            seeds.len(),
            tally.inputs,
            tally.accepted,
            tally.refused,
            tally.panics,
            tally.slowest.as_secs_f64() * 1e3,
            PEAK.load(Ordering::Relaxed) as f64 / (1 << 20) as f64,
            tally.inputs as f64 / secs
        );
        if tally.panics > 0 {
            failed = true;
            if let Some(msg) = first_panic.lock().unwrap().as_ref() {
                eprintln!("fuzz: {}: first panic: {msg}", t.name);
            }
        }
    }
    if OVER.load(Ordering::SeqCst) {
        eprintln!(
            "fuzz: an allocation of {} bytes went over the cap",
            OVER_SIZE.load(Ordering::SeqCst)
        );
        failed = true;
    }
    if failed {
        eprintln!("fuzz: findings saved under {}", findings_dir().display());
        std::process::exit(1);
    }
    println!("test result: ok. fuzz: zero panics, zero over-cap allocations, zero timeouts");
}

fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_millis() as u64)
        .max(1)
}
