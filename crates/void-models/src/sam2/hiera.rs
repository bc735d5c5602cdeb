//! The Hiera trunk of SAM2's image encoder (`sam2/modeling/backbones/hieradet.py`): a 7x7/4
//! patch embedding, a bicubic-resized background position embedding plus a tiled window
//! embedding, then four stages of multi-scale blocks (windowed or global attention; the first
//! block of stages 2–4 pools its queries 2x2). Activations are channels-last `(b, h, w, c)`
//! inside; the four stage outputs are returned channels-first.

use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Conv2dConfig, LayerNorm, Linear, VarBuilder, conv2d, layer_norm, linear};

use super::config::HieraConfig;
use crate::Result;
use crate::ops::attention::sdpa;

/// LayerNorm epsilon of every Hiera norm (`partial(nn.LayerNorm, eps=1e-6)`).
const NORM_EPS: f64 = 1e-6;

/// One block's place in the schedule `Hiera.__init__` derives from the config.
#[derive(Clone, Copy, Debug, PartialEq)]
struct BlockPlan {
    dim: usize,
    dim_out: usize,
    heads: usize,
    /// 0: global attention.
    window: usize,
    q_pool: bool,
}

/// The per-block schedule, and the index of each stage's last block.
fn plan(cfg: &HieraConfig) -> (Vec<BlockPlan>, Vec<usize>) {
    let stage_ends: Vec<usize> = (1..=4)
        .map(|i| cfg.stages[..i].iter().sum::<usize>() - 1)
        .collect();
    let q_pool_blocks: Vec<usize> = stage_ends[..3]
        .iter()
        .map(|e| e + 1)
        .take(cfg.q_pool)
        .collect();
    let (mut dim, mut heads, mut stage) = (cfg.embed_dim, cfg.num_heads, 1);
    let mut blocks = Vec::with_capacity(stage_ends[3] + 1);
    for i in 0..=stage_ends[3] {
        let mut dim_out = dim;
        // The window of the stage being left: a q-pool block still runs at the old size.
        let mut window = cfg.window_spec[stage - 1];
        if cfg.global_att_blocks.contains(&i) {
            window = 0;
        }
        if i > 0 && stage_ends.contains(&(i - 1)) {
            dim_out = 2 * dim;
            heads *= 2;
            stage += 1;
        }
        blocks.push(BlockPlan {
            dim,
            dim_out,
            heads,
            window,
            q_pool: q_pool_blocks.contains(&i),
        });
        dim = dim_out;
    }
    (blocks, stage_ends)
}

/// 2x2 max pooling of a channels-last `(b, h, w, c)` map (floor, as `nn.MaxPool2d(2, 2)`).
fn max_pool_2x2(x: &Tensor) -> candle_core::Result<Tensor> {
    x.permute((0, 3, 1, 2))?
        .max_pool2d(2)?
        .permute((0, 2, 3, 1))
}

/// `(b, h, w, c)` -> `(b·nh·nw, ws, ws, c)` windows, zero-padded to multiples of `ws`
/// (row-major windows, batch outermost); returns the padded size.
fn window_partition(x: &Tensor, ws: usize) -> candle_core::Result<(Tensor, (usize, usize))> {
    let (b, h, w, c) = x.dims4()?;
    let (hp, wp) = (h.div_ceil(ws) * ws, w.div_ceil(ws) * ws);
    let x = x
        .pad_with_zeros(1, 0, hp - h)?
        .pad_with_zeros(2, 0, wp - w)?;
    let windows = x
        .reshape((b, hp / ws, ws, wp / ws, ws, c))?
        .permute((0, 1, 3, 2, 4, 5))?
        .contiguous()?
        .reshape((b * (hp / ws) * (wp / ws), ws, ws, c))?;
    Ok((windows, (hp, wp)))
}

