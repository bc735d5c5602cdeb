//! `transformer/config.json` of a CogVideoX(-Fun) transformer, as diffusers writes it.
//!
//! Keys that fix the architecture are required; the rest default to diffusers'
//! `CogVideoXTransformer3DModel.__init__` defaults. Unknown keys (`_class_name`, …) are ignored.
//! [`TransformerConfig::check`] refuses the variants this port does not implement.

use serde::Deserialize;

use crate::{Error, Result};

fn default_true() -> bool {
    true
}
fn default_out_channels() -> usize {
    16
}
fn default_norm_eps() -> f64 {
    1e-5
}
fn default_gelu_tanh() -> String {
    "gelu-approximate".into()
}
fn default_silu() -> String {
    "silu".into()
}
fn default_sample_height() -> usize {
    60
}
fn default_sample_width() -> usize {
    90
}

/// The transformer's hyper-parameters (diffusers `CogVideoXTransformer3DModel` config keys).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TransformerConfig {
    /// Attention heads (48 for the 5B model).
    pub num_attention_heads: usize,
    /// Channels per head (64).
    pub attention_head_dim: usize,
    /// Latent channels in (48 for VOID: noise, mask latents, video latents).
    pub in_channels: usize,
    /// Latent channels out (16).
    #[serde(default = "default_out_channels")]
    pub out_channels: usize,
    /// Transformer blocks (42).
    pub num_layers: usize,
    /// Spatial patch size (2).
    pub patch_size: usize,
    /// Temporal patch size (2 for CogVideoX 1.5; `null` for 1.0, not supported).
    #[serde(default)]
    pub patch_size_t: Option<usize>,
    /// Width of the text encoder's output (4096 for T5-XXL).
    pub text_embed_dim: usize,
    /// Width of the timestep embedding (512).
    pub time_embed_dim: usize,
    /// Cosine first in the sinusoidal timestep features.
    #[serde(default = "default_true")]
    pub flip_sin_to_cos: bool,
    /// Frequency shift of the sinusoidal timestep features.
    #[serde(default)]
    pub freq_shift: f64,
    /// LayerNorm epsilon of the blocks and the output norm.
    #[serde(default = "default_norm_eps")]
    pub norm_eps: f64,
    /// LayerNorms have weight and bias.
    #[serde(default = "default_true")]
    pub norm_elementwise_affine: bool,
    /// q/k/v projections have a bias.
    #[serde(default = "default_true")]
    pub attention_bias: bool,
    /// Feed-forward activation (only `gelu-approximate`).
    #[serde(default = "default_gelu_tanh")]
    pub activation_fn: String,
    /// Timestep MLP activation (only `silu`).
    #[serde(default = "default_silu")]
    pub timestep_activation_fn: String,
    /// 3-D RoPE on video tokens (required: true).
    #[serde(default)]
    pub use_rotary_positional_embeddings: bool,
    /// Learned absolute positions (required: false).
    #[serde(default)]
    pub use_learned_positional_embeddings: bool,
    /// Offset embedding of CogVideoX 1.5 I2V (required: absent).
    #[serde(default)]
    pub ofs_embed_dim: Option<usize>,
    /// Training height in latent pixels x 8; bounds the RoPE grid.
    #[serde(default = "default_sample_height")]
    pub sample_height: usize,
    /// Training width in latent pixels x 8; bounds the RoPE grid.
    #[serde(default = "default_sample_width")]
    pub sample_width: usize,
}

impl TransformerConfig {
    /// Parses a diffusers `config.json`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] naming the missing key or bad value.
    pub fn from_json(text: &str) -> Result<Self> {
        let config: Self =
            serde_json::from_str(text).map_err(|e| Error::Unsupported(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    /// The same config with another input width (VOID loads the 33-channel base config as 48).
    pub fn with_in_channels(mut self, in_channels: usize) -> Self {
        self.in_channels = in_channels;
        self
    }

    /// Heads x head width (3072).
    pub fn inner_dim(&self) -> usize {
        self.num_attention_heads * self.attention_head_dim
    }

    /// Temporal patch size; [`Self::check`] guarantees it is set.
    pub fn patch_t(&self) -> usize {
        self.patch_size_t.unwrap_or(1)
    }

    /// Refuses the variants this port does not implement.
    ///
    /// # Errors
    /// [`Error::Unsupported`] with the key and value.
    pub fn check(&self) -> Result<()> {
        let refuse = |what: &str| Err(Error::Unsupported(what.to_string()));
        if self.patch_size_t.is_none() {
            return refuse(
                "patch_size_t is null (CogVideoX 1.0); only CogVideoX 1.5 (patch_size_t = 2) is supported",
            );
        }
        if !self.use_rotary_positional_embeddings || self.use_learned_positional_embeddings {
            return refuse(
                "only rotary positions are supported (use_rotary_positional_embeddings = true, use_learned_positional_embeddings = false)",
            );
        }
        if self.ofs_embed_dim.is_some() {
            return refuse("ofs_embed_dim is set (CogVideoX 1.5 I2V); VOID has no ofs embedding");
        }
        if self.activation_fn != "gelu-approximate" || self.timestep_activation_fn != "silu" {
            return refuse(
                "activation_fn must be gelu-approximate and timestep_activation_fn silu",
            );
        }
        if !self.norm_elementwise_affine || !self.attention_bias {
            return refuse("norm_elementwise_affine and attention_bias must be true");
        }
        if !self.attention_head_dim.is_multiple_of(8)
            || self.num_attention_heads == 0
            || self.num_layers == 0
        {
            return refuse("attention_head_dim must be a multiple of 8 (3-D RoPE splits it 2:3:3)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CogVideoX-Fun-V1.5-5b-InP/transformer/config.json`, written from the key table of
    /// void-inference-spec §2.1 (the Hub file cannot be downloaded here).
    pub(crate) const COGVIDEOX_FUN_V15_5B: &str =
        include_str!("../../tests/configs/cogvideox_fun_v15_5b_inp.json");

    #[test]
    fn reads_the_real_5b_config() {
        let c = TransformerConfig::from_json(COGVIDEOX_FUN_V15_5B)
            .unwrap()
            .with_in_channels(48);
        assert_eq!(
            (c.num_layers, c.inner_dim(), c.in_channels, c.out_channels),
            (42, 3072, 48, 16)
        );
        assert_eq!(
            (
                c.patch_size,
                c.patch_t(),
                c.text_embed_dim,
                c.time_embed_dim
            ),
            (2, 2, 4096, 512)
        );
    }

    #[test]
    fn refuses_missing_keys_and_unsupported_variants() {
        let err = TransformerConfig::from_json(r#"{"num_attention_heads": 2}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field"), "{err}");
        let v10 = COGVIDEOX_FUN_V15_5B.replace(r#""patch_size_t": 2"#, r#""patch_size_t": null"#);
        let err = TransformerConfig::from_json(&v10).unwrap_err().to_string();
        assert!(err.contains("CogVideoX 1.0"), "{err}");
    }
}
