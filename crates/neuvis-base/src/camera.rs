//! The orbit camera used for every image of a collection, and the head-light shading
//! ([`Phong`]) of both renderers: neuvis-render's ground truth and neuvis-raycast's speculative
//! raycaster take them from here.
//!
//! ```text
//!                 +z (θ = 0°)
//!                  |      eye = c + d·(sinθ cosφ, sinθ sinφ, cosθ)
//!                  |     /
//!                  |  θ /
//!                  |   /
//!                  |  /        up = (−cosθ cosφ, −cosθ sinφ, sinθ)
//!                  | /              (the direction of decreasing θ: continuous at the poles,
//!                  c --------- +y    where it becomes (∓cosφ, ∓sinφ, 0))
//!                 / \
//!                /φ  \
//!              +x     projection of the eye on the xy-plane
//! ```
//!
//! θ ∈ [0°, 180°] is the polar angle from +z, φ ∈ [0°, 360°) the azimuth from +x towards +y.
//! The camera looks at the centre `c` of the volume's bounding box from the distance
//! `d = r / sin(fov/2)`, where `r` is the radius of the bounding sphere and `fov` the smaller of the
//! vertical and horizontal fields of view, so the sphere exactly fills the image for every view and
//! the zoom never changes (as in the NeRVI paper's collections). Pixel `(px, py)` has its centre at
//! `(px + 0.5, py + 0.5)`, with `py` growing downwards; `right = forward × up`.

/// A pinhole camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// Eye position (world).
    pub eye: [f32; 3],
    /// Unit viewing direction.
    pub forward: [f32; 3],
    /// Unit up vector (orthogonal to `forward`).
    pub up: [f32; 3],
    /// Unit right vector, `forward × up`.
    pub right: [f32; 3],
    /// Vertical field of view, degrees.
    pub fov_y_deg: f32,
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
}

/// The cross product `a × b`.
pub fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
/// The dot product `a · b`.
pub fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
/// `a` scaled to unit length.
pub fn normalize(a: [f32; 3]) -> [f32; 3] {
    let n = dot(a, a).sqrt();
    if n > 0.0 {
        [a[0] / n, a[1] / n, a[2] / n]
    } else {
        a
    }
}

impl Camera {
    /// The orbit camera at (θ, φ) in degrees around a bounding box `(lo, hi)`, vertical field of
    /// view `fov_y_deg`, image `width × height`. See the module docs for the convention.
    ///
    /// # Panics
    /// Panics if `width` or `height` is 0 or the field of view is not in (0°, 180°).
    pub fn orbit(
        bounds: ([f32; 3], [f32; 3]),
        theta_deg: f32,
        phi_deg: f32,
        fov_y_deg: f32,
        width: usize,
        height: usize,
    ) -> Camera {
        assert!(width > 0 && height > 0, "image size must be positive");
        assert!(
            fov_y_deg > 0.0 && fov_y_deg < 180.0,
            "field of view must be in (0, 180) degrees"
        );
        let (lo, hi) = bounds;
        let c = [0, 1, 2].map(|a| 0.5 * (lo[a] + hi[a]));
        let r = (0..3)
            .map(|a| (0.5 * (hi[a] - lo[a])).powi(2))
            .sum::<f32>()
            .sqrt()
            .max(1e-6);
        let (t, p) = ((theta_deg as f64).to_radians(), (phi_deg as f64).to_radians());
        let radial = [t.sin() * p.cos(), t.sin() * p.sin(), t.cos()];
        let up = [-t.cos() * p.cos(), -t.cos() * p.sin(), t.sin()].map(|v| v as f32);
        let half_y = (fov_y_deg as f64).to_radians() / 2.0;
        let half_x = (half_y.tan() * width as f64 / height as f64).atan();
        let d = r as f64 / half_y.min(half_x).sin();
        let eye = [0, 1, 2].map(|a| c[a] + (d * radial[a]) as f32);
        let forward = radial.map(|v| -v as f32);
        let right = cross(forward, up);
        Camera {
            eye,
            forward,
            up,
            right,
            fov_y_deg,
            width,
            height,
        }
    }

    fn tan_half(&self) -> (f32, f32) {
        let ty = (self.fov_y_deg.to_radians() / 2.0).tan();
        (ty * self.width as f32 / self.height as f32, ty)
    }

    /// Unit direction of the ray through continuous pixel position `(x, y)` (pixel centres at +0.5).
    pub fn ray_dir(&self, x: f32, y: f32) -> [f32; 3] {
        let (tx, ty) = self.tan_half();
        let u = (2.0 * x / self.width as f32 - 1.0) * tx;
        let v = (1.0 - 2.0 * y / self.height as f32) * ty;
        normalize([0, 1, 2].map(|a| self.forward[a] + u * self.right[a] + v * self.up[a]))
    }

    /// Projects a world point to continuous pixel coordinates; `None` if it is behind the eye.
    pub fn project(&self, p: [f32; 3]) -> Option<(f32, f32)> {
        let rel = [0, 1, 2].map(|a| p[a] - self.eye[a]);
        let z = dot(rel, self.forward);
        if z <= 0.0 {
            return None;
        }
        let (tx, ty) = self.tan_half();
        let u = dot(rel, self.right) / (z * tx);
        let v = dot(rel, self.up) / (z * ty);
        Some((
            (u + 1.0) * 0.5 * self.width as f32,
            (1.0 - v) * 0.5 * self.height as f32,
        ))
    }
}

/// Blinn–Phong material with a head light (light at the eye).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phong {
    /// Ambient coefficient.
    pub ambient: f32,
    /// Diffuse coefficient.
    pub diffuse: f32,
    /// Specular coefficient (white highlights).
    pub specular: f32,
    /// Specular exponent.
    pub shininess: f32,
}

impl Default for Phong {
    fn default() -> Self {
        Phong {
            ambient: 0.15,
            diffuse: 0.75,
            specular: 0.3,
            shininess: 40.0,
        }
    }
}

impl Phong {
    /// Shades `base` for unit normal `n` seen along unit view vector `v` (towards the eye).
    /// Two-sided: the normal is flipped to face the viewer.
    pub fn shade(&self, base: [f32; 3], n: [f32; 3], v: [f32; 3]) -> [f32; 3] {
        let (k, spec) = self.factors(n, v);
        base.map(|c| (c * k + spec).min(1.0))
    }

    /// The colour factor `ambient + diffuse·|n·l|` and the specular term for unit normal `n` and
    /// view vector `v` (head light: light = view, so the half vector is `v`).
    #[inline]
    pub fn factors(&self, n: [f32; 3], v: [f32; 3]) -> (f32, f32) {
        let ndl = dot(n, v).abs();
        (
            self.ambient + self.diffuse * ndl,
            self.specular * ndl.powf(self.shininess),
        )
    }
}
