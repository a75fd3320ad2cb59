//! Marching cubes against geometry: a sphere's mesh is closed, consistently oriented, has Euler
//! characteristic 2, the right area and vertices on the sphere; the z-buffer rasterizer shows the
//! same surface as the raycaster; PLY and VTP files read back.

use neuvis_raycast::engine::Dense;
use neuvis_raycast::mesh::{case_table, extract_cells, rasterize, write_ply, write_vtp, Mesh};
use neuvis_render::{Camera, Mode, Phong, RenderSettings, Renderer};
use neuvis_volume::{Procedural, ScalarField};
use std::collections::HashMap;

fn sphere() -> (ScalarField, Mesh) {
    let f = ScalarField::from_fn([41, 37, 45], [0.05; 3], [-1.0, -0.9, -1.1], |x, y, z| {
        (x * x + y * y + z * z).sqrt()
    })
    .unwrap();
    let mut m = Mesh::default();
    let d = f.dims();
    extract_cells(
        &Dense {
            data: f.data(),
            dims: d,
        },
        d,
        f.spacing(),
        f.origin(),
        [0; 3],
        d.map(|n| n - 1),
        0.7,
        &mut m,
    );
    (f, m)
}

#[test]
fn every_case_is_consistently_oriented() {
    let t = case_table();
    assert_eq!(t.len(), 256);
    assert!(t[0].is_empty() && t[255].is_empty());
    // single-corner cases are one triangle
    for c in 0..8 {
        assert_eq!(t[1 << c].len(), 1);
    }
    for (c, tris) in t.iter().enumerate() {
        // each directed triangle side appears at most once within a case (consistent orientation)
        let mut sides = HashMap::new();
        for tri in tris {
            for k in 0..3 {
                *sides.entry((tri[k], tri[(k + 1) % 3])).or_insert(0) += 1;
            }
        }
        assert!(sides.values().all(|&n| n == 1), "case {c}");
    }
}

