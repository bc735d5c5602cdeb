//! Errors of weight loading. Each names the file, the key and the fix.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can be wrong with weight files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file cannot be read or is not a valid safetensors file (e.g. truncated).
    #[error("{path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A tensor the model needs is absent.
    #[error("{path}: no tensor `{key}`; {hint}")]
    MissingKey {
        /// The file (or index) searched.
        path: PathBuf,
        /// The key.
        key: String,
        /// What the file probably is instead.
        hint: String,
    },
    /// A tensor has another shape than the config implies.
    #[error(
        "{path}: tensor `{key}` has shape {found:?}, the config implies {expected:?}; do the weights belong to this config?"
    )]
    ShapeMismatch {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Shape the model wants.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// A tensor has a dtype void cannot use as weights.
    #[error("{path}: tensor `{key}` is {dtype}; weights must be f32, f16, bf16 or f64")]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Its dtype.
        dtype: String,
    },
    /// The files hold tensors the model does not use.
    #[error(
        "{path}: {count} tensor(s) the model does not use, e.g. {examples}; wrong model or config?"
    )]
    UnexpectedKeys {
        /// The file (or index).
        path: PathBuf,
        /// How many.
        count: usize,
        /// The first few, comma-separated.
        examples: String,
    },
    /// A config file that cannot be used.
    #[error("{path}: {reason}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The model could not be built for another reason.
    #[error("{path}: {reason}")]
    Model {
        /// The weights.
        path: PathBuf,
        /// The model's error.
        reason: String,
    },
}
