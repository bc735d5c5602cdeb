//! `CogVideoXEncoder3D`: video chunk -> latent moments (mean and log-variance).

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::config::VaeConfig;
use super::conv::{CausalConv3d, FrameCache};
use super::norm::GroupNorm;
use super::resnet::ResnetBlock3D;
use super::sampling::Downsample3D;
use super::silu;
use crate::Result;

/// One resolution level: resnets, then (except at the last level) a downsampler.
#[derive(Clone, Debug)]
struct DownBlock {
    resnets: Vec<ResnetBlock3D>,
    downsampler: Option<Downsample3D>,
}

/// The encoder: `conv_in`, down blocks, a two-resnet mid block, `norm_out`, SiLU, `conv_out`
/// to `2 * latent_channels` moments.
#[derive(Clone, Debug)]
pub struct Encoder3D {
    conv_in: CausalConv3d,
    down_blocks: Vec<DownBlock>,
    mid: Vec<ResnetBlock3D>,
    norm_out: GroupNorm,
    conv_out: CausalConv3d,
}

impl Encoder3D {
    /// Loads the encoder (`encoder.*` keys under `vb`).
    pub fn new(cfg: &VaeConfig, vb: VarBuilder) -> Result<Self> {
        let chans = &cfg.block_out_channels;
        let (groups, eps) = (cfg.norm_num_groups, cfg.norm_eps);
        let mut down_blocks = Vec::with_capacity(chans.len());
        let mut c_in = chans[0];
        for (i, &c_out) in chans.iter().enumerate() {
            let vb = vb.pp(format!("down_blocks.{i}"));
            let resnets = (0..cfg.layers_per_block)
                .map(|j| {
                    let c = if j == 0 { c_in } else { c_out };
                    ResnetBlock3D::new(c, c_out, groups, eps, None, vb.pp(format!("resnets.{j}")))
                })
                .collect::<Result<Vec<_>>>()?;
            let downsampler = (i + 1 < chans.len())
                .then(|| {
                    Downsample3D::new(c_out, i < cfg.temporal_levels(), vb.pp("downsamplers.0"))
                })
                .transpose()?;
            down_blocks.push(DownBlock {
                resnets,
                downsampler,
            });
            c_in = c_out;
        }
        let last = chans[chans.len() - 1];
        let mid = (0..2)
            .map(|j| {
                ResnetBlock3D::new(
                    last,
                    last,
                    groups,
                    eps,
                    None,
                    vb.pp(format!("mid_block.resnets.{j}")),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            conv_in: CausalConv3d::new(cfg.in_channels, chans[0], 3, vb.pp("conv_in"))?,
            down_blocks,
            mid,
            norm_out: GroupNorm::new(groups, last, 1e-6, vb.pp("norm_out"))?,
            conv_out: CausalConv3d::new(last, 2 * cfg.latent_channels, 3, vb.pp("conv_out"))?,
        })
    }

    /// Encodes one chunk `x` `(b, c, t, h, w)` to moments `(b, 2 * latent, t', h/8, w/8)`,
    /// continuing from and renewing `cache`.
    pub fn forward(&self, x: &Tensor, cache: &mut FrameCache) -> Result<Tensor> {
        cache.rewind();
        let mut h = self.conv_in.forward(x, cache)?;
        for block in &self.down_blocks {
            for resnet in &block.resnets {
                h = resnet.forward(&h, None, cache)?;
            }
            if let Some(down) = &block.downsampler {
                h = down.forward(&h)?;
            }
        }
        for resnet in &self.mid {
            h = resnet.forward(&h, None, cache)?;
        }
        let h = silu(&self.norm_out.forward(&h)?)?;
        self.conv_out.forward(&h, cache)
    }
}
