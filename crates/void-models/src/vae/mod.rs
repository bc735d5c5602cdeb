//! The CogVideoX 3-D causal VAE (`AutoencoderKLCogVideoX`) as VOID runs it.
//!
//! Port of VOID's vendored `videox_fun/models/cogvideox_vae.py` (void-inference-spec §3),
//! weights by diffusers' key names, config from `vae/config.json` ([`VaeConfig`]).
//!
//! * **Encode** ([`AutoencoderKLCogVideoX::encode`]) codes the video in chunks of 8 frames, the
//!   remainder joining the first (85 frames: 13, 8, 8, …), and returns the posterior's mean
//!   (`latent_dist.mode()`), unscaled. Identical to diffusers 0.42.1.
//! * **Decode** ([`AutoencoderKLCogVideoX::decode`]) takes latent frame 0 alone and then pairs
//!   (22 latents: 1, 2, …, 2, 1 -> 1 + 10·8 + 4 = 85 frames). This is where VOID's copy
//!   differs from diffusers, whose decoder takes chunks of 2 with the remainder first and
//!   doubles time in every chunk except a lone frame or an odd chunk's first frame; the two
//!   chunkings give different pixels.
//!
//! Causal-conv caches flow between chunks; GroupNorm statistics are per chunk, so the chunking
//! is part of the numerics. Optional spatial tiling ([`Tiling`]) bounds memory at large
//! resolutions at the price of a small, measured difference.

mod chunks;
mod config;
mod conv;
mod decoder;
mod encoder;
mod norm;
mod resize;
mod resnet;
mod sampling;
mod tiling;

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;

pub use chunks::{decode_chunks, encode_chunks};
pub use config::VaeConfig;
pub use conv::FrameCache;
pub use decoder::Decoder3D;
pub use encoder::Encoder3D;
pub use tiling::Tiling;

use crate::{Error, Result};

/// SiLU computed in f32 and rounded once to the input's dtype, as PyTorch's bf16 kernels do
/// (candle's bf16 SiLU rounds after every elementary operation).
fn silu(x: &Tensor) -> candle_core::Result<Tensor> {
    match x.dtype() {
        DType::F32 | DType::F64 => x.silu(),
        dtype => x.to_dtype(DType::F32)?.silu()?.to_dtype(dtype),
    }
}

/// The whole VAE: encoder and decoder.
#[derive(Clone, Debug)]
pub struct AutoencoderKLCogVideoX {
    config: VaeConfig,
    encoder: Encoder3D,
    decoder: Decoder3D,
}

impl AutoencoderKLCogVideoX {
    /// Loads it from `vb` (`encoder.*`, `decoder.*`); weights take `vb`'s dtype.
    ///
    /// # Errors
    /// An unsupported config, or a missing or misshapen weight.
    pub fn new(config: &VaeConfig, vb: VarBuilder) -> Result<Self> {
        config.check()?;
        Ok(Self {
            config: config.clone(),
            encoder: Encoder3D::new(config, vb.pp("encoder"))?,
            decoder: Decoder3D::new(config, vb.pp("decoder"))?,
        })
    }

    /// The config it was built from.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// Encodes `video` `(b, 3, f, h, w)` in `[-1, 1]` to the posterior mean `(b, latent,
    /// f', h/8, w/8)` (unscaled: multiply by `scaling_factor` for the transformer), calling
    /// `progress(done, total)` after each chunk.
    ///
    /// # Errors
    /// [`Error::BadInput`] for a wrong shape, or a tensor error.
    pub fn encode(&self, video: &Tensor, mut progress: impl FnMut(usize, usize)) -> Result<Tensor> {
        self.check_video(video)?;
        let latent = self.config.latent_channels;
        let chunks = encode_chunks(video.dim(2)?).collect();
        by_chunks(video, chunks, &mut progress, |x, _, cache| {
            Ok(self.encoder.forward(x, cache)?.narrow(1, 0, latent)?)
        })
    }

    /// Decodes `latents` `(b, latent, f', h, w)` (unscaled: divide the transformer's by
    /// `scaling_factor` first) to video `(b, 3, f, 8h, 8w)`, about `[-1, 1]`, calling
    /// `progress(done, total)` after each chunk.
    ///
    /// # Errors
    /// [`Error::BadInput`] for a wrong shape, or a tensor error.
    pub fn decode(
        &self,
        latents: &Tensor,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Tensor> {
        self.check_latents(latents)?;
        let chunks = decode_chunks(latents.dim(2)?).collect();
        by_chunks(latents, chunks, &mut progress, |z, i, cache| {
            self.decoder.forward(z, i == 0, cache)
        })
    }

    /// [`encode`](Self::encode) tile by tile when the video is larger than `tiling`'s tile.
    ///
    /// # Errors
    /// As [`encode`](Self::encode).
    pub fn encode_tiled(
        &self,
        video: &Tensor,
        tiling: &Tiling,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Tensor> {
        self.check_video(video)?;
        let f = self.config.spatial_factor();
        tiling.run(video, f, true, &mut progress, |tile| {
            self.encode(tile, |_, _| ())
        })
    }

    /// [`decode`](Self::decode) tile by tile when the latents are larger than `tiling`'s tile.
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    pub fn decode_tiled(
        &self,
        latents: &Tensor,
        tiling: &Tiling,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Tensor> {
        self.check_latents(latents)?;
        let f = self.config.spatial_factor();
        tiling.run(latents, f, false, &mut progress, |tile| {
            self.decode(tile, |_, _| ())
        })
    }

    /// A video input: `(b, in_channels, f >= 1, h, w)`, `h` and `w` multiples of 8.
    fn check_video(&self, video: &Tensor) -> Result<()> {
        let (channels, multiple) = (self.config.in_channels, self.config.spatial_factor());
        self.check_input("video", video, channels, multiple)
    }

    /// A latent input: `(b, latent_channels, f >= 1, h, w)`.
    fn check_latents(&self, latents: &Tensor) -> Result<()> {
        self.check_input("latents", latents, self.config.latent_channels, 1)
    }

    /// `(b, channels, f >= 1, h, w)` with `h` and `w` multiples of `multiple`.
    fn check_input(
        &self,
        name: &'static str,
        x: &Tensor,
        channels: usize,
        multiple: usize,
    ) -> Result<()> {
        let dims = x.dims();
        let ok = matches!(dims, &[b, c, f, h, w] if b > 0 && c == channels && f > 0
            && h > 0 && w > 0 && h % multiple == 0 && w % multiple == 0);
        if ok {
            Ok(())
        } else {
            Err(Error::BadInput {
                name,
                expected: format!(
                    "(batch, {channels}, frames >= 1, height, width), height and width multiples of {multiple}"
                ),
                found: dims.to_vec(),
            })
        }
    }
}

/// Codes `x` chunk by chunk along time (`code(chunk, index, cache)`, one frame cache for all),
/// reports `progress(done, total)` after each, and joins the outputs on time.
fn by_chunks(
    x: &Tensor,
    chunks: Vec<std::ops::Range<usize>>,
    progress: &mut dyn FnMut(usize, usize),
    mut code: impl FnMut(&Tensor, usize, &mut FrameCache) -> Result<Tensor>,
) -> Result<Tensor> {
    let mut cache = FrameCache::new();
    let mut outs = Vec::with_capacity(chunks.len());
    for (i, chunk) in chunks.iter().enumerate() {
        outs.push(code(
            &x.narrow(2, chunk.start, chunk.len())?,
            i,
            &mut cache,
        )?);
        progress(i + 1, chunks.len());
    }
    Ok(Tensor::cat(&outs, 2)?)
}
