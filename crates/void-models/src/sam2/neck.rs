//! SAM2's FPN neck (`image_encoder.py:FpnNeck`) and the sine position encoding it attaches to
//! every level (`position_encoding.py:PositionEmbeddingSine`).

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Conv2d, VarBuilder, conv2d};

use super::config::NeckConfig;
use crate::Result;

/// 1x1 lateral convolutions, one top-down fusion (nearest 2x upsampling, summed) on the levels
/// `fpn_top_down_levels` names.
#[derive(Clone, Debug)]
pub struct FpnNeck {
    /// `convs.{j}` reads trunk level `3 - j` (the list runs from the lowest resolution).
    convs: Vec<Conv2d>,
    top_down: Vec<usize>,
    d_model: usize,
}

impl FpnNeck {
    /// Loads `image_encoder.neck.convs.{j}.conv.*` from `vb`.
    ///
    /// # Errors
    /// A missing or misshapen weight (the message names the key).
    pub fn new(cfg: &NeckConfig, vb: VarBuilder) -> Result<Self> {
        let convs = cfg
            .backbone_channel_list
            .iter()
            .enumerate()
            .map(|(j, &c)| {
                conv2d(
                    c,
                    cfg.d_model,
                    1,
                    Default::default(),
                    vb.pp("convs").pp(j).pp("conv"),
                )
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(Self {
            convs,
            top_down: cfg.fpn_top_down_levels.clone(),
            d_model: cfg.d_model,
        })
    }

    /// The trunk's four levels (highest resolution first) -> `(features, positions)` for the
    /// first `4 - scalp` levels, each `(b, d_model, h, w)`.
    ///
    /// # Errors
    /// Trunk outputs of unexpected channels.
    pub fn forward(&self, levels: &[Tensor], scalp: usize) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
        let n = self.convs.len() - 1;
        let mut out: Vec<Option<Tensor>> = vec![None; levels.len()];
        let mut prev: Option<Tensor> = None;
        for i in (0..levels.len()).rev() {
            let lateral = self.convs[n - i].forward(&levels[i])?;
            let level = match prev.take() {
                Some(above) if self.top_down.contains(&i) => {
                    let (h, w) = (above.dim(2)?, above.dim(3)?);
                    (lateral + above.upsample_nearest2d(2 * h, 2 * w)?)?
                }
                _ => lateral,
            };
            prev = Some(level.clone());
            out[i] = Some(level);
        }
        let kept = levels.len().saturating_sub(scalp);
        let features: Vec<Tensor> = out.into_iter().take(kept).flatten().collect();
        let positions = features
            .iter()
            .map(|f| {
                let (b, _, h, w) = f.dims4()?;
                sine_position(self.d_model, h, w, f.device())?
                    .to_dtype(f.dtype())?
                    .broadcast_as((b, self.d_model, h, w))?
                    .contiguous()
            })
            .collect::<candle_core::Result<_>>()?;
        Ok((features, positions))
    }
}

/// `PositionEmbeddingSine(channels, normalize=True, temperature=10000)` of an `h x w` map:
/// `(1, channels, h, w)` f32, the row half first, then the column half, each interleaving
/// sin and cos of `pos / 10000^(2⌊k/2⌋/(channels/2))` with `pos = (i+1)/(n+1e-6)·2π`.
/// Computed in f32 in PyTorch's order.
///
/// # Errors
/// Only if the device cannot take the tensor.
pub fn sine_position(
    channels: usize,
    h: usize,
    w: usize,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let f = channels / 2;
    let scale = 2.0 * std::f64::consts::PI;
    let dim_t: Vec<f32> = (0..f)
        .map(|k| 10000f32.powf((2 * (k / 2)) as f32 / f as f32))
        .collect();
    let embed = |n: usize| -> Vec<f32> {
        (1..=n)
            .map(|i| i as f32 / (n as f32 + 1e-6) * scale as f32)
            .collect()
    };
    let (ys, xs) = (embed(h), embed(w));
    let mut out = vec![0f32; channels * h * w];
    for (half, (values, along_rows)) in [(&ys, true), (&xs, false)].into_iter().enumerate() {
        for (k, &d) in dim_t.iter().enumerate() {
            let plane = &mut out[(half * f + k) * h * w..(half * f + k + 1) * h * w];
            for r in 0..h {
                for c in 0..w {
                    let v = values[if along_rows { r } else { c }] / d;
                    plane[r * w + c] = if k % 2 == 0 { v.sin() } else { v.cos() };
                }
            }
        }
    }
    Tensor::from_vec(out, (1, channels, h, w), device)?.to_dtype(DType::F32)
}