/// Inverse of [`window_partition`]: windows back to `(b, h, w, c)`, padding cropped.
fn window_unpartition(
    windows: &Tensor,
    ws: usize,
    (hp, wp): (usize, usize),
    (h, w): (usize, usize),
) -> candle_core::Result<Tensor> {
    let c = windows.dim(3)?;
    let b = windows.dim(0)? / ((hp / ws) * (wp / ws));
    windows
        .reshape((b, hp / ws, wp / ws, ws, ws, c))?
        .permute((0, 1, 3, 2, 4, 5))?
        .contiguous()?
        .reshape((b, hp, wp, c))?
        .narrow(1, 0, h)?
        .narrow(2, 0, w)?
        .contiguous()
}

/// `MultiScaleAttention`: qkv, optional 2x2 query pooling, softmax attention per head, proj.
#[derive(Clone, Debug)]
struct Attention {
    qkv: Linear,
    proj: Linear,
    heads: usize,
    q_pool: bool,
}

impl Attention {
    /// `x (b, h, w, dim)` -> `(b, h', w', dim_out)` (halved sides with query pooling).
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, h, w, _) = x.dims4()?;
        let qkv = self.qkv.forward(x)?;
        let dim_out = qkv.dim(D::Minus1)? / 3;
        let hd = dim_out / self.heads;
        let part = |i: usize| qkv.narrow(D::Minus1, i * dim_out, dim_out);
        let (mut q, k, v) = (part(0)?, part(1)?, part(2)?);
        let (mut qh, mut qw) = (h, w);
        if self.q_pool {
            q = max_pool_2x2(&q)?;
            (qh, qw) = (h / 2, w / 2);
        }
        let heads = |t: &Tensor, n: usize| -> candle_core::Result<Tensor> {
            t.contiguous()?
                .reshape((b, n, self.heads, hd))?
                .transpose(1, 2)?
                .contiguous()
        };
        let out = sdpa(
            &heads(&q, qh * qw)?,
            &heads(&k, h * w)?,
            &heads(&v, h * w)?,
            1.0 / (hd as f64).sqrt(),
        )?;
        self.proj.forward(
            &out.transpose(1, 2)?
                .contiguous()?
                .reshape((b, qh, qw, dim_out))?,
        )
    }
}

/// `MultiScaleBlock`.
#[derive(Clone, Debug)]
struct Block {
    norm1: LayerNorm,
    attn: Attention,
    norm2: LayerNorm,
    mlp: (Linear, Linear),
    /// The residual's projection (blocks that change width), applied to the normed input.
    proj: Option<Linear>,
    plan: BlockPlan,
}

impl Block {
    fn new(plan: BlockPlan, vb: VarBuilder) -> candle_core::Result<Self> {
        let (dim, dim_out) = (plan.dim, plan.dim_out);
        let mlp = vb.pp("mlp").pp("layers");
        Ok(Self {
            norm1: layer_norm(dim, NORM_EPS, vb.pp("norm1"))?,
            attn: Attention {
                qkv: linear(dim, 3 * dim_out, vb.pp("attn").pp("qkv"))?,
                proj: linear(dim_out, dim_out, vb.pp("attn").pp("proj"))?,
                heads: plan.heads,
                q_pool: plan.q_pool,
            },
            norm2: layer_norm(dim_out, NORM_EPS, vb.pp("norm2"))?,
            mlp: (
                linear(dim_out, 4 * dim_out, mlp.pp("0"))?,
                linear(4 * dim_out, dim_out, mlp.pp("1"))?,
            ),
            proj: (dim != dim_out)
                .then(|| linear(dim, dim_out, vb.pp("proj")))
                .transpose()?,
            plan,
        })
    }