#[test]
fn sphere_mesh_is_closed_oriented_and_accurate() {
    let (_, m) = sphere();
    assert!(m.tris.len() > 1000);
    let mut directed: HashMap<(u32, u32), usize> = HashMap::new();
    for t in &m.tris {
        for k in 0..3 {
            *directed.entry((t[k], t[(k + 1) % 3])).or_default() += 1;
        }
    }
    for (&(a, b), &n) in &directed {
        assert_eq!(n, 1, "directed edge used twice");
        assert_eq!(
            directed.get(&(b, a)),
            Some(&1),
            "edge {a}-{b} has no opposite: the mesh is open or misoriented"
        );
    }
    let (v, e, f) = (m.points.len() as i64, (directed.len() / 2) as i64, m.tris.len() as i64);
    assert_eq!(v - e + f, 2, "Euler characteristic of a sphere");
    let mut area = 0f64;
    let mut bad = 0;
    for t in &m.tris {
        let p = t.map(|i| m.points[i as usize].map(|x| x as f64));
        let u = [0, 1, 2].map(|k| p[1][k] - p[0][k]);
        let w = [0, 1, 2].map(|k| p[2][k] - p[0][k]);
        let c = [
            u[1] * w[2] - u[2] * w[1],
            u[2] * w[0] - u[0] * w[2],
            u[0] * w[1] - u[1] * w[0],
        ];
        area += 0.5 * (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt();
        // outward orientation (normal away from the centre: the field grows outwards, triangles
        // face the negative side... i.e. inwards)
        let centroid = [0, 1, 2].map(|k| (p[0][k] + p[1][k] + p[2][k]) / 3.0);
        let dot = c[0] * centroid[0] + c[1] * centroid[1] + c[2] * centroid[2];
        let len = (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt();
        // degenerate triangles (a vertex exactly on a grid point) have no orientation
        if len > 1e-9 && dot >= -1e-12 {
            bad += 1;
        }
    }
    assert_eq!(
        bad,
        0,
        "{bad} of {} triangles do not face the side of smaller values",
        m.tris.len()
    );
    let want = 4.0 * std::f64::consts::PI * 0.49;
    assert!((area - want).abs() / want < 0.01, "area {area} vs {want}");
    for (p, n) in m.points.iter().zip(&m.normals) {
        let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        assert!((r - 0.7).abs() < 0.01, "vertex at radius {r}");
        let radial = p.map(|x| x / r);
        let d = radial[0] * n[0] + radial[1] * n[1] + radial[2] * n[2];
        assert!(d < -0.99, "normal points to decreasing values");
    }
}

#[test]
fn rasterized_mesh_matches_the_raycaster_and_files_read_back() {
    let (f, m) = sphere();
    let cam = Camera::orbit(f.bounds(), 70.0, 20.0, 30.0, 96, 96);
    let img = rasterize(&m, &cam, [0.9, 0.55, 0.25], &Phong::default());
    let mut s = RenderSettings::new(
        96,
        96,
        Mode::Iso {
            value: 0.7,
            color: [0.9, 0.55, 0.25],
        },
    );
    s.fov_deg = 30.0;
    let reference = Renderer::new(&f, s).unwrap().render(70.0, 20.0);
    let diff = img.mask().iter().zip(reference.mask()).filter(|(a, b)| a != b).count();
    assert!(diff < 40, "{diff} pixels differ in coverage");
    let psnr = neuvis_metrics_free_psnr(img.rgb(), reference.rgb());
    assert!(psnr > 28.0, "PSNR {psnr}");
    let mut b = Vec::new();
    write_vtp(&m, &mut b).unwrap();
    let head = String::from_utf8_lossy(&b[..1200]);
    assert!(
        head.contains(&format!("NumberOfPoints=\"{}\"", m.points.len()))
            && head.contains(&format!("NumberOfPolys=\"{}\"", m.tris.len()))
    );
    let start = b.windows(2).position(|w| w == b"\n_").unwrap() + 2;
    // four appended blocks: UInt64 byte count + data
    let mut at = start;
    for want in [
        m.points.len() * 12,
        m.points.len() * 12,
        m.tris.len() * 24,
        m.tris.len() * 8,
    ] {
        let n = u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
        assert_eq!(n, want);
        at += 8 + n;
    }
    assert!(String::from_utf8_lossy(&b[at..]).contains("</VTKFile>"));
    let mut ply = Vec::new();
    write_ply(&m, &mut ply).unwrap();
    let text = String::from_utf8_lossy(&ply[..300]);
    assert!(
        text.contains(&format!("element vertex {}", m.points.len()))
            && text.contains(&format!("element face {}", m.tris.len()))
    );
    let header_end = ply.windows(11).position(|w| w == b"end_header\n").unwrap() + 11;
    assert_eq!(ply.len() - header_end, m.points.len() * 24 + m.tris.len() * 13);
}

fn neuvis_metrics_free_psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

/// VTK's vtkFlyingEdges3D on the same grid (fixtures/vtk_flying_edges.py): 10737 points, 20992
/// triangles, area 16.7189. Vertices sit on the same edges at the same linear crossings, so the
/// counts agree exactly; the area differs by the choice of polygon diagonals.
#[test]
fn marschner_lobb_matches_vtk_flying_edges() {
    let f = Procedural::MarschnerLobb.generate([41; 3], 0.0).unwrap();
    let mut m = Mesh::default();
    let d = f.dims();
    extract_cells(
        &Dense {
            data: f.data(),
            dims: d,
        },
        d,
        f.spacing(),
        f.origin(),
        [0; 3],
        d.map(|n| n - 1),
        0.5,
        &mut m,
    );
    assert_eq!((m.points.len(), m.tris.len()), (10737, 20992));
    let area: f64 = m
        .tris
        .iter()
        .map(|t| {
            let p = t.map(|i| m.points[i as usize].map(|x| x as f64));
            let u = [0, 1, 2].map(|k| p[1][k] - p[0][k]);
            let w = [0, 1, 2].map(|k| p[2][k] - p[0][k]);
            let c = [
                u[1] * w[2] - u[2] * w[1],
                u[2] * w[0] - u[0] * w[2],
                u[0] * w[1] - u[1] * w[0],
            ];
            0.5 * (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt()
        })
        .sum();
    assert!((area - 16.7189).abs() / 16.7189 < 0.02, "area {area}");
}
