//! GroupNorm over whole chunks and the decoder's latent-conditioned `SpatialNorm3D`.

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;

use super::conv::{CausalConv3d, FrameCache};
use super::resize::nearest;
use crate::Result;

/// `nn.GroupNorm` on `(b, c, ...)`: statistics per sample and group over its channels and
/// every frame and pixel of the chunk, in f32; the affine map in f32 too, rounded once to the
/// input's dtype (as PyTorch's bf16 kernels do).
#[derive(Clone, Debug)]
pub struct GroupNorm {
    weight: Tensor,
    bias: Tensor,
    groups: usize,
    eps: f64,
}

impl GroupNorm {
    /// Loads `weight` and `bias` of `channels` from `vb`.
    pub fn new(groups: usize, channels: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get(channels, "weight")?.to_dtype(DType::F32)?,
            bias: vb.get(channels, "bias")?.to_dtype(DType::F32)?,
            groups,
            eps,
        })
    }

    /// Normalises `x`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let (b, c) = (dims[0], dims[1]);
        let per_group = x.elem_count() / (b * self.groups);
        let xf = x
            .to_dtype(DType::F32)?
            .reshape((b, self.groups, per_group))?;
        let mean = (group_sum(&xf)? / per_group as f64)?;
        let centred = xf.broadcast_sub(&mean)?;
        let var = (group_sum(&centred.sqr()?)? / per_group as f64)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        let mut shape = vec![1; dims.len()];
        shape[1] = c;
        Ok(normed
            .reshape(dims)?
            .broadcast_mul(&self.weight.reshape(shape.clone())?)?
            .broadcast_add(&self.bias.reshape(shape)?)?
            .to_dtype(x.dtype())?)
    }
}

/// Sums `x` `(b, groups, n)` over its last dimension, in two stages when the rows are long:
/// candle reduces each output element in one thread block, and a few long rows would leave
/// most of a GPU idle (it is also more accurate than one long running sum).
fn group_sum(x: &Tensor) -> Result<Tensor> {
    let (b, g, n) = x.dims3()?;
    let split = [4096, 2048, 1024, 512, 256]
        .into_iter()
        .find(|k| n >= 64 * k && n % k == 0);
    Ok(match split {
        Some(k) => x.reshape((b, g, k, n / k))?.sum(3)?.sum_keepdim(2)?,
        None => x.sum_keepdim(2)?,
    })
}

/// `CogVideoXSpatialNorm3D`: `GroupNorm(f) * conv_y(zq) + conv_b(zq)`, where `zq` is the
/// latent resized (nearest) to the features' `(t, h, w)`; for an odd `t > 1` the first frame
/// and the rest are resized separately. Keys `norm_layer.*`, `conv_y.conv.*`, `conv_b.conv.*`.
#[derive(Clone, Debug)]
pub struct SpatialNorm3D {
    norm: GroupNorm,
    conv_y: CausalConv3d,
    conv_b: CausalConv3d,
}

impl SpatialNorm3D {
    /// Loads it for `channels` features conditioned on `zq_channels` latent channels.
    pub fn new(channels: usize, zq_channels: usize, groups: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm: GroupNorm::new(groups, channels, 1e-6, vb.pp("norm_layer"))?,
            conv_y: CausalConv3d::new(zq_channels, channels, 1, vb.pp("conv_y"))?,
            conv_b: CausalConv3d::new(zq_channels, channels, 1, vb.pp("conv_b"))?,
        })
    }

    /// Normalises `f` `(b, c, t, h, w)` conditioned on `zq` `(b, zc, t', h', w')`.
    pub fn forward(&self, f: &Tensor, zq: &Tensor, cache: &mut FrameCache) -> Result<Tensor> {
        let (_, _, t, h, w) = f.dims5()?;
        let zq = if t > 1 && t % 2 == 1 {
            let first = nearest(&zq.narrow(2, 0, 1)?, (1, h, w))?;
            let rest_len = zq.dim(2)? - 1;
            let rest = nearest(&zq.narrow(2, 1, rest_len)?, (t - 1, h, w))?;
            Tensor::cat(&[first, rest], 2)?
        } else {
            nearest(zq, (t, h, w))?
        };
        let y = self.conv_y.forward(&zq, cache)?;
        let b = self.conv_b.forward(&zq, cache)?;
        Ok(self.norm.forward(f)?.mul(&y)?.add(&b)?)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn long_rows_are_summed_in_two_stages_to_the_same_value() {
        let n = 64 * 4096 * 3;
        let x = Tensor::rand(0f32, 1., (1, 2, n), &Device::Cpu).unwrap();
        let got: Vec<f32> = group_sum(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let rows: Vec<Vec<f32>> = x.squeeze(0).unwrap().to_vec2().unwrap();
        for (g, row) in got.iter().zip(rows) {
            let exact: f64 = row.iter().map(|&v| f64::from(v)).sum();
            assert!(
                (f64::from(*g) - exact).abs() <= 1e-6 * exact,
                "{g} vs {exact}"
            );
        }
    }
}
