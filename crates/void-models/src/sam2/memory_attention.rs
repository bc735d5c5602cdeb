//! SAM2's memory attention (`memory_attention.py`, `sam/transformer.py:RoPEAttention`): the
//! current frame's tokens attend to themselves and to the memory bank (spatial memories of
//! earlier frames, then object-pointer tokens), with 2-D axial rotary embeddings on the
//! spatial tokens.

use candle_core::{Device, Module, Result, Tensor};
use candle_nn::{LayerNorm, Linear, VarBuilder, layer_norm, linear};

use super::config::MemoryAttentionConfig;
use crate::ops::attention::sdpa;

/// LayerNorm epsilon (PyTorch's default).
const NORM_EPS: f64 = 1e-5;

/// cos and sin `(w·h, d/2)` of `compute_axial_cis(d, w, h, theta)`: per token (row-major),
/// `d/4` column angles then `d/4` row angles, `position · theta^(−4j/d)`, in f32.
fn axial_rope(
    d: usize,
    w: usize,
    h: usize,
    theta: f32,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let freqs: Vec<f32> = (0..d / 4)
        .map(|j| 1.0 / theta.powf((4 * j) as f32 / d as f32))
        .collect();
    let (mut cos, mut sin) = (
        Vec::with_capacity(w * h * d / 2),
        Vec::with_capacity(w * h * d / 2),
    );
    for n in 0..w * h {
        let (x, y) = ((n % w) as f32, (n / w) as f32);
        for t in [x, y] {
            for f in &freqs {
                let angle = t * f;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
    }
    Ok((
        Tensor::from_vec(cos, (w * h, d / 2), device)?,
        Tensor::from_vec(sin, (w * h, d / 2), device)?,
    ))
}

/// `RoPEAttention` (one head in every official config; the rotation covers the head width).
#[derive(Clone, Debug)]
struct RopeAttention {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    heads: usize,
}

impl RopeAttention {
    fn new(dim: usize, kv_dim: usize, heads: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            q: linear(dim, dim, vb.pp("q_proj"))?,
            k: linear(kv_dim, dim, vb.pp("k_proj"))?,
            v: linear(kv_dim, dim, vb.pp("v_proj"))?,
            out: linear(dim, dim, vb.pp("out_proj"))?,
            heads,
        })
    }

    /// `q (b, n, d)`, `k, v (b, m, kv)`; the rotation `rope (cos, sin)` on the queries and on the
    /// first `m − unrotated` keys (the table repeated once per memory frame).
    fn forward(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        rope: (&Tensor, &Tensor),
        unrotated: usize,
    ) -> Result<Tensor> {
        let split = |t: Tensor| -> Result<Tensor> {
            let (b, n, c) = t.dims3()?;
            t.reshape((b, n, self.heads, c / self.heads))?
                .transpose(1, 2)?
                .contiguous()
        };
        let (q, k, v) = (
            split(self.q.forward(q)?)?,
            split(self.k.forward(k)?)?,
            split(self.v.forward(v)?)?,
        );
        let (b, h, n, hd) = q.dims4()?;
        let q = candle_nn::rotary_emb::rope_i(&q, rope.0, rope.1)?;
        let m = k.dim(2)?;
        let rotated = m - unrotated;
        let k = if rotated > 0 {
            let r = rotated / n;
            let (cos, sin) = (rope.0.repeat((r, 1))?, rope.1.repeat((r, 1))?);
            let head =
                candle_nn::rotary_emb::rope_i(&k.narrow(2, 0, rotated)?.contiguous()?, &cos, &sin)?;
            Tensor::cat(&[head, k.narrow(2, rotated, unrotated)?], 2)?
        } else {
            k
        };
        let out = sdpa(&q, &k, &v, 1.0 / (hd as f64).sqrt())?;
        self.out
            .forward(&out.transpose(1, 2)?.contiguous()?.reshape((b, n, h * hd))?)
    }
}

/// `MemoryAttentionLayer`: pre-norm self-attention, cross-attention to the memory, ReLU MLP.
#[derive(Clone, Debug)]
struct Layer {
    self_attn: RopeAttention,
    cross_attn: RopeAttention,
    norms: [LayerNorm; 3],
    linear1: Linear,
    linear2: Linear,
}

/// `MemoryAttention`.
#[derive(Clone, Debug)]
pub struct MemoryAttention {
    layers: Vec<Layer>,
    norm: LayerNorm,
    cos: Tensor,
    sin: Tensor,
}

impl MemoryAttention {
    /// Loads `memory_attention.*` for memories of `mem_dim` channels.
    pub fn new(cfg: &MemoryAttentionConfig, mem_dim: usize, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        let l = &cfg.layer;
        let layers = (0..cfg.num_layers)
            .map(|i| {
                let vb = vb.pp("layers").pp(i);
                let norm = |j: usize| layer_norm(d, NORM_EPS, vb.pp(format!("norm{j}")));
                Ok(Layer {
                    self_attn: RopeAttention::new(
                        d,
                        d,
                        l.self_attention.num_heads,
                        vb.pp("self_attn"),
                    )?,
                    cross_attn: RopeAttention::new(
                        d,
                        mem_dim,
                        l.cross_attention.num_heads,
                        vb.pp("cross_attn_image"),
                    )?,
                    norms: [norm(1)?, norm(2)?, norm(3)?],
                    linear1: linear(d, l.dim_feedforward, vb.pp("linear1"))?,
                    linear2: linear(l.dim_feedforward, d, vb.pp("linear2"))?,
                })
            })
            .collect::<Result<_>>()?;
        let fs = &l.self_attention.feat_sizes;
        let head_dim = d / l.self_attention.num_heads;
        let (cos, sin) = axial_rope(
            head_dim,
            fs[0],
            fs[1],
            l.self_attention.rope_theta as f32,
            vb.device(),
        )?;
        Ok(Self {
            layers,
            norm: layer_norm(d, NORM_EPS, vb.pp("norm"))?,
            cos: cos.to_dtype(vb.dtype())?,
            sin: sin.to_dtype(vb.dtype())?,
        })
    }

    /// `current (b, n, d)` tokens of the frame and their position encoding `current_pos`,
    /// `memory (b, m, mem_dim)` and `memory_pos`, whose last `pointer_tokens` are object
    /// pointers (not rotated) -> `(b, n, d)`.
    pub fn forward(
        &self,
        current: &Tensor,
        current_pos: &Tensor,
        memory: &Tensor,
        memory_pos: &Tensor,
        pointer_tokens: usize,
    ) -> Result<Tensor> {
        let rope = (&self.cos, &self.sin);
        let mut x = (current + (current_pos * 0.1)?)?;
        let keys = (memory + memory_pos)?;
        for layer in &self.layers {
            let t = layer.norms[0].forward(&x)?;
            x = (&x + layer.self_attn.forward(&t, &t, &t, rope, 0)?)?;
            let t = layer.norms[1].forward(&x)?;
            x = (&x
                + layer
                    .cross_attn
                    .forward(&t, &keys, memory, rope, pointer_tokens)?)?;
            let t = layer.norms[2].forward(&x)?;
            x = (&x + layer.linear2.forward(&layer.linear1.forward(&t)?.relu()?)?)?;
        }
        self.norm.forward(&x)
    }
}
