//! Nearest-neighbour resizing of `(b, c, t, h, w)` videos with PyTorch's index rule.

use candle_core::Tensor;

use crate::Result;

/// `F.interpolate(x, size=(t, h, w), mode="nearest")`.
pub fn nearest(x: &Tensor, size: (usize, usize, usize)) -> Result<Tensor> {
    let (_, _, t, h, w) = x.dims5()?;
    let mut y = x.clone();
    for (dim, from, to) in [(2, t, size.0), (3, h, size.1), (4, w, size.2)] {
        y = nearest_along(&y, dim, from, to)?;
    }
    Ok(y)
}

/// Nearest ×2 along each of `dims` (`F.interpolate(scale_factor=2.0)`): every element repeated.
pub fn double(x: &Tensor, dims: &[usize]) -> Result<Tensor> {
    let mut y = x.clone();
    for &dim in dims {
        let mut shape = y.dims().to_vec();
        let mut wide = shape.clone();
        wide.insert(dim + 1, 2);
        shape[dim] *= 2;
        y = y.unsqueeze(dim + 1)?.broadcast_as(wide)?.reshape(shape)?;
    }
    Ok(y)
}

/// Resizes one dimension: output index `i` reads `min(floor(i * (from / to)), from - 1)`,
/// the scale in f32 as ATen computes it (`i / 2` exactly for a doubling).
fn nearest_along(x: &Tensor, dim: usize, from: usize, to: usize) -> Result<Tensor> {
    if from == to {
        return Ok(x.clone());
    }
    if to == 2 * from {
        return double(x, &[dim]);
    }
    let scale = from as f32 / to as f32;
    let index: Vec<u32> = (0..to)
        .map(|i| ((i as f32 * scale).floor() as usize).min(from - 1) as u32)
        .collect();
    let index = Tensor::new(index, x.device())?;
    Ok(x.contiguous()?.index_select(&index, dim)?)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, IndexOp};

    use super::*;

    #[test]
    fn repeats_and_picks_like_torch() {
        let x = Tensor::arange(0f32, 6., &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 1, 2, 3))
            .unwrap();
        let d = double(&x, &[3, 4]).unwrap();
        assert_eq!(
            d.i((0, 0, 0)).unwrap().to_vec2::<f32>().unwrap(),
            [
                [0., 0., 1., 1., 2., 2.],
                [0., 0., 1., 1., 2., 2.],
                [3., 3., 4., 4., 5., 5.],
                [3., 3., 4., 4., 5., 5.]
            ]
        );
        // 3 -> 4: floor(i * 0.75) = 0, 0, 1, 2; 3 -> 2: floor(i * 1.5) = 0, 1.
        let n = nearest(&x, (1, 2, 4)).unwrap();
        assert_eq!(
            n.i((0, 0, 0, 0)).unwrap().to_vec1::<f32>().unwrap(),
            [0., 0., 1., 2.]
        );
        let n = nearest(&x, (1, 1, 2)).unwrap();
        assert_eq!(
            n.i((0, 0, 0, 0)).unwrap().to_vec1::<f32>().unwrap(),
            [0., 1.]
        );
    }
}
