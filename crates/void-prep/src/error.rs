//! Errors of preprocessing parameters.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A preprocessing parameter that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A sample size that is not `HxW` with both multiples of 16.
    #[error("invalid sample size {given:?}: {reason}")]
    SampleSize {
        /// What was given.
        given: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Frame limits that contradict each other.
    #[error("invalid frame limits: {0}")]
    FrameLimits(String),
}
