//! The VOID transformer: CogVideoX-Fun V1.5 5B (`CogVideoXTransformer3DModel`, 48 input channels).
//!
//! Port of diffusers 0.42.1 `models/transformers/cogvideox_transformer_3d.py` as VOID uses it
//! (void-inference-spec §2): weights by their diffusers key names, config from
//! `transformer/config.json` ([`TransformerConfig`]).
//!
//! Shapes (one 85-frame window at 384x672): `hidden_states (b, 22, 48, 48, 84)` — noise, mask
//! latents and video latents already concatenated on channels — `encoder_hidden_states
//! (b, 226, 4096)`, `timestep (b,)`; output `(b, 22, 16, 48, 84)` f32, the v-prediction.
//! Weights may be f32 or bf16; activations follow the weights, the timestep features, RoPE and
//! softmax are computed in f32 as in PyTorch.

mod block;
mod config;
mod embeddings;
pub mod rope;
pub mod stages;

use candle_core::{DType, Module, Tensor};
use candle_nn::{LayerNorm, Linear, VarBuilder, layer_norm, linear};

pub use block::CogVideoXBlock;
pub use config::TransformerConfig;
pub use embeddings::{CogVideoXPatchEmbed, TimestepEmbedding, timestep_features, unpatchify};

use crate::ops::linear::WeightStorage;
use crate::{Error, Result};

/// `linear(silu(temb))` -> [shift, scale], then `norm(x)·(1+scale)+shift` (diffusers
/// `AdaLayerNorm`, `chunk_dim=1`).
#[derive(Clone, Debug)]
struct AdaLayerNorm {
    linear: Linear,
    norm: LayerNorm,
}

impl AdaLayerNorm {
    fn forward(&self, x: &Tensor, temb: &Tensor) -> candle_core::Result<Tensor> {
        let m = self
            .linear
            .forward(&temb.silu()?)?
            .unsqueeze(1)?
            .chunk(2, 2)?;
        self.norm
            .forward(x)?
            .broadcast_mul(&(&m[1] + 1.0)?)?
            .broadcast_add(&m[0])
    }
}

/// The whole transformer.
#[derive(Clone, Debug)]
pub struct CogVideoXTransformer3DModel {
    config: TransformerConfig,
    dtype: DType,
    patch_embed: CogVideoXPatchEmbed,
    time_embedding: TimestepEmbedding,
    transformer_blocks: Vec<CogVideoXBlock>,
    norm_final: LayerNorm,
    norm_out: AdaLayerNorm,
    proj_out: Linear,
}

impl CogVideoXTransformer3DModel {
    /// Builds the model from `vb` (diffusers key names, no prefix); its dtype is `vb`'s.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for configs this port does not implement; [`Error::Candle`] for a
    /// missing weight or one of the wrong shape (the message names the key).
    pub fn new(config: &TransformerConfig, vb: VarBuilder) -> Result<Self> {
        Self::with_storage(config, vb, WeightStorage::Native)
    }

