//! Pass 1 (void-inference-spec §1.4–§1.5, §6, §13): the reference's
//! `CogVideoXFunInpaintPipeline.__call__` as VOID calls it, with every cast where it has one.

use candle_core::{DType, Device, Tensor};
use void_models::t5::T5EncoderModel;
use void_models::transformer::CogVideoXTransformer3DModel;
use void_models::vae::{AutoencoderKLCogVideoX, Tiling, VaeConfig};
use void_schedulers::{Ddim, Flavour, SchedulerConfig};
use void_tokenizer::T5Tokenizer;

use crate::windows::{weights, window_latents, windows};
use crate::{Error, Noise, Observer, Result, Stage};

/// The networks of one pass: tokenizer and scheduler config are small and always at hand; the
/// three large networks are [`Resident`], kept or loaded for each use.
pub struct Models {
    /// The base model's `tokenizer/`.
    pub tokenizer: T5Tokenizer,
    /// The base model's `text_encoder/` (T5-XXL).
    pub text_encoder: Resident<T5EncoderModel>,
    /// The base model's `vae/`.
    pub vae: Resident<AutoencoderKLCogVideoX>,
    /// The VAE's config (shapes are known without loading the VAE).
    pub vae_config: VaeConfig,
    /// The VOID transformer (`void_pass1.safetensors`).
    pub transformer: Resident<CogVideoXTransformer3DModel>,
    /// The base model's `scheduler/scheduler_config.json`.
    pub scheduler: SchedulerConfig,
}

/// A loader of one network, called each time an on-demand network is needed.
pub type Loader<T> =
    Box<dyn Fn() -> std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>>;

/// A large network either kept in memory for the whole run, or loaded when a stage needs it
/// and freed when the stage ends (`--memory offload`: T5 is gone before the transformer
/// arrives, the VAE is there only while it codes).
pub enum Resident<T> {
    /// Loaded once, kept.
    Kept(T),
    /// Loaded for each use.
    OnDemand(Loader<T>),
}

impl<T> Resident<T> {
    /// Runs `f` with the network, loading it first (and dropping it after) when on demand.
    ///
    /// # Errors
    /// [`Error::Load`] if loading fails, or `f`'s error.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> Result<R>) -> Result<R> {
        match self {
            Self::Kept(model) => f(model),
            Self::OnDemand(load) => {
                let model = load().map_err(Error::Load)?;
                f(&model)
            }
        }
    }
}

/// Pass 1's settings. [`Default`] is the reference's README setting (50 steps; its CLI
/// hard-codes 30).
#[derive(Clone, Debug, PartialEq)]
pub struct Pass1Options {
    /// DDIM steps.
    pub steps: usize,
    /// Classifier-free guidance scale; > 1 runs the negative prompt too (Pass 1 uses 1.0).
    pub guidance_scale: f64,
    /// The negative prompt, used only with guidance.
    pub negative_prompt: String,
    /// Video frames per temporal window (85 -> 22 latent frames).
    pub window_frames: usize,
    /// Video frames by which windows overlap (16 -> 4 latent frames).
    pub stride_frames: usize,
    /// Standard deviation of the noise added to the conditioning video (0.0563).
    pub noise_aug_strength: f64,
    /// Text tokens (226).
    pub max_sequence_length: usize,
    /// Spatially tiled VAE coding (off in the reference).
    pub tiling: Option<Tiling>,
}

impl Default for Pass1Options {
    fn default() -> Self {
        Self {
            steps: 50,
            guidance_scale: 1.0,
            negative_prompt: String::new(),
            window_frames: 85,
            stride_frames: 16,
            noise_aug_strength: 0.0563,
            max_sequence_length: 226,
            tiling: None,
        }
    }
}

/// Pass 1 with its models on one device, activations in one dtype (the transformer's).
pub struct Pass1 {
    models: Models,
    device: Device,
    dtype: DType,
}

impl Pass1 {
    /// Pass 1 over `models`, which live on `device` with weights in `dtype`.
    pub fn new(models: Models, device: Device, dtype: DType) -> Self {
        Self {
            models,
            device,
            dtype,
        }
    }

