//! The T5 text encoder from its files: `text_encoder/config.json` plus the weights
//! (`model.safetensors`, or `model.safetensors.index.json` and its shards, as transformers saves
//! them).
//!
//! The token embedding is tied: transformers' `save_pretrained` stores it once as
//! `shared.weight`, other writers as `encoder.embed_tokens.weight` or under both names. Any of
//! these loads; a second copy is ignored (it must have the same shape).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Shape, Tensor};
use void_models::t5::{T5Config, T5EncoderModel};

use crate::{Result, WeightFiles};

/// The token embedding the model reads.
pub const SHARED: &str = "shared.weight";
/// Its tied copy in the encoder stack.
pub const EMBED_TOKENS: &str = "encoder.embed_tokens.weight";

/// Reads the T5 `config.json` from `path`: the file itself, a folder holding it, or a base-model
/// folder holding `text_encoder/config.json`.
///
/// # Errors
/// [`crate::Error::Config`] if none is found or it is not a supported T5 encoder config.
pub fn read_t5_config(path: &Path) -> Result<(PathBuf, T5Config)> {
    crate::config::read_config(path, "text_encoder", T5Config::from_json)
}

/// Loads the T5 encoder from `config` (see [`read_t5_config`]) and `weights` (a `.safetensors`
/// file, a `model.safetensors.index.json`, or a folder holding either), in `dtype` on `device`.
///
/// # Errors
/// The errors of [`read_t5_config`], [`WeightFiles::open`] and [`WeightFiles::build`]: a missing
/// or unused tensor, a wrong shape or an integer dtype, each naming the file and the key.
pub fn load_t5(
    config: &Path,
    weights: &Path,
    dtype: DType,
    device: &Device,
) -> Result<T5EncoderModel> {
    let (_, config) = read_t5_config(config)?;
    let files = WeightFiles::open(weights)?.with_tied(SHARED, EMBED_TOKENS);
    let unchanged = |_: &str, _: &Shape, t: Tensor| Ok(t);
    files.build(dtype, device, &unchanged, |vb| {
        T5EncoderModel::new(&config, vb)
    })
}
