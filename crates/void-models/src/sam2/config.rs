//! SAM2's architecture settings: the values of the `sam2` package's Hydra configs
//! (`configs/sam2/*.yaml` for SAM 2.0, `configs/sam2.1/*.yaml` for 2.1), as presets or from
//! JSON with the yaml's field names. The official checkpoints carry no config, so a model
//! name picks the preset.

use serde::Deserialize;

use crate::{Error, Result};

/// The Hiera trunk (`image_encoder.trunk`, `hieradet.py:Hiera`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct HieraConfig {
    /// Channels of the first stage (each later stage doubles them).
    pub embed_dim: usize,
    /// Heads of the first stage (each later stage doubles them).
    pub num_heads: usize,
    /// Blocks per stage (four stages).
    pub stages: Vec<usize>,
    /// Blocks (global indices) that attend globally instead of in windows.
    pub global_att_blocks: Vec<usize>,
    /// Window size per stage.
    #[serde(default = "default_window_spec")]
    pub window_spec: Vec<usize>,
    /// Side of the learned background position embedding before its bicubic resize.
    #[serde(default = "default_bkg_size")]
    pub window_pos_embed_bkg_spatial_size: Vec<usize>,
    /// Stages (after the first) whose first block pools its queries 2x2.
    #[serde(default = "default_q_pool")]
    pub q_pool: usize,
}

fn default_window_spec() -> Vec<usize> {
    vec![8, 4, 14, 7]
}

fn default_bkg_size() -> Vec<usize> {
    vec![14, 14]
}

fn default_q_pool() -> usize {
    3
}

/// The FPN neck (`image_encoder.neck`, `image_encoder.py:FpnNeck`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct NeckConfig {
    /// Output channels of every level.
    pub d_model: usize,
    /// Trunk channels, lowest resolution first.
    pub backbone_channel_list: Vec<usize>,
    /// Levels that add the upsampled level below them.
    #[serde(default = "default_top_down")]
    pub fpn_top_down_levels: Vec<usize>,
}

fn default_top_down() -> Vec<usize> {
    vec![2, 3]
}

/// The image encoder (`model.image_encoder`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ImageEncoderConfig {
    /// The trunk.
    pub trunk: HieraConfig,
    /// The neck.
    pub neck: NeckConfig,
    /// Lowest-resolution levels dropped after the neck (1 in every official config).
    #[serde(default = "default_scalp")]
    pub scalp: usize,
}

/// The mask decoder's sizes, which `SAM2Base._build_sam_heads` hard-codes (not in the yaml);
/// the defaults are the official models'.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default)]
pub struct SamHeadsConfig {
    /// Two-way transformer layers.
    pub depth: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Hidden width of the two-way transformer's MLPs.
    pub mlp_dim: usize,
    /// Width divisor of the cross attentions.
    pub attention_downsample_rate: usize,
    /// Hidden width of the IoU head.
    pub iou_head_hidden_dim: usize,
}

impl Default for SamHeadsConfig {
    fn default() -> Self {
        Self {
            depth: 2,
            num_heads: 8,
            mlp_dim: 2048,
            attention_downsample_rate: 2,
            iou_head_hidden_dim: 256,
        }
    }
}

/// `sam_mask_decoder_extra_args`: what `build_sam2*(apply_postprocessing=True)` sets.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default)]
pub struct DecoderExtraArgs {
    /// Single-mask output falls back to the best multimask output when unstable.
    pub dynamic_multimask_via_stability: bool,
    /// The logit offset of the stability test.
    pub dynamic_multimask_stability_delta: f64,
    /// The stability a single mask needs.
    pub dynamic_multimask_stability_thresh: f64,
}

impl Default for DecoderExtraArgs {
    fn default() -> Self {
        Self {
            dynamic_multimask_via_stability: true,
            dynamic_multimask_stability_delta: 0.05,
            dynamic_multimask_stability_thresh: 0.98,
        }
    }
}

