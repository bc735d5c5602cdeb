//! The T5 text encoder: google/t5-v1_1-xxl's encoder as VOID uses it (`T5EncoderModel`).
//!
//! Port of transformers 4.57.1 `models/t5/modeling_t5.py` (`T5EncoderModel`, `T5Stack`,
//! `T5Block`, `T5Attention`, `T5LayerNorm`, `T5DenseGatedActDense`) for the encoder, as VOID calls
//! it (void-inference-spec §4): weights by their transformers key names, config from
//! `text_encoder/config.json` ([`T5Config`]). Paper: <https://arxiv.org/abs/1910.10683>; weights:
//! <https://huggingface.co/google/t5-v1_1-xxl>.
//!
//! Shapes: `input_ids (b, l)` integer token ids (VOID: `(1, 226)`, the prompt's ids, `</s>`,
//! then 0s) -> `last_hidden_state (b, l, d_model)` in the weights' dtype (VOID: bf16,
//! `(1, 226, 4096)`). There is no attention mask, on purpose: the reference passes none, so
//! all positions, padding included, attend to each other (spec §4).
//!
//! Weights may be f32 or bf16; activations follow the weights. As in transformers, RMSNorm
//! variances and the attention softmax are computed in f32 and cast back, and the position
//! bias (block 0's, shared by every block) is added to the scores in the model dtype.

mod config;
mod layers;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, VarBuilder, embedding};

pub use config::{Activation, T5Config};
pub use layers::relative_position_bucket;

use crate::{Error, Result};
use layers::{T5Block, T5LayerNorm};

/// The T5 encoder: token embedding, `num_layers` blocks, final RMSNorm.
#[derive(Clone, Debug)]
pub struct T5EncoderModel {
    config: T5Config,
    shared: Embedding,
    block: Vec<T5Block>,
    final_layer_norm: T5LayerNorm,
}

impl T5EncoderModel {
    /// Builds the encoder from `vb` (transformers key names, no prefix: `shared.weight`,
    /// `encoder.block.{i}.…`, `encoder.final_layer_norm.weight`); its dtype is `vb`'s.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for configs this port does not implement; [`Error::Candle`] for a
    /// missing weight or one of the wrong shape (the message names the key).
    pub fn new(config: &T5Config, vb: VarBuilder) -> Result<Self> {
        config.check()?;
        let encoder = vb.pp("encoder");
        let block = (0..config.num_layers)
            .map(|i| T5Block::new(config, i == 0, encoder.pp("block").pp(i)))
            .collect::<Result<_>>()?;
        Ok(Self {
            shared: embedding(config.vocab_size, config.d_model, vb.pp("shared"))?,
            block,
            final_layer_norm: T5LayerNorm::new(
                config.d_model,
                config.layer_norm_epsilon,
                encoder.pp("final_layer_norm"),
            )?,
            config: config.clone(),
        })
    }

    /// The model's config.
    pub fn config(&self) -> &T5Config {
        &self.config
    }

    /// The dtype of the weights, activations and output.
    pub fn dtype(&self) -> DType {
        self.shared.embeddings().dtype()
    }

    /// The device the weights are on.
    pub fn device(&self) -> &Device {
        self.shared.embeddings().device()
    }

    /// `last_hidden_state (b, l, d_model)` of `input_ids (b, l)` (any integer dtype, on any
    /// device), in the model's dtype, without an attention mask.
    ///
    /// # Errors
    /// [`Error::BadInput`] for a shape other than `(b, l)` with `l > 0` or float ids,
    /// [`Error::TokenOutOfRange`] for an id outside `0..vocab_size`.
    pub fn forward(&self, input_ids: &Tensor) -> Result<Tensor> {
        let ids = self.checked_ids(input_ids)?;
        let len = ids.dim(1)?;
        let mut hidden = self.shared.forward(&ids)?;
        let bias = self.block[0]
            .attention()
            .compute_bias(len, self.device())?
            .ok_or_else(|| Error::Unsupported("block 0 has no relative_attention_bias".into()))?;
        for block in &self.block {
            hidden = block.forward(&hidden, &bias)?;
        }
        Ok(self.final_layer_norm.forward(&hidden)?)
    }

    /// The ids as u32 on the model's device, after checking shape, dtype and range.
    fn checked_ids(&self, input_ids: &Tensor) -> Result<Tensor> {
        let bad = |expected: &str| Error::BadInput {
            name: "input_ids",
            expected: expected.to_string(),
            found: input_ids.dims().to_vec(),
        };
        let (b, l) = input_ids
            .dims2()
            .map_err(|_| bad("(batch, length) token ids"))?;
        if b == 0 || l == 0 {
            return Err(bad("a non-empty (batch, length)"));
        }
        if input_ids.dtype().is_float() {
            return Err(bad(&format!(
                "integer token ids, not {:?}",
                input_ids.dtype()
            )));
        }
        let ids: Vec<i64> = input_ids
            .to_device(&Device::Cpu)?
            .to_dtype(DType::I64)?
            .flatten_all()?
            .to_vec1()?;
        let vocab_size = self.config.vocab_size;
        if let Some(&id) = ids
            .iter()
            .find(|&&id| id < 0 || id as u64 >= vocab_size as u64)
        {
            return Err(Error::TokenOutOfRange {
                name: "input_ids",
                id,
                vocab_size,
            });
        }
        let ids: Vec<u32> = ids.into_iter().map(|id| id as u32).collect();
        Ok(Tensor::from_vec(ids, (b, l), self.device())?)
    }
}
