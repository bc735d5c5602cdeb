//! `text_encoder/config.json` of a T5 encoder, as transformers' `T5Config` writes it.
//!
//! The keys that fix the architecture are required; the rest default to transformers 4.57.1
//! `T5Config.__init__` defaults. Unknown keys (`architectures`, `dropout_rate`, …) are ignored.
//! The feed-forward activation follows transformers: `dense_act_fn` and `is_gated_act` as
//! stored, else derived from `feed_forward_proj` (`"gated-gelu"` means gated `gelu_new`).

use serde::Deserialize;

use crate::{Error, Result};

fn default_buckets() -> usize {
    32
}
fn default_max_distance() -> usize {
    128
}
fn default_eps() -> f64 {
    1e-6
}
fn default_relu() -> String {
    "relu".into()
}

/// The feed-forward activations this port implements (transformers `ACT2FN` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Activation {
    /// `relu` (original T5).
    Relu,
    /// `gelu_new`: the tanh approximation written out op by op (T5 v1.1, Flan-T5).
    GeluNew,
    /// `gelu_pytorch_tanh`: the tanh approximation, PyTorch's fused kernel.
    GeluPytorchTanh,
    /// `gelu`: the exact (erf) GELU.
    Gelu,
    /// `silu` or `swish`.
    Silu,
}

impl Activation {
    /// The activation named `name` in transformers' `ACT2FN`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for any other name.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "relu" => Self::Relu,
            "gelu_new" => Self::GeluNew,
            "gelu_pytorch_tanh" => Self::GeluPytorchTanh,
            "gelu" => Self::Gelu,
            "silu" | "swish" => Self::Silu,
            other => {
                return Err(Error::Unsupported(format!(
                    "T5 dense_act_fn {other:?}; supported: relu, gelu_new, gelu_pytorch_tanh, gelu, silu"
                )));
            }
        })
    }
}

/// A T5 encoder's hyper-parameters (transformers `T5Config` keys).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct T5Config {
    /// Token embeddings (32128 for T5 v1.1).
    pub vocab_size: usize,
    /// Width of the residual stream (4096 for XXL).
    pub d_model: usize,
    /// Width of one attention head (64).
    pub d_kv: usize,
    /// Width of the feed-forward layer (10240 for v1.1 XXL).
    pub d_ff: usize,
    /// Encoder blocks (24 for XXL).
    pub num_layers: usize,
    /// Attention heads (64 for XXL).
    pub num_heads: usize,
    /// Relative-position buckets (32), half per direction.
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    /// Distance from which all relative positions share the last bucket (128).
    #[serde(default = "default_max_distance")]
    pub relative_attention_max_distance: usize,
    /// RMSNorm epsilon (1e-6).
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    /// `"{act}"` or `"gated-{act}"` (`"gated-gelu"` for v1.1, `"relu"` for the original T5).
    #[serde(default = "default_relu")]
    pub feed_forward_proj: String,
    /// The activation as stored; derived from `feed_forward_proj` when absent.
    #[serde(default)]
    pub dense_act_fn: Option<String>,
    /// Gated feed-forward (`wi_0`, `wi_1`) as stored; derived from `feed_forward_proj` when
    /// absent.
    #[serde(default)]
    pub is_gated_act: Option<bool>,
    /// A decoder stack (causal self-attention); an encoder has `false`.
    #[serde(default)]
    pub is_decoder: bool,
}

