//! MFEM output against MFEM itself: nonconforming meshes refined by PyMFEM 4.10 with the
//! hanging vertices and constrained field MFEM computes (fixtures by `tools/mfem_fixtures.py`),
//! rebuilt with neuvis's tree and written by `neuvis_amr::mfem`.

use std::collections::HashMap;

use neuvis_amr::mfem::write_mfem_tree;
use neuvis_amr::tree::{Key, Tree};

fn f(p: &[f64]) -> f64 {
    (3.0 * p[0] + 1.0).sin() + p[1] * p[1] - 0.5 * p.get(2).copied().unwrap_or(0.0)
}

/// The sections of an MFEM mesh file: name → lines after the name.
fn sections(text: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut cur = String::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if line.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && !line.starts_with("MFEM") {
            cur = line.to_string();
            out.entry(cur.clone()).or_default();
        } else if !cur.is_empty() {
            out.get_mut(&cur).unwrap().push(line.to_string());
        }
    }
    out
}

fn nums(l: &str) -> Vec<f64> {
    l.split_whitespace().map(|t| t.parse().unwrap()).collect()
}

fn check(fixture: &str) {
    let fx: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("tests/fixtures/{fixture}")).unwrap()).unwrap();
    let d = fx["dim"].as_u64().unwrap() as usize;
    let mut tree = Tree::new(&vec![[0.0, 1.0]; d]);
    tree.refine_uniformly(fx["refine_uniformly"].as_u64().unwrap() as usize);
    for p in fx["refine_at"].as_array().unwrap() {
        let p: Vec<f64> = p.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let l = tree.locate(&p);
        assert!(tree.refine(l));
    }
    let values: HashMap<Key, f64> = tree
        .vertices()
        .into_iter()
        .map(|k| (k, f(&tree.position(&k)[..d])))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (mp, gp) = (dir.path().join("m.mesh"), dir.path().join("m.gf"));
    write_mfem_tree(&tree, &values, &mp, &gp).unwrap();
    let s = sections(&std::fs::read_to_string(&mp).unwrap());
    let n_el: usize = s["elements"][0].parse().unwrap();
    assert_eq!(n_el as u64, fx["elements"].as_u64().unwrap(), "elements");
    let v = &s["vertices"];
    let nv: usize = v[0].parse().unwrap();
    assert_eq!(v[1], d.to_string());
    let coords: Vec<Vec<f64>> = v[2..2 + nv].iter().map(|l| nums(l)).collect();
    let gf = std::fs::read_to_string(&gp).unwrap();
    assert!(gf.starts_with(&format!(
        "FiniteElementSpace\nFiniteElementCollection: H1_{d}D_P1\nVDim: 1\nOrdering: 0\n"
    )));
    let vals: Vec<f64> = gf
        .lines()
        .skip(5)
        .filter(|l| !l.is_empty())
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(vals.len(), nv);
    // vertex by vertex: the same points, MFEM's constrained values, MFEM's hanging set
    let mine: HashMap<Vec<i64>, (f64, usize)> = coords
        .iter()
        .enumerate()
        .map(|(i, c)| (c.iter().map(|x| (x * 1024.0).round() as i64).collect(), (vals[i], i)))
        .collect();
    let theirs = fx["vertices"].as_array().unwrap();
    assert_eq!(theirs.len(), nv, "vertices");
    let mut hanging_mfem = 0;
    for t in theirs {
        let x: Vec<f64> = t["x"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let key: Vec<i64> = x.iter().map(|x| (x * 1024.0).round() as i64).collect();
        let (val, _) = mine.get(&key).unwrap_or_else(|| panic!("MFEM's vertex {x:?} missing"));
        let want = t["value"].as_f64().unwrap();
        assert!((val - want).abs() < 1e-12, "value at {x:?}: {val} vs MFEM's {want}");
        let k = tree.vertices().into_iter().find(|k| {
            let p = tree.position(k);
            (0..d).all(|a| (p[a] - x[a]).abs() < 1e-12)
        });
        let hanging = t["hanging"].as_bool().unwrap();
        hanging_mfem += usize::from(hanging);
        assert_eq!(tree.is_hanging(&k.unwrap()), hanging, "hanging at {x:?}");
    }
    assert!(hanging_mfem > 0);
    assert_eq!(tree.dofs().1 as u64, fx["true_dofs"].as_u64().unwrap(), "true DOFs");
    // every vertex_parents line names a vertex that is the midpoint of its two parents, and every
    // hanging vertex has one (MFEM finds its master edge/face through them)
    let vp = &s["vertex_parents"];
    let np: usize = vp[0].parse().unwrap();
    let mut with_parents = std::collections::HashSet::new();
    for l in &vp[1..=np] {
        let ids: Vec<usize> = l.split_whitespace().map(|t| t.parse().unwrap()).collect();
        let (v, p, q) = (&coords[ids[0]], &coords[ids[1]], &coords[ids[2]]);
        for a in 0..d {
            assert!(
                (v[a] - 0.5 * (p[a] + q[a])).abs() < 1e-12,
                "vertex {} is not the midpoint of {} and {}",
                ids[0],
                ids[1],
                ids[2]
            );
        }
        with_parents.insert(ids[0]);
    }
    for t in theirs.iter().filter(|t| t["hanging"].as_bool().unwrap()) {
        let key: Vec<i64> = t["x"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x.as_f64().unwrap() * 1024.0).round() as i64)
            .collect();
        assert!(
            with_parents.contains(&mine[&key].1),
            "hanging vertex {key:?} has no parents"
        );
    }
    // boundary elements: on the domain's boundary, one per leaf face there
    let nb: usize = s["boundary"][0].parse().unwrap();
    let per_side = |c: &Vec<f64>| (0..d).any(|a| c[a] == 0.0 || c[a] == 1.0);
    for l in &s["boundary"][1..=nb] {
        let ids: Vec<usize> = l.split_whitespace().skip(2).map(|t| t.parse().unwrap()).collect();
        assert!(ids.iter().all(|&i| per_side(&coords[i])));
    }
}

#[test]
fn mfem_2d_matches_mfem() {
    check("mfem_nc_2d.json");
}

#[test]
fn mfem_3d_matches_mfem() {
    check("mfem_nc_3d.json");
}
