//! The VAE from the base model's `vae/` folder: `config.json` plus
//! `diffusion_pytorch_model.safetensors` (diffusers key names).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Shape, Tensor};
use void_models::vae::{AutoencoderKLCogVideoX, VaeConfig};

use crate::{Result, WeightFiles};

/// Reads the VAE's `config.json` from `path`: the file, the `vae/` folder, or the base-model
/// folder.
///
/// # Errors
/// [`crate::Error::Config`] if none is found or it is not a supported VAE config.
pub fn read_vae_config(path: &Path) -> Result<(PathBuf, VaeConfig)> {
    crate::config::read_config(path, "vae", VaeConfig::from_json)
}

/// Loads the VAE from `config` (see [`read_vae_config`]) and `weights` (a safetensors file or
/// the `vae/` folder), in `dtype` on `device`.
///
/// # Errors
/// The errors of [`read_vae_config`], [`WeightFiles::open`] and [`WeightFiles::build`].
pub fn load_vae(
    config: &Path,
    weights: &Path,
    dtype: DType,
    device: &Device,
) -> Result<AutoencoderKLCogVideoX> {
    let (_, config) = read_vae_config(config)?;
    let files = WeightFiles::open(weights)?;
    let keep = |_: &str, _: &Shape, t: Tensor| Ok(t);
    files.build(dtype, device, &keep, |vb| {
        AutoencoderKLCogVideoX::new(&config, vb)
    })
}
