//! The VAE's convolutions: causal 3-D convolutions with frame caches, per-frame 2-D
//! convolutions and pointwise projections.
//!
//! candle has no conv3d: a `k x k x k` causal conv is one 2-D convolution over the `k`
//! time-shifted copies of its input stacked on channels. The work is split into slabs of frames
//! so candle's im2col buffer stays bounded at full resolution (numerically the same).

use candle_core::{D, DType, Tensor};
use candle_nn::VarBuilder;

use crate::Result;

/// Elements of one im2col buffer (`frames * H * W * C_in * kh * kw`) before the frames are
/// split into slabs: 2^28, 512 MiB in bf16.
const IM2COL_BUDGET: usize = 1 << 28;

/// The last input frames of every causal convolution of one encoder or decoder, carried
/// from one chunk of frames to the next (diffusers' nested `conv_cache` dicts, flattened in
/// call order: the network calls its convolutions in the same order for every chunk).
#[derive(Debug, Default)]
pub struct FrameCache {
    slots: Vec<Option<Tensor>>,
    next: usize,
}

impl FrameCache {
    /// An empty cache: the first chunk pads with copies of its first frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the next chunk: convolutions take their slots from the first again.
    pub fn rewind(&mut self) {
        self.next = 0;
    }

    fn slot(&mut self) -> &mut Option<Tensor> {
        if self.next == self.slots.len() {
            self.slots.push(None);
        }
        self.next += 1;
        &mut self.slots[self.next - 1]
    }
}

/// `CogVideoXCausalConv3d`: time padded on the past side only (with the previous chunk's last
/// `k-1` frames, or on the first chunk `k-1` copies of the first frame), H and W padded with
/// zeros, stride 1. Weights `<name>.conv.{weight,bias}`, weight `[out, in, k, k, k]`.
#[derive(Clone, Debug)]
pub struct CausalConv3d {
    /// `[out, k*in, k, k]`: the 3-D kernel with its time taps moved onto input channels.
    weight: Tensor,
    bias: Tensor,
    kernel: usize,
    budget: usize,
}

impl CausalConv3d {
    /// Loads a `k x k x k` causal conv from `vb` (`conv.weight`, `conv.bias`).
    pub fn new(c_in: usize, c_out: usize, kernel: usize, vb: VarBuilder) -> Result<Self> {
        let vb = vb.pp("conv");
        let w = vb.get((c_out, c_in, kernel, kernel, kernel), "weight")?;
        let weight = w
            .permute((0, 2, 1, 3, 4))?
            .reshape((c_out, kernel * c_in, kernel, kernel))?;
        let bias = vb.get(c_out, "bias")?;
        Ok(Self {
            weight,
            bias,
            kernel,
            budget: IM2COL_BUDGET,
        })
    }

    /// Convolves `x` `(b, c, t, h, w)` -> `(b, out, t, h, w)`, taking and renewing this
    /// conv's slot of `cache` (a pointwise conv uses no slot).
    pub fn forward(&self, x: &Tensor, cache: &mut FrameCache) -> Result<Tensor> {
        let k = self.kernel;
        if k == 1 {
            return pointwise(
                x,
                &self.weight.squeeze(D::Minus1)?.squeeze(D::Minus1)?,
                &self.bias,
            );
        }
        let t = x.dim(2)?;
        let slot = cache.slot();
        let padded = match slot.take() {
            Some(prev) => Tensor::cat(&[&prev, x], 2)?,
            None => {
                let first = x.narrow(2, 0, 1)?;
                let mut parts = vec![first; k - 1];
                parts.push(x.clone());
                Tensor::cat(&parts, 2)?
            }
        };
        *slot = Some(padded.narrow(2, t, k - 1)?.contiguous()?);
        let (b, c, _, h, w) = padded.dims5()?;
        by_slabs(t, b * h * w * c * k * k * k, self.budget, |start, len| {
            let taps = (0..k)
                .map(|kt| padded.narrow(2, start + kt, len))
                .collect::<candle_core::Result<Vec<_>>>()?;
            let y = conv2d(
                &frames_as_batch(&Tensor::cat(&taps, 1)?)?,
                &self.weight,
                &self.bias,
                k / 2,
                1,
            )?;
            batch_as_frames(&y, b)
        })
    }
}

