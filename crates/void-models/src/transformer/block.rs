//! One `CogVideoXBlock`: expert adaLN (shared LayerNorm, separate text/video modulation), joint
//! text+video attention with QK LayerNorm and RoPE on video tokens, GELU(tanh) feed-forward
//! (diffusers `cogvideox_transformer_3d.py`, `attention_processor.py:CogVideoXAttnProcessor2_0`).

use candle_core::{Module, Result, Tensor};
use candle_nn::{LayerNorm, VarBuilder, layer_norm};

use super::TransformerConfig;
use super::stages::{gated_residual, head_norm_rope, modulated_norm};
use crate::ops::attention::sdpa;
use crate::ops::linear::{StoredLinear, WeightStorage};

/// QK LayerNorm epsilon (diffusers `Attention(qk_norm="layer_norm", eps=1e-6)`).
const QK_NORM_EPS: f64 = 1e-6;

/// `linear(silu(temb))` -> six modulation vectors, and one LayerNorm shared by both streams.
#[derive(Clone, Debug)]
struct CogVideoXLayerNormZero {
    linear: StoredLinear,
    norm: LayerNorm,
}

impl CogVideoXLayerNormZero {
    fn new(cfg: &TransformerConfig, vb: VarBuilder, storage: WeightStorage) -> Result<Self> {
        let d = cfg.inner_dim();
        Ok(Self {
            linear: StoredLinear::load(cfg.time_embed_dim, 6 * d, vb.pp("linear"), storage)?,
            norm: layer_norm(d, cfg.norm_eps, vb.pp("norm"))?,
        })
    }

    /// The modulation `(b, 6·d)`, chunks [shift, scale, gate, enc_shift, enc_scale, enc_gate].
    fn modulation(&self, temb: &Tensor) -> Result<Tensor> {
        self.linear.forward(&temb.silu()?)
    }
}

/// Joint attention over `[text, video]` tokens.
#[derive(Clone, Debug)]
struct Attention {
    to_q: StoredLinear,
    to_k: StoredLinear,
    to_v: StoredLinear,
    to_out: StoredLinear,
    norm_q: LayerNorm,
    norm_k: LayerNorm,
    heads: usize,
    head_dim: usize,
}

impl Attention {
    fn new(cfg: &TransformerConfig, vb: VarBuilder, storage: WeightStorage) -> Result<Self> {
        let (d, hd) = (cfg.inner_dim(), cfg.attention_head_dim);
        let proj = |name: &str| StoredLinear::load(d, d, vb.pp(name), storage);
        Ok(Self {
            to_q: proj("to_q")?,
            to_k: proj("to_k")?,
            to_v: proj("to_v")?,
            to_out: StoredLinear::load(d, d, vb.pp("to_out").pp("0"), storage)?,
            norm_q: layer_norm(hd, QK_NORM_EPS, vb.pp("norm_q"))?,
            norm_k: layer_norm(hd, QK_NORM_EPS, vb.pp("norm_k"))?,
            heads: cfg.num_attention_heads,
            head_dim: hd,
        })
    }

    /// `x (b, l + n, d)` with the text first -> same shape.
    fn forward(&self, x: &Tensor, text_len: usize, rope: (&Tensor, &Tensor)) -> Result<Tensor> {
        let (b, s, _) = x.dims3()?;
        let q = head_norm_rope(
            &self.to_q.forward(x)?,
            &self.norm_q,
            self.heads,
            text_len,
            rope,
        )?;
        let k = head_norm_rope(
            &self.to_k.forward(x)?,
            &self.norm_k,
            self.heads,
            text_len,
            rope,
        )?;
        let v = self
            .to_v
            .forward(x)?
            .reshape((b, s, self.heads, self.head_dim))?
            .transpose(1, 2)?;
        let out = sdpa(&q, &k, &v, 1.0 / (self.head_dim as f64).sqrt())?;
        self.to_out.forward(
            &out.transpose(1, 2)?
                .reshape((b, s, self.heads * self.head_dim))?,
        )
    }
}

/// `net.0.proj → GELU(tanh) → net.2`.
#[derive(Clone, Debug)]
struct FeedForward {
    proj_in: StoredLinear,
    proj_out: StoredLinear,
}

impl FeedForward {
    fn new(d: usize, vb: VarBuilder, storage: WeightStorage) -> Result<Self> {
        let net = vb.pp("net");
        Ok(Self {
            proj_in: StoredLinear::load(d, 4 * d, net.pp("0").pp("proj"), storage)?,
            proj_out: StoredLinear::load(4 * d, d, net.pp("2"), storage)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.proj_out.forward(&self.proj_in.forward(x)?.gelu()?)
    }
}

/// One transformer block (`transformer_blocks.{i}`).
#[derive(Clone, Debug)]
pub struct CogVideoXBlock {
    norm1: CogVideoXLayerNormZero,
    attn1: Attention,
    norm2: CogVideoXLayerNormZero,
    ff: FeedForward,
}

impl CogVideoXBlock {
    /// Loads `transformer_blocks.{i}.*`, its linear layers stored as `storage` says.
    pub fn new(cfg: &TransformerConfig, vb: VarBuilder, storage: WeightStorage) -> Result<Self> {
        Ok(Self {
            norm1: CogVideoXLayerNormZero::new(cfg, vb.pp("norm1"), storage)?,
            attn1: Attention::new(cfg, vb.pp("attn1"), storage)?,
            norm2: CogVideoXLayerNormZero::new(cfg, vb.pp("norm2"), storage)?,
            ff: FeedForward::new(cfg.inner_dim(), vb.pp("ff"), storage)?,
        })
    }

    /// `x (b, l + n, d)`, the text's `l` tokens first, `temb (b, time_embed_dim)` -> the
    /// updated `x`.
    pub fn forward(
        &self,
        x: &Tensor,
        text_len: usize,
        temb: &Tensor,
        rope: (&Tensor, &Tensor),
    ) -> Result<Tensor> {
        let m = self.norm1.modulation(temb)?;
        let h = modulated_norm(x, &self.norm1.norm, &m, text_len)?;
        let x = gated_residual(x, &self.attn1.forward(&h, text_len, rope)?, &m, text_len)?;

        let m = self.norm2.modulation(temb)?;
        let h = modulated_norm(&x, &self.norm2.norm, &m, text_len)?;
        gated_residual(&x, &self.ff.forward(&h)?, &m, text_len)
    }
}