    /// `x (b, h, w, dim)` -> `(b, h', w', dim_out)`.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let normed = self.norm1.forward(x)?;
        let shortcut = match &self.proj {
            Some(proj) => max_pool_2x2(&proj.forward(&normed)?)?,
            None => x.clone(),
        };
        let ws = self.plan.window;
        let y = if ws > 0 {
            let (h, w) = (x.dim(1)?, x.dim(2)?);
            let (windows, _) = window_partition(&normed, ws)?;
            let y = self.attn.forward(&windows)?;
            // After query pooling the windows are half as wide; the padding follows the
            // pooled map (`MultiScaleBlock.forward`).
            let (ws, (h, w)) = if self.plan.q_pool {
                (ws / 2, (shortcut.dim(1)?, shortcut.dim(2)?))
            } else {
                (ws, (h, w))
            };
            let padded = (h.div_ceil(ws) * ws, w.div_ceil(ws) * ws);
            window_unpartition(&y, ws, padded, (h, w))?
        } else {
            self.attn.forward(&normed)?
        };
        let x = (shortcut + y)?;
        let m = self
            .mlp
            .1
            .forward(&self.mlp.0.forward(&self.norm2.forward(&x)?)?.gelu_erf()?)?;
        x + m
    }
}

/// The trunk: patch embedding, position embedding, blocks.
#[derive(Clone, Debug)]
pub struct Hiera {
    patch_embed: candle_nn::Conv2d,
    /// `(1, S/4, S/4, embed_dim)`: the resized background embedding plus the tiled window one.
    pos_embed: Tensor,
    blocks: Vec<Block>,
    stage_ends: Vec<usize>,
}

impl Hiera {
    /// Loads `image_encoder.trunk.*` from `vb` for square images of `image_size`.
    ///
    /// # Errors
    /// A missing or misshapen weight (the message names the key).
    pub fn new(cfg: &HieraConfig, image_size: usize, vb: VarBuilder) -> Result<Self> {
        let e = cfg.embed_dim;
        let patch_embed = conv2d(
            3,
            e,
            7,
            Conv2dConfig {
                padding: 3,
                stride: 4,
                ..Default::default()
            },
            vb.pp("patch_embed").pp("proj"),
        )?;
        let bkg = &cfg.window_pos_embed_bkg_spatial_size;
        let w0 = cfg.window_spec[0];
        let pos_embed = position_embedding(
            &vb.get((1, e, bkg[0], bkg[1]), "pos_embed")?,
            &vb.get((1, e, w0, w0), "pos_embed_window")?,
            image_size / 4,
        )?;
        let (plans, stage_ends) = plan(cfg);
        let blocks = plans
            .into_iter()
            .enumerate()
            .map(|(i, p)| Block::new(p, vb.pp("blocks").pp(i)))
            .collect::<candle_core::Result<_>>()?;
        Ok(Self {
            patch_embed,
            pos_embed,
            blocks,
            stage_ends,
        })
    }

    /// `image (b, 3, S, S)` (normalised) -> the four stage outputs, channels-first, highest
    /// resolution first: `(b, E, S/4, S/4)`, `(b, 2E, S/8, S/8)`, `(b, 4E, S/16, S/16)`,
    /// `(b, 8E, S/32, S/32)`.
    ///
    /// # Errors
    /// An image of another size than the one the model was built for.
    pub fn forward(&self, image: &Tensor) -> Result<Vec<Tensor>> {
        let mut x = self
            .patch_embed
            .forward(image)?
            .permute((0, 2, 3, 1))?
            .broadcast_add(&self.pos_embed)?;
        let mut outputs = Vec::with_capacity(4);
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(&x)?;
            if self.stage_ends.contains(&i) {
                outputs.push(x.permute((0, 3, 1, 2))?.contiguous()?);
            }
        }
        Ok(outputs)
    }
}

