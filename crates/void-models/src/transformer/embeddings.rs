//! Timestep and patch embeddings (diffusers `embeddings.py`: `get_timestep_embedding`,
//! `TimestepEmbedding`, `CogVideoXPatchEmbed` with `patch_size_t`).

use candle_core::{Device, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};

use super::TransformerConfig;

/// Sinusoidal features of the timesteps, `(batch, dim)` f32: `[cos | sin]` when
/// `flip_sin_to_cos`, with frequencies `exp(-ln(10000)·i / (dim/2 − shift))`, in f32 like torch.
pub fn timestep_features(
    timesteps: &[f32],
    dim: usize,
    flip_sin_to_cos: bool,
    shift: f64,
    device: &Device,
) -> Result<Tensor> {
    let half = dim / 2;
    let log_max = -(10000f64.ln()) as f32;
    let denom = (half as f64 - shift) as f32;
    let freqs: Vec<f32> = (0..half)
        .map(|i| (log_max * i as f32 / denom).exp())
        .collect();
    let mut out = Vec::with_capacity(timesteps.len() * dim);
    for &t in timesteps {
        let angles: Vec<f32> = freqs.iter().map(|f| t * f).collect();
        let (sin, cos) = (
            angles.iter().map(|a| a.sin()),
            angles.iter().map(|a| a.cos()),
        );
        if flip_sin_to_cos {
            out.extend(cos.chain(sin));
        } else {
            out.extend(sin.chain(cos));
        }
        out.extend(std::iter::repeat_n(0.0, dim - 2 * half));
    }
    Tensor::from_vec(out, (timesteps.len(), dim), device)
}

/// `linear_1 → SiLU → linear_2`: timestep features to the modulation embedding.
#[derive(Clone, Debug)]
pub struct TimestepEmbedding {
    linear_1: Linear,
    linear_2: Linear,
}

impl TimestepEmbedding {
    /// Loads `time_embedding.*`.
    pub fn new(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            linear_1: linear(in_dim, out_dim, vb.pp("linear_1"))?,
            linear_2: linear(out_dim, out_dim, vb.pp("linear_2"))?,
        })
    }

    /// `(batch, in_dim)` -> `(batch, out_dim)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.linear_2.forward(&self.linear_1.forward(x)?.silu()?)
    }
}

/// Text projection and 3-D patchify + projection of the latent video.
#[derive(Clone, Debug)]
pub struct CogVideoXPatchEmbed {
    proj: Linear,
    text_proj: Linear,
    patch: usize,
    patch_t: usize,
}

impl CogVideoXPatchEmbed {
    /// Loads `patch_embed.*` (`proj` always has a bias, whatever `patch_bias` says).
    pub fn new(cfg: &TransformerConfig, vb: VarBuilder) -> Result<Self> {
        let (p, pt, d) = (cfg.patch_size, cfg.patch_t(), cfg.inner_dim());
        Ok(Self {
            proj: linear(cfg.in_channels * p * p * pt, d, vb.pp("proj"))?,
            text_proj: linear(cfg.text_embed_dim, d, vb.pp("text_proj"))?,
            patch: p,
            patch_t: pt,
        })
    }

    /// `text (b, l, text_dim)`, `video (b, f, c, h, w)` -> `(b, l + f/pt·h/p·w/p, d)`, text first.
    /// Patch features are ordered `c·pt·p·p + dt·p·p + dy·p + dx`, tokens t-major, then row, then
    /// column.
    pub fn forward(&self, text: &Tensor, video: &Tensor) -> Result<Tensor> {
        let (b, f, c, h, w) = video.dims5()?;
        let (p, pt) = (self.patch, self.patch_t);
        let x = video
            .permute((0, 1, 3, 4, 2))? // (b, f, h, w, c)
            .reshape(vec![b * f / pt, pt, h / p, p, w / p, p, c])?
            .permute(vec![0, 2, 4, 6, 1, 3, 5])? // (b·f', h', w', c, pt, p, p)
            .reshape((b, f / pt * (h / p) * (w / p), c * pt * p * p))?;
        let video_tokens = self.proj.forward(&x)?;
        let text_tokens = self.text_proj.forward(text)?;
        Tensor::cat(&[text_tokens, video_tokens], 1)
    }
}

/// Folds `(b, f'·h'·w', c·pt·p·p)` patch outputs back into `(b, f'·pt, c, h'·p, w'·p)`.
pub fn unpatchify(
    x: &Tensor,
    grid: (usize, usize, usize),
    channels: usize,
    p: usize,
    pt: usize,
) -> Result<Tensor> {
    let (b, _, _) = x.dims3()?;
    let (gt, gh, gw) = grid;
    x.reshape(vec![b * gt, gh, gw, channels, pt, p, p])?
        .permute(vec![0, 4, 3, 1, 5, 2, 6])? // (b·f', pt, c, h', p, w', p)
        .reshape((b, gt * pt, channels, gh * p, gw * p))
}
