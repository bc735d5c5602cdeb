//! SAM2's mask decoder (`sam/mask_decoder.py`, `sam/transformer.py`): a two-way transformer
//! between the output tokens + prompt tokens and the image embedding, upscaling with the
//! high-resolution features added, hypernetwork masks, the IoU head, the object-score head, and
//! the output selection (multimask, or one mask with the stability fallback).

use candle_core::{DType, IndexOp, Module, Result, Tensor};
use candle_nn::{
    ConvTranspose2d, ConvTranspose2dConfig, LayerNorm, Linear, VarBuilder, conv_transpose2d,
    layer_norm, linear,
};

use super::common::{LayerNorm2d, Mlp};
use super::config::{DecoderExtraArgs, SamHeadsConfig};
use crate::ops::attention::sdpa;

/// LayerNorm epsilon of the two-way transformer (PyTorch's default).
const NORM_EPS: f64 = 1e-5;
/// LayerNorm2d epsilon of the upscaling.
const NORM2D_EPS: f64 = 1e-6;
/// Masks after the first are the multimask outputs.
const MASKS: usize = 4;

/// `sam/transformer.py:Attention`: projections to `dim / downsample` channels split in heads.
#[derive(Clone, Debug)]
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    heads: usize,
}

impl Attention {
    fn new(dim: usize, heads: usize, downsample: usize, vb: VarBuilder) -> Result<Self> {
        let inner = dim / downsample;
        Ok(Self {
            q: linear(dim, inner, vb.pp("q_proj"))?,
            k: linear(dim, inner, vb.pp("k_proj"))?,
            v: linear(dim, inner, vb.pp("v_proj"))?,
            out: linear(inner, dim, vb.pp("out_proj"))?,
            heads,
        })
    }

    fn forward(&self, q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor> {
        let split = |t: Tensor| -> Result<Tensor> {
            let (b, n, c) = t.dims3()?;
            t.reshape((b, n, self.heads, c / self.heads))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.q.forward(q)?)?;
        let (b, h, n, hd) = q.dims4()?;
        let out = sdpa(
            &q,
            &split(self.k.forward(k)?)?,
            &split(self.v.forward(v)?)?,
            1.0 / (hd as f64).sqrt(),
        )?;
        self.out
            .forward(&out.transpose(1, 2)?.contiguous()?.reshape((b, n, h * hd))?)
    }
}

/// `TwoWayAttentionBlock`.
#[derive(Clone, Debug)]
struct TwoWayBlock {
    self_attn: Attention,
    cross_token_to_image: Attention,
    cross_image_to_token: Attention,
    norms: [LayerNorm; 4],
    mlp: Mlp,
    skip_first_layer_pe: bool,
}

impl TwoWayBlock {
    fn new(cfg: &SamHeadsConfig, dim: usize, first: bool, vb: VarBuilder) -> Result<Self> {
        let norm = |i: usize| layer_norm(dim, NORM_EPS, vb.pp(format!("norm{i}")));
        let heads = cfg.num_heads;
        let rate = cfg.attention_downsample_rate;
        Ok(Self {
            self_attn: Attention::new(dim, heads, 1, vb.pp("self_attn"))?,
            cross_token_to_image: Attention::new(
                dim,
                heads,
                rate,
                vb.pp("cross_attn_token_to_image"),
            )?,
            cross_image_to_token: Attention::new(
                dim,
                heads,
                rate,
                vb.pp("cross_attn_image_to_token"),
            )?,
            norms: [norm(1)?, norm(2)?, norm(3)?, norm(4)?],
            mlp: Mlp::new(dim, cfg.mlp_dim, dim, 2, false, vb.pp("mlp"))?,
            skip_first_layer_pe: first,
        })
    }

    fn forward(
        &self,
        queries: &Tensor,
        keys: &Tensor,
        query_pe: &Tensor,
        key_pe: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let queries = if self.skip_first_layer_pe {
            self.self_attn.forward(queries, queries, queries)?
        } else {
            let q = (queries + query_pe)?;
            (queries + self.self_attn.forward(&q, &q, queries)?)?
        };
        let queries = self.norms[0].forward(&queries)?;
        let q = (&queries + query_pe)?;
        let k = (keys + key_pe)?;
        let queries = self.norms[1]
            .forward(&(&queries + self.cross_token_to_image.forward(&q, &k, keys)?)?)?;
        let queries = self.norms[2].forward(&(&queries + self.mlp.forward(&queries)?)?)?;
        let q = (&queries + query_pe)?;
        let keys = self.norms[3]
            .forward(&(keys + self.cross_image_to_token.forward(&k, &q, &queries)?)?)?;
        Ok((queries, keys))
    }
}

/// `TwoWayTransformer`.
#[derive(Clone, Debug)]
struct TwoWayTransformer {
    layers: Vec<TwoWayBlock>,
    final_attn: Attention,
    norm_final: LayerNorm,
}

impl TwoWayTransformer {
    fn new(cfg: &SamHeadsConfig, dim: usize, vb: VarBuilder) -> Result<Self> {
        let layers = (0..cfg.depth)
            .map(|i| TwoWayBlock::new(cfg, dim, i == 0, vb.pp("layers").pp(i)))
            .collect::<Result<_>>()?;
        Ok(Self {
            layers,
            final_attn: Attention::new(
                dim,
                cfg.num_heads,
                cfg.attention_downsample_rate,
                vb.pp("final_attn_token_to_image"),
            )?,
            norm_final: layer_norm(dim, NORM_EPS, vb.pp("norm_final_attn"))?,
        })
    }

