//! DDIM (η = 0) with diffusers' exact arithmetic: the ᾱ table in the flavour's precision,
//! trailing/leading/linspace timesteps, and `step` with `prev = t − T/N` — which for N = 30
//! lands on t−33 while the next call is at t−34 in 10 of 29 transitions (spec §5.4, §11
//! item 21; reproduced on purpose).

use candle_core::{DType, Tensor};

use crate::{BetaSchedule, Error, Prediction, Result, SchedulerConfig, Spacing};

/// Which diffusers class to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// `DDIMScheduler` (Pass 1): f32 table, zero-SNR rescale through the betas, SNR shift ignored.
    Ddim,
    /// `CogVideoXDDIMScheduler` (Pass 2): f64 table, `snr_shift_scale`, zero-SNR on ᾱ.
    CogVideoX,
}

/// A DDIM scheduler with its timesteps set.
#[derive(Clone, Debug)]
pub struct Ddim {
    config: SchedulerConfig,
    flavour: Flavour,
    alphas_cumprod: Vec<f64>,
    final_alpha_cumprod: f64,
    timesteps: Vec<usize>,
}

/// torch.linspace: the first half counts up from `start`, the second half down from `end`,
/// each value one fused multiply-add (torch's vectorised kernel; this matches it bit for bit).
fn linspace(start: f64, end: f64, n: usize, round: impl Fn(f64) -> f64) -> Vec<f64> {
    let (start, end) = (round(start), round(end));
    let step = round((end - start) / round((n - 1) as f64));
    (0..n)
        .map(|i| {
            if i < n / 2 {
                round(step.mul_add(i as f64, start))
            } else {
                round((-step).mul_add((n - 1 - i) as f64, end))
            }
        })
        .collect()
}

/// Running product accumulated in f64 (torch's CPU `cumprod` for f32 too), each output rounded.
fn cumprod(values: &[f64], round: impl Fn(f64) -> f64) -> Vec<f64> {
    let mut acc = 1.0;
    values
        .iter()
        .map(|v| {
            acc *= v;
            round(acc)
        })
        .collect()
}

/// Rescales √ᾱ linearly so that its last value is 0 and its first unchanged, returning ᾱ.
fn zero_terminal_snr(alphas_cumprod: &[f64], round: impl Fn(f64) -> f64) -> Vec<f64> {
    let sqrt: Vec<f64> = alphas_cumprod.iter().map(|a| round(a.sqrt())).collect();
    let (first, last) = (sqrt[0], sqrt[sqrt.len() - 1]);
    let scale = round(first / round(first - last));
    sqrt.iter()
        .map(|s| round(round(round(s - last) * scale).powi(2)))
        .collect()
}

fn f32_round(x: f64) -> f64 {
    f64::from(x as f32)
}

