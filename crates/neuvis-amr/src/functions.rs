//! Analytic fields used to make test INRs (`neuvis inr fit --function …`).

/// α of Mitchell's oscillation benchmark (§2.8 of Mitchell 2013; §4.1 of the AMR paper).
pub const SIN_INV_R_ALPHA: f64 = 1.0 / 50.0;

/// `sin(1/(α + r))`, r = |(x, y)|, α = 1/50, on [0, 1]²: oscillations that get ever faster
/// towards the origin corner.
pub fn sin_inv_r(p: &[f64]) -> f64 {
    let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
    (1.0 / (SIN_INV_R_ALPHA + r)).sin()
}

/// Smoothed indicator of `sd < 0` for a signed distance `sd`: a logistic edge of width `w`.
fn inside(sd: f64, w: f64) -> f64 {
    1.0 / (1.0 + (sd / w).exp())
}

/// Signed distance to the axis-aligned box |p − c| ≤ h (negative inside).
fn box_sd(p: [f64; 3], c: [f64; 3], h: [f64; 3]) -> f64 {
    let q: Vec<f64> = (0..3).map(|a| (p[a] - c[a]).abs() - h[a]).collect();
    let outside = q.iter().map(|v| v.max(0.0).powi(2)).sum::<f64>().sqrt();
    outside + q.iter().fold(f64::MIN, |m, &v| m.max(v)).min(0.0)
}

/// Edge width of the simulated CT phantom (a sharp edge is not representable by a small INR;
/// real reconstructions are blurred by the scanner's point spread too).
pub const CT_EDGE: f64 = 0.02;

/// Half-width in x and y of the phantom's cube at time t: 0.6 at t = −1, squeezed to 0.45 at
/// t = 1 (linearly).
pub fn ct_half_width(t: f64) -> f64 {
    0.6 - 0.075 * (t.clamp(-1.0, 1.0) + 1.0)
}

/// Simulated dynamic CT density on [−1, 1]⁴ (x, y, z, t), after §4.2 of the AMR paper.
///
/// - Object (density 1): a box `|x|, |y| ≤ a(t)`, `|z| ≤ 0.6` with a cylindrical hole along z
///   through its centre, radius `0.25·a(t)/0.6` (the hole narrows as the cube is squeezed);
///   `a(t)` from [`ct_half_width`].
/// - Four rectangular prisms (density 0.5) press on the ±x and ±y faces: each is 0.15 thick
///   (normal to its face), spans |·| ≤ 0.45 in the other two axes, and touches the cube's face.
/// - Edges are logistic of width [`CT_EDGE`]; densities of overlapping parts do not add (max).
pub fn dynamic_ct(p: &[f64]) -> f64 {
    let (x, y, z, t) = (p[0], p[1], p[2], p[3]);
    let a = ct_half_width(t);
    let cube = box_sd([x, y, z], [0.0; 3], [a, a, 0.6]);
    let hole = 0.25 * a / 0.6 - (x * x + y * y).sqrt();
    let object = inside(cube.max(hole), CT_EDGE);
    let th = 0.075;
    let mut prisms: f64 = 0.0;
    for (axis, sign) in [(0, 1.0), (0, -1.0), (1, 1.0), (1, -1.0)] {
        let mut c = [0.0; 3];
        let mut h = [0.45, 0.45, 0.45];
        c[axis] = sign * (a + th);
        h[axis] = th;
        prisms = prisms.max(inside(box_sd([x, y, z], c, h), CT_EDGE));
    }
    object.max(0.5 * prisms)
}

/// A scalar field of a point (as many coordinates as the field has inputs).
pub type Field = fn(&[f64]) -> f64;

/// Looks up a named function and its natural domain: `sin-inv-r` ([0, 1]²) or `dynamic-ct`
/// ([−1, 1]⁴).
pub fn by_name(name: &str) -> Option<(Field, Vec<[f64; 2]>)> {
    match name {
        "sin-inv-r" => Some((sin_inv_r as Field, vec![[0.0, 1.0]; 2])),
        "dynamic-ct" => Some((dynamic_ct as Field, vec![[-1.0, 1.0]; 4])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sin_inv_r_values() {
        assert!((sin_inv_r(&[0.0, 0.0]) - 50f64.sin()).abs() < 1e-12);
        let r = 0.5f64.hypot(0.5);
        assert!((sin_inv_r(&[0.5, 0.5]) - (1.0 / (0.02 + r)).sin()).abs() < 1e-12);
    }

    #[test]
    fn phantom_parts() {
        // Inside the material at t = −1, in the hole, far outside, inside a prism.
        assert!(dynamic_ct(&[0.4, 0.0, 0.0, -1.0]) > 0.99);
        assert!(dynamic_ct(&[0.0, 0.0, 0.0, -1.0]) < 0.01);
        assert!(dynamic_ct(&[0.95, 0.95, 0.95, 0.0]) < 0.01);
        let a = ct_half_width(1.0);
        // Mid-prism: 0.075 from both faces, the logistic edge gives 0.5 · 0.977.
        assert!((dynamic_ct(&[a + 0.075, 0.0, 0.0, 1.0]) - 0.5).abs() < 0.02);
        // Squeezed: x = 0.525 is material at t = −1 and mid-prism (0.5) at t = 1.
        assert!(dynamic_ct(&[0.525, 0.0, 0.0, -1.0]) > 0.9);
        assert!((dynamic_ct(&[0.525, 0.0, 0.0, 1.0]) - 0.5).abs() < 0.02);
    }
}