    /// `image (b, E, g, g)`, `image_pe` same, `tokens (b, n, E)` -> (tokens, image tokens
    /// `(b, g·g, E)`).
    fn forward(
        &self,
        image: &Tensor,
        image_pe: &Tensor,
        tokens: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let flat = |t: &Tensor| t.flatten_from(2)?.transpose(1, 2)?.contiguous();
        let (image_pe, mut keys) = (flat(image_pe)?, flat(image)?);
        let mut queries = tokens.clone();
        for layer in &self.layers {
            (queries, keys) = layer.forward(&queries, &keys, tokens, &image_pe)?;
        }
        let q = (&queries + tokens)?;
        let k = (&keys + &image_pe)?;
        let queries = self
            .norm_final
            .forward(&(&queries + self.final_attn.forward(&q, &k, &keys)?)?)?;
        Ok((queries, keys))
    }
}

/// Everything the decoder predicts, before any selection.
#[derive(Clone, Debug)]
pub struct DecoderPrediction {
    /// `(b, 4, 4g, 4g)` mask logits: the single-mask output, then the three multimask ones.
    pub masks: Tensor,
    /// `(b, 4)` predicted IoUs (sigmoid).
    pub iou: Tensor,
    /// `(b, 4, E)` the mask tokens after the transformer.
    pub mask_tokens: Tensor,
    /// `(b, 1)` object-score logits.
    pub object_score_logits: Tensor,
}

/// The decoder's selected output (`MaskDecoder.forward`).
#[derive(Clone, Debug)]
pub struct DecoderOutput {
    /// `(b, m, 4g, 4g)`: m = 3 with multimask output, else 1.
    pub masks: Tensor,
    /// `(b, m)`.
    pub iou: Tensor,
    /// `(b, m', E)` tokens for the object pointer: the three multimask tokens with multimask
    /// output, else token 0 (even when the stability fallback picked another mask).
    pub tokens: Tensor,
    /// `(b, 1)`.
    pub object_score_logits: Tensor,
}

/// `MaskDecoder` with object scores and high-resolution features (every official config).
#[derive(Clone, Debug)]
pub struct MaskDecoder {
    transformer: TwoWayTransformer,
    /// `(6, E)`: object-score token, IoU token, four mask tokens.
    output_tokens: Tensor,
    upscale1: ConvTranspose2d,
    upscale_norm: LayerNorm2d,
    upscale2: ConvTranspose2d,
    hypernetworks: Vec<Mlp>,
    iou_head: Mlp,
    object_score_head: Mlp,
    /// `(delta, thresh)` of the stability fallback, when it is on.
    stability: Option<(f64, f64)>,
}

impl MaskDecoder {
    /// Loads `sam_mask_decoder.*` (but `conv_s0`/`conv_s1`, which the image encoder applies)
    /// for tokens of `dim` channels.
    pub fn new(
        cfg: &SamHeadsConfig,
        extra: &DecoderExtraArgs,
        dim: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let output_tokens = Tensor::cat(
            &[
                vb.pp("obj_score_token").get((1, dim), "weight")?,
                vb.pp("iou_token").get((1, dim), "weight")?,
                vb.pp("mask_tokens").get((MASKS, dim), "weight")?,
            ],
            0,
        )?;
        let up = ConvTranspose2dConfig {
            stride: 2,
            ..Default::default()
        };
        let hypernetworks = (0..MASKS)
            .map(|i| {
                Mlp::new(
                    dim,
                    dim,
                    dim / 8,
                    3,
                    false,
                    vb.pp("output_hypernetworks_mlps").pp(i),
                )
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            transformer: TwoWayTransformer::new(cfg, dim, vb.pp("transformer"))?,
            output_tokens,
            upscale1: conv_transpose2d(dim, dim / 4, 2, up, vb.pp("output_upscaling").pp("0"))?,
            upscale_norm: LayerNorm2d::new(dim / 4, NORM2D_EPS, vb.pp("output_upscaling").pp("1"))?,
            upscale2: conv_transpose2d(dim / 4, dim / 8, 2, up, vb.pp("output_upscaling").pp("3"))?,
            hypernetworks,
            iou_head: Mlp::new(
                dim,
                cfg.iou_head_hidden_dim,
                MASKS,
                3,
                true,
                vb.pp("iou_prediction_head"),
            )?,
            object_score_head: Mlp::new(dim, dim, 1, 3, false, vb.pp("pred_obj_score_head"))?,
            stability: extra.dynamic_multimask_via_stability.then_some((
                extra.dynamic_multimask_stability_delta,
                extra.dynamic_multimask_stability_thresh,
            )),
        })
    }

