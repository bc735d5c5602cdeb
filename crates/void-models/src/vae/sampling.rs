//! Resolution changes: the encoder's `CogVideoXDownsample3D` (diffusers) and the decoder's
//! `CogVideoXUpsample3D` (VOID's vendored copy, whose time doubling depends on the chunk).

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::conv::FrameConv2d;
use super::resize::double;
use crate::Result;

/// Halves H and W (zero pad right and bottom, 3x3 stride-2 conv per frame) and, with
/// `compress_time`, time first: frames averaged in pairs, an odd chunk's first frame kept.
#[derive(Clone, Debug)]
pub struct Downsample3D {
    conv: FrameConv2d,
    compress_time: bool,
}

impl Downsample3D {
    /// Loads it for `channels` channels (`conv.weight` `[c, c, 3, 3]`).
    pub fn new(channels: usize, compress_time: bool, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            conv: FrameConv2d::new(channels, channels, 3, 0, 2, vb)?,
            compress_time,
        })
    }

    /// Downsamples `x` `(b, c, t, h, w)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = if self.compress_time {
            let (b, c, t, h, w) = x.dims5()?;
            let keep = t % 2;
            let pairs = x
                .narrow(2, keep, t - keep)?
                .reshape((b, c, (t - keep) / 2, 2, h, w))?
                .mean(3)?;
            if keep == 1 {
                Tensor::cat(&[&x.narrow(2, 0, 1)?, &pairs], 2)?
            } else {
                pairs
            }
        } else {
            x.clone()
        };
        let x = x.pad_with_zeros(4, 0, 1)?.pad_with_zeros(3, 0, 1)?;
        self.conv.forward(&x)
    }
}

/// Doubles H and W (nearest) and, with `compress_time`, time too — except on the first
/// chunk of a decode (one latent frame), which VOID's decoder only doubles spatially. Then a
/// 3x3 conv per frame.
#[derive(Clone, Debug)]
pub struct Upsample3D {
    conv: FrameConv2d,
    compress_time: bool,
}

impl Upsample3D {
    /// Loads it for `channels` channels (`conv.weight` `[c, c, 3, 3]`).
    pub fn new(channels: usize, compress_time: bool, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            conv: FrameConv2d::new(channels, channels, 3, 1, 1, vb)?,
            compress_time,
        })
    }

    /// Upsamples `x` `(b, c, t, h, w)`; `first_chunk` marks the decode's first chunk.
    pub fn forward(&self, x: &Tensor, first_chunk: bool) -> Result<Tensor> {
        let dims: &[usize] = if self.compress_time && !first_chunk {
            &[2, 3, 4]
        } else {
            &[3, 4]
        };
        self.conv.forward(&double(x, dims)?)
    }
}
