//! `SAM2Base._forward_sam_heads`: prompt encoder and mask decoder on one frame's features,
//! object-score gating, the best mask, and the object pointer.

use candle_core::{DType, IndexOp, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::Sam2Config;
use super::common::Mlp;
use super::decoder::{MaskDecoder, first_argmax};
use super::prompt::PromptEncoder;

/// The logit of every pixel of a frame whose object is judged absent (`NO_OBJ_SCORE`).
pub const NO_OBJECT_SCORE: f64 = -1024.0;

/// Point prompts in model pixels: `coords (b, n, 2)` (x, y) and `labels (b, n)` (1 positive,
/// 0 negative, 2/3 box corners).
#[derive(Clone, Copy, Debug)]
pub struct Points<'a> {
    /// `(b, n, 2)`.
    pub coords: &'a Tensor,
    /// `(b, n)`.
    pub labels: &'a Tensor,
}

/// What the heads produce for one frame.
#[derive(Clone, Debug)]
pub struct HeadsOutput {
    /// `(b, m, 4g, 4g)` the decoder's selected masks, gated by the object score.
    pub low_res_multimasks: Tensor,
    /// `(b, m)` their predicted IoUs.
    pub ious: Tensor,
    /// `(b, 1, 4g, 4g)` the best of them.
    pub low_res_masks: Tensor,
    /// `(b, 1, S, S)` it, bilinearly upsampled to the image size.
    pub high_res_masks: Tensor,
    /// `(b, E)` the object pointer.
    pub obj_ptr: Tensor,
    /// `(b, 1)`.
    pub object_score_logits: Tensor,
}

/// Prompt encoder, mask decoder, pointer projection.
#[derive(Clone, Debug)]
pub struct SamHeads {
    prompt: PromptEncoder,
    decoder: MaskDecoder,
    dense_pe: Tensor,
    obj_ptr_proj: Mlp,
    no_obj_ptr: Tensor,
    image_size: usize,
}

impl SamHeads {
    /// Loads `sam_prompt_encoder.*`, `sam_mask_decoder.*`, `obj_ptr_proj.*` and `no_obj_ptr`.
    pub fn new(cfg: &Sam2Config, vb: VarBuilder) -> Result<Self> {
        let e = cfg.image_encoder.neck.d_model;
        let prompt = PromptEncoder::new(e, cfg.image_size, vb.pp("sam_prompt_encoder"))?;
        Ok(Self {
            dense_pe: prompt.dense_pe()?,
            prompt,
            decoder: MaskDecoder::new(
                &cfg.sam_heads,
                &cfg.sam_mask_decoder_extra_args,
                e,
                vb.pp("sam_mask_decoder"),
            )?,
            obj_ptr_proj: Mlp::new(e, e, e, 3, false, vb.pp("obj_ptr_proj"))?,
            no_obj_ptr: vb.get((1, e), "no_obj_ptr")?,
            image_size: cfg.image_size,
        })
    }

    /// The prompt encoder (for inspection and tests).
    pub fn prompt_encoder(&self) -> &PromptEncoder {
        &self.prompt
    }

    /// The mask decoder (for inspection and tests).
    pub fn mask_decoder(&self) -> &MaskDecoder {
        &self.decoder
    }

    /// The dense position encoding of the embedding grid, `(1, E, g, g)`.
    pub fn dense_pe(&self) -> &Tensor {
        &self.dense_pe
    }

    /// `features (b, E, g, g)` (memory-conditioned, or with `no_mem_embed` added), optional
    /// `points`, the encoder's `high_res` maps, and whether to output three masks.
    pub fn forward(
        &self,
        features: &Tensor,
        points: Option<Points>,
        high_res: &[Tensor; 2],
        multimask: bool,
    ) -> Result<HeadsOutput> {
        let b = features.dim(0)?;
        let device = features.device();
        let sparse = match points {
            Some(p) => self.prompt.embed_points(p.coords, p.labels)?,
            None => self.prompt.embed_points(
                &Tensor::zeros((b, 1, 2), DType::F32, device)?,
                &Tensor::full(-1f32, (b, 1), device)?,
            )?,
        };
        let prediction = self.decoder.predict(
            features,
            &self.dense_pe,
            &sparse,
            &self.prompt.no_mask_dense(b)?,
            high_res,
        )?;
        let out = self.decoder.select(&prediction, multimask)?;
        let present = out.object_score_logits.gt(0.0)?;
        let masks = present
            .reshape((b, 1, 1, 1))?
            .broadcast_as(out.masks.shape())?
            .where_cond(
                &out.masks,
                &out.masks.ones_like()?.affine(0.0, NO_OBJECT_SCORE)?,
            )?;
        let s = self.image_size;
        let (mut low, mut tokens) = (Vec::with_capacity(b), Vec::with_capacity(b));
        for i in 0..b {
            let best = if multimask {
                first_argmax(&out.iou.i(i)?)?
            } else {
                0
            };
            low.push(masks.i((i, best..best + 1))?);
            let t = if out.tokens.dim(1)? > 1 { best } else { 0 };
            tokens.push(out.tokens.i((i, t))?);
        }
        let low_res_masks = Tensor::stack(&low, 0)?;
        let high_res_masks = low_res_masks.upsample_bilinear2d(s, s, false)?;
        let lam = present.to_dtype(DType::F32)?;
        let obj_ptr = self
            .obj_ptr_proj
            .forward(&Tensor::stack(&tokens, 0)?)?
            .broadcast_mul(&lam)?
            .broadcast_add(&(1.0 - &lam)?.broadcast_mul(&self.no_obj_ptr)?)?;
        Ok(HeadsOutput {
            low_res_multimasks: masks,
            ious: out.iou,
            low_res_masks,
            high_res_masks,
            obj_ptr,
            object_score_logits: out.object_score_logits,
        })
    }
}
