//! A block's elementwise stages on the joint sequence `[text (text_len rows), video]`: the
//! modulated LayerNorm, the gated residual and the QK LayerNorm with rotary embedding. On CUDA
//! in bf16 each is one fused kernel (`void-kernels`); elsewhere candle's ops, the text and video
//! rows handled apart and joined. Both round to bf16 where PyTorch's op-by-op forward does.
//!
//! `modulation` is a block's adaLN output `(b, 6·d)`, chunks `[shift, scale, gate, text shift,
//! text scale, text gate]`.

use candle_core::{Module, Result, Tensor};
use candle_nn::LayerNorm;

use super::rope::apply_rotary;

/// Whether the fused kernels take `x`.
#[cfg(feature = "cuda")]
fn fused(x: &Tensor) -> bool {
    void_kernels::fused_supports(x)
}

/// The six modulation chunks, each `(b, 1, d)`.
fn chunks(modulation: &Tensor) -> Result<Vec<Tensor>> {
    modulation.unsqueeze(1)?.chunk(6, 2)
}

/// Applies `f(start, len, stream)` to the text rows (stream 1) and the video rows (stream 0)
/// of a sequence of `s` tokens and joins the results on the token axis.
fn per_stream(
    s: usize,
    text_len: usize,
    f: impl Fn(usize, usize, usize) -> Result<Tensor>,
) -> Result<Tensor> {
    let parts = [(0, text_len, 1), (text_len, s - text_len, 0)]
        .into_iter()
        .filter(|&(_, len, _)| len > 0)
        .map(|(start, len, stream)| f(start, len, stream))
        .collect::<Result<Vec<_>>>()?;
    Tensor::cat(&parts, 1)
}

/// `norm(x)·(1 + scale) + shift`, with the text rows' or the video rows' chunks.
pub fn modulated_norm(
    x: &Tensor,
    norm: &LayerNorm,
    modulation: &Tensor,
    text_len: usize,
) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if let (true, Some(bias)) = (fused(x), norm.bias()) {
        return void_kernels::modulated_layer_norm(
            x,
            norm.weight(),
            bias,
            modulation,
            text_len,
            norm.eps(),
        );
    }
    let m = chunks(modulation)?;
    // contiguous: candle's LayerNorm on a strided view (the rows of one stream when b > 1)
    // rounds to bf16 after normalising and again after the affine, PyTorch's only at the end.
    per_stream(x.dim(1)?, text_len, |start, len, stream| {
        norm.forward(&x.narrow(1, start, len)?.contiguous()?)?
            .broadcast_mul(&(&m[3 * stream + 1] + 1.0)?)?
            .broadcast_add(&m[3 * stream])
    })
}

/// `x + gate·y`, with the text rows' or the video rows' gate.
pub fn gated_residual(
    x: &Tensor,
    y: &Tensor,
    modulation: &Tensor,
    text_len: usize,
) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if fused(x) {
        return void_kernels::gated_residual(x, y, modulation, text_len);
    }
    let m = chunks(modulation)?;
    per_stream(x.dim(1)?, text_len, |start, len, stream| {
        x.narrow(1, start, len)? + y.narrow(1, start, len)?.broadcast_mul(&m[3 * stream + 2])?
    })
}

/// Splits `t (b, s, heads·head_dim)` into heads, applies `norm` to each and the rotary
/// embedding `rope (cos, sin)` to the video rows: `(b, heads, s, head_dim)` (possibly a
/// strided view).
pub fn head_norm_rope(
    t: &Tensor,
    norm: &LayerNorm,
    heads: usize,
    text_len: usize,
    rope: (&Tensor, &Tensor),
) -> Result<Tensor> {
    let (b, s, width) = t.dims3()?;
    let head_dim = width / heads;
    #[cfg(feature = "cuda")]
    if let (true, Some(bias)) = (head_dim == 64 && fused(t), norm.bias()) {
        return void_kernels::head_norm_rope(
            t,
            norm.weight(),
            bias,
            rope.0,
            rope.1,
            text_len,
            heads,
            norm.eps(),
        )?
        .transpose(1, 2);
    }
    let t = norm.forward(
        &t.reshape((b, s, heads, head_dim))?
            .transpose(1, 2)?
            .contiguous()?,
    )?;
    let video = apply_rotary(&t.narrow(2, text_len, s - text_len)?, rope.0, rope.1)?;
    Tensor::cat(&[t.narrow(2, 0, text_len)?, video], 2)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;

    /// With two batch entries the stream rows are strided views; each entry alone must give
    /// the same bits (candle's LayerNorm rounds differently on a strided view in bf16).
    #[test]
    fn batched_modulated_norm_equals_each_entry_alone() -> Result<()> {
        let dev = Device::Cpu;
        let bf = |dims: &[usize]| Tensor::randn(0f32, 1., dims, &dev)?.to_dtype(DType::BF16);
        let (b, s, d, text_len) = (2, 9, 16, 3);
        let x = bf(&[b, s, d])?;
        let modulation = bf(&[b, 6 * d])?;
        let norm = LayerNorm::new(bf(&[d])?, bf(&[d])?, 1e-5);
        let batched = modulated_norm(&x, &norm, &modulation, text_len)?;
        for i in 0..b {
            let alone = modulated_norm(
                &x.narrow(0, i, 1)?,
                &norm,
                &modulation.narrow(0, i, 1)?,
                text_len,
            )?;
            let diff = crate::ops::max_abs_diff(&batched.narrow(0, i, 1)?, &alone)?;
            assert_eq!(diff, 0.0, "entry {i}");
        }
        Ok(())
    }
}