/// A `Conv2d` applied to every frame of a `(b, c, t, h, w)` video (the VAE's down- and
/// upsamplers). Weights `conv.{weight,bias}`, weight `[out, in, k, k]`.
#[derive(Clone, Debug)]
pub struct FrameConv2d {
    weight: Tensor,
    bias: Tensor,
    padding: usize,
    stride: usize,
    budget: usize,
}

impl FrameConv2d {
    /// Loads a `k x k` conv from `vb` (`conv.weight`, `conv.bias`).
    pub fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        padding: usize,
        stride: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let vb = vb.pp("conv");
        Ok(Self {
            weight: vb.get((c_out, c_in, kernel, kernel), "weight")?,
            bias: vb.get(c_out, "bias")?,
            padding,
            stride,
            budget: IM2COL_BUDGET,
        })
    }

    /// Convolves each frame of `x` `(b, c, t, h, w)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, t, h, w) = x.dims5()?;
        let (_, _, kh, kw) = self.weight.dims4()?;
        let per_frame = b * h * w * c * kh * kw / (self.stride * self.stride);
        by_slabs(t, per_frame, self.budget, |start, len| {
            let frames = frames_as_batch(&x.narrow(2, start, len)?)?;
            let y = conv2d(&frames, &self.weight, &self.bias, self.padding, self.stride)?;
            batch_as_frames(&y, b)
        })
    }
}

/// A `1x1x1` `Conv3d` (the resnets' `conv_shortcut`, keys `weight`/`bias` without `.conv`).
#[derive(Clone, Debug)]
pub struct PointwiseConv3d {
    weight: Tensor,
    bias: Tensor,
}

impl PointwiseConv3d {
    /// Loads it from `vb` (`weight` `[out, in, 1, 1, 1]`, `bias`).
    pub fn new(c_in: usize, c_out: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb
                .get((c_out, c_in, 1, 1, 1), "weight")?
                .reshape((c_out, c_in))?,
            bias: vb.get(c_out, "bias")?,
        })
    }

    /// Projects every position of `x` `(b, in, t, h, w)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        pointwise(x, &self.weight, &self.bias)
    }
}

/// `weight [out, in]` applied to every position of `x (b, in, t, h, w)`, plus `bias`.
fn pointwise(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let (b, c, t, h, w) = x.dims5()?;
    let flat = x.reshape((b, c, t * h * w))?;
    let y = weight.broadcast_matmul(&flat)?;
    Ok(y.broadcast_add(&bias.reshape((1, (), 1))?)?
        .reshape((b, (), t, h, w))?)
}

/// A 2-D convolution plus `bias`. candle's CPU backend has no bf16 convolution: there the
/// bf16 operands are widened to f32 and the biased result rounded once, as PyTorch's bf16
/// kernels do (bf16 products accumulated in f32).
fn conv2d(
    x: &Tensor,
    w: &Tensor,
    bias: &Tensor,
    padding: usize,
    stride: usize,
) -> candle_core::Result<Tensor> {
    let bias4 = |dtype| bias.to_dtype(dtype)?.reshape((1, (), 1, 1));
    if x.device().is_cpu() && x.dtype() == DType::BF16 {
        let y = x
            .to_dtype(DType::F32)?
            .conv2d(&w.to_dtype(DType::F32)?, padding, stride, 1, 1)?;
        return y.broadcast_add(&bias4(DType::F32)?)?.to_dtype(DType::BF16);
    }
    x.conv2d(w, padding, stride, 1, 1)?
        .broadcast_add(&bias4(x.dtype())?)
}

/// `(b, c, t, h, w)` -> `(b*t, c, h, w)`.
fn frames_as_batch(x: &Tensor) -> candle_core::Result<Tensor> {
    let (b, c, t, h, w) = x.dims5()?;
    x.permute((0, 2, 1, 3, 4))?.reshape((b * t, c, h, w))
}

