//! Errors of model construction and forward passes.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong building or running a network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A config value this implementation does not support (the message says which and why).
    #[error("unsupported model config: {0}")]
    Unsupported(String),
    /// An input of the wrong shape.
    #[error("{name}: expected {expected}, got {found:?}")]
    BadInput {
        /// Which input.
        name: &'static str,
        /// What was expected, in words.
        expected: String,
        /// The shape given.
        found: Vec<usize>,
    },
    /// A token id outside the embedding table.
    #[error("{name}: token id {id} is outside the vocabulary (ids must be in 0..{vocab_size})")]
    TokenOutOfRange {
        /// Which input.
        name: &'static str,
        /// The offending id.
        id: i64,
        /// The number of embeddings.
        vocab_size: usize,
    },
    /// A tensor operation failed (includes missing weights and weight-shape mismatches).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}
