//! Learning-rate schedules shared by every trainer (NeRVI/NeRV, INR fitting).

/// Learning rate at global step `s` of `total`: linear warm-up over the first `warmup·total` steps,
/// then cosine decay to 0 (NeRV's schedule).
pub fn learning_rate(lr: f64, warmup: f64, s: usize, total: usize) -> f64 {
    let w = ((warmup * total as f64).round() as usize).min(total);
    if s < w {
        lr * (s + 1) as f64 / w as f64
    } else {
        let span = (total - w).max(1) as f64;
        0.5 * lr * (1.0 + (std::f64::consts::PI * (s - w) as f64 / span).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        // 10 steps, 20% warm-up: 0.5, 1.0, then cos from 1 to near 0.
        assert!((learning_rate(1.0, 0.2, 0, 10) - 0.5).abs() < 1e-12);
        assert!((learning_rate(1.0, 0.2, 1, 10) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, 0.2, 2, 10) - 1.0).abs() < 1e-12);
        // Halfway through the decay (s − w = 4 of 8): 0.5.
        assert!((learning_rate(1.0, 0.2, 6, 10) - 0.5).abs() < 1e-12);
    }
}
