//! Finding and reading a component's `config.json`.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Reads the `config.json` of `component` (`transformer`, `vae`, …) at `path`: the file
/// itself, a folder holding it, or a base-model folder holding `<component>/config.json`;
/// `parse` turns its text into the config.
///
/// # Errors
/// [`Error::Config`] naming the file if none is found, it cannot be read, or `parse` fails.
pub fn read_config<T, E: std::fmt::Display>(
    path: &Path,
    component: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<(PathBuf, T)> {
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
    let fail = |reason: String| Error::Config {
        path: file.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&file).map_err(|e| fail(format!("cannot read: {e}")))?;
    let config = parse(&text).map_err(|e| fail(e.to_string()))?;
    Ok((file, config))
}
