//! Linear layers whose weight matrices may be stored in fp8 (e4m3) to halve their memory.
//!
//! fp8 storage keeps `q = round_e4m3(w / s)` with one power-of-two scale `s` per matrix (the
//! largest |w| lands in e4m3's top binade, below 448) and computes in the activations' dtype:
//! `y = x · (q·s)ᵀ + b`, `q·s` widened exactly to bf16/f32 for each product (a power of two
//! makes `· s` exact, so this equals `(x · qᵀ) · s + b`). The error is e4m3's rounding of the
//! weights: 3 mantissa bits, about 2% RMS per weight. On CUDA the two conversions are
//! `void-kernels`' (candle 0.11.1's CUDA casts to and from fp8 are broken), elsewhere candle's.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

/// How a network keeps its large weight matrices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightStorage {
    /// As loaded (bf16 or f32).
    #[default]
    Native,
    /// fp8 e4m3 with a per-matrix power-of-two scale; computed in the activations' dtype.
    Fp8E4M3,
}

/// The largest finite e4m3 value.
const E4M3_MAX: f64 = 448.0;

/// A linear layer, weights stored as [`WeightStorage`] says.
#[derive(Clone, Debug)]
pub enum StoredLinear {
    /// candle's linear layer, weights as loaded.
    Native(Linear),
    /// fp8 weights `[out, in]`, their scale, the bias and the compute dtype.
    Fp8 {
        /// `round_e4m3(w / scale)`.
        weight: Tensor,
        /// A power of two.
        scale: f64,
        /// The bias, in the compute dtype.
        bias: Option<Tensor>,
        /// The dtype the weights were loaded in, which the products use.
        dtype: DType,
    },
}

impl StoredLinear {
    /// Loads `weight` `[out, in]` and `bias` from `vb`, then stores them as `storage` says.
    pub fn load(
        in_dim: usize,
        out_dim: usize,
        vb: VarBuilder,
        storage: WeightStorage,
    ) -> Result<Self> {
        let linear = candle_nn::linear(in_dim, out_dim, vb)?;
        match storage {
            WeightStorage::Native => Ok(Self::Native(linear)),
            WeightStorage::Fp8E4M3 => Self::quantize(&linear),
        }
    }

    /// The fp8 form of `linear`.
    pub fn quantize(linear: &Linear) -> Result<Self> {
        let w = linear.weight();
        let wf = w.to_dtype(DType::F32)?;
        let amax = f64::from(wf.abs()?.max_all()?.to_scalar::<f32>()?);
        let scale = if amax > 0.0 {
            2f64.powi((amax / E4M3_MAX).log2().ceil() as i32)
        } else {
            1.0
        };
        Ok(Self::Fp8 {
            weight: quantize_e4m3(&wf, 1.0 / scale)?,
            scale,
            bias: linear.bias().cloned(),
            dtype: w.dtype(),
        })
    }
}

impl Module for StoredLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Native(linear) => linear.forward(x),
            Self::Fp8 {
                weight,
                scale,
                bias,
                dtype,
            } => Linear::new(dequantize_e4m3(weight, *scale, *dtype)?, bias.clone()).forward(x),
        }
    }
}

/// `round_e4m3(w · inv_scale)` as F8E4M3.
fn quantize_e4m3(w: &Tensor, inv_scale: f64) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if w.device().is_cuda() {
        return void_kernels::quantize_e4m3(w, inv_scale as f32);
    }
    w.affine(inv_scale, 0.0)?.to_dtype(DType::F8E4M3)
}

/// `q · scale` widened to `dtype` (exact for a power-of-two scale).
fn dequantize_e4m3(q: &Tensor, scale: f64, dtype: DType) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if q.device().is_cuda() {
        return void_kernels::dequantize_e4m3(q, scale as f32, dtype);
    }
    q.to_dtype(dtype)?.affine(scale, 0.0)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::Device;

    use super::*;

    #[test]
    fn fp8_weights_are_close_and_powers_of_two_scale() {
        let w = (Tensor::randn(0f32, 1., (64, 96), &Device::Cpu).unwrap() * 0.02).unwrap();
        let b = Tensor::randn(0f32, 1., 64, &Device::Cpu).unwrap();
        let vars = HashMap::from([("weight".to_string(), w), ("bias".to_string(), b)]);
        let vb = VarBuilder::from_tensors(vars, DType::F32, &Device::Cpu);
        let native = StoredLinear::load(96, 64, vb.clone(), WeightStorage::Native).unwrap();
        let fp8 = StoredLinear::load(96, 64, vb, WeightStorage::Fp8E4M3).unwrap();
        let StoredLinear::Fp8 { scale, weight, .. } = &fp8 else {
            panic!("not fp8")
        };
        assert_eq!(scale.log2().fract(), 0.0);
        assert_eq!(weight.dtype(), DType::F8E4M3);
        let x = Tensor::randn(0f32, 1., (3, 5, 96), &Device::Cpu).unwrap();
        let (a, b) = (native.forward(&x).unwrap(), fp8.forward(&x).unwrap());
        let err = crate::ops::rel_l2(&b, &a).unwrap();
        assert!(err > 1e-4 && err < 3e-2, "fp8 rel-L2 {err}");
    }
}
