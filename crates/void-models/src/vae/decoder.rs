//! `CogVideoXDecoder3D`: latent chunk -> video chunk, every norm conditioned on the latent.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::config::VaeConfig;
use super::conv::{CausalConv3d, FrameCache};
use super::norm::SpatialNorm3D;
use super::resnet::ResnetBlock3D;
use super::sampling::Upsample3D;
use super::silu;
use crate::Result;

/// One resolution level: resnets, then (except at the last level) an upsampler.
#[derive(Clone, Debug)]
struct UpBlock {
    resnets: Vec<ResnetBlock3D>,
    upsampler: Option<Upsample3D>,
}

/// The decoder: `conv_in`, a two-resnet mid block, up blocks of `layers_per_block + 1`
/// resnets, `norm_out` (spatial), SiLU, `conv_out`.
#[derive(Clone, Debug)]
pub struct Decoder3D {
    conv_in: CausalConv3d,
    mid: Vec<ResnetBlock3D>,
    up_blocks: Vec<UpBlock>,
    norm_out: SpatialNorm3D,
    conv_out: CausalConv3d,
}

impl Decoder3D {
    /// Loads the decoder (`decoder.*` keys under `vb`).
    pub fn new(cfg: &VaeConfig, vb: VarBuilder) -> Result<Self> {
        let chans: Vec<usize> = cfg.block_out_channels.iter().rev().copied().collect();
        let (groups, eps, zc) = (cfg.norm_num_groups, cfg.norm_eps, Some(cfg.latent_channels));
        let top = chans[0];
        let mid = (0..2)
            .map(|j| {
                ResnetBlock3D::new(
                    top,
                    top,
                    groups,
                    eps,
                    zc,
                    vb.pp(format!("mid_block.resnets.{j}")),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let mut up_blocks = Vec::with_capacity(chans.len());
        let mut c_in = top;
        for (i, &c_out) in chans.iter().enumerate() {
            let vb = vb.pp(format!("up_blocks.{i}"));
            let resnets = (0..=cfg.layers_per_block)
                .map(|j| {
                    let c = if j == 0 { c_in } else { c_out };
                    ResnetBlock3D::new(c, c_out, groups, eps, zc, vb.pp(format!("resnets.{j}")))
                })
                .collect::<Result<Vec<_>>>()?;
            let upsampler = (i + 1 < chans.len())
                .then(|| Upsample3D::new(c_out, i < cfg.temporal_levels(), vb.pp("upsamplers.0")))
                .transpose()?;
            up_blocks.push(UpBlock { resnets, upsampler });
            c_in = c_out;
        }
        let bottom = chans[chans.len() - 1];
        Ok(Self {
            conv_in: CausalConv3d::new(cfg.latent_channels, top, 3, vb.pp("conv_in"))?,
            mid,
            up_blocks,
            norm_out: SpatialNorm3D::new(bottom, cfg.latent_channels, groups, vb.pp("norm_out"))?,
            conv_out: CausalConv3d::new(bottom, cfg.out_channels, 3, vb.pp("conv_out"))?,
        })
    }

    /// Decodes one latent chunk `z` `(b, latent, t, h, w)` to video, continuing from and
    /// renewing `cache`. `first_chunk` marks the decode's first chunk (one latent frame, one
    /// video frame).
    pub fn forward(&self, z: &Tensor, first_chunk: bool, cache: &mut FrameCache) -> Result<Tensor> {
        cache.rewind();
        let mut h = self.conv_in.forward(z, cache)?;
        for resnet in &self.mid {
            h = resnet.forward(&h, Some(z), cache)?;
        }
        for block in &self.up_blocks {
            for resnet in &block.resnets {
                h = resnet.forward(&h, Some(z), cache)?;
            }
            if let Some(up) = &block.upsampler {
                h = up.forward(&h, first_chunk)?;
            }
        }
        let h = silu(&self.norm_out.forward(&h, z, cache)?)?;
        self.conv_out.forward(&h, cache)
    }
}