    /// The models.
    pub fn models(&self) -> &Models {
        &self.models
    }

    /// The shape of the initial latents for `frames` padded frames of `height` x `width`:
    /// `(1, latent_frames, latent_channels, height / 8, width / 8)`.
    pub fn latent_shape(&self, frames: usize, height: usize, width: usize) -> [usize; 5] {
        let vae = &self.models.vae_config;
        let f = vae.spatial_factor();
        [
            1,
            vae.latent_frames(frames),
            vae.latent_channels,
            height / f,
            width / f,
        ]
    }

    /// Runs Pass 1. `video` `(f, 3, h, w)` f32 in [0, 1] and `mask` `(f, 1, h, w)` f32 (the
    /// requantised trimask: 1 remove, 127/255 affected, 0 keep) are the padded preprocessed
    /// frames; `noise` holds `z_T` ([`Pass1::latent_shape`]) and the video augmentation noise
    /// `(1, 3, f, h, w)`. Returns the generated frames `(f, 3, h, w)` f32 in [0, 1] on the CPU.
    ///
    /// # Errors
    /// [`Error::Invalid`] for inputs that do not fit together, or a model error.
    pub fn run(
        &self,
        video: &Tensor,
        mask: &Tensor,
        prompt: &str,
        noise: &Noise,
        options: &Pass1Options,
        observer: &mut dyn Observer,
    ) -> Result<Tensor> {
        self.check(video, mask, noise, options)?;
        let prompt_embeds = self.text_embeddings(prompt, options, observer)?;

        // Conditioning: the VAE sees 1 - mask as a [0, 1] image and the full video in [-1, 1]
        // plus noise (none where a pixel is exactly -1).
        let mask_image = (1.0 - mask.to_device(&self.device)?)?.repeat((1, 3, 1, 1))?;
        let video = as_vae_video(&video.to_device(&self.device)?)?.affine(2.0, -1.0)?;
        let aug = noise.video.to_device(&self.device)?;
        let sigma = Tensor::new(options.noise_aug_strength as f32, &self.device)?;
        let aug = aug.broadcast_mul(&sigma)?;
        let aug = video.eq(-1.0)?.where_cond(&aug.zeros_like()?, &aug)?;
        let noisy_video = (video + aug)?;
        let inpaint = self.models.vae.with(|vae| {
            let image = as_vae_video(&mask_image)?;
            let mask_latents = self.encode(vae, &image, Stage::EncodeMask, options, observer)?;
            let video_latents =
                self.encode(vae, &noisy_video, Stage::EncodeVideo, options, observer)?;
            Ok(Tensor::cat(&[mask_latents, video_latents], 2)?.to_dtype(self.dtype)?)
        })?;

        let latents = noise
            .latents
            .to_device(&self.device)?
            .to_dtype(self.dtype)?;
        let latents = self.models.transformer.with(|transformer| {
            self.denoise(
                transformer,
                latents,
                &inpaint,
                &prompt_embeds,
                options,
                observer,
            )
        })?;
        self.models
            .vae
            .with(|vae| self.decode(vae, &latents, options, observer))
    }

