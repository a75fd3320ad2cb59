//! Named flat `f32` tensors, and (feature `train`) moving them in and out of a burn module in the
//! module's field order.

#[cfg(feature = "train")]
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
#[cfg(feature = "train")]
use burn::prelude::*;

/// A named flat tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatTensor {
    /// Path of the parameter, e.g. `mlp.0.fc`.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

#[cfg(feature = "train")]
struct Collect {
    path: Vec<String>,
    out: Vec<FlatTensor>,
}

#[cfg(feature = "train")]
impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let shape = t.dims().to_vec();
        let data = t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
        let name = format!("{}#{}", self.path.join("."), self.out.len());
        self.out.push(FlatTensor { name, shape, data });
    }
}

/// Every float parameter of `module`, in visiting order.
#[cfg(feature = "train")]
pub fn collect<M: Module>(module: &M) -> Vec<FlatTensor> {
    let mut c = Collect {
        path: Vec::new(),
        out: Vec::new(),
    };
    module.visit(&mut c);
    c.out
}

#[cfg(feature = "train")]
struct Load<'a> {
    next: std::slice::Iter<'a, FlatTensor>,
    device: Device,
    error: Option<String>,
}

#[cfg(feature = "train")]
impl ModuleMapper for Load<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let want = param.val().dims();
        match self.next.next() {
            Some(t) if t.shape == want && t.data.len() == want.iter().product::<usize>() => {
                let device = self.device.clone();
                let data = t.data.clone();
                // a trainable parameter stays trainable (a leaf of the autodiff graph)
                let grad = param.val().is_require_grad();
                param.map(move |_| {
                    Tensor::<1>::from_floats(data.as_slice(), &device)
                        .reshape(want)
                        .set_require_grad(grad)
                })
            }
            Some(t) => {
                self.error.get_or_insert(format!(
                    "tensor {} has shape {:?}, the network expects {want:?}",
                    t.name, t.shape
                ));
                param
            }
            None => {
                self.error
                    .get_or_insert("fewer tensors than the network has parameters".to_string());
                param
            }
        }
    }
}

/// Replaces the float parameters of `module`, in visiting order, by `tensors` (shapes must match).
/// Parameter ids and whether each parameter requires gradients are kept, so an optimizer's state
/// and gradients keyed by parameter id still apply.
#[cfg(feature = "train")]
pub fn load<M: Module>(module: M, tensors: &[FlatTensor], device: &Device) -> Result<M, crate::CodecError> {
    let mut l = Load {
        next: tensors.iter(),
        device: device.clone(),
        error: None,
    };
    let m = module.map(&mut l);
    if let Some(e) = l.error {
        return Err(crate::CodecError::Format(e));
    }
    if l.next.next().is_some() {
        return Err(crate::CodecError::Format(
            "more tensors than the network has parameters".into(),
        ));
    }
    Ok(m)
}
