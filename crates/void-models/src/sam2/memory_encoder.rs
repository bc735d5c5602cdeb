//! SAM2's memory encoder (`memory_encoder.py`): a frame's mask, downsampled by strided
//! convolutions, added to the projected image features, fused by ConvNeXt blocks and projected
//! to the memory width; with a sine position encoding.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Linear, VarBuilder, conv2d, linear};

use super::common::LayerNorm2d;
use super::config::MemoryEncoderConfig;
use super::neck::sine_position;

/// LayerNorm2d epsilon of the downsampler and the ConvNeXt blocks.
const NORM2D_EPS: f64 = 1e-6;

/// `MaskDownSampler`: `[conv(k, s, p) → LayerNorm2d → GELU] x n` (each multiplying the
/// channels by `s²`) until the total stride, then a 1x1 conv to the embedding width.
#[derive(Clone, Debug)]
struct MaskDownSampler {
    layers: Vec<(Conv2d, LayerNorm2d)>,
    out: Conv2d,
}

impl MaskDownSampler {
    fn new(cfg: &MemoryEncoderConfig, embed_dim: usize, vb: VarBuilder) -> Result<Self> {
        let d = &cfg.mask_downsampler;
        let mut count = 0;
        let mut stride = 1;
        while stride * d.stride <= d.total_stride {
            stride *= d.stride;
            count += 1;
        }
        let vb = vb.pp("encoder");
        let conv = Conv2dConfig {
            padding: d.padding,
            stride: d.stride,
            ..Default::default()
        };
        let mut channels = 1;
        let mut layers = Vec::with_capacity(count);
        for i in 0..count {
            let out = channels * d.stride * d.stride;
            layers.push((
                conv2d(channels, out, d.kernel_size, conv, vb.pp(3 * i))?,
                LayerNorm2d::new(out, NORM2D_EPS, vb.pp(3 * i + 1))?,
            ));
            channels = out;
        }
        Ok(Self {
            layers,
            out: conv2d(channels, embed_dim, 1, Default::default(), vb.pp(3 * count))?,
        })
    }
}

impl Module for MaskDownSampler {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for (conv, norm) in &self.layers {
            x = norm.forward(&conv.forward(&x)?)?.gelu_erf()?;
        }
        self.out.forward(&x)
    }
}

/// `CXBlock`: depthwise conv, LayerNorm2d, pointwise MLP (GELU), layer scale, residual.
#[derive(Clone, Debug)]
struct CxBlock {
    /// `(c, k, k)` depthwise taps and `(1, c, 1, 1)` bias.
    dw_weight: Tensor,
    dw_bias: Tensor,
    padding: usize,
    norm: LayerNorm2d,
    pw1: Linear,
    pw2: Linear,
    gamma: Tensor,
}

impl CxBlock {
    fn new(dim: usize, kernel: usize, padding: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            dw_weight: vb
                .pp("dwconv")
                .get((dim, 1, kernel, kernel), "weight")?
                .reshape((dim, kernel, kernel))?,
            dw_bias: vb.pp("dwconv").get(dim, "bias")?.reshape((1, dim, 1, 1))?,
            padding,
            norm: LayerNorm2d::new(dim, NORM2D_EPS, vb.pp("norm"))?,
            pw1: linear(dim, 4 * dim, vb.pp("pwconv1"))?,
            pw2: linear(4 * dim, dim, vb.pp("pwconv2"))?,
            gamma: vb.get(dim, "gamma")?,
        })
    }

    /// The depthwise convolution as `k²` shifted multiply-adds (candle's grouped convolution
    /// runs one convolution per channel).
    fn depthwise(&self, x: &Tensor) -> Result<Tensor> {
        let (_, c, h, w) = x.dims4()?;
        let (k, p) = (self.dw_weight.dim(1)?, self.padding);
        let padded = x.pad_with_zeros(2, p, p)?.pad_with_zeros(3, p, p)?;
        let (oh, ow) = (h + 2 * p + 1 - k, w + 2 * p + 1 - k);
        let mut acc: Option<Tensor> = None;
        for dy in 0..k {
            for dx in 0..k {
                let tap = self
                    .dw_weight
                    .narrow(1, dy, 1)?
                    .narrow(2, dx, 1)?
                    .reshape((1, c, 1, 1))?;
                let term = padded
                    .narrow(2, dy, oh)?
                    .narrow(3, dx, ow)?
                    .broadcast_mul(&tap)?;
                acc = Some(match acc {
                    Some(a) => (a + term)?,
                    None => term,
                });
            }
        }
        acc.expect("a kernel has at least one tap")
            .broadcast_add(&self.dw_bias)
    }
}

impl Module for CxBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self
            .norm
            .forward(&self.depthwise(x)?)?
            .permute((0, 2, 3, 1))?;
        let y = self.pw2.forward(&self.pw1.forward(&y)?.gelu_erf()?)?;
        x + y.broadcast_mul(&self.gamma)?.permute((0, 3, 1, 2))?
    }
}

/// `MemoryEncoder`.
#[derive(Clone, Debug)]
pub struct MemoryEncoder {
    downsampler: MaskDownSampler,
    pix_feat_proj: Conv2d,
    fuser: Vec<CxBlock>,
    out_proj: Conv2d,
    mem_dim: usize,
}

impl MemoryEncoder {
    /// Loads `memory_encoder.*` for image features of `embed_dim` channels.
    pub fn new(cfg: &MemoryEncoderConfig, embed_dim: usize, vb: VarBuilder) -> Result<Self> {
        let layer = &cfg.fuser.layer;
        let fuser = (0..cfg.fuser.num_layers)
            .map(|i| {
                CxBlock::new(
                    layer.dim,
                    layer.kernel_size,
                    layer.padding,
                    vb.pp("fuser").pp("layers").pp(i),
                )
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            downsampler: MaskDownSampler::new(cfg, embed_dim, vb.pp("mask_downsampler"))?,
            pix_feat_proj: conv2d(
                embed_dim,
                embed_dim,
                1,
                Default::default(),
                vb.pp("pix_feat_proj"),
            )?,
            fuser,
            out_proj: conv2d(
                embed_dim,
                cfg.out_dim,
                1,
                Default::default(),
                vb.pp("out_proj"),
            )?,
            mem_dim: cfg.out_dim,
        })
    }

    /// `pix_feat (b, E, g, g)` (the raw image embedding) and `mask (b, 1, S, S)` (already
    /// scaled to logits as the memory wants them) -> `(features, position)`, each
    /// `(b, mem_dim, g, g)`.
    pub fn forward(&self, pix_feat: &Tensor, mask: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut x = (self.pix_feat_proj.forward(pix_feat)? + self.downsampler.forward(mask)?)?;
        for block in &self.fuser {
            x = block.forward(&x)?;
        }
        let x = self.out_proj.forward(&x)?;
        let (b, _, h, w) = x.dims4()?;
        let pos = sine_position(self.mem_dim, h, w, x.device())?
            .to_dtype(x.dtype())?
            .broadcast_as((b, self.mem_dim, h, w))?
            .contiguous()?;
        Ok((x, pos))
    }
}
