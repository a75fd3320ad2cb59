//! Memory checks before large allocations, and the peak resident set size.

/// An allocation that would not fit in the memory this process may still use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("needs {:.1} MiB but only {:.1} MiB of memory are available", *.needed as f64 / 1048576.0, *.available as f64 / 1048576.0)]
pub struct MemoryError {
    /// Bytes the allocation needs.
    pub needed: u64,
    /// Bytes available ([`available_memory`]).
    pub available: u64,
}

/// Memory this process may still allocate, in bytes: `MemAvailable` from `/proc/meminfo`, or the
/// value of the environment variable `NEUVIS_MEMORY_LIMIT_MB` (megabytes) when set, whichever is
/// smaller; `u64::MAX` where neither is known.
pub fn available_memory() -> u64 {
    let mut limit = u64::MAX;
    if let Ok(s) = std::fs::read_to_string("/proc/meminfo") {
        if let Some(kb) = s
            .lines()
            .find(|l| l.starts_with("MemAvailable:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
        {
            limit = kb.saturating_mul(1024);
        }
    }
    if let Some(mb) = std::env::var("NEUVIS_MEMORY_LIMIT_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        limit = limit.min(mb.saturating_mul(1 << 20));
    }
    limit
}

/// Fails if allocating `bytes` would exceed [`available_memory`].
///
/// ```
/// assert!(neuvis_base::mem::check_memory(1024).is_ok());
/// assert!(neuvis_base::mem::check_memory(u64::MAX).is_err());
/// ```
pub fn check_memory(bytes: u64) -> Result<(), MemoryError> {
    let available = available_memory();
    if bytes > available {
        return Err(MemoryError {
            needed: bytes,
            available,
        });
    }
    Ok(())
}

/// The process's peak resident set size in bytes (`VmHWM` of `/proc/self/status`), where the
/// system reports it.
pub fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_rss_grows_with_a_touched_allocation() {
        let Some(before) = super::peak_rss() else { return };
        let v = vec![1u8; 64 << 20];
        let after = super::peak_rss().unwrap_or(0);
        assert!(v.iter().map(|&b| b as u64).sum::<u64>() == 64 << 20);
        assert!(after >= before.max(64 << 20), "{before} -> {after}");
    }
}
