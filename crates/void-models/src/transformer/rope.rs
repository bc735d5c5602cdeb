//! CogVideoX 1.5's 3-D rotary position tables (diffusers `get_3d_rotary_pos_embed`,
//! `grid_type="slice"`; void-inference-spec §2.5).
//!
//! Positions are plain integers per axis, restarting at 0 for every window. The head width is
//! split `D/4` (time) + `3D/8` (rows) + `3D/8` (columns); each axis uses
//! `θ_i = p · 10000^(-2i/d)` with every cos/sin repeated twice, so pairs `(2i, 2i+1)` rotate
//! together. Tables are f32, computed in f32 in diffusers' order.

use candle_core::{DType, Device, Result, Tensor};

const THETA: f32 = 10000.0;

/// cos and sin tables, each `(grid_t · grid_h · grid_w, head_dim)` f32, tokens t-major then
/// row then column (the patch-embedding order).
pub fn rope_3d(
    head_dim: usize,
    grid_t: usize,
    grid_h: usize,
    grid_w: usize,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let (dim_t, dim_hw) = (head_dim / 4, head_dim / 8 * 3);
    let (t_cos, t_sin) = axis_table(dim_t, grid_t);
    let (h_cos, h_sin) = axis_table(dim_hw, grid_h);
    let (w_cos, w_sin) = axis_table(dim_hw, grid_w);
    let tokens = grid_t * grid_h * grid_w;
    let mut cos = Vec::with_capacity(tokens * head_dim);
    let mut sin = Vec::with_capacity(tokens * head_dim);
    for t in 0..grid_t {
        for h in 0..grid_h {
            for w in 0..grid_w {
                for (table, (tt, ht, wt)) in [
                    (&mut cos, (&t_cos, &h_cos, &w_cos)),
                    (&mut sin, (&t_sin, &h_sin, &w_sin)),
                ] {
                    table.extend_from_slice(&tt[t * dim_t..(t + 1) * dim_t]);
                    table.extend_from_slice(&ht[h * dim_hw..(h + 1) * dim_hw]);
                    table.extend_from_slice(&wt[w * dim_hw..(w + 1) * dim_hw]);
                }
            }
        }
    }
    let cos = Tensor::from_vec(cos, (tokens, head_dim), device)?;
    let sin = Tensor::from_vec(sin, (tokens, head_dim), device)?;
    Ok((cos, sin))
}

/// One axis: `(positions, dim)` cos and sin with each frequency repeated twice
/// (diffusers `get_1d_rotary_pos_embed(..., repeat_interleave_real=True)`).
fn axis_table(dim: usize, positions: usize) -> (Vec<f32>, Vec<f32>) {
    let inv_freq: Vec<f32> = (0..dim / 2)
        .map(|i| 1.0 / THETA.powf((2 * i) as f32 / dim as f32))
        .collect();
    let (mut cos, mut sin) = (
        Vec::with_capacity(positions * dim),
        Vec::with_capacity(positions * dim),
    );
    for p in 0..positions {
        for &f in &inv_freq {
            let angle = p as f32 * f;
            cos.extend([angle.cos(); 2]);
            sin.extend([angle.sin(); 2]);
        }
    }
    (cos, sin)
}

/// Rotates interleaved pairs of the last axis: `out[2i] = x[2i]·cos − x[2i+1]·sin`,
/// `out[2i+1] = x[2i+1]·cos + x[2i]·sin`, computed in f32 and returned in `x`'s dtype
/// (diffusers `apply_rotary_emb`, `use_real_unbind_dim=-1`). `x` is `(b, heads, tokens, d)`,
/// `cos`/`sin` are `(tokens, d)`.
pub fn apply_rotary(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let dtype = x.dtype();
    let (b, h, n, d) = x.dims4()?;
    let xf = x.to_dtype(DType::F32)?;
    let pairs = xf.reshape((b, h, n, d / 2, 2))?;
    let real = pairs.narrow(4, 0, 1)?;
    let imag = pairs.narrow(4, 1, 1)?;
    let rotated = Tensor::cat(&[imag.neg()?, real], 4)?.reshape((b, h, n, d))?;
    (xf.broadcast_mul(cos)? + rotated.broadcast_mul(sin)?)?.to_dtype(dtype)
}
