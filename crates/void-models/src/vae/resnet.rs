//! `CogVideoXResnetBlock3D`: two norm–SiLU–causal-conv stages and a residual.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::conv::{CausalConv3d, FrameCache, PointwiseConv3d};
use super::norm::{GroupNorm, SpatialNorm3D};
use super::silu;
use crate::{Error, Result};

/// The encoder's plain GroupNorm or the decoder's latent-conditioned norm.
#[derive(Clone, Debug)]
enum Norm {
    Group(GroupNorm),
    Spatial(SpatialNorm3D),
}

impl Norm {
    fn new(
        channels: usize,
        groups: usize,
        eps: f64,
        zq_channels: Option<usize>,
        vb: VarBuilder,
    ) -> Result<Self> {
        Ok(match zq_channels {
            None => Self::Group(GroupNorm::new(groups, channels, eps, vb)?),
            Some(zc) => Self::Spatial(SpatialNorm3D::new(channels, zc, groups, vb)?),
        })
    }

    fn forward(&self, x: &Tensor, zq: Option<&Tensor>, cache: &mut FrameCache) -> Result<Tensor> {
        match (self, zq) {
            (Self::Group(n), _) => n.forward(x),
            (Self::Spatial(n), Some(zq)) => n.forward(x, zq, cache),
            (Self::Spatial(_), None) => Err(Error::Unsupported(
                "a decoder norm was called without its latent".into(),
            )),
        }
    }
}

/// One resnet: `norm1 → SiLU → conv1 → norm2 → SiLU → conv2`, plus the input (through a
/// pointwise `conv_shortcut` when the width changes).
#[derive(Clone, Debug)]
pub struct ResnetBlock3D {
    norm1: Norm,
    conv1: CausalConv3d,
    norm2: Norm,
    conv2: CausalConv3d,
    shortcut: Option<PointwiseConv3d>,
}

impl ResnetBlock3D {
    /// Loads a resnet from `c_in` to `c_out` channels; `zq_channels` makes its norms
    /// [`SpatialNorm3D`] (decoder), otherwise GroupNorm with `eps` (encoder).
    pub fn new(
        c_in: usize,
        c_out: usize,
        groups: usize,
        eps: f64,
        zq_channels: Option<usize>,
        vb: VarBuilder,
    ) -> Result<Self> {
        let shortcut = (c_in != c_out)
            .then(|| PointwiseConv3d::new(c_in, c_out, vb.pp("conv_shortcut")))
            .transpose()?;
        Ok(Self {
            norm1: Norm::new(c_in, groups, eps, zq_channels, vb.pp("norm1"))?,
            conv1: CausalConv3d::new(c_in, c_out, 3, vb.pp("conv1"))?,
            norm2: Norm::new(c_out, groups, eps, zq_channels, vb.pp("norm2"))?,
            conv2: CausalConv3d::new(c_out, c_out, 3, vb.pp("conv2"))?,
            shortcut,
        })
    }

    /// Runs the block on `x` `(b, c, t, h, w)`; `zq` is the decoder's latent chunk.
    pub fn forward(
        &self,
        x: &Tensor,
        zq: Option<&Tensor>,
        cache: &mut FrameCache,
    ) -> Result<Tensor> {
        let h = silu(&self.norm1.forward(x, zq, cache)?)?;
        let h = self.conv1.forward(&h, cache)?;
        let h = silu(&self.norm2.forward(&h, zq, cache)?)?;
        let h = self.conv2.forward(&h, cache)?;
        let skip = match &self.shortcut {
            Some(conv) => conv.forward(x)?,
            None => x.clone(),
        };
        Ok((h + skip)?)
    }
}