impl T5Config {
    /// Parses a transformers `config.json` and [`Self::check`]s it.
    ///
    /// # Errors
    /// [`Error::Unsupported`] naming the missing key or bad value.
    pub fn from_json(text: &str) -> Result<Self> {
        let config: Self =
            serde_json::from_str(text).map_err(|e| Error::Unsupported(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    /// Heads x head width: the width of q, k, v (4096 for XXL; need not equal `d_model`).
    pub fn inner_dim(&self) -> usize {
        self.num_heads * self.d_kv
    }

    /// `feed_forward_proj` split as transformers does: (gated, activation name).
    fn parsed_proj(&self) -> Result<(bool, String)> {
        let parts: Vec<&str> = self.feed_forward_proj.split('-').collect();
        match parts.as_slice() {
            [act] => Ok((false, (*act).to_string())),
            ["gated", "gelu"] => Ok((true, "gelu_new".to_string())),
            ["gated", act] => Ok((true, (*act).to_string())),
            _ => Err(Error::Unsupported(format!(
                "feed_forward_proj {:?} is not \"{{act}}\" or \"gated-{{act}}\"",
                self.feed_forward_proj
            ))),
        }
    }

    /// Whether the feed-forward is gated (`act(wi_0 x) ⊙ wi_1 x`), else `act(wi x)`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a malformed `feed_forward_proj`.
    pub fn is_gated(&self) -> Result<bool> {
        let (gated, _) = self.parsed_proj()?;
        Ok(self.is_gated_act.unwrap_or(gated))
    }

    /// The feed-forward activation.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a malformed `feed_forward_proj` or an activation this port
    /// does not implement.
    pub fn activation(&self) -> Result<Activation> {
        let (_, derived) = self.parsed_proj()?;
        Activation::from_name(self.dense_act_fn.as_deref().unwrap_or(&derived))
    }

    /// Refuses the variants this port does not implement.
    ///
    /// # Errors
    /// [`Error::Unsupported`] with the key and value.
    pub fn check(&self) -> Result<()> {
        let refuse = |what: String| Err(Error::Unsupported(what));
        self.is_gated()?;
        self.activation()?;
        if self.is_decoder {
            return refuse("is_decoder is true; only the T5 encoder is implemented".into());
        }
        let sizes = [
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("d_kv", self.d_kv),
            ("d_ff", self.d_ff),
            ("num_layers", self.num_layers),
            ("num_heads", self.num_heads),
        ];
        if let Some((key, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return refuse(format!("{key} is 0"));
        }
        // Bidirectional buckets: half per direction, half of those exact, the rest logarithmic
        // up to max_distance.
        let max_exact = self.relative_attention_num_buckets / 4;
        if max_exact == 0 || self.relative_attention_max_distance <= max_exact {
            return refuse(format!(
                "relative_attention_num_buckets {} with relative_attention_max_distance {}: need at least 4 buckets and a max distance above a quarter of them",
                self.relative_attention_num_buckets, self.relative_attention_max_distance
            ));
        }
        if self.layer_norm_epsilon.is_nan() || self.layer_norm_epsilon <= 0.0 {
            return refuse(format!(
                "layer_norm_epsilon {} is not positive",
                self.layer_norm_epsilon
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text_encoder/config.json` of CogVideoX-Fun-V1.5-5b-InP (google/t5-v1_1-xxl's encoder),
    /// written from the key table of void-inference-spec §4 and transformers' `T5Config`.
    const T5_V1_1_XXL: &str = include_str!("../../tests/configs/t5_v1_1_xxl_encoder.json");

    #[test]
    fn reads_the_real_xxl_config() {
        let c = T5Config::from_json(T5_V1_1_XXL).unwrap();
        assert_eq!(
            (c.d_model, c.num_layers, c.num_heads, c.d_kv, c.d_ff),
            (4096, 24, 64, 64, 10240)
        );
        assert_eq!(
            (
                c.vocab_size,
                c.relative_attention_num_buckets,
                c.relative_attention_max_distance
            ),
            (32128, 32, 128)
        );
        assert!(c.is_gated().unwrap());
        assert_eq!(c.activation().unwrap(), Activation::GeluNew);
        assert_eq!(c.layer_norm_epsilon, 1e-6);
    }

    #[test]
    fn derives_the_activation_like_transformers() {
        let base = r#"{"vocab_size": 10, "d_model": 8, "d_kv": 4, "d_ff": 16, "num_layers": 1, "num_heads": 2"#;
        let parse = |extra: &str| T5Config::from_json(&format!("{base}{extra}}}"));
        // No feed_forward_proj: transformers' default "relu", not gated.
        let c = parse("").unwrap();
        assert_eq!(
            (c.is_gated().unwrap(), c.activation().unwrap()),
            (false, Activation::Relu)
        );
        let c = parse(r#", "feed_forward_proj": "gated-gelu""#).unwrap();
        assert_eq!(
            (c.is_gated().unwrap(), c.activation().unwrap()),
            (true, Activation::GeluNew)
        );
        let c = parse(r#", "feed_forward_proj": "gated-silu""#).unwrap();
        assert_eq!(
            (c.is_gated().unwrap(), c.activation().unwrap()),
            (true, Activation::Silu)
        );
        // Stored dense_act_fn / is_gated_act win, as in transformers (kwargs set after __init__).
        let c = parse(
            r#", "feed_forward_proj": "gated-gelu", "dense_act_fn": "relu", "is_gated_act": false"#,
        )
        .unwrap();
        assert_eq!(
            (c.is_gated().unwrap(), c.activation().unwrap()),
            (false, Activation::Relu)
        );

        for bad in [
            r#", "feed_forward_proj": "gelu-gated""#,
            r#", "feed_forward_proj": "gated-gelu-x""#,
            r#", "feed_forward_proj": "quick_gelu""#,
            r#", "is_decoder": true"#,
            r#", "relative_attention_num_buckets": 2"#,
        ] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, Error::Unsupported(_)), "{bad}: {err}");
        }
        let err = T5Config::from_json(r#"{"d_model": 8}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field"), "{err}");
    }
}
