//! How close two tensors are: the measure every parity check of void uses.

use candle_core::{DType, Result, Tensor};

/// `‖ours − reference‖₂ / ‖reference‖₂`, computed in f64.
pub fn rel_l2(ours: &Tensor, reference: &Tensor) -> Result<f64> {
    let (a, b) = (ours.to_dtype(DType::F64)?, reference.to_dtype(DType::F64)?);
    let diff = (&a - &b)?.sqr()?.sum_all()?.to_scalar::<f64>()?;
    let norm = b.sqr()?.sum_all()?.to_scalar::<f64>()?;
    Ok((diff / norm).sqrt())
}

/// `max |ours − reference|`, computed in f64.
pub fn max_abs_diff(ours: &Tensor, reference: &Tensor) -> Result<f64> {
    (ours.to_dtype(DType::F64)? - reference.to_dtype(DType::F64)?)?
        .abs()?
        .max_all()?
        .to_scalar::<f64>()
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn relative_l2() -> Result<()> {
        let r = Tensor::new(&[3f32, 4.], &Device::Cpu)?;
        let o = Tensor::new(&[3f32, 4.5], &Device::Cpu)?;
        assert!((rel_l2(&o, &r)? - 0.1).abs() < 1e-12);
        assert_eq!(rel_l2(&r, &r)?, 0.0);
        assert_eq!(max_abs_diff(&o, &r)?, 0.5);
        Ok(())
    }
}
