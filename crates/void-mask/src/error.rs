//! Errors of the mask pipeline.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong making a mask.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A malformed or impossible prompt (the message names it).
    #[error("{0}")]
    Prompt(String),
    /// The frames could not be read (the message names the video).
    #[error("{0}")]
    Frames(String),
    /// A network failed.
    #[error(transparent)]
    Network(#[from] void_models::Error),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}