    /// `predict_masks`: `image (b, E, g, g)` (with any memory already fused in), `image_pe (1,
    /// E, g, g)`, `sparse (b, n, E)`, `dense (b, E, g, g)`, `high_res` = the image encoder's
    /// `[(b, E/8, 4g, 4g), (b, E/4, 2g, 2g)]`.
    pub fn predict(
        &self,
        image: &Tensor,
        image_pe: &Tensor,
        sparse: &Tensor,
        dense: &Tensor,
        high_res: &[Tensor; 2],
    ) -> Result<DecoderPrediction> {
        let (b, e, g, _) = image.dims4()?;
        let tokens = Tensor::cat(
            &[
                &self
                    .output_tokens
                    .unsqueeze(0)?
                    .broadcast_as((b, 2 + MASKS, e))?,
                sparse,
            ],
            1,
        )?;
        let pe = image_pe.broadcast_as((b, e, g, g))?;
        let (hs, src) = self.transformer.forward(&(image + dense)?, &pe, &tokens)?;
        let src = src.transpose(1, 2)?.reshape((b, e, g, g))?;
        let up = (self.upscale1.forward(&src)? + &high_res[1])?;
        let up = self.upscale_norm.forward(&up)?.gelu_erf()?;
        let up = (self.upscale2.forward(&up)? + &high_res[0])?.gelu_erf()?;
        let mask_tokens = hs.narrow(1, 2, MASKS)?;
        let hyper = self
            .hypernetworks
            .iter()
            .enumerate()
            .map(|(i, mlp)| mlp.forward(&mask_tokens.i((.., i))?))
            .collect::<Result<Vec<_>>>()?;
        let (_, c, h, w) = up.dims4()?;
        let masks = Tensor::stack(&hyper, 1)?
            .matmul(&up.reshape((b, c, h * w))?)?
            .reshape((b, MASKS, h, w))?;
        Ok(DecoderPrediction {
            masks,
            iou: self.iou_head.forward(&hs.i((.., 1))?)?,
            mask_tokens,
            object_score_logits: self.object_score_head.forward(&hs.i((.., 0))?)?,
        })
    }

    /// `forward`'s selection: the three multimask outputs, or one mask — token 0's when its
    /// logits are stable under ±delta (`count(m > δ) / count(m > −δ) ≥ thresh`), else the
    /// multimask output with the best IoU.
    pub fn select(&self, p: &DecoderPrediction, multimask: bool) -> Result<DecoderOutput> {
        let object_score_logits = p.object_score_logits.clone();
        if multimask {
            return Ok(DecoderOutput {
                masks: p.masks.narrow(1, 1, 3)?,
                iou: p.iou.narrow(1, 1, 3)?,
                tokens: p.mask_tokens.narrow(1, 1, 3)?,
                object_score_logits,
            });
        }
        let b = p.masks.dim(0)?;
        let (mut masks, mut ious) = (Vec::with_capacity(b), Vec::with_capacity(b));
        for i in 0..b {
            let pick = match self.stability {
                Some((delta, thresh)) if stability(&p.masks.i((i, 0))?, delta)? < thresh as f32 => {
                    1 + first_argmax(&p.iou.i((i, 1..))?)?
                }
                _ => 0,
            };
            masks.push(p.masks.i((i, pick..pick + 1))?);
            ious.push(p.iou.i((i, pick..pick + 1))?);
        }
        Ok(DecoderOutput {
            masks: Tensor::stack(&masks, 0)?,
            iou: Tensor::stack(&ious, 0)?,
            tokens: p.mask_tokens.narrow(1, 0, 1)?,
            object_score_logits,
        })
    }
}

/// `count(m > δ) / count(m > −δ)` in f32 as PyTorch computes it (1 when nothing is above
/// −δ).
fn stability(m: &Tensor, delta: f64) -> Result<f32> {
    let count = |t: &Tensor| -> Result<f32> { t.to_dtype(DType::F32)?.sum_all()?.to_scalar() };
    let union = count(&m.gt(-delta)?)?;
    Ok(if union > 0.0 {
        count(&m.gt(delta)?)? / union
    } else {
        1.0
    })
}

/// Index of the first maximum of a 1-D tensor (PyTorch's `argmax` on ties).
pub(super) fn first_argmax(v: &Tensor) -> Result<usize> {
    let values = v.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let mut best = 0;
    for (i, x) in values.iter().enumerate() {
        if *x > values[best] {
            best = i;
        }
    }
    Ok(best)
}