impl Ddim {
    /// Builds the ᾱ table of `flavour` from `config`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unsupported config.
    pub fn new(config: &SchedulerConfig, flavour: Flavour) -> Result<Self> {
        let n = config.num_train_timesteps;
        let alphas_cumprod = match flavour {
            Flavour::Ddim => {
                let r = f32_round;
                let betas: Vec<f64> = match config.beta_schedule {
                    BetaSchedule::Linear => linspace(config.beta_start, config.beta_end, n, r),
                    BetaSchedule::ScaledLinear => {
                        linspace(config.beta_start.sqrt(), config.beta_end.sqrt(), n, r)
                            .iter()
                            .map(|b| r(b * b))
                            .collect()
                    }
                };
                let alphas: Vec<f64> = betas.iter().map(|b| r(1.0 - b)).collect();
                let cumprod_alphas = cumprod(&alphas, r);
                if config.rescale_betas_zero_snr {
                    // diffusers rescales the betas: ᾱ -> betas -> alphas -> ᾱ again.
                    let bar = zero_terminal_snr(&cumprod_alphas, r);
                    let alphas: Vec<f64> = std::iter::once(bar[0])
                        .chain(bar.windows(2).map(|w| r(w[1] / w[0])))
                        .map(|a| r(1.0 - r(1.0 - a)))
                        .collect();
                    cumprod(&alphas, r)
                } else {
                    cumprod_alphas
                }
            }
            Flavour::CogVideoX => {
                let id = |x: f64| x;
                let betas: Vec<f64> = match config.beta_schedule {
                    BetaSchedule::Linear => {
                        linspace(config.beta_start, config.beta_end, n, f32_round)
                    }
                    BetaSchedule::ScaledLinear => {
                        linspace(config.beta_start.sqrt(), config.beta_end.sqrt(), n, id)
                            .iter()
                            .map(|b| b * b)
                            .collect()
                    }
                };
                let alphas: Vec<f64> = betas.iter().map(|b| 1.0 - b).collect();
                let s = config.snr_shift_scale;
                let shifted: Vec<f64> = cumprod(&alphas, id)
                    .iter()
                    .map(|a| a / (s + (1.0 - s) * a))
                    .collect();
                if config.rescale_betas_zero_snr {
                    zero_terminal_snr(&shifted, id)
                } else {
                    shifted
                }
            }
        };
        let final_alpha_cumprod = if config.set_alpha_to_one {
            1.0
        } else {
            alphas_cumprod[0]
        };
        Ok(Self {
            config: config.clone(),
            flavour,
            alphas_cumprod,
            final_alpha_cumprod,
            timesteps: Vec::new(),
        })
    }

    /// ᾱ for every training timestep (f32 values for [`Flavour::Ddim`]).
    pub fn alphas_cumprod(&self) -> &[f64] {
        &self.alphas_cumprod
    }

    /// Chooses `steps` inference timesteps (diffusers `set_timesteps`).
    ///
    /// # Errors
    /// [`Error::Invalid`] for 0 steps or more than the training timesteps.
    pub fn set_timesteps(&mut self, steps: usize) -> Result<()> {
        let train = self.config.num_train_timesteps;
        if steps == 0 || steps > train {
            return Err(Error::Invalid(format!(
                "{steps} inference steps: must be 1..={train}"
            )));
        }
        self.timesteps = match self.config.timestep_spacing {
            Spacing::Linspace => {
                let last = (train - 1) as f64;
                (0..steps)
                    .rev()
                    .map(|i| {
                        if steps == 1 {
                            0
                        } else {
                            (last * i as f64 / (steps - 1) as f64).round_ties_even() as usize
                        }
                    })
                    .collect()
            }
            Spacing::Leading => {
                let ratio = train / steps;
                (0..steps)
                    .rev()
                    .map(|i| i * ratio + self.config.steps_offset)
                    .collect()
            }
            Spacing::Trailing => {
                // np.round(np.arange(T, 0, -T/N)) - 1
                let ratio = train as f64 / steps as f64;
                let count = (train as f64 / ratio).ceil() as usize;
                (0..count)
                    .map(|i| (train as f64 - i as f64 * ratio).round_ties_even() as usize - 1)
                    .collect()
            }
        };
        Ok(())
    }

    /// The timesteps, first to last.
    pub fn timesteps(&self) -> &[usize] {
        &self.timesteps
    }

    /// The timesteps a partial denoise (`strength` < 1) runs: the last `int(N·strength)`
    /// (pipeline `get_timesteps`).
    pub fn timesteps_for_strength(&self, strength: f64) -> &[usize] {
        let n = self.timesteps.len();
        let keep = ((n as f64 * strength) as usize).min(n);
        &self.timesteps[n - keep..]
    }

    /// ᾱ at timestep `t`, and at the timestep a step from `t` lands on.
    fn alphas_at(&self, t: usize) -> Result<(f64, f64)> {
        if self.timesteps.is_empty() {
            return Err(Error::Invalid("set_timesteps must come before step".into()));
        }
        let alpha = *self
            .alphas_cumprod
            .get(t)
            .ok_or_else(|| Error::Invalid(format!("timestep {t} out of range")))?;
        let stride = self.config.num_train_timesteps / self.timesteps.len();
        let prev = t
            .checked_sub(stride)
            .map_or(self.final_alpha_cumprod, |p| self.alphas_cumprod[p]);
        Ok((alpha, prev))
    }

