//! Network shapes, parameter counts and the training SSIM.

use burn::module::Module;
use burn::prelude::*;
use neuvis_codec::config::upscale_plan;
use neuvis_codec::{Arch, NerviNet, NetConfig};

#[test]
fn upscale_plans() {
    assert_eq!(upscale_plan(1024, 1024).unwrap(), (2, 2, vec![4, 4, 2, 2, 2, 2, 2])); // Table 1
    assert_eq!(upscale_plan(64, 64).unwrap(), (2, 2, vec![4, 4, 2]));
    assert_eq!(upscale_plan(256, 128).unwrap(), (2, 4, vec![4, 4, 2, 2]));
    assert_eq!(upscale_plan(192, 176).unwrap(), (11, 12, vec![4, 4]));
    assert_eq!(upscale_plan(96, 96).unwrap(), (2, 2, vec![4, 4, 3]));
    let e = upscale_plan(97, 83).unwrap_err().to_string();
    assert!(e.contains("97x83"), "{e}");
    assert!(upscale_plan(0, 64).is_err());
    assert!(upscale_plan(2, 2).is_err());
}

#[test]
fn start_plans() {
    use neuvis_codec::config::start_plan;
    assert_eq!(start_plan(64, 64, 8).unwrap(), (8, 8, vec![2, 2, 2]));
    assert_eq!(start_plan(1024, 1024, 8).unwrap(), (8, 8, vec![2; 7]));
    assert_eq!(start_plan(96, 96, 8).unwrap(), (8, 8, vec![3, 2, 2]));
    assert_eq!(start_plan(192, 176, 8).unwrap(), (11, 12, vec![2, 2, 2, 2]));
    assert_eq!(start_plan(20, 20, 8).unwrap(), (10, 10, vec![2]));
    assert_eq!(start_plan(64, 64, 2).unwrap(), (2, 2, vec![2, 2, 2, 2, 2]));
    let e = start_plan(8, 8, 8).unwrap_err().to_string();
    assert!(e.contains("at least 8 pixels"), "{e}");
    assert!(start_plan(97, 83, 8).is_err());
    // the network built on a start plan produces the image size
    let cfg = NetConfig::for_image_plan(Arch::Nervi, 96, 64, 8, 4, 8, neuvis_codec::Plan::Start(8)).unwrap();
    assert_eq!(cfg.image_size(), (96, 64));
}

#[test]
fn param_count_matches_burn_and_shapes_are_right() {
    let device = Device::flex();
    for (arch, w, h, c1, c0, c2) in [
        (Arch::Nervi, 64, 64, 16, 64, 32),
        (Arch::Nerv, 64, 64, 16, 64, 32),
        (Arch::Nervi, 48, 32, 24, 24, 16),
    ] {
        let cfg = NetConfig::for_image(arch, w, h, c1, c0, c2).unwrap();
        let net = NerviNet::new(&cfg, 1, &device);
        assert_eq!(net.num_params(), cfg.param_count(), "{cfg:?}");
        assert_eq!(net.head.num_params(), cfg.head_param_count(), "{cfg:?}");
        let ups: usize = net.ups.iter().map(|u| u.num_params()).sum();
        assert_eq!(ups, cfg.upscale_param_count(), "{cfg:?}");
        assert_eq!(cfg.image_size(), (w, h));
        let x = Tensor::<2>::zeros([3, cfg.pe_dim()], &device);
        let out = net.forward(x.clone());
        assert_eq!(out.dims(), [3, cfg.out_channels(), h, w]);
        let v = out.into_data().try_to_vec::<f32>().unwrap();
        assert!(v.iter().all(|&p| p > 0.0 && p < 1.0), "sigmoid output");
        let (img, mask) = net.infer(x, [1.0, 1.0, 1.0]);
        assert_eq!(img.dims(), [3, 3, h, w]);
        assert_eq!(mask.is_some(), arch == Arch::Nervi);
    }
    // 24 positional-encoding features for (t, θ, φ), eq. 1 with L = 4
    assert_eq!(NetConfig::for_image(Arch::Nervi, 64, 64, 8, 8, 8).unwrap().pe_dim(), 24);
}