    /// [`new`](Self::new) with the blocks' linear layers (99.7% of the weights) stored as
    /// `storage` says: [`WeightStorage::Fp8E4M3`] halves the transformer's memory.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_storage(
        config: &TransformerConfig,
        vb: VarBuilder,
        storage: WeightStorage,
    ) -> Result<Self> {
        config.check()?;
        let d = config.inner_dim();
        let out_features =
            config.out_channels * config.patch_size * config.patch_size * config.patch_t();
        let transformer_blocks = (0..config.num_layers)
            .map(|i| CogVideoXBlock::new(config, vb.pp("transformer_blocks").pp(i), storage))
            .collect::<candle_core::Result<_>>()?;
        Ok(Self {
            dtype: vb.dtype(),
            patch_embed: CogVideoXPatchEmbed::new(config, vb.pp("patch_embed"))?,
            time_embedding: TimestepEmbedding::new(
                d,
                config.time_embed_dim,
                vb.pp("time_embedding"),
            )?,
            transformer_blocks,
            norm_final: layer_norm(d, config.norm_eps, vb.pp("norm_final"))?,
            norm_out: AdaLayerNorm {
                linear: linear(config.time_embed_dim, 2 * d, vb.pp("norm_out").pp("linear"))?,
                norm: layer_norm(d, config.norm_eps, vb.pp("norm_out").pp("norm"))?,
            },
            proj_out: linear(d, out_features, vb.pp("proj_out"))?,
            config: config.clone(),
        })
    }

    /// The model's config.
    pub fn config(&self) -> &TransformerConfig {
        &self.config
    }

    /// One denoising forward: `hidden_states (b, f, in_channels, h, w)`,
    /// `encoder_hidden_states (b, l, text_embed_dim)`, `timestep (b,)` (any numeric dtype) ->
    /// `(b, f, out_channels, h, w)` f32. RoPE is computed from the shapes (positions restart at
    /// 0, as for every window of the reference).
    ///
    /// # Errors
    /// [`Error::BadInput`] for inconsistent shapes.
    pub fn forward(
        &self,
        hidden_states: &Tensor,
        encoder_hidden_states: &Tensor,
        timestep: &Tensor,
    ) -> Result<Tensor> {
        let cfg = &self.config;
        let (p, pt) = (cfg.patch_size, cfg.patch_t());
        let (b, f, c, h, w) = hidden_states
            .dims5()
            .map_err(|_| bad("hidden_states", "(b, f, c, h, w)", hidden_states))?;
        if c != cfg.in_channels
            || !f.is_multiple_of(pt)
            || !h.is_multiple_of(p)
            || !w.is_multiple_of(p)
        {
            let want = format!(
                "{} channels, frames divisible by {pt}, height and width by {p}",
                cfg.in_channels
            );
            return Err(bad("hidden_states", &want, hidden_states));
        }
        match encoder_hidden_states.dims3() {
            Ok((tb, _, td)) if tb == b && td == cfg.text_embed_dim => {}
            _ => {
                return Err(bad(
                    "encoder_hidden_states",
                    &format!("(b={b}, l, {})", cfg.text_embed_dim),
                    encoder_hidden_states,
                ));
            }
        }
        if timestep.dims() != [b] {
            return Err(bad("timestep", &format!("(b={b},)"), timestep));
        }
        let device = hidden_states.device();
        let grid = (f / pt, h / p, w / p);

        // 1. Time embedding: sinusoid in f32, cast to the model dtype, MLP.
        let t: Vec<f32> = timestep.to_dtype(DType::F32)?.to_vec1()?;
        let features = timestep_features(
            &t,
            cfg.inner_dim(),
            cfg.flip_sin_to_cos,
            cfg.freq_shift,
            device,
        )?;
        let temb = self
            .time_embedding
            .forward(&features.to_dtype(self.dtype)?)?;

        // 2. Patch embedding: text tokens first, then video tokens.
        let tokens = self.patch_embed.forward(
            &encoder_hidden_states.to_dtype(self.dtype)?,
            &hidden_states.to_dtype(self.dtype)?,
        )?;
        let l = encoder_hidden_states.dim(1)?;

        // 3. Blocks, over the joint sequence.
        let (cos, sin) = rope::rope_3d(cfg.attention_head_dim, grid.0, grid.1, grid.2, device)?;
        let mut x = tokens;
        for block in &self.transformer_blocks {
            x = block.forward(&x, l, &temb, (&cos, &sin))?;
        }
        // contiguous: candle's LayerNorm rounds differently on a strided view (b > 1).
        let video = x.narrow(1, l, x.dim(1)? - l)?.contiguous()?;

        // 4. Output norm, adaLN, projection, unpatchify.
        let video = self
            .norm_out
            .forward(&self.norm_final.forward(&video)?, &temb)?;
        let out = self.proj_out.forward(&video)?;
        Ok(unpatchify(&out, grid, cfg.out_channels, p, pt)?.to_dtype(DType::F32)?)
    }
}

fn bad(name: &'static str, expected: &str, t: &Tensor) -> Error {
    Error::BadInput {
        name,
        expected: expected.to_string(),
        found: t.dims().to_vec(),
    }
}
