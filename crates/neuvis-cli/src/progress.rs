//! Progress on stderr: indicatif's bar on a terminal, plain lines in a log.
//!
//! indicatif draws nothing when stderr is not a terminal, so a job whose stderr is a file (`compress …
//! 2>log &`, every Slurm job) logged nothing for the whole run. There, as training frameworks do in
//! cluster logs, [`Progress`] prints one plain line every `--progress-interval` seconds (default 30):
//! elapsed time, the command, position and total, the command's message (epoch, loss, PSNR, time
//! step), the rate and the ETA; and a last line when the work ends if it printed any before. With
//! `-q` it prints nothing.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Milliseconds between two plain progress lines (`--progress-interval`).
static INTERVAL_MS: AtomicU64 = AtomicU64::new(30_000);

/// Sets the interval between plain progress lines (the global `--progress-interval`).
pub fn set_interval(seconds: f64) {
    INTERVAL_MS.store((seconds.max(0.0) * 1e3).round() as u64, Ordering::Relaxed);
}

/// How progress is shown: decided once per bar from `-q` and whether stderr is a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Hidden,
    Bar,
    Lines,
}

fn mode() -> Mode {
    if crate::report::quiet() {
        Mode::Hidden
    } else if std::io::stderr().is_terminal() {
        Mode::Bar
    } else {
        Mode::Lines
    }
}

/// The state of the plain-line reporter.
struct Lines {
    start: Instant,
    last: Instant,
    len: Option<u64>,
    pos: u64,
    msg: String,
    printed: bool,
}

/// A progress report: a bar on a terminal, plain lines at a steady interval otherwise.
pub struct Progress {
    bar: ProgressBar,
    /// What the lines say the work is ("compress", "render").
    what: String,
    /// What one position counts ("steps", "images").
    unit: String,
    /// A second rate to show in the lines: (its unit, its amount per position), e.g. images/s
    /// from training steps of `batch` images.
    rate: Option<(String, f64)>,
    lines: Option<Mutex<Lines>>,
}

impl Progress {
    /// A report of `len` positions (None: not known yet) counted in `unit`, drawn on a terminal with
    /// indicatif's `template`.
    pub fn new(what: &str, unit: &str, len: Option<u64>, template: &str) -> Self {
        let m = mode();
        let target = if m == Mode::Bar {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(len, target);
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        let now = Instant::now();
        Progress {
            bar,
            what: what.to_string(),
            unit: unit.to_string(),
            rate: None,
            lines: (m == Mode::Lines).then(|| {
                Mutex::new(Lines {
                    start: now,
                    last: now,
                    len,
                    pos: 0,
                    msg: String::new(),
                    printed: false,
                })
            }),
        }
    }

    /// A report that shows nothing (a step inside another command).
    pub fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
            what: String::new(),
            unit: String::new(),
            rate: None,
            lines: None,
        }
    }

    /// Also reports `unit`/s, `per_position` of them per position (lines only).
    pub fn with_rate(mut self, unit: &str, per_position: f64) -> Self {
        self.rate = Some((unit.to_string(), per_position));
        self
    }

    /// Runs `f` with the bar out of the way (a warning printed while the bar is drawn).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Sets the total.
    pub fn set_length(&self, len: u64) {
        self.bar.set_length(len);
        self.update(|l| l.len = Some(len));
    }

    /// Sets the position (never moved backwards by the lines).
    pub fn set_position(&self, pos: u64) {
        self.bar.set_position(pos);
        self.update(|l| l.pos = l.pos.max(pos));
    }

    /// Advances the position by `n`.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        self.update(|l| l.pos += n);
    }

    /// Sets the message (epoch and loss, the time step).
    pub fn set_message(&self, msg: String) {
        if let Some(lines) = &self.lines {
            if let Ok(mut l) = lines.lock() {
                l.msg.clone_from(&msg);
            }
        }
        self.bar.set_message(msg);
    }

    /// Ends the report: clears the bar; in a log, a last line if any was printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        if let Some(lines) = &self.lines {
            if let Ok(l) = lines.lock() {
                if l.printed {
                    eprintln!("{}", self.line(&l, Instant::now(), true));
                }
            }
        }
    }

    fn update(&self, f: impl FnOnce(&mut Lines)) {
        let Some(lines) = &self.lines else { return };
        let Ok(mut l) = lines.lock() else { return };
        f(&mut l);
        let now = Instant::now();
        let every = Duration::from_millis(INTERVAL_MS.load(Ordering::Relaxed));
        if now.duration_since(l.last) >= every {
            l.last = now;
            l.printed = true;
            eprintln!("{}", self.line(&l, now, false));
        }
    }

    /// `[00:02:30] compress: 120/4000 steps (3.0 %), epoch 2/100: loss 0.0123; 51.2 images/s, ETA 00:48:12`
    fn line(&self, l: &Lines, now: Instant, done: bool) -> String {
        let secs = now.duration_since(l.start).as_secs_f64();
        let mut s = format!("[{}] {}: {}", hms(secs), self.what, l.pos);
        match l.len {
            Some(n) if n > 0 => {
                s += &format!("/{n} {} ({:.1} %)", self.unit, 100.0 * l.pos as f64 / n as f64);
            }
            _ => s += &format!(" {}", self.unit),
        }
        if !l.msg.is_empty() {
            s += &format!(", {}", l.msg);
        }
        if secs > 0.0 && l.pos > 0 {
            let per_sec = l.pos as f64 / secs;
            match &self.rate {
                Some((unit, k)) => s += &format!("; {:.1} {unit}/s", per_sec * k),
                None => s += &format!("; {:.1} {}/s", per_sec, self.unit),
            }
            if done {
                s += &format!(", finished in {}", hms(secs));
            } else if let Some(n) = l.len.filter(|&n| n > l.pos) {
                s += &format!(", ETA {}", hms((n - l.pos) as f64 / per_sec));
            }
        }
        s
    }
}

/// `hh:mm:ss`.
fn hms(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hms_formats_hours_minutes_seconds() {
        assert_eq!(hms(0.0), "00:00:00");
        assert_eq!(hms(59.6), "00:01:00");
        assert_eq!(hms(3723.0), "01:02:03");
    }

    #[test]
    fn a_line_has_position_share_message_rate_and_eta() {
        let p = Progress::new("compress", "steps", Some(400), "{bar}").with_rate("images", 16.0);
        let t0 = Instant::now();
        let l = Lines {
            start: t0,
            last: t0,
            len: Some(400),
            pos: 100,
            msg: "epoch 3/12: loss 0.0120".into(),
            printed: true,
        };
        // 100 steps in 50 s: 2 steps/s = 32 images/s; 300 steps left = 150 s
        let line = p.line(&l, t0 + Duration::from_secs(50), false);
        assert_eq!(
            line,
            "[00:00:50] compress: 100/400 steps (25.0 %), epoch 3/12: loss 0.0120; 32.0 images/s, ETA 00:02:30"
        );
        let done = p.line(&Lines { pos: 400, ..l }, t0 + Duration::from_secs(200), true);
        assert!(done.ends_with("; 32.0 images/s, finished in 00:03:20"), "{done}");
    }
}
