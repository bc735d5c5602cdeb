//! Finding and reading a component's `config.json`.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Reads the `config.json` of `component` (a base-model subfolder such as `transformer` or
/// `text_encoder`) from `path`: the file itself, a folder holding it, or a base-model folder
/// holding `{component}/config.json`. Returns the file found and its text.
///
/// # Errors
/// [`Error::Config`] if none is found or it cannot be read.
pub(crate) fn read_component_config(path: &Path, component: &str) -> Result<(PathBuf, String)> {
    let file = [
        path.to_path_buf(),
        path.join("config.json"),
        path.join(component).join("config.json"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .ok_or_else(|| Error::Config {
        path: path.to_path_buf(),
        reason: format!(
            "no config.json here (give {component}/config.json or the base model folder)"
        ),
    })?;
    let text = std::fs::read_to_string(&file).map_err(|e| Error::Config {
        path: file.clone(),
        reason: format!("cannot read: {e}"),
    })?;
    Ok((file, text))
}
