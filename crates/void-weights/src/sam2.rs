//! Loading SAM2: an official checkpoint (`.pt`, the state dict under `"model"`) or a
//! safetensors file with the same key names, and its architecture by preset name, by the
//! checkpoint's file name, or from a JSON config (the `model` section of a sam2 yaml).
//! Not strict about unused tensors: official checkpoints hold layers the video path never
//! reads (the mask-prompt encoder, `no_mem_pos_enc`).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use void_models::sam2::{PRESETS, Sam2, Sam2Config};

use crate::{Error, Result};

/// The architecture `config` names: a JSON file, a preset (`sam2.1_hiera_l`, ...), or, when
/// absent, the preset the checkpoint's file name gives (`sam2.1_hiera_large.pt`).
///
/// # Errors
/// [`Error::Config`] for an unreadable or invalid JSON file, a name that is no preset, or a
/// checkpoint whose name says nothing.
pub fn resolve_config(config: Option<&str>, checkpoint: &Path) -> Result<Sam2Config> {
    let presets = PRESETS.join(", ");
    let config_error = |path: &Path, reason: String| Error::Config {
        path: path.to_path_buf(),
        reason,
    };
    match config {
        Some(c) if Path::new(c).is_file() => {
            let path = Path::new(c);
            let text =
                std::fs::read_to_string(path).map_err(|e| config_error(path, e.to_string()))?;
            let cfg: Sam2Config = serde_json::from_str(&text)
                .map_err(|e| config_error(path, format!("not a SAM2 config: {e}")))?;
            cfg.check().map_err(|e| config_error(path, e.to_string()))?;
            Ok(cfg)
        }
        Some(name) => Sam2Config::preset(name).ok_or_else(|| {
            config_error(
                &PathBuf::from(name),
                format!("neither a config file nor a SAM2 model name ({presets})"),
            )
        }),
        None => {
            let stem = checkpoint
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            Sam2Config::preset(stem).ok_or_else(|| {
                config_error(
                    checkpoint,
                    format!(
                        "cannot tell which SAM2 model this is from its name; name the config ({presets}, or a JSON file)"
                    ),
                )
            })
        }
    }
}

/// Loads SAM2 from `checkpoint` with the architecture `config` resolves to (see
/// [`resolve_config`]), in f32 on `device`, hole filling up to `fill_hole_area` pixels.
///
/// # Errors
/// [`Error::Config`] as [`resolve_config`]; [`Error::Unreadable`] for a missing or unreadable
/// file; [`Error::Model`] naming the file and the missing or misshapen key.
pub fn load_sam2(
    checkpoint: &Path,
    config: Option<&str>,
    fill_hole_area: usize,
    device: &Device,
) -> Result<Sam2> {
    let cfg = resolve_config(config, checkpoint)?;
    let path = checkpoint.to_path_buf();
    if !checkpoint.is_file() {
        return Err(Error::Unreadable {
            path,
            reason: "no such checkpoint file".into(),
        });
    }
    let is_pickle = matches!(
        checkpoint.extension().and_then(|e| e.to_str()),
        Some("pt" | "pth" | "bin")
    );
    // Read whole (under 1 GB for the large model).
    let tensors = if is_pickle {
        candle_core::pickle::read_all_with_key(checkpoint, Some("model"))
            .map(|t| t.into_iter().collect())
    } else {
        candle_core::safetensors::load(checkpoint, &Device::Cpu)
    }
    .map_err(|e| Error::Unreadable {
        path: path.clone(),
        reason: format!("cannot read the checkpoint: {e}"),
    })?;
    let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
    Sam2::new(&cfg, fill_hole_area, vb).map_err(|e| Error::Model {
        path,
        reason: format!("does not fit the SAM2 model it was taken for: {e}"),
    })
}
