//! The VOID transformer from its files: `transformer/config.json` plus a checkpoint
//! (`void_pass1.safetensors`, `void_pass2.safetensors`, or the base model's own weights).
//!
//! `in_channels` follows the checkpoint (48 for VOID's checkpoints, 33 for the base model)
//! unless overridden; overriding the base model's 33 with 48 widens its patch embedding as the
//! reference does (void-inference-spec §2.4, [`expand_patch_embed`]).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Shape, Tensor};
use void_models::ops::linear::WeightStorage;
use void_models::transformer::{CogVideoXTransformer3DModel, TransformerConfig};

use crate::{Result, WeightFiles};

/// The patch-embedding weight, whose width gives the input channels.
const PATCH_EMBED: &str = "patch_embed.proj.weight";

/// Reads `config.json` from `path`: the file itself, a folder holding it, or a base-model folder
/// holding `transformer/config.json`.
///
/// # Errors
/// [`crate::Error::Config`] if none is found or it is not a supported transformer config.
pub fn read_config(path: &Path) -> Result<(PathBuf, TransformerConfig)> {
    crate::config::read_config(path, "transformer", TransformerConfig::from_json)
}

/// Loads the transformer from `config` (see [`read_config`]) and `weights` (a checkpoint file,
/// index or folder), in `dtype` on `device`. `in_channels` overrides the checkpoint's input
/// width.
///
/// # Errors
/// The errors of [`read_config`], [`WeightFiles::open`] and [`WeightFiles::build`].
pub fn load_transformer(
    config: &Path,
    weights: &Path,
    in_channels: Option<usize>,
    dtype: DType,
    device: &Device,
) -> Result<CogVideoXTransformer3DModel> {
    load_transformer_with(
        config,
        weights,
        in_channels,
        dtype,
        device,
        WeightStorage::Native,
    )
}

/// [`load_transformer`] with the blocks' weight matrices stored as `storage` says (fp8 halves
/// the transformer's memory; each matrix is converted as it is read, so the full-precision
/// weights never all sit in memory at once).
///
/// # Errors
/// As [`load_transformer`].
pub fn load_transformer_with(
    config: &Path,
    weights: &Path,
    in_channels: Option<usize>,
    dtype: DType,
    device: &Device,
    storage: WeightStorage,
) -> Result<CogVideoXTransformer3DModel> {
    let (_, config) = read_config(config)?;
    let files = WeightFiles::open(weights)?;
    let per_channel = config.patch_size * config.patch_size * config.patch_t();
    let stored_in = files
        .shape(PATCH_EMBED)
        .and_then(|s| s.get(1))
        .map(|w| w / per_channel);
    let config = match in_channels.or(stored_in) {
        Some(c) => config.with_in_channels(c),
        None => config,
    };
    let adapt =
        move |name: &str, want: &Shape, t: Tensor| expand_patch_embed(name, want, t, per_channel);
    files.build(dtype, device, &adapt, |vb| {
        CogVideoXTransformer3DModel::with_storage(&config, vb, storage)
    })
}

/// Widens the base model's patch embedding (`2k+1` input channels: noise, one mask channel,
/// video) to VOID's `3k` (noise, `k` mask channels, video): noise and video columns are copied,
/// and each of the `k` mask channels gets a copy of the single mask channel's columns
/// (reference `from_pretrained`, spec §2.4; 33 -> 48 channels, 264 -> 384 columns). Every other
/// tensor passes through.
pub fn expand_patch_embed(
    name: &str,
    want: &Shape,
    t: Tensor,
    per_channel: usize,
) -> candle_core::Result<Tensor> {
    let (&[d_want, w_want], &[d, w]) = (want.dims(), t.dims()) else {
        return Ok(t);
    };
    let k = w_want / (3 * per_channel);
    if name != PATCH_EMBED
        || d != d_want
        || w_want != 3 * k * per_channel
        || w != (2 * k + 1) * per_channel
    {
        return Ok(t);
    }
    let block = k * per_channel;
    let mask = t.narrow(1, block, per_channel)?;
    let mut parts = vec![t.narrow(1, 0, block)?];
    parts.extend(std::iter::repeat_n(mask, k));
    parts.push(t.narrow(1, block + per_channel, block)?);
    Tensor::cat(&parts, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_copies_noise_video_and_repeats_the_mask_channel() {
        // k = 2 channels of noise and video, 3 columns per channel: 5 channels stored, 6 wanted.
        let stored: Vec<f32> = (0..15).map(|v| v as f32).collect();
        let t = Tensor::from_vec(stored, (1, 15), &Device::Cpu).unwrap();
        let out = expand_patch_embed(PATCH_EMBED, &Shape::from((1, 18)), t.clone(), 3).unwrap();
        let got: Vec<f32> = out.flatten_all().unwrap().to_vec1().unwrap();
        let want = [
            0., 1., 2., 3., 4., 5., 6., 7., 8., 6., 7., 8., 9., 10., 11., 12., 13., 14.,
        ];
        assert_eq!(got, want);
        // Other tensors and matching shapes pass through.
        let same =
            expand_patch_embed("proj_out.weight", &Shape::from((1, 18)), t.clone(), 3).unwrap();
        assert_eq!(same.dims(), [1, 15]);
    }
}