    /// Tokenizer and T5 (once), in the transformer's dtype; with guidance, `[negative; prompt]`.
    fn text_embeddings(
        &self,
        prompt: &str,
        options: &Pass1Options,
        observer: &mut dyn Observer,
    ) -> Result<Tensor> {
        observer.begin(Stage::TextEncode, 1);
        let mut texts = vec![prompt];
        if options.guidance_scale > 1.0 {
            texts.insert(0, options.negative_prompt.as_str());
        }
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| {
                self.models
                    .tokenizer
                    .encode_padded(t, options.max_sequence_length)
            })
            .collect();
        let ids = Tensor::new(ids, &self.device)?;
        let embeds = self
            .models
            .text_encoder
            .with(|t5| Ok(t5.forward(&ids)?.to_dtype(self.dtype)?))?;
        self.device.synchronize()?;
        observer.advance(Stage::TextEncode, 1);
        observer.end(Stage::TextEncode);
        Ok(embeds)
    }

    /// VAE-encodes `x` `(1, 3, f, h, w)` (f32) in the VAE's dtype; returns `mode() *
    /// scaling_factor` as `(1, f', c, h', w')` in the VAE's dtype.
    fn encode(
        &self,
        vae: &AutoencoderKLCogVideoX,
        x: &Tensor,
        stage: Stage,
        options: &Pass1Options,
        observer: &mut dyn Observer,
    ) -> Result<Tensor> {
        let x = x.to_dtype(self.dtype)?;
        let chunks = void_models::vae::encode_chunks(x.dim(2)?).count();
        observer.begin(stage, chunks);
        let mut report = |done: usize, _total: usize| observer.advance(stage, done);
        let mean = match &options.tiling {
            Some(t) => vae.encode_tiled(&x, t, &mut report)?,
            None => vae.encode(&x, &mut report)?,
        };
        let scaled = scale(&mean, vae.config().scaling_factor)?;
        self.device.synchronize()?;
        observer.end(stage);
        Ok(scaled.permute((0, 2, 1, 3, 4))?)
    }

    /// The DDIM loop with temporal multidiffusion.
    fn denoise(
        &self,
        transformer: &CogVideoXTransformer3DModel,
        mut latents: Tensor,
        inpaint: &Tensor,
        prompt_embeds: &Tensor,
        options: &Pass1Options,
        observer: &mut dyn Observer,
    ) -> Result<Tensor> {
        let mut scheduler = Ddim::new(&self.models.scheduler, Flavour::Ddim)?;
        scheduler.set_timesteps(options.steps)?;
        let total_latents = latents.dim(1)?;
        let window = window_latents(options.window_frames);
        let stride = options.stride_frames / 4;
        if window <= stride {
            return Err(Error::Invalid(format!(
                "the window of {} frames must be longer than the overlap of {} frames",
                options.window_frames, options.stride_frames
            )));
        }
        let spans = windows(total_latents, window, stride);
        let timesteps = scheduler.timesteps().to_vec();
        observer.begin(Stage::Denoise, timesteps.len() * spans.len());
        let mut done = 0;
        for &t in &timesteps {
            latents = if spans.len() == 1 {
                let z = self.step(
                    transformer,
                    &scheduler,
                    t,
                    &latents,
                    inpaint,
                    prompt_embeds,
                    options,
                )?;
                done += 1;
                observer.advance(Stage::Denoise, done);
                z
            } else {
                let mut canvas = Tensor::zeros(latents.dims(), DType::F32, &self.device)?;
                let mut wsum = vec![0f32; total_latents];
                for span in &spans {
                    let z = self.step(
                        transformer,
                        &scheduler,
                        t,
                        &latents.narrow(1, span.start, span.len())?,
                        &inpaint.narrow(1, span.start, span.len())?,
                        prompt_embeds,
                        options,
                    )?;
                    let w = weights(span, total_latents, stride);
                    let w_t = Tensor::new(w.as_slice(), &self.device)?
                        .to_dtype(self.dtype)?
                        .reshape((1, span.len(), 1, 1, 1))?;
                    let weighted = z.broadcast_mul(&w_t)?.to_dtype(DType::F32)?;
                    let placed =
                        weighted.pad_with_zeros(1, span.start, total_latents - span.end)?;
                    canvas = (canvas + placed)?;
                    let w_rounded: Vec<f32> = w_t.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?;
                    for (k, v) in w_rounded.into_iter().enumerate() {
                        wsum[span.start + k] += v;
                    }
                    done += 1;
                    observer.advance(Stage::Denoise, done);
                }
                let wsum = Tensor::new(wsum, &self.device)?.reshape((1, total_latents, 1, 1, 1))?;
                canvas.broadcast_div(&wsum)?.to_dtype(self.dtype)?
            };
        }
        self.device.synchronize()?;
        observer.end(Stage::Denoise);
        Ok(latents)
    }

    /// One transformer call and DDIM step on one window (`_sample`): returns the window's
    /// previous latents in the latents' dtype.
    #[allow(clippy::too_many_arguments)] // the window's whole state; two call sites
    fn step(
        &self,
        transformer: &CogVideoXTransformer3DModel,
        scheduler: &Ddim,
        t: usize,
        latents: &Tensor,
        inpaint: &Tensor,
        prompt_embeds: &Tensor,
        options: &Pass1Options,
    ) -> Result<Tensor> {
        let guided = options.guidance_scale > 1.0;
        let mut x = Tensor::cat(&[latents, inpaint], 2)?;
        if guided {
            x = Tensor::cat(&[&x, &x], 0)?;
        }
        let batch = x.dim(0)?;
        let timestep = Tensor::new(vec![t as i64; batch], &self.device)?;
        let mut v = transformer.forward(&x, prompt_embeds, &timestep)?;
        if guided {
            let (u, c) = (v.narrow(0, 0, 1)?, v.narrow(0, 1, 1)?);
            v = (&u + ((c - &u)? * options.guidance_scale)?)?;
        }
        Ok(scheduler.step(&v, t, latents)?.to_dtype(self.dtype)?)
    }

    /// `decode_latents`: `z / scaling_factor` through the VAE, then `(x / 2 + 0.5).clamp(0, 1)`
    /// rounded to the VAE's dtype; returns `(f, 3, h, w)` f32 on the CPU.
    fn decode(
        &self,
        vae: &AutoencoderKLCogVideoX,
        latents: &Tensor,
        options: &Pass1Options,
        observer: &mut dyn Observer,
    ) -> Result<Tensor> {
        let z = latents.permute((0, 2, 1, 3, 4))?;
        let z = scale(&z, 1.0 / vae.config().scaling_factor)?;
        let chunks = void_models::vae::decode_chunks(z.dim(2)?).count();
        observer.begin(Stage::Decode, chunks);
        let mut report = |done: usize, _total: usize| observer.advance(Stage::Decode, done);
        let frames = match &options.tiling {
            Some(t) => vae.decode_tiled(&z, t, &mut report)?,
            None => vae.decode(&z, &mut report)?,
        };
        let frames = frames
            .to_dtype(DType::F32)?
            .affine(0.5, 0.5)?
            .to_dtype(frames.dtype())?
            .clamp(0.0, 1.0)?
            .to_dtype(DType::F32)?;
        let frames = frames
            .squeeze(0)?
            .permute((1, 0, 2, 3))?
            .to_device(&Device::Cpu)?;
        observer.end(Stage::Decode);
        Ok(frames.contiguous()?)
    }

    fn check(
        &self,
        video: &Tensor,
        mask: &Tensor,
        noise: &Noise,
        options: &Pass1Options,
    ) -> Result<()> {
        let (f, c, h, w) = video.dims4()?;
        let bad = |m: String| Err(Error::Invalid(m));
        if c != 3 {
            return bad(format!(
                "video: expected (frames, 3, h, w), got {:?}",
                video.dims()
            ));
        }
        if mask.dims() != [f, 1, h, w] {
            return bad(format!(
                "mask {:?} does not match video {:?}",
                mask.dims(),
                video.dims()
            ));
        }
        let want = self.latent_shape(f, h, w);
        if noise.latents.dims() != want {
            return bad(format!(
                "noise latents {:?}, expected {want:?}",
                noise.latents.dims()
            ));
        }
        if noise.video.dims() != [1, 3, f, h, w] {
            return bad(format!(
                "video noise {:?}, expected {:?}",
                noise.video.dims(),
                [1, 3, f, h, w]
            ));
        }
        if options.steps == 0 {
            return bad("steps must be at least 1".into());
        }
        Ok(())
    }
}

/// `(f, c, h, w)` -> `(1, c, f, h, w)`.
fn as_vae_video(x: &Tensor) -> Result<Tensor> {
    Ok(x.permute((1, 0, 2, 3))?.unsqueeze(0)?)
}

/// `x * factor` computed in f32 and rounded once to `x`'s dtype (torch multiplies a bf16
/// tensor by a Python float in f32).
fn scale(x: &Tensor, factor: f64) -> Result<Tensor> {
    Ok(x.to_dtype(DType::F32)?
        .affine(factor, 0.0)?
        .to_dtype(x.dtype())?)
}