/// `(b*t, c, h, w)` -> `(b, c, t, h, w)`.
fn batch_as_frames(x: &Tensor, b: usize) -> candle_core::Result<Tensor> {
    let (bt, c, h, w) = x.dims4()?;
    x.reshape((b, bt / b, c, h, w))?.permute((0, 2, 1, 3, 4))
}

/// Runs `conv(start, len)` over slabs of the `t` frames, each small enough that its im2col
/// buffer (`per_frame` elements a frame) fits `budget` elements, and joins the results on time.
fn by_slabs(
    t: usize,
    per_frame: usize,
    budget: usize,
    mut conv: impl FnMut(usize, usize) -> candle_core::Result<Tensor>,
) -> Result<Tensor> {
    let slab = (budget / per_frame.max(1)).clamp(1, t.max(1));
    let outs = (0..t)
        .step_by(slab)
        .map(|start| conv(start, slab.min(t - start)))
        .collect::<candle_core::Result<Vec<_>>>()?;
    Ok(Tensor::cat(&outs, 2)?)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::Device;

    use super::*;

    fn random(shape: &[usize]) -> Tensor {
        Tensor::randn(0f32, 1., shape, &Device::Cpu).unwrap()
    }

    /// Frame slabs (what bounds memory at full resolution) do not change the result.
    #[test]
    fn slabs_of_one_frame_give_the_whole_clip_result() {
        let vars = HashMap::from([
            ("c3.conv.weight".to_string(), random(&[5, 4, 3, 3, 3])),
            ("c3.conv.bias".to_string(), random(&[5])),
            ("c2.conv.weight".to_string(), random(&[4, 4, 3, 3])),
            ("c2.conv.bias".to_string(), random(&[4])),
        ]);
        let vb = VarBuilder::from_tensors(vars, DType::F32, &Device::Cpu);
        let x = random(&[2, 4, 5, 6, 7]);

        let whole = CausalConv3d::new(4, 5, 3, vb.pp("c3")).unwrap();
        let sliced = CausalConv3d {
            budget: 1,
            ..whole.clone()
        };
        let a = whole.forward(&x, &mut FrameCache::new()).unwrap();
        let b = sliced.forward(&x, &mut FrameCache::new()).unwrap();
        assert!(crate::ops::max_abs_diff(&a, &b).unwrap() <= 1e-5);

        let whole = FrameConv2d::new(4, 4, 3, 0, 2, vb.pp("c2")).unwrap();
        let sliced = FrameConv2d {
            budget: 1,
            ..whole.clone()
        };
        let a = whole.forward(&x).unwrap();
        let b = sliced.forward(&x).unwrap();
        assert_eq!(a.dims(), [2, 4, 5, 2, 3]);
        assert!(crate::ops::max_abs_diff(&a, &b).unwrap() <= 1e-5);
    }

    /// The cache carries the last two frames: two chunks equal one call over both.
    #[test]
    fn chunks_continue_through_the_cache() {
        let vars = HashMap::from([
            ("conv.weight".to_string(), random(&[3, 2, 3, 3, 3])),
            ("conv.bias".to_string(), random(&[3])),
        ]);
        let vb = VarBuilder::from_tensors(vars, DType::F32, &Device::Cpu);
        let conv = CausalConv3d::new(2, 3, 3, vb).unwrap();
        let x = random(&[1, 2, 7, 4, 5]);
        let whole = conv.forward(&x, &mut FrameCache::new()).unwrap();
        let mut cache = FrameCache::new();
        let first = conv
            .forward(&x.narrow(2, 0, 3).unwrap(), &mut cache)
            .unwrap();
        cache.rewind();
        let rest = conv
            .forward(&x.narrow(2, 3, 4).unwrap(), &mut cache)
            .unwrap();
        let joined = Tensor::cat(&[first, rest], 2).unwrap();
        assert!(crate::ops::max_abs_diff(&whole, &joined).unwrap() <= 1e-5);
    }
}
