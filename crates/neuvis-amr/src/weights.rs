//! Named tensors from safetensors files and PyTorch checkpoints.
//!
//! INRs are shared as a `state_dict` (`torch.save(model.state_dict(), "inr.pt")`) or as
//! safetensors; both load into a [`TensorMap`] of `f64` arrays, which [`crate::Inr::build`] maps
//! onto a spec by name. PyTorch files are parsed by `pytorch-reader` (the pickle reader that
//! burn-store uses, without burn), so nothing is executed from the file.

use std::collections::BTreeMap;
use std::path::Path;

use faer::Mat;

use crate::{AmrError, Result};

/// Weights files larger than this are refused before reading (INR checkpoints are megabytes).
pub const MAX_WEIGHTS_BYTES: u64 = 4 << 30;

/// One tensor: shape (outermost first) and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Extents, outermost first.
    pub shape: Vec<usize>,
    /// Row-major values, converted to `f64`.
    pub data: Vec<f64>,
}

/// Tensors by name, as read from a weights file.
#[derive(Debug, Clone, Default)]
pub struct TensorMap {
    /// The tensors.
    pub tensors: BTreeMap<String, NamedTensor>,
}

impl TensorMap {
    /// Reads a safetensors file or a PyTorch checkpoint (zip, legacy or tar), telling them apart
    /// by content. `state_dict_key` selects a nested dictionary in a PyTorch checkpoint.
    pub fn load(path: &Path, state_dict_key: Option<&str>) -> Result<TensorMap> {
        let meta = std::fs::metadata(path).map_err(|e| AmrError::io(path, e))?;
        if meta.len() > MAX_WEIGHTS_BYTES {
            return Err(AmrError::weights(
                path,
                format!(
                    "is {} bytes; weights files over {MAX_WEIGHTS_BYTES} bytes are refused",
                    meta.len()
                ),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| AmrError::io(path, e))?;
        if looks_like_safetensors(&bytes) {
            Self::from_safetensors(&bytes, path)
        } else if bytes.starts_with(b"PK\x03\x04") || bytes.first() == Some(&0x80) || is_tar(&bytes) {
            Self::from_pytorch(path, state_dict_key)
        } else {
            Err(AmrError::weights(
                path,
                "is neither a safetensors file nor a PyTorch checkpoint (.pt/.pth)",
            ))
        }
    }

    /// Parses safetensors bytes (`path` is for messages).
    pub fn from_safetensors(bytes: &[u8], path: &Path) -> Result<TensorMap> {
        use safetensors::Dtype;
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| AmrError::weights(path, format!("corrupt safetensors file: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            let kind = match view.dtype() {
                Dtype::F64 => Float::F64,
                Dtype::F32 => Float::F32,
                Dtype::F16 => Float::F16,
                Dtype::BF16 => Float::BF16,
                other => {
                    return Err(AmrError::weights(
                        path,
                        format!("tensor {name} has dtype {other:?}; INR weights must be floating point"),
                    ))
                }
            };
            // Safetensors is little-endian by definition.
            let data = kind.decode(view.data(), true);
            tensors.insert(
                name,
                NamedTensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(TensorMap { tensors })
    }

    /// Reads a PyTorch checkpoint with `pytorch-reader`.
    pub fn from_pytorch(path: &Path, state_dict_key: Option<&str>) -> Result<TensorMap> {
        use pytorch_reader::{DType, PytorchReader};
        let reader = match state_dict_key {
            Some(k) => PytorchReader::with_top_level_key(path, k),
            None => PytorchReader::new(path),
        }
        .map_err(|e| AmrError::weights(path, format!("cannot read PyTorch checkpoint: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (name, t) in reader.into_tensors() {
            let raw = t
                .read()
                .map_err(|e| AmrError::weights(path, format!("cannot read tensor {name}: {e}")))?;
            let kind = match t.dtype() {
                DType::F64 => Float::F64,
                DType::F32 => Float::F32,
                DType::F16 => Float::F16,
                DType::BF16 => Float::BF16,
                // Integer buffers (e.g. BatchNorm's num_batches_tracked) are not weights; skip.
                _ => continue,
            };
            // pytorch-reader returns native-endian bytes.
            let data = kind.decode(&raw, cfg!(target_endian = "little"));
            tensors.insert(
                name,
                NamedTensor {
                    shape: t.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(TensorMap { tensors })
    }

    fn get(&self, name: &str, want: &[usize], problems: &mut Vec<String>) -> Option<&NamedTensor> {
        let Some(t) = self.tensors.get(name) else {
            let mut avail: Vec<&str> = self.tensors.keys().map(String::as_str).take(24).collect();
            if self.tensors.len() > 24 {
                avail.push("…");
            }
            problems.push(format!(
                "missing tensor {name} (spec needs shape {want:?}; the file has: {})",
                avail.join(", ")
            ));
            return None;
        };
        if t.shape != want {
            let transposed = want.len() == 2 && t.shape == [want[1], want[0]];
            problems.push(format!(
                "tensor {name} has shape {:?} but the spec needs {want:?}{}",
                t.shape,
                if transposed { " (it is stored transposed)" } else { "" }
            ));
            return None;
        }
        if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
            problems.push(format!(
                "tensor {name} has a non-finite value ({}) at element {i}",
                t.data[i]
            ));
            return None;
        }
        Some(t)
    }

    /// The `r × c` matrix `name`, or zeros with a line added to `problems`.
    pub fn matrix(&self, name: &str, [r, c]: [usize; 2], problems: &mut Vec<String>) -> Mat<f64> {
        match self.get(name, &[r, c], problems) {
            Some(t) => Mat::from_fn(r, c, |i, j| t.data[i * c + j]),
            None => Mat::zeros(r, c),
        }
    }

    /// The vector `name` of length `n`, or zeros with a line added to `problems`.
    pub fn vector(&self, name: &str, n: usize, problems: &mut Vec<String>) -> Vec<f64> {
        match self.get(name, &[n], problems) {
            Some(t) => t.data.clone(),
            None => vec![0.0; n],
        }
    }
}

/// Floating-point element types a weights file may hold.
#[derive(Debug, Clone, Copy)]
enum Float {
    F64,
    F32,
    F16,
    BF16,
}

impl Float {
    /// Decodes packed values (`little`: byte order of `raw`) to `f64`.
    fn decode(self, raw: &[u8], little: bool) -> Vec<f64> {
        fn word<const N: usize>(c: &[u8], little: bool) -> [u8; N] {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            if !little {
                b.reverse();
            }
            b
        }
        match self {
            Float::F64 => raw
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(word(c, little)))
                .collect(),
            Float::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(word(c, little)) as f64)
                .collect(),
            Float::F16 => raw
                .chunks_exact(2)
                .map(|c| f16_to_f64(u16::from_le_bytes(word(c, little))))
                .collect(),
            Float::BF16 => raw
                .chunks_exact(2)
                .map(|c| f32::from_bits((u16::from_le_bytes(word(c, little)) as u32) << 16) as f64)
                .collect(),
        }
    }
}

fn looks_like_safetensors(b: &[u8]) -> bool {
    b.len() >= 9 && {
        let n = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
        n > 0 && n <= b.len() as u64 - 8 && b[8] == b'{'
    }
}

fn is_tar(b: &[u8]) -> bool {
    b.len() >= 262 && &b[257..262] == b"ustar"
}

/// IEEE 754 half → f64.
fn f16_to_f64(h: u16) -> f64 {
    let s = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = ((h >> 10) & 0x1f) as i32;
    let m = (h & 0x3ff) as f64;
    match e {
        0 => s * m * 2f64.powi(-24),
        31 if m == 0.0 => s * f64::INFINITY,
        31 => f64::NAN,
        _ => s * (1.0 + m / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Writes `f32` tensors as a safetensors file, atomically.
/// The metadata entry in every safetensors file neuvis writes (`__metadata__`: `generator` =
/// `neuvis <version>`), as it lies in the file's JSON header: what `--overwrite` looks for.
pub const SAFETENSORS_MARK: &[u8] = b"\"generator\":\"neuvis";

/// Writes `named` tensors (name, shape, row-major f32 values) as safetensors, with the
/// [`SAFETENSORS_MARK`] metadata, atomically.
pub fn write_safetensors(path: &Path, named: &[(String, Vec<usize>, Vec<f32>)]) -> Result<()> {
    let bytes: Vec<Vec<u8>> = named
        .iter()
        .map(|(_, _, d)| d.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = named
        .iter()
        .zip(&bytes)
        .map(|((n, s, _), b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| AmrError::weights(path, format!("tensor {n}: {e}")))
        })
        .collect::<Result<_>>()?;
    let out = safetensors::serialize(
        views,
        Some(
            [("generator".to_string(), format!("neuvis {}", env!("CARGO_PKG_VERSION")))]
                .into_iter()
                .collect(),
        ),
    )
    .map_err(|e| AmrError::weights(path, format!("cannot serialize: {e}")))?;
    crate::atomic(path, |w| {
        use std::io::Write;
        w.write_all(&out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_orders_decode_alike() {
        let v = [1.5f32, -0.25];
        let le: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let be: Vec<u8> = v.iter().flat_map(|x| x.to_be_bytes()).collect();
        assert_eq!(Float::F32.decode(&le, true), vec![1.5, -0.25]);
        assert_eq!(Float::F32.decode(&be, false), vec![1.5, -0.25]);
        // bf16 is the top half of an f32: 0x3FC0 = 1.5.
        assert_eq!(Float::BF16.decode(&[0xC0, 0x3F], true), vec![1.5]);
    }

    #[test]
    fn half_precision_decodes() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert!(f16_to_f64(0x7e00).is_nan());
    }
}