/// `memory_encoder.mask_downsampler`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct MaskDownSamplerConfig {
    /// Kernel of each strided conv.
    pub kernel_size: usize,
    /// Stride of each (the channels grow by its square).
    pub stride: usize,
    /// Padding of each.
    pub padding: usize,
    /// Total downsampling (image size / embedding grid).
    #[serde(default = "default_total_stride")]
    pub total_stride: usize,
}

fn default_total_stride() -> usize {
    16
}

/// `memory_encoder.fuser.layer` (a `CXBlock`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CxBlockConfig {
    /// Channels.
    pub dim: usize,
    /// Depthwise kernel.
    pub kernel_size: usize,
    /// Its padding.
    pub padding: usize,
}

/// `memory_encoder.fuser`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct FuserConfig {
    /// The block.
    pub layer: CxBlockConfig,
    /// How many.
    pub num_layers: usize,
}

/// `memory_encoder`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct MemoryEncoderConfig {
    /// Memory width (`mem_dim`).
    pub out_dim: usize,
    /// The mask's downsampler.
    pub mask_downsampler: MaskDownSamplerConfig,
    /// The fuser.
    pub fuser: FuserConfig,
}

/// One `RoPEAttention` of a memory-attention layer.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RopeAttentionConfig {
    /// Heads.
    pub num_heads: usize,
    /// Rotary base.
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Grid (width, height) of the rotation table.
    #[serde(default = "default_feat_sizes")]
    pub feat_sizes: Vec<usize>,
}

fn default_theta() -> f64 {
    10000.0
}

fn default_feat_sizes() -> Vec<usize> {
    vec![32, 32]
}

/// `memory_attention.layer`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct MemoryAttentionLayerConfig {
    /// Hidden width of the MLP.
    pub dim_feedforward: usize,
    /// Self-attention.
    pub self_attention: RopeAttentionConfig,
    /// Cross-attention to the memory.
    pub cross_attention: RopeAttentionConfig,
    /// Must be "relu".
    pub activation: String,
    /// Must be false.
    pub pos_enc_at_attn: bool,
    /// Must be true.
    pub pos_enc_at_cross_attn_keys: bool,
    /// Must be false.
    pub pos_enc_at_cross_attn_queries: bool,
}

/// `memory_attention`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct MemoryAttentionConfig {
    /// Width (the image embedding's).
    pub d_model: usize,
    /// Layers.
    pub num_layers: usize,
    /// Must be true.
    pub pos_enc_at_input: bool,
    /// The layer.
    pub layer: MemoryAttentionLayerConfig,
}

/// Everything that shapes SAM2's computation: the `model` section of a `sam2` config, as
/// JSON with the yaml's names (unknown fields such as `_target_` are ignored).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Sam2Config {
    /// Side of the square input image (1024 in every official config).
    pub image_size: usize,
    /// The image encoder.
    pub image_encoder: ImageEncoderConfig,
    /// The memory attention.
    pub memory_attention: MemoryAttentionConfig,
    /// The memory encoder.
    pub memory_encoder: MemoryEncoderConfig,
    /// Memory frames attended to (1 conditioning + `num_maskmem − 1` previous).
    pub num_maskmem: usize,
    /// Most object pointers attended to.
    #[serde(default = "default_max_obj_ptrs")]
    pub max_obj_ptrs_in_encoder: usize,
    /// Mask to memory-logit scale.
    pub sigmoid_scale_for_mem_enc: f64,
    /// Mask to memory-logit bias.
    pub sigmoid_bias_for_mem_enc: f64,
    /// SAM 2.1: a learned embedding added to the memory of frames without the object.
    #[serde(default)]
    pub no_obj_embed_spatial: bool,
    /// SAM 2.1: temporal encodings of the object pointers.
    #[serde(default)]
    pub add_tpos_enc_to_obj_ptrs: bool,
    /// SAM 2.1: projected to the memory width.
    #[serde(default)]
    pub proj_tpos_enc_in_obj_ptrs: bool,
    /// SAM 2.1: signed frame distances.
    #[serde(default)]
    pub use_signed_tpos_enc_to_obj_ptrs: bool,
    /// The decoder's post-processing switches.
    #[serde(default)]
    pub sam_mask_decoder_extra_args: DecoderExtraArgs,
    /// The decoder's sizes (not part of the yaml).
    #[serde(default)]
    pub sam_heads: SamHeadsConfig,
}

