//! `scheduler/scheduler_config.json` (a `CogVideoXDDIMScheduler` config in the base model).

use serde::Deserialize;

use crate::{Error, Result};

/// How betas grow over the training timesteps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BetaSchedule {
    /// `linspace(beta_start, beta_end)`.
    Linear,
    /// `linspace(√beta_start, √beta_end)²` (the CogVideoX schedule).
    ScaledLinear,
}

/// What the network predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prediction {
    /// The noise ε.
    Epsilon,
    /// The clean sample x₀.
    Sample,
    /// The velocity v (CogVideoX).
    VPrediction,
}

/// Where the inference timesteps sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// Evenly from the last training step down to 0, rounded.
    Linspace,
    /// `k · (T / N)` counted from 0, plus `steps_offset`.
    Leading,
    /// `round(T − k · T/N) − 1` counted from the end (CogVideoX).
    Trailing,
}

fn default_train_steps() -> usize {
    1000
}
fn default_beta_start() -> f64 {
    0.0001
}
fn default_beta_end() -> f64 {
    0.02
}
fn default_true() -> bool {
    true
}
fn default_snr_shift() -> f64 {
    3.0
}
fn default_schedule() -> BetaSchedule {
    BetaSchedule::Linear
}
fn default_prediction() -> Prediction {
    Prediction::Epsilon
}
fn default_spacing() -> Spacing {
    Spacing::Leading
}

/// Scheduler hyper-parameters; missing keys take diffusers' defaults, unknown keys are ignored.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SchedulerConfig {
    /// Training timesteps `T` (1000).
    #[serde(default = "default_train_steps")]
    pub num_train_timesteps: usize,
    /// First beta.
    #[serde(default = "default_beta_start")]
    pub beta_start: f64,
    /// Last beta.
    #[serde(default = "default_beta_end")]
    pub beta_end: f64,
    /// Beta schedule.
    #[serde(default = "default_schedule")]
    pub beta_schedule: BetaSchedule,
    /// What the network predicts.
    #[serde(default = "default_prediction")]
    pub prediction_type: Prediction,
    /// Timestep spacing.
    #[serde(default = "default_spacing")]
    pub timestep_spacing: Spacing,
    /// Rescale to zero terminal SNR (ᾱ_T = 0).
    #[serde(default)]
    pub rescale_betas_zero_snr: bool,
    /// ᾱ before the first training step is 1 (else ᾱ_0).
    #[serde(default = "default_true")]
    pub set_alpha_to_one: bool,
    /// Added to leading timesteps.
    #[serde(default)]
    pub steps_offset: usize,
    /// Clip x₀ (not supported: false in every CogVideoX config).
    #[serde(default)]
    pub clip_sample: bool,
    /// Dynamic thresholding (not supported).
    #[serde(default)]
    pub thresholding: bool,
    /// SNR shift of `CogVideoXDDIMScheduler` (ignored by `DDIMScheduler`).
    #[serde(default = "default_snr_shift")]
    pub snr_shift_scale: f64,
}

impl SchedulerConfig {
    /// Parses `scheduler_config.json`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad JSON or unsupported options.
    pub fn from_json(text: &str) -> Result<Self> {
        let config: Self = serde_json::from_str(text).map_err(|e| Error::Invalid(e.to_string()))?;
        if config.clip_sample || config.thresholding {
            return Err(Error::Invalid(
                "clip_sample and thresholding are not supported".into(),
            ));
        }
        if config.num_train_timesteps < 2 {
            return Err(Error::Invalid(
                "num_train_timesteps must be at least 2".into(),
            ));
        }
        Ok(config)
    }
}
