//! SAM2's video tracking (`SAM2Base.track_step`, `_prepare_memory_conditioned_features`,
//! `_encode_new_memory` and the per-object state of `SAM2VideoPredictor`): prompted frames
//! become conditioning memories; every other frame attends to them, to the last
//! `num_maskmem − 1` tracked frames and to the object pointers, then adds its own memory.

use std::collections::BTreeMap;

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};

use super::heads::{HeadsOutput, Points, SamHeads};
use super::holes::fill_holes;
use super::memory_attention::MemoryAttention;
use super::memory_encoder::MemoryEncoder;
use super::{ImageEncoder, ImageFeatures, Sam2Config};

/// What is kept of one frame of one object.
#[derive(Clone, Debug)]
pub struct FrameOutput {
    /// `(1, mem_dim, g, g)` memory features, rounded through bf16 as the reference stores them.
    pub memory: Tensor,
    /// `(1, 1, 4g, 4g)` mask logits (after hole filling).
    pub pred_masks: Tensor,
    /// `(1, E)` object pointer.
    pub obj_ptr: Tensor,
    /// `(1, 1)` object-score logit.
    pub object_score_logits: Tensor,
}

/// One object's memory: outputs of its prompted (conditioning) frames and of tracked frames.
#[derive(Clone, Debug, Default)]
pub struct MemoryBank {
    /// Prompted frames.
    pub conditioning: BTreeMap<usize, FrameOutput>,
    /// Tracked frames (either direction).
    pub tracked: BTreeMap<usize, FrameOutput>,
}

/// The whole SAM2 video model.
#[derive(Clone, Debug)]
pub struct Sam2 {
    encoder: ImageEncoder,
    heads: SamHeads,
    memory_encoder: MemoryEncoder,
    memory_attention: MemoryAttention,
    /// `(1, E, 1, 1)`.
    no_mem_embed: Tensor,
    /// `(num_maskmem, mem_dim)`: index `num_maskmem − 1` for conditioning frames, `k − 1` for the
    /// frame `k` steps back.
    maskmem_tpos_enc: Tensor,
    /// SAM 2.1: `(1, mem_dim, 1, 1)` added to memories of frames without the object.
    no_obj_embed_spatial: Option<Tensor>,
    /// SAM 2.1: pointer temporal encoding `E -> mem_dim`.
    obj_ptr_tpos_proj: Option<Linear>,
    /// `(1, mem_dim, g, g)`.
    memory_pos: Tensor,
    /// Hole filling of output masks: largest background area filled (0: off).
    fill_hole_area: usize,
    cfg: Sam2Config,
}

impl Sam2 {
    /// Loads a whole checkpoint (official key names) from `vb`. `fill_hole_area` is the
    /// predictor's hole filling (8 in `build_sam2_video_predictor`, 0 to turn it off).
    ///
    /// # Errors
    /// An unsupported config or a missing or misshapen weight (named).
    pub fn new(cfg: &Sam2Config, fill_hole_area: usize, vb: VarBuilder) -> crate::Result<Self> {
        let encoder = ImageEncoder::new(cfg, vb.clone())?;
        let e = cfg.image_encoder.neck.d_model;
        let m = cfg.memory_encoder.out_dim;
        let g = cfg.image_size / 16;
        let memory_pos = super::sine_position(m, g, g, vb.device())?.to_dtype(vb.dtype())?;
        Ok(Self {
            encoder,
            heads: SamHeads::new(cfg, vb.clone())?,
            memory_encoder: MemoryEncoder::new(&cfg.memory_encoder, e, vb.pp("memory_encoder"))?,
            memory_attention: MemoryAttention::new(
                &cfg.memory_attention,
                m,
                vb.pp("memory_attention"),
            )?,
            no_mem_embed: vb.get((1, 1, e), "no_mem_embed")?.reshape((1, e, 1, 1))?,
            maskmem_tpos_enc: vb
                .get((cfg.num_maskmem, 1, 1, m), "maskmem_tpos_enc")?
                .reshape((cfg.num_maskmem, m))?,
            no_obj_embed_spatial: cfg
                .no_obj_embed_spatial
                .then(|| {
                    vb.get((1, m), "no_obj_embed_spatial")?
                        .reshape((1, m, 1, 1))
                })
                .transpose()?,
            obj_ptr_tpos_proj: cfg
                .proj_tpos_enc_in_obj_ptrs
                .then(|| linear(e, m, vb.pp("obj_ptr_tpos_proj")))
                .transpose()?,
            memory_pos,
            fill_hole_area,
            cfg: cfg.clone(),
        })
    }

    /// Side of the square images the model takes.
    pub fn image_size(&self) -> usize {
        self.cfg.image_size
    }