fn default_max_obj_ptrs() -> usize {
    16
}

fn default_scalp() -> usize {
    1
}

impl Sam2Config {
    /// Checks that the shapes work out: four stages, windows that tile the position
    /// embedding, neck channels that match the trunk's.
    ///
    /// # Errors
    /// [`Error::Unsupported`] naming the offending field.
    pub fn check(&self) -> Result<()> {
        let (t, neck) = (&self.image_encoder.trunk, &self.image_encoder.neck);
        let bad = |what: String| Err(Error::Unsupported(format!("SAM2 config: {what}")));
        if t.stages.len() != 4 || t.window_spec.len() != 4 {
            return bad(format!(
                "trunk.stages and trunk.window_spec need 4 entries, got {:?} and {:?}",
                t.stages, t.window_spec
            ));
        }
        if t.stages.contains(&0) || !t.embed_dim.is_multiple_of(t.num_heads) {
            return bad(format!(
                "every stage needs a block and embed_dim {} must divide into {} heads",
                t.embed_dim, t.num_heads
            ));
        }
        let patches = self.image_size / 4;
        if !self.image_size.is_multiple_of(32) || !patches.is_multiple_of(t.window_spec[0]) {
            return bad(format!(
                "image_size {} must be a multiple of 32 whose quarter is a multiple of window_spec[0] {}",
                self.image_size, t.window_spec[0]
            ));
        }
        if t.window_pos_embed_bkg_spatial_size.len() != 2 || t.q_pool > 3 {
            return bad("window_pos_embed_bkg_spatial_size needs 2 entries, q_pool <= 3".into());
        }
        let channels: Vec<usize> = (0..4).rev().map(|i| t.embed_dim << i).collect();
        if neck.backbone_channel_list != channels {
            return bad(format!(
                "neck.backbone_channel_list {:?} does not match the trunk's {channels:?}",
                neck.backbone_channel_list
            ));
        }
        let layer = &self.memory_attention.layer;
        if !self.memory_attention.pos_enc_at_input
            || layer.pos_enc_at_attn
            || !layer.pos_enc_at_cross_attn_keys
            || layer.pos_enc_at_cross_attn_queries
            || layer.activation != "relu"
        {
            return bad(
                "memory_attention: only pos_enc_at_input, keys-only cross-attention positions and relu (every official config)"
                    .into(),
            );
        }
        if self.add_tpos_enc_to_obj_ptrs != self.proj_tpos_enc_in_obj_ptrs {
            return bad(
                "add_tpos_enc_to_obj_ptrs without proj_tpos_enc_in_obj_ptrs (or the reverse)"
                    .into(),
            );
        }
        if self.image_encoder.scalp != 1 {
            return bad(format!(
                "image_encoder.scalp {} (the mask decoder reads exactly 3 levels: scalp 1)",
                self.image_encoder.scalp
            ));
        }
        Ok(())
    }
}

/// The official models: `sam2.1_hiera_{t,s,b+,l}` and `sam2_hiera_{t,s,b+,l}` (SAM 2.0).
pub const PRESETS: [&str; 8] = [
    "sam2.1_hiera_t",
    "sam2.1_hiera_s",
    "sam2.1_hiera_b+",
    "sam2.1_hiera_l",
    "sam2_hiera_t",
    "sam2_hiera_s",
    "sam2_hiera_b+",
    "sam2_hiera_l",
];