    /// One DDIM step (η = 0) from `sample` at `t` given the network's `model_output`; returns the
    /// previous sample in f32. Products with `sample` use the scalar rounded to the sample's
    /// dtype and are stored in that dtype, as torch does for a bf16 sample and 0-dim f32 scalars.
    ///
    /// # Errors
    /// [`Error::Invalid`] before `set_timesteps` or for `t` out of range.
    pub fn step(&self, model_output: &Tensor, t: usize, sample: &Tensor) -> Result<Tensor> {
        let (alpha, alpha_prev) = self.alphas_at(t)?;
        let out = model_output.to_dtype(DType::F32)?;
        // torch casts the 0-dim scalar to the sample's dtype, multiplies in f32 and stores the
        // product in the sample's dtype.
        let xs = |s: f64| -> Result<Tensor> {
            let s = Tensor::new(s as f32, sample.device())?
                .to_dtype(sample.dtype())?
                .to_dtype(DType::F64)?
                .to_scalar::<f64>()?;
            Ok(sample
                .to_dtype(DType::F32)?
                .affine(s, 0.0)?
                .to_dtype(sample.dtype())?
                .to_dtype(DType::F32)?)
        };
        let r = |x: f64| match self.flavour {
            Flavour::Ddim => f32_round(x),
            Flavour::CogVideoX => x,
        };
        let beta = r(1.0 - alpha);
        let (sa, sb) = (r(alpha.sqrt()), r(beta.sqrt()));
        let x0 = match self.config.prediction_type {
            Prediction::VPrediction => (xs(sa)? - out.affine(sb, 0.0)?)?,
            Prediction::Epsilon => {
                (sample.to_dtype(DType::F32)? - out.affine(sb, 0.0)?)?.affine(1.0 / sa, 0.0)?
            }
            Prediction::Sample => out.clone(),
        };
        match self.flavour {
            Flavour::Ddim => {
                let eps = match self.config.prediction_type {
                    Prediction::VPrediction => (out.affine(sa, 0.0)? + xs(sb)?)?,
                    Prediction::Epsilon => out,
                    Prediction::Sample => (sample.to_dtype(DType::F32)? - x0.affine(sa, 0.0)?)?
                        .affine(1.0 / sb, 0.0)?,
                };
                let direction = r(r(1.0 - alpha_prev).sqrt());
                Ok((x0.affine(r(alpha_prev.sqrt()), 0.0)? + eps.affine(direction, 0.0)?)?)
            }
            Flavour::CogVideoX => {
                let a = ((1.0 - alpha_prev) / (1.0 - alpha)).sqrt();
                let b = alpha_prev.sqrt() - alpha.sqrt() * a;
                Ok((xs(a)? + x0.affine(b, 0.0)?)?)
            }
        }
    }

    /// `√ᾱ_t · original + √(1−ᾱ_t) · noise` in f32 (diffusers `add_noise`).
    ///
    /// # Errors
    /// [`Error::Invalid`] for `t` out of range.
    pub fn add_noise(&self, original: &Tensor, noise: &Tensor, t: usize) -> Result<Tensor> {
        let alpha = f32_round(
            *self
                .alphas_cumprod
                .get(t)
                .ok_or_else(|| Error::Invalid(format!("timestep {t} out of range")))?,
        );
        let (sa, sb) = (
            f32_round(alpha.sqrt()),
            f32_round(f32_round(1.0 - alpha).sqrt()),
        );
        Ok((original.to_dtype(DType::F32)?.affine(sa, 0.0)?
            + noise.to_dtype(DType::F32)?.affine(sb, 0.0)?)?)
    }
}