    /// The image encoder's features of a normalised `(1, 3, S, S)` frame.
    ///
    /// # Errors
    /// A frame of the wrong size.
    pub fn encode_image(&self, image: &Tensor) -> crate::Result<ImageFeatures> {
        self.encoder.forward(image)
    }

    /// A prompted frame seen for the first time (an initial conditioning frame): the heads on
    /// the features plus `no_mem_embed`, one mask with the stability fallback for two or more
    /// points (three candidates for one), and its memory from the binarised mask.
    ///
    /// # Errors
    /// Prompts of the wrong shape.
    pub fn prompt(&self, features: &ImageFeatures, points: Points) -> Result<FrameOutput> {
        let pix = features.embedding().broadcast_add(&self.no_mem_embed)?;
        let multimask = points.labels.dim(1)? <= 1;
        let out = self
            .heads
            .forward(&pix, Some(points), &features.high_res, multimask)?;
        // The predictor fills holes when it stores the output, then encodes the memory from
        // the stored mask (`propagate_in_video_preflight`), binarised: it came from clicks.
        let pred_masks = fill_holes(&out.low_res_masks, self.fill_hole_area)?;
        let s = self.cfg.image_size;
        let high = pred_masks.upsample_bilinear2d(s, s, false)?;
        let memory = self.encode_memory(features, &high, &out.object_score_logits, true)?;
        Ok(FrameOutput {
            memory,
            pred_masks,
            obj_ptr: out.obj_ptr,
            object_score_logits: out.object_score_logits,
        })
    }

    /// Tracks frame `frame` of `num_frames` (`reverse`: going backwards) with the object's
    /// `bank`: memory-conditioned features, the heads with three candidate masks, the memory
    /// from the sigmoid of the best one, then hole filling of the output.
    ///
    /// # Errors
    /// A bank without a conditioning frame.
    pub fn track(
        &self,
        features: &ImageFeatures,
        frame: usize,
        num_frames: usize,
        reverse: bool,
        bank: &MemoryBank,
    ) -> Result<FrameOutput> {
        let pix = self.conditioned_features(features, frame, num_frames, reverse, bank)?;
        let out: HeadsOutput = self.heads.forward(&pix, None, &features.high_res, true)?;
        let memory = self.encode_memory(
            features,
            &out.high_res_masks,
            &out.object_score_logits,
            false,
        )?;
        Ok(FrameOutput {
            memory,
            pred_masks: fill_holes(&out.low_res_masks, self.fill_hole_area)?,
            obj_ptr: out.obj_ptr,
            object_score_logits: out.object_score_logits,
        })
    }

    /// `_prepare_memory_conditioned_features` for a frame that is not an initial
    /// conditioning frame: `(1, E, g, g)`.
    pub fn conditioned_features(
        &self,
        features: &ImageFeatures,
        frame: usize,
        num_frames: usize,
        reverse: bool,
        bank: &MemoryBank,
    ) -> Result<Tensor> {
        let (memory, memory_pos, pointer_tokens) =
            self.memory_tokens(frame, num_frames, reverse, bank)?;
        let emb = features.embedding();
        let (b, e, h, w) = emb.dims4()?;
        let seq = |t: &Tensor| t.flatten_from(2)?.transpose(1, 2)?.contiguous();
        let out = self.memory_attention.forward(
            &seq(emb)?,
            &seq(&features.positions[2])?,
            &memory,
            &memory_pos,
            pointer_tokens,
        )?;
        out.transpose(1, 2)?.reshape((b, e, h, w))
    }