impl Sam2Config {
    /// The config of an official model by its yaml name (see [`PRESETS`]), or of the checkpoint
    /// file names the official downloads use (`sam2.1_hiera_large.pt`, `sam2_hiera_tiny.pt`, ...).
    pub fn preset(name: &str) -> Option<Self> {
        let name = name
            .trim_end_matches(".pt")
            .trim_end_matches(".safetensors");
        let (v21, size) = if let Some(size) = name.strip_prefix("sam2.1_hiera_") {
            (true, size)
        } else {
            (false, name.strip_prefix("sam2_hiera_")?)
        };
        // (embed_dim, heads, stages, global blocks, window spec, background size)
        let (e, heads, stages, global, windows, bkg): (
            usize,
            usize,
            [usize; 4],
            Vec<usize>,
            [usize; 4],
            usize,
        ) = match size {
            "t" | "tiny" => (96, 1, [1, 2, 7, 2], vec![5, 7, 9], [8, 4, 14, 7], 7),
            "s" | "small" => (96, 1, [1, 2, 11, 2], vec![7, 10, 13], [8, 4, 14, 7], 7),
            "b+" | "base_plus" => (112, 2, [2, 3, 16, 3], vec![12, 16, 20], [8, 4, 14, 7], 14),
            "l" | "large" => (144, 2, [2, 6, 36, 4], vec![23, 33, 43], [8, 4, 16, 8], 7),
            _ => return None,
        };
        let rope = || RopeAttentionConfig {
            num_heads: 1,
            rope_theta: 10000.0,
            feat_sizes: vec![64, 64],
        };
        Some(Self {
            image_size: 1024,
            image_encoder: ImageEncoderConfig {
                trunk: HieraConfig {
                    embed_dim: e,
                    num_heads: heads,
                    stages: stages.to_vec(),
                    global_att_blocks: global,
                    window_spec: windows.to_vec(),
                    window_pos_embed_bkg_spatial_size: vec![bkg, bkg],
                    q_pool: 3,
                },
                neck: NeckConfig {
                    d_model: 256,
                    backbone_channel_list: (0..4).rev().map(|i| e << i).collect(),
                    fpn_top_down_levels: vec![2, 3],
                },
                scalp: 1,
            },
            memory_attention: MemoryAttentionConfig {
                d_model: 256,
                num_layers: 4,
                pos_enc_at_input: true,
                layer: MemoryAttentionLayerConfig {
                    dim_feedforward: 2048,
                    self_attention: rope(),
                    cross_attention: rope(),
                    activation: "relu".into(),
                    pos_enc_at_attn: false,
                    pos_enc_at_cross_attn_keys: true,
                    pos_enc_at_cross_attn_queries: false,
                },
            },
            memory_encoder: MemoryEncoderConfig {
                out_dim: 64,
                mask_downsampler: MaskDownSamplerConfig {
                    kernel_size: 3,
                    stride: 2,
                    padding: 1,
                    total_stride: 16,
                },
                fuser: FuserConfig {
                    layer: CxBlockConfig {
                        dim: 256,
                        kernel_size: 7,
                        padding: 3,
                    },
                    num_layers: 2,
                },
            },
            num_maskmem: 7,
            max_obj_ptrs_in_encoder: 16,
            sigmoid_scale_for_mem_enc: 20.0,
            sigmoid_bias_for_mem_enc: -10.0,
            no_obj_embed_spatial: v21,
            add_tpos_enc_to_obj_ptrs: v21,
            proj_tpos_enc_in_obj_ptrs: v21,
            use_signed_tpos_enc_to_obj_ptrs: v21,
            sam_mask_decoder_extra_args: DecoderExtraArgs::default(),
            sam_heads: SamHeadsConfig::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_and_checkpoint_names_resolve() {
        for name in PRESETS {
            let cfg = Sam2Config::preset(name).unwrap();
            cfg.check().unwrap();
            assert_eq!(
                cfg.no_obj_embed_spatial,
                name.starts_with("sam2.1"),
                "{name}"
            );
        }
        let large = Sam2Config::preset("sam2.1_hiera_large.pt").unwrap();
        assert_eq!(large.image_encoder.trunk.stages, [2, 6, 36, 4]);
        assert_eq!(
            large.image_encoder.neck.backbone_channel_list,
            [1152, 576, 288, 144]
        );
        assert!(Sam2Config::preset("sam2_hiera_base_plus").is_some());
        assert!(Sam2Config::preset("sam3").is_none());
    }
}