/// `bicubic(pos_embed, side) + tile(window)`, channels-last `(1, side, side, c)`, computed
/// once on the CPU in f64 (PyTorch's `F.interpolate(mode="bicubic")`, `align_corners=False`,
/// A = -0.75, edge taps clamped) and returned on `pos_embed`'s device and dtype.
fn position_embedding(pos_embed: &Tensor, window: &Tensor, side: usize) -> Result<Tensor> {
    let (device, dtype) = (pos_embed.device().clone(), pos_embed.dtype());
    let cpu = |t: &Tensor| t.to_device(&Device::Cpu)?.to_dtype(DType::F64);
    let (_, c, ph, pw) = pos_embed.dims4()?;
    let ws = window.dim(2)?;
    let rows = Tensor::from_vec(bicubic_matrix(ph, side), (side, ph), &Device::Cpu)?;
    let cols = Tensor::from_vec(bicubic_matrix(pw, side), (side, pw), &Device::Cpu)?;
    // (c, ph, pw) -> (c, side, side): rows · P · colsᵀ per channel.
    let p = cpu(pos_embed)?.reshape((c, ph, pw))?;
    let resized = rows
        .unsqueeze(0)?
        .broadcast_matmul(&p)?
        .broadcast_matmul(&cols.t()?.unsqueeze(0)?)?;
    let tiled = cpu(window)?
        .reshape((c, ws, ws))?
        .repeat((1, side / ws, side / ws))?;
    Ok((resized + tiled)?
        .permute((1, 2, 0))?
        .unsqueeze(0)?
        .to_dtype(dtype)?
        .to_device(&device)?
        .contiguous()?)
}

/// The `(out, n)` matrix of PyTorch's bicubic upsampling of `n` samples to `out`.
fn bicubic_matrix(n: usize, out: usize) -> Vec<f64> {
    const A: f64 = -0.75;
    let near = |x: f64| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f64| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    let scale = n as f64 / out as f64;
    let mut m = vec![0.0; out * n];
    for o in 0..out {
        let src = (o as f64 + 0.5) * scale - 0.5;
        let i0 = src.floor();
        let t = src - i0;
        let weights = [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)];
        for (k, wt) in weights.iter().enumerate() {
            let idx = (i0 as i64 - 1 + k as i64).clamp(0, n as i64 - 1) as usize;
            m[o * n + idx] += wt;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> HieraConfig {
        HieraConfig {
            embed_dim: 96,
            num_heads: 1,
            stages: vec![1, 2, 7, 2],
            global_att_blocks: vec![5, 7, 9],
            window_spec: vec![8, 4, 14, 7],
            window_pos_embed_bkg_spatial_size: vec![7, 7],
            q_pool: 3,
        }
    }

    /// The schedule of sam2.1 tiny as the instantiated PyTorch model reports it.
    #[test]
    fn tiny_schedule_matches_the_reference() {
        let (blocks, ends) = plan(&tiny());
        assert_eq!(ends, [0, 2, 9, 11]);
        let got: Vec<_> = blocks
            .iter()
            .map(|b| (b.dim, b.dim_out, b.heads, b.window, b.q_pool))
            .collect();
        let want = [
            (96, 96, 1, 8, false),
            (96, 192, 2, 8, true),
            (192, 192, 2, 4, false),
            (192, 384, 4, 4, true),
            (384, 384, 4, 14, false),
            (384, 384, 4, 0, false),
            (384, 384, 4, 14, false),
            (384, 384, 4, 0, false),
            (384, 384, 4, 14, false),
            (384, 384, 4, 0, false),
            (384, 768, 8, 14, true),
            (768, 768, 8, 7, false),
        ];
        assert_eq!(got, want);
    }

    /// Windows with padding come back unchanged.
    #[test]
    fn window_round_trip_with_padding() -> candle_core::Result<()> {
        let x = Tensor::arange(0f32, 2. * 9. * 10. * 3., &Device::Cpu)?.reshape((2, 9, 10, 3))?;
        let (w, padded) = window_partition(&x, 4)?;
        assert_eq!(padded, (12, 12));
        assert_eq!(w.dims(), [2 * 9, 4, 4, 3]);
        let back = window_unpartition(&w, 4, padded, (9, 10))?;
        assert_eq!(crate::ops::max_abs_diff(&back, &x)?, 0.0);
        Ok(())
    }

    /// Rows of the bicubic matrix sum to one; an identity resize is the identity.
    #[test]
    fn bicubic_rows_sum_to_one() {
        let m = bicubic_matrix(7, 64);
        for row in m.chunks(7) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let id = bicubic_matrix(5, 5);
        for (i, row) in id.chunks(5).enumerate() {
            for (j, v) in row.iter().enumerate() {
                assert!((v - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
    }
}