#[test]
fn skip_variants_count_their_parameters_and_tile_the_input() {
    use neuvis_codec::Skip;
    let device = Device::flex();
    let base = NetConfig::for_image_plan(Arch::Nervi, 64, 64, 9, 5, 9, neuvis_codec::Plan::Start(8)).unwrap();
    let (pe, c1, d) = (base.pe_dim(), base.c1, base.mlp_out());
    assert_eq!((pe, c1, d), (24, 9, 320));
    // learned projections: 24×9 in the first block, 9×320 in the second
    for (skip, projections) in [
        (Skip::Project, pe * c1 + c1 * d),
        (Skip::ProjectTile, pe * c1),
        (Skip::ProjectNone, pe * c1),
        (Skip::Tile, 0),
        (Skip::None, 0),
    ] {
        let cfg = NetConfig { skip, ..base.clone() };
        let net = NerviNet::new(&cfg, 1, &device);
        assert_eq!(net.num_params(), cfg.param_count(), "{skip:?}");
        assert_eq!(
            cfg.param_count(),
            base.param_count() - pe * c1 - c1 * d + projections,
            "{skip:?}"
        );
    }
    // with the fully connected layers zeroed, sin(ω₀·0) = 0 and only the skips remain: tiled
    // skips give x[j mod 24] after the first block and that tiled again (mod 9) after the second
    let zero = |mut net: NerviNet| {
        for b in &mut net.mlp {
            b.fc.weight = b.fc.weight.clone().map(|w| w.zeros_like());
            b.fc.bias = b.fc.bias.clone().map(|p| p.map(|w| w.zeros_like()));
        }
        net
    };
    let x: Vec<f32> = (0..pe).map(|i| i as f32 * 0.1 - 1.0).collect();
    let xt = Tensor::<1>::from_floats(x.as_slice(), &device).reshape([1, pe]);
    let run = |skip: Skip| {
        let net = zero(NerviNet::new(&NetConfig { skip, ..base.clone() }, 1, &device));
        net.mlp_forward(xt.clone()).into_data().try_to_vec::<f32>().unwrap()
    };
    let tiled = run(Skip::Tile);
    assert_eq!(tiled.len(), d);
    for (k, v) in tiled.iter().enumerate() {
        assert!((v - x[k % c1]).abs() < 1e-6, "feature {k}: {v} vs {}", x[k % c1]);
    }
    assert!(run(Skip::None).iter().all(|v| v.abs() < 1e-7));
    assert!(run(Skip::ProjectNone).iter().all(|v| v.abs() < 1e-7));
}

#[test]
fn seeded_initialization_is_reproducible() {
    let cfg = NetConfig::for_image(Arch::Nervi, 32, 32, 8, 16, 16).unwrap();
    let weights = |seed| {
        let net = NerviNet::new(&cfg, seed, &Device::flex());
        net.mlp[0].fc.weight.val().into_data().try_to_vec::<f32>().unwrap()
    };
    assert_eq!(weights(3), weights(3));
    assert_ne!(weights(3), weights(4));
    // SIREN first-layer bound 1/fan_in = 1/24
    assert!(weights(3).iter().all(|w| w.abs() <= 1.0 / 24.0));
}

#[test]
fn training_ssim_matches_the_metrics_crate() {
    use neuvis_base::MaskedImage;
    let (w, h) = (40usize, 32usize);
    let a: Vec<u8> = (0..w * h * 3).map(|i| ((i * 37 + i / 7) % 256) as u8).collect();
    let b: Vec<u8> = a
        .iter()
        .enumerate()
        .map(|(i, &v)| v.saturating_add((i % 23) as u8))
        .collect();
    let ia = MaskedImage::new(w, h, a.clone(), vec![255; w * h]).unwrap();
    let ib = MaskedImage::new(w, h, b.clone(), vec![255; w * h]).unwrap();
    let reference = neuvis_metrics::ssim(&ia, &ib).unwrap();
    let device = Device::flex();
    let to_tensor = |v: &[u8]| {
        // HWC bytes → [1, 3, H, W] in [0, 1]
        let mut chw = vec![0f32; v.len()];
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    chw[c * w * h + y * w + x] = v[3 * (y * w + x) + c] as f32 / 255.0;
                }
            }
        }
        Tensor::<1>::from_floats(chw.as_slice(), &device).reshape([1, 3, h, w])
    };
    let got = neuvis_nn::ssim::ssim(to_tensor(&a), to_tensor(&b)).into_scalar::<f32>() as f64;
    assert!((got - reference).abs() < 1e-4, "{got} vs {reference}");
    let one = neuvis_nn::ssim::ssim(to_tensor(&a), to_tensor(&a)).into_scalar::<f32>();
    assert!((one - 1.0).abs() < 1e-5);
}
