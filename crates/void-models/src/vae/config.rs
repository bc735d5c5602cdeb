//! `vae/config.json` of a CogVideoX VAE (`AutoencoderKLCogVideoX`), as diffusers writes it.
//!
//! Keys that fix the architecture default to diffusers' `__init__` defaults, which are the
//! CogVideoX VAE's. Unknown keys (`_class_name`, `invert_scale_latents`, …) are ignored.
//! [`VaeConfig::check`] refuses the variants this port does not implement.

use serde::Deserialize;

use crate::{Error, Result};

fn default_channels() -> usize {
    3
}
fn default_block_out_channels() -> Vec<usize> {
    vec![128, 256, 256, 512]
}
fn default_down_blocks() -> Vec<String> {
    vec!["CogVideoXDownBlock3D".into(); 4]
}
fn default_up_blocks() -> Vec<String> {
    vec!["CogVideoXUpBlock3D".into(); 4]
}
fn default_latent_channels() -> usize {
    16
}
fn default_layers_per_block() -> usize {
    3
}
fn default_silu() -> String {
    "silu".into()
}
fn default_norm_eps() -> f64 {
    1e-6
}
fn default_norm_groups() -> usize {
    32
}
fn default_temporal_compression() -> f64 {
    4.0
}
fn default_sample_height() -> usize {
    480
}
fn default_sample_width() -> usize {
    720
}
fn default_scaling_factor() -> f64 {
    1.15258426
}

/// The VAE's hyper-parameters (diffusers `AutoencoderKLCogVideoX` config keys).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct VaeConfig {
    /// Video channels in (3).
    #[serde(default = "default_channels")]
    pub in_channels: usize,
    /// Video channels out (3).
    #[serde(default = "default_channels")]
    pub out_channels: usize,
    /// Encoder block kinds (only `CogVideoXDownBlock3D`).
    #[serde(default = "default_down_blocks")]
    pub down_block_types: Vec<String>,
    /// Decoder block kinds (only `CogVideoXUpBlock3D`).
    #[serde(default = "default_up_blocks")]
    pub up_block_types: Vec<String>,
    /// Channels of each resolution level, finest first (128, 256, 256, 512).
    #[serde(default = "default_block_out_channels")]
    pub block_out_channels: Vec<usize>,
    /// Latent channels (16).
    #[serde(default = "default_latent_channels")]
    pub latent_channels: usize,
    /// Resnets per encoder block (3; decoder blocks have one more).
    #[serde(default = "default_layers_per_block")]
    pub layers_per_block: usize,
    /// Activation (only `silu`).
    #[serde(default = "default_silu")]
    pub act_fn: String,
    /// GroupNorm epsilon of the resnets.
    #[serde(default = "default_norm_eps")]
    pub norm_eps: f64,
    /// GroupNorm groups.
    #[serde(default = "default_norm_groups")]
    pub norm_num_groups: usize,
    /// Frames per latent frame (4: the first `log2` levels also halve time).
    #[serde(default = "default_temporal_compression")]
    pub temporal_compression_ratio: f64,
    /// Training height; half of it is the default tile height of tiled coding.
    #[serde(default = "default_sample_height")]
    pub sample_height: usize,
    /// Training width; half of it is the default tile width of tiled coding.
    #[serde(default = "default_sample_width")]
    pub sample_width: usize,
    /// Latents are `mean * scaling_factor` (0.7 for CogVideoX-Fun V1.5).
    #[serde(default = "default_scaling_factor")]
    pub scaling_factor: f64,
    /// Must be absent or null.
    #[serde(default)]
    pub shift_factor: Option<f64>,
    /// A 1x1x1 conv after the encoder (must be false).
    #[serde(default)]
    pub use_quant_conv: bool,
    /// A 1x1x1 conv before the decoder (must be false).
    #[serde(default)]
    pub use_post_quant_conv: bool,
}

impl VaeConfig {
    /// Parses `config.json` text and [`check`](Self::check)s it.
    ///
    /// # Errors
    /// Malformed JSON, or a config this port does not implement.
    pub fn from_json(text: &str) -> Result<Self> {
        let config: Self = serde_json::from_str(text)
            .map_err(|e| Error::Unsupported(format!("vae config: {e}")))?;
        config.check()?;
        Ok(config)
    }

    /// Refuses configs this port does not implement.
    ///
    /// # Errors
    /// [`Error::Unsupported`] naming the key.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Unsupported(m));
        let levels = self.block_out_channels.len();
        if levels == 0 {
            return bad("block_out_channels is empty".into());
        }
        if self.down_block_types.len() != levels || self.up_block_types.len() != levels {
            return bad(format!(
                "{} down and {} up blocks for {levels} block_out_channels",
                self.down_block_types.len(),
                self.up_block_types.len()
            ));
        }
        if let Some(b) = self
            .down_block_types
            .iter()
            .find(|b| *b != "CogVideoXDownBlock3D")
        {
            return bad(format!("down block {b:?} (only CogVideoXDownBlock3D)"));
        }
        if let Some(b) = self
            .up_block_types
            .iter()
            .find(|b| *b != "CogVideoXUpBlock3D")
        {
            return bad(format!("up block {b:?} (only CogVideoXUpBlock3D)"));
        }
        if self.act_fn != "silu" && self.act_fn != "swish" {
            return bad(format!("act_fn {:?} (only silu)", self.act_fn));
        }
        if let Some(c) = self
            .block_out_channels
            .iter()
            .find(|c| self.norm_num_groups == 0 || **c == 0 || **c % self.norm_num_groups != 0)
        {
            return bad(format!(
                "{c} channels do not split into {} groups",
                self.norm_num_groups
            ));
        }
        let levels_t = self.temporal_levels();
        if 2f64.powi(levels_t as i32) != self.temporal_compression_ratio || levels_t >= levels {
            return bad(format!(
                "temporal_compression_ratio {} (a power of two below 2^{levels})",
                self.temporal_compression_ratio
            ));
        }
        if self.shift_factor.is_some_and(|s| s != 0.0) {
            return bad("shift_factor".into());
        }
        if self.use_quant_conv || self.use_post_quant_conv {
            return bad("use_quant_conv / use_post_quant_conv".into());
        }
        Ok(())
    }

    /// How many levels also halve time: `log2(temporal_compression_ratio)`.
    pub fn temporal_levels(&self) -> usize {
        self.temporal_compression_ratio.log2().round().max(0.0) as usize
    }

    /// Pixels per latent pixel along H and W: `2^(levels - 1)`.
    pub fn spatial_factor(&self) -> usize {
        1 << (self.block_out_channels.len() - 1)
    }

    /// Latent frames for `frames` video frames as the chunked encoder produces them.
    pub fn latent_frames(&self, frames: usize) -> usize {
        super::chunks::encode_chunks(frames)
            .map(|c| super::chunks::encoded_len(c.len(), self.temporal_levels()))
            .sum()
    }

    /// Video frames the decoder makes of `latents` latent frames (VOID's chunking: 22 -> 85).
    pub fn decoded_frames(&self, latents: usize) -> usize {
        super::chunks::decode_chunks(latents)
            .enumerate()
            .map(|(i, c)| super::chunks::decoded_len(c.len(), i == 0, self.temporal_levels()))
            .sum()
    }
}
