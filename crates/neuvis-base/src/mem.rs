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

/// Memory this process may still allocate, in bytes: the smallest of `MemAvailable` from
/// `/proc/meminfo`, what the address-space limit (`RLIMIT_AS`, `ulimit -v`) leaves above the
/// current virtual size, what the cgroup's `memory.max` (v2) or `memory.limit_in_bytes` (v1)
/// leaves above its current usage (containers, Slurm jobs), and the environment variable
/// `NEUVIS_MEMORY_LIMIT_MB` (megabytes) when set; `u64::MAX` where none is known.
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
    if let Some(left) = address_space_left() {
        limit = limit.min(left);
    }
    if let Some(left) = cgroup_left() {
        limit = limit.min(left);
    }
    if let Some(mb) = std::env::var("NEUVIS_MEMORY_LIMIT_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        limit = limit.min(mb.saturating_mul(1 << 20));
    }
    limit
}

/// What `RLIMIT_AS` leaves above the process's virtual size (`VmSize`), if a limit is set.
fn address_space_left() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } != 0 || r.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok();
    let used = status
        .as_deref()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmSize:")))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |kb| kb.saturating_mul(1024));
    #[allow(clippy::unnecessary_cast)] // rlim_t differs between platforms
    Some((r.rlim_cur as u64).saturating_sub(used))
}

/// What the process's cgroup memory limit leaves above the cgroup's usage, if a limit is set.
fn cgroup_left() -> Option<u64> {
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let read = |p: String| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    for line in cg.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrl, path) = (parts.next()?, parts.next()?, parts.next()?);
        if ctrl.is_empty() {
            // cgroup v2: the unified hierarchy
            let dir = format!("/sys/fs/cgroup{path}");
            if let Some(max) = read(format!("{dir}/memory.max")) {
                let cur = read(format!("{dir}/memory.current")).unwrap_or(0);
                return Some(max.saturating_sub(cur));
            }
        } else if ctrl.split(',').any(|c| c == "memory") {
            let dir = format!("/sys/fs/cgroup/memory{path}");
            let max = read(format!("{dir}/memory.limit_in_bytes"))?;
            // v1 reports "no limit" as a huge page-rounded number
            if max >= 1 << 60 {
                return None;
            }
            let cur = read(format!("{dir}/memory.usage_in_bytes")).unwrap_or(0);
            return Some(max.saturating_sub(cur));
        }
    }
    None
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
    fn an_address_space_limit_lowers_available_memory() {
        // this test binary, run again under `ulimit -v` (4 GiB), reports what it may allocate
        if std::env::var_os("NEUVIS_MEM_CHILD").is_some() {
            println!("available={}", super::available_memory());
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 4194304 && exec \"$0\" --exact mem::tests::an_address_space_limit_lowers_available_memory --nocapture")
            .arg(&exe)
            .env("NEUVIS_MEM_CHILD", "1")
            .env_remove("NEUVIS_MEMORY_LIMIT_MB")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let got: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("available="))
            .unwrap_or_else(|| panic!("child printed {text}"))
            .trim()
            .parse()
            .unwrap();
        assert!(
            got < 4 << 30,
            "under a 4 GiB address-space limit, {got} bytes reported available"
        );
        assert!(got > 0);
    }

    #[test]
    fn peak_rss_grows_with_a_touched_allocation() {
        let Some(before) = super::peak_rss() else { return };
        let v = vec![1u8; 64 << 20];
        let after = super::peak_rss().unwrap_or(0);
        assert!(v.iter().map(|&b| b as u64).sum::<u64>() == 64 << 20);
        assert!(after >= before.max(64 << 20), "{before} -> {after}");
    }
}
