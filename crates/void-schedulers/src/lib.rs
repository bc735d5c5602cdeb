//! DDIM sampling schedules and steps, as diffusers computes them (void-inference-spec §5).
//!
//! Two flavours share one implementation ([`Ddim`]): diffusers' `DDIMScheduler` (Pass 1; betas
//! and ᾱ in f32, zero-terminal-SNR through the betas) and `CogVideoXDDIMScheduler` (Pass 2; f64
//! betas, SNR shift, zero-terminal-SNR on ᾱ directly). No files: configs come in as JSON text.

mod config;
mod ddim;

pub use config::{BetaSchedule, Prediction, SchedulerConfig, Spacing};
pub use ddim::{Ddim, Flavour};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong with a scheduler.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A config this implementation does not support, or a bad request (which and why).
    #[error("scheduler: {0}")]
    Invalid(String),
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}
