//! One `CogVideoXBlock`: expert adaLN (shared LayerNorm, separate text/video modulation), joint
//! text+video attention with QK LayerNorm and RoPE on video tokens, GELU(tanh) feed-forward
//! (diffusers `cogvideox_transformer_3d.py`, `attention_processor.py:CogVideoXAttnProcessor2_0`).

use candle_core::{Module, Result, Tensor};
use candle_nn::{LayerNorm, VarBuilder, layer_norm};

use super::TransformerConfig;
use super::rope::apply_rotary;
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

/// A normalised, modulated stream and its residual gate.
struct Modulated {
    x: Tensor,
    gate: Tensor,
}

impl CogVideoXLayerNormZero {
    fn new(cfg: &TransformerConfig, vb: VarBuilder, storage: WeightStorage) -> Result<Self> {
        let d = cfg.inner_dim();
        Ok(Self {
            linear: StoredLinear::load(cfg.time_embed_dim, 6 * d, vb.pp("linear"), storage)?,
            norm: layer_norm(d, cfg.norm_eps, vb.pp("norm"))?,
        })
    }

    /// Returns (video, text), each `norm(x)·(1+scale)+shift` with its gate; chunk order
    /// [shift, scale, gate, enc_shift, enc_scale, enc_gate].
    fn forward(
        &self,
        hidden: &Tensor,
        text: &Tensor,
        temb: &Tensor,
    ) -> Result<(Modulated, Modulated)> {
        let m = self
            .linear
            .forward(&temb.silu()?)?
            .unsqueeze(1)?
            .chunk(6, 2)?;
        let modulate = |x: &Tensor, shift: &Tensor, scale: &Tensor| {
            self.norm
                .forward(x)?
                .broadcast_mul(&(scale + 1.0)?)?
                .broadcast_add(shift)
        };
        Ok((
            Modulated {
                x: modulate(hidden, &m[0], &m[1])?,
                gate: m[2].clone(),
            },
            Modulated {
                x: modulate(text, &m[3], &m[4])?,
                gate: m[5].clone(),
            },
        ))
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
        let heads = |proj: &StoredLinear, norm: Option<&LayerNorm>| -> Result<Tensor> {
            let t = proj
                .forward(x)?
                .reshape((b, s, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()?;
            let t = match norm {
                Some(n) => n.forward(&t)?,
                None => t,
            };
            Ok(t)
        };
        let with_rope = |t: Tensor| -> Result<Tensor> {
            let video = apply_rotary(&t.narrow(2, text_len, s - text_len)?, rope.0, rope.1)?;
            Tensor::cat(&[t.narrow(2, 0, text_len)?, video], 2)
        };
        let q = with_rope(heads(&self.to_q, Some(&self.norm_q))?)?;
        let k = with_rope(heads(&self.to_k, Some(&self.norm_k))?)?;
        let v = heads(&self.to_v, None)?;
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

    /// `hidden (b, n, d)` video tokens, `text (b, l, d)`, `temb (b, time_embed_dim)` ->
    /// updated (hidden, text).
    pub fn forward(
        &self,
        hidden: &Tensor,
        text: &Tensor,
        temb: &Tensor,
        rope: (&Tensor, &Tensor),
    ) -> Result<(Tensor, Tensor)> {
        let l = text.dim(1)?;
        let joint = |v: &Modulated, t: &Modulated| Tensor::cat(&[&t.x, &v.x], 1);
        let split = |x: &Tensor| -> Result<(Tensor, Tensor)> {
            Ok((x.narrow(1, l, x.dim(1)? - l)?, x.narrow(1, 0, l)?))
        };

        let (v, t) = self.norm1.forward(hidden, text, temb)?;
        let (attn_v, attn_t) = split(&self.attn1.forward(&joint(&v, &t)?, l, rope)?)?;
        let hidden = (hidden + attn_v.broadcast_mul(&v.gate)?)?;
        let text = (text + attn_t.broadcast_mul(&t.gate)?)?;

        let (v, t) = self.norm2.forward(&hidden, &text, temb)?;
        let (ff_v, ff_t) = split(&self.ff.forward(&joint(&v, &t)?)?)?;
        Ok((
            (hidden + ff_v.broadcast_mul(&v.gate)?)?,
            (text + ff_t.broadcast_mul(&t.gate)?)?,
        ))
    }
}
