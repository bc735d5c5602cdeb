//! Errors of running a pass.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong running a pass.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Inputs that do not fit together or an option out of range (the message says which).
    #[error("{0}")]
    Invalid(String),
    /// A network could not be loaded (on demand).
    #[error("{0}")]
    Load(Box<dyn std::error::Error + Send + Sync>),
    /// A network failed.
    #[error(transparent)]
    Model(#[from] void_models::Error),
    /// The scheduler failed.
    #[error(transparent)]
    Scheduler(#[from] void_schedulers::Error),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}