    /// The memory `(1, m, mem_dim)`, its position encoding, and how many of its last tokens
    /// are object pointers, for `frame`.
    pub fn memory_tokens(
        &self,
        frame: usize,
        num_frames: usize,
        reverse: bool,
        bank: &MemoryBank,
    ) -> Result<(Tensor, Tensor, usize)> {
        if bank.conditioning.is_empty() {
            candle_core::bail!("SAM2 tracking needs a prompted frame first");
        }
        let n = self.cfg.num_maskmem;
        let seq = |t: &Tensor| t.flatten_from(2)?.transpose(1, 2);
        let tpos = |i: usize| self.maskmem_tpos_enc.narrow(0, i, 1)?.unsqueeze(0);
        let (mut memory, mut pos) = (Vec::new(), Vec::new());
        let spatial_pos = seq(&self.memory_pos)?;
        let mut add = |out: &FrameOutput, index: usize| -> Result<()> {
            memory.push(seq(&out.memory)?);
            pos.push(spatial_pos.broadcast_add(&tpos(index)?)?);
            Ok(())
        };
        for out in bank.conditioning.values() {
            add(out, n - 1)?;
        }
        for t_pos in 1..n {
            let back = n - t_pos;
            let prev = if reverse {
                frame.checked_add(back)
            } else {
                frame.checked_sub(back)
            };
            if let Some(out) = prev.and_then(|p| bank.tracked.get(&p)) {
                add(out, n - t_pos - 1)?;
            }
        }
        // Object pointers: conditioning frames in the past, then up to max − 1 frames back.
        let max_ptrs = num_frames.min(self.cfg.max_obj_ptrs_in_encoder);
        let sign = if reverse { -1.0 } else { 1.0 };
        let mut pointers: Vec<(f64, &Tensor)> = bank
            .conditioning
            .iter()
            .filter(|(t, _)| if reverse { **t >= frame } else { **t <= frame })
            .map(|(t, out)| {
                let d = frame as f64 - *t as f64;
                let d = if self.cfg.use_signed_tpos_enc_to_obj_ptrs {
                    d * sign
                } else {
                    d.abs()
                };
                (d, &out.obj_ptr)
            })
            .collect();
        for t_diff in 1..max_ptrs {
            let t = if reverse {
                frame + t_diff
            } else {
                match frame.checked_sub(t_diff) {
                    Some(t) => t,
                    None => break,
                }
            };
            if t >= num_frames {
                break;
            }
            if let Some(out) = bank.tracked.get(&t) {
                pointers.push((t_diff as f64, &out.obj_ptr));
            }
        }
        let m = self.cfg.memory_encoder.out_dim;
        let mut pointer_tokens = 0;
        if !pointers.is_empty() {
            let p = pointers.len();
            let ptrs = Tensor::cat(&pointers.iter().map(|(_, t)| *t).collect::<Vec<_>>(), 0)?;
            let e = ptrs.dim(1)?;
            let device = ptrs.device();
            let ptr_pos = match &self.obj_ptr_tpos_proj {
                Some(proj) => {
                    let denom = (max_ptrs - 1) as f32;
                    let d: Vec<f32> = pointers.iter().map(|(d, _)| *d as f32 / denom).collect();
                    proj.forward(
                        &sine_1d(&Tensor::from_vec(d, p, device)?, e)?.to_dtype(ptrs.dtype())?,
                    )?
                }
                None => Tensor::zeros((p, m), ptrs.dtype(), device)?,
            };
            let split = e / m;
            memory.push(ptrs.reshape((1, p * split, m))?);
            pos.push(
                ptr_pos
                    .unsqueeze(1)?
                    .broadcast_as((p, split, m))?
                    .reshape((1, p * split, m))?,
            );
            pointer_tokens = p * split;
        }
        Ok((
            Tensor::cat(&memory, 1)?,
            Tensor::cat(&pos, 1)?,
            pointer_tokens,
        ))
    }

    /// `_encode_new_memory`: the mask (binarised for prompted frames, else its sigmoid) scaled
    /// to logits, the memory encoder on the raw features, the no-object embedding where the
    /// object is absent (SAM 2.1), rounded through bf16.
    fn encode_memory(
        &self,
        features: &ImageFeatures,
        high_res_masks: &Tensor,
        object_score_logits: &Tensor,
        binarize: bool,
    ) -> Result<Tensor> {
        let mask = if binarize {
            high_res_masks.gt(0.0)?.to_dtype(high_res_masks.dtype())?
        } else {
            candle_nn::ops::sigmoid(high_res_masks)?
        };
        let mask = mask.affine(
            self.cfg.sigmoid_scale_for_mem_enc,
            self.cfg.sigmoid_bias_for_mem_enc,
        )?;
        let (mut memory, _) = self.memory_encoder.forward(features.embedding(), &mask)?;
        if let Some(no_obj) = &self.no_obj_embed_spatial {
            let absent = object_score_logits
                .le(0.0)?
                .to_dtype(memory.dtype())?
                .reshape((1, 1, 1, 1))?;
            memory = memory.broadcast_add(&no_obj.broadcast_mul(&absent)?)?;
        }
        memory.to_dtype(DType::BF16)?.to_dtype(memory.dtype())
    }
}

/// `get_1d_sine_pe`: `[sin(p / 10000^(2⌊k/2⌋/(d/2))), cos(...)]`, `(n, d)` for positions `(n)`.
fn sine_1d(positions: &Tensor, d: usize) -> Result<Tensor> {
    let half = d / 2;
    let dim_t: Vec<f32> = (0..half)
        .map(|k| 10000f32.powf((2 * (k / 2)) as f32 / half as f32))
        .collect();
    let dim_t = Tensor::from_vec(dim_t, (1, half), positions.device())?;
    let x = positions
        .to_dtype(DType::F32)?
        .unsqueeze(1)?
        .broadcast_div(&dim_t)?;
    Tensor::cat(&[x.sin()?, x.cos()?], 1)
}
