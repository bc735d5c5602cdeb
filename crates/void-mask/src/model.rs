//! Loading SAM2: an official checkpoint (`.pt`, the state dict under `"model"`) or a
//! safetensors file with the same key names, and its architecture by preset name, by the
//! checkpoint's file name, or from a JSON config (the `model` section of a sam2 yaml).

use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use void_models::sam2::{PRESETS, Sam2, Sam2Config};

use crate::{Error, Result};

/// The architecture `config` names: a JSON file, a preset (`sam2.1_hiera_l`, ...), or, when
/// absent, the preset the checkpoint's file name gives (`sam2.1_hiera_large.pt`).
///
/// # Errors
/// [`Error::Model`] for an unreadable or invalid JSON file, or a name that is no preset.
pub fn resolve_config(config: Option<&str>, checkpoint: &Path) -> Result<Sam2Config> {
    let presets = PRESETS.join(", ");
    match config {
        Some(c) if Path::new(c).is_file() => {
            let text = std::fs::read_to_string(c).map_err(|e| Error::Model(format!("{c}: {e}")))?;
            let cfg: Sam2Config = serde_json::from_str(&text)
                .map_err(|e| Error::Model(format!("{c}: not a SAM2 config: {e}")))?;
            cfg.check().map_err(|e| Error::Model(format!("{c}: {e}")))?;
            Ok(cfg)
        }
        Some(name) => Sam2Config::preset(name).ok_or_else(|| {
            Error::Model(format!(
                "--sam2-config {name}: neither a file nor a model name ({presets})"
            ))
        }),
        None => {
            let stem = checkpoint
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            Sam2Config::preset(stem).ok_or_else(|| {
                Error::Model(format!(
                    "{}: cannot tell which SAM2 model this is from its name; pass --sam2-config ({presets}, or a JSON config)",
                    checkpoint.display()
                ))
            })
        }
    }
}

/// Loads SAM2 from `checkpoint` with the architecture `config` resolves to (see
/// [`resolve_config`]), in f32 on `device`, hole filling up to `fill_hole_area` pixels.
///
/// # Errors
/// [`Error::Model`] naming the file and the missing or misshapen key.
pub fn load_sam2(
    checkpoint: &Path,
    config: Option<&str>,
    fill_hole_area: usize,
    device: &Device,
) -> Result<Sam2> {
    let cfg = resolve_config(config, checkpoint)?;
    let file = checkpoint.display();
    if !checkpoint.is_file() {
        return Err(Error::Model(format!("{file}: no such checkpoint file")));
    }
    let is_pickle = matches!(
        checkpoint.extension().and_then(|e| e.to_str()),
        Some("pt" | "pth" | "bin")
    );
    // Read whole (under 1 GB for the large model): the checkpoint holds tensors the video
    // path never reads (mask-prompt layers), so a strict unused-key check does not apply.
    let tensors = if is_pickle {
        candle_core::pickle::read_all_with_key(checkpoint, Some("model"))
            .map(|t| t.into_iter().collect())
    } else {
        candle_core::safetensors::load(checkpoint, &Device::Cpu)
    }
    .map_err(|e| Error::Model(format!("{file}: cannot read the checkpoint: {e}")))?;
    let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
    Sam2::new(&cfg, fill_hole_area, vb).map_err(|e| {
        Error::Model(format!(
            "{file}: does not fit the SAM2 model it was taken for: {e}"
        ))
    })
}
