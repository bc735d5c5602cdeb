//! SAM2 (Segment Anything 2, `facebookresearch/sam2`) in candle: the image encoder so far
//! (Hiera trunk, FPN neck, sine position encodings and the mask decoder's high-resolution
//! projections), loaded by the official checkpoints' key names.
//!
//! Shapes for image side `S` and neck width `C` (256 in every official config):
//! [`ImageEncoder::forward`] maps a normalised `(b, 3, S, S)` image to [`ImageFeatures`]:
//! `(b, C/8, S/4, S/4)` and `(b, C/4, S/8, S/8)` high-resolution maps for the mask decoder,
//! the `(b, C, S/16, S/16)` embedding and its position encoding.

mod common;
mod config;
mod decoder;
mod heads;
mod hiera;
mod holes;
mod memory_attention;
mod memory_encoder;
mod neck;
mod prompt;
mod tracker;

use candle_core::{DType, Module, Tensor};
use candle_nn::{Conv2d, VarBuilder, conv2d};

pub use config::{
    CxBlockConfig, DecoderExtraArgs, FuserConfig, HieraConfig, ImageEncoderConfig,
    MaskDownSamplerConfig, MemoryAttentionConfig, MemoryAttentionLayerConfig, MemoryEncoderConfig,
    NeckConfig, PRESETS, RopeAttentionConfig, Sam2Config, SamHeadsConfig,
};
pub use decoder::{DecoderOutput, DecoderPrediction, MaskDecoder};
pub use heads::{HeadsOutput, NO_OBJECT_SCORE, Points, SamHeads};
pub use hiera::Hiera;
pub use holes::{background_areas, fill_holes};
pub use memory_attention::MemoryAttention;
pub use memory_encoder::MemoryEncoder;
pub use neck::{FpnNeck, sine_position};
pub use prompt::PromptEncoder;
pub use tracker::{FrameOutput, MemoryBank, Sam2};

use crate::Result;

/// ImageNet mean and standard deviation SAM2 normalises frames with.
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// A frame already resized to `S x S`, `(S, S, 3)` u8 RGB, to the model's `(1, 3, S, S)` f32
/// input: `u8 / 255` (in f64, stored as f32), then `(x − mean) / std` in f32, as the video
/// predictor's loader does.
///
/// # Errors
/// A frame that is not `(h, w, 3)`.
pub fn normalize_frame(rgb: &Tensor) -> Result<Tensor> {
    let device = rgb.device();
    let (_, _, c) = rgb.dims3()?;
    if c != 3 {
        return Err(crate::Error::BadInput {
            name: "frame",
            expected: "(h, w, 3) RGB".into(),
            found: rgb.dims().to_vec(),
        });
    }
    let x = (rgb.to_dtype(DType::F64)? / 255.0)?
        .to_dtype(DType::F32)?
        .permute((2, 0, 1))?
        .unsqueeze(0)?;
    let per_channel = |v: [f32; 3]| Tensor::from_vec(v.to_vec(), (1, 3, 1, 1), device);
    Ok(x.broadcast_sub(&per_channel(MEAN)?)?
        .broadcast_div(&per_channel(STD)?)?)
}

/// What the image encoder hands to the rest of SAM2 for one batch of frames.
#[derive(Clone, Debug)]
pub struct ImageFeatures {
    /// The trunk's four stage outputs, highest resolution first (kept for inspection).
    pub trunk: Vec<Tensor>,
    /// The neck's levels after `scalp`, highest resolution first, each `(b, C, h, w)`.
    pub fpn: Vec<Tensor>,
    /// Their position encodings, same shapes.
    pub positions: Vec<Tensor>,
    /// `conv_s0(fpn[0])` `(b, C/8, S/4, S/4)` and `conv_s1(fpn[1])` `(b, C/4, S/8, S/8)`.
    pub high_res: [Tensor; 2],
}

impl ImageFeatures {
    /// The lowest-resolution level `(b, C, S/16, S/16)`: the image embedding.
    pub fn embedding(&self) -> &Tensor {
        &self.fpn[self.fpn.len() - 1]
    }
}

/// Trunk, neck and the mask decoder's two high-resolution projections
/// (`SAM2Base.forward_image` with `use_high_res_features_in_sam`).
#[derive(Clone, Debug)]
pub struct ImageEncoder {
    trunk: Hiera,
    neck: FpnNeck,
    conv_s0: Conv2d,
    conv_s1: Conv2d,
    scalp: usize,
}

impl ImageEncoder {
    /// Loads `image_encoder.*`, `sam_mask_decoder.conv_s0.*` and `sam_mask_decoder.conv_s1.*`
    /// from `vb` (a whole SAM2 checkpoint).
    ///
    /// # Errors
    /// An unsupported config, or a missing or misshapen weight (the message names the key).
    pub fn new(cfg: &Sam2Config, vb: VarBuilder) -> Result<Self> {
        cfg.check()?;
        let enc = &cfg.image_encoder;
        let c = enc.neck.d_model;
        let decoder = vb.pp("sam_mask_decoder");
        Ok(Self {
            trunk: Hiera::new(
                &enc.trunk,
                cfg.image_size,
                vb.pp("image_encoder").pp("trunk"),
            )?,
            neck: FpnNeck::new(&enc.neck, vb.pp("image_encoder").pp("neck"))?,
            conv_s0: conv2d(c, c / 8, 1, Default::default(), decoder.pp("conv_s0"))?,
            conv_s1: conv2d(c, c / 4, 1, Default::default(), decoder.pp("conv_s1"))?,
            scalp: enc.scalp,
        })
    }

    /// `image (b, 3, S, S)`, already resized and normalised -> [`ImageFeatures`].
    ///
    /// # Errors
    /// An image of another size than the config's.
    pub fn forward(&self, image: &Tensor) -> Result<ImageFeatures> {
        let trunk = self.trunk.forward(image)?;
        let (fpn, positions) = self.neck.forward(&trunk, self.scalp)?;
        let high_res = [
            self.conv_s0.forward(&fpn[0])?,
            self.conv_s1.forward(&fpn[1])?,
        ];
        Ok(ImageFeatures {
            trunk,
            fpn,
            positions,
            high_res,
        })
    }
}
