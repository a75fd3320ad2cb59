//! Seeded initialization of burn layers: every value comes from [`SplitMix64`] on the CPU, so the
//! same seed gives the same network on every backend, in every process and with every burn
//! version.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, PaddingConfig2d};
use burn::prelude::*;
use neuvis_base::SplitMix64;

/// `n` values uniform in `[−bound, bound)`.
pub fn uniform(rng: &mut SplitMix64, n: usize, bound: f64) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-bound, bound) as f32).collect()
}

/// A parameter of `shape` uniform in `[−bound, bound)`.
pub fn uniform_param<const D: usize>(
    rng: &mut SplitMix64,
    shape: [usize; D],
    bound: f64,
    device: &Device,
) -> Param<Tensor<D>> {
    let n = shape.iter().product();
    Param::from_tensor(Tensor::<1>::from_floats(uniform(rng, n, bound).as_slice(), device).reshape(shape))
}

/// A fully connected layer `din → dout` (burn's `[din, dout]` weight layout) with weights uniform
/// in `±weight_bound`, drawn first, then, if `bias_bound` is given, the bias uniform in
/// `±bias_bound`.
pub fn linear(
    rng: &mut SplitMix64,
    din: usize,
    dout: usize,
    weight_bound: f64,
    bias_bound: Option<f64>,
    device: &Device,
) -> Linear {
    let weight = uniform_param(rng, [din, dout], weight_bound, device);
    Linear {
        weight,
        bias: bias_bound.map(|b| uniform_param(rng, [dout], b, device)),
    }
}

/// A 3×3 "same" convolution with PyTorch's default initialization: weights, then bias, uniform in
/// `±1/√fan_in` (Kaiming uniform with a = √5).
pub fn conv3x3(rng: &mut SplitMix64, cin: usize, cout: usize, device: &Device) -> Conv2d {
    let mut conv = Conv2dConfig::new([cin, cout], [3, 3])
        .with_padding(PaddingConfig2d::Same)
        .with_initializer(burn::nn::Initializer::Zeros)
        .init(device);
    let k = 1.0 / ((cin * 9) as f64).sqrt();
    conv.weight = uniform_param(rng, [cout, cin, 3, 3], k, device);
    conv.bias = Some(uniform_param(rng, [cout], k, device));
    conv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_shapes_and_seeds() {
        let dev = Device::flex();
        let l = linear(&mut SplitMix64(1), 5, 3, 0.1, Some(0.5), &dev);
        assert_eq!(l.weight.val().dims(), [5, 3]);
        let w: Vec<f32> = l.weight.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        assert!(w.iter().all(|v| v.abs() <= 0.1));
        let b: Vec<f32> = l
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(b.iter().all(|v| v.abs() <= 0.5) && b.iter().any(|v| v.abs() > 0.1));
        // The weights are the generator's first 15 draws, in row-major order.
        let mut rng = SplitMix64(1);
        assert_eq!(w, uniform(&mut rng, 15, 0.1));
        let c = conv3x3(&mut SplitMix64(2), 4, 6, &dev);
        assert_eq!(c.weight.val().dims(), [6, 4, 3, 3]);
        let k = 1.0 / 6.0; // 1/√(4·9)
        let cw: Vec<f32> = c.weight.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        assert!(cw.iter().all(|v| (v.abs() as f64) <= k));
    }
}
