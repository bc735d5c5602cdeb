//! Scaled dot-product attention that never materialises the whole score tensor.
//!
//! [`sdpa`] picks the fused CUDA kernel (`void-kernels`, bf16, heads of 64) when the build has
//! CUDA and the inputs suit it, and the portable chunked path otherwise. In the chunked path
//! heads and query rows are processed in chunks whose score block holds at most
//! [`SCORE_BUDGET`] elements, so memory stays bounded whatever the sequence length and head
//! count (11,314 tokens x 48 heads would need 12 GB of bf16 scores at once). Softmax runs in
//! f32 for every input dtype, as PyTorch's fused kernels do.

use candle_core::{DType, Result, Tensor};

/// Most score elements held at once (64 Mi: 256 MB in f32).
pub const SCORE_BUDGET: usize = 64 << 20;

/// `softmax(q kᵀ · scale) v` for `q, k, v` of shape `(batch, heads, seq, head_dim)`; no mask.
/// The result may be a strided view (the fused kernel returns heads interleaved, so that
/// `transpose(1, 2)` of it is contiguous).
pub fn sdpa(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    #[cfg(feature = "cuda")]
    if void_kernels::flash_attention_supports(q, k, v) {
        return void_kernels::flash_attention(q, k, v, scale);
    }
    sdpa_chunked(q, k, v, scale)
}

/// [`sdpa`] on any device and dtype, in chunks of at most [`SCORE_BUDGET`] score elements.
pub fn sdpa_chunked(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    sdpa_within(q, k, v, scale, SCORE_BUDGET)
}

/// [`sdpa_chunked`] with at most `budget` score elements at once.
fn sdpa_within(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64, budget: usize) -> Result<Tensor> {
    let (b, h, s_q, d) = q.dims4()?;
    let s_k = k.dim(2)?;
    let bh = b * h;
    let (q, k, v) = (
        q.reshape((bh, s_q, d))?,
        k.reshape((bh, s_k, d))?,
        v.reshape((bh, s_k, d))?,
    );
    let heads_per_step = (budget / (s_q * s_k).max(1)).clamp(1, bh);
    let rows_per_step = (budget / (heads_per_step * s_k).max(1)).clamp(1, s_q);
    let mut head_blocks = Vec::with_capacity(bh.div_ceil(heads_per_step));
    for h0 in (0..bh).step_by(heads_per_step) {
        let n = heads_per_step.min(bh - h0);
        let (qh, kt, vh) = (
            q.narrow(0, h0, n)?,
            k.narrow(0, h0, n)?.t()?.contiguous()?,
            v.narrow(0, h0, n)?,
        );
        let mut row_blocks = Vec::with_capacity(s_q.div_ceil(rows_per_step));
        for r0 in (0..s_q).step_by(rows_per_step) {
            let rows = rows_per_step.min(s_q - r0);
            let scores = (qh.narrow(1, r0, rows)?.contiguous()?.matmul(&kt)? * scale)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores.to_dtype(DType::F32)?)?
                .to_dtype(vh.dtype())?;
            row_blocks.push(probs.matmul(&vh)?);
        }
        head_blocks.push(Tensor::cat(&row_blocks, 1)?);
    }
    Tensor::cat(&head_blocks, 0)?.reshape((b, h, s_q, d))
}

/// Plain attention on the whole score tensor, for checking [`sdpa_chunked`].
#[cfg(test)]
fn sdpa_reference(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    let scores = (q.matmul(&k.t()?)? * scale)?;
    candle_nn::ops::softmax(&scores, candle_core::D::Minus1)?.matmul(v)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn chunked_equals_plain_across_chunk_boundaries() -> Result<()> {
        let dev = Device::Cpu;
        let q = Tensor::randn(0f32, 1., (2, 3, 37, 8), &dev)?;
        let k = Tensor::randn(0f32, 1., (2, 3, 41, 8), &dev)?;
        let v = Tensor::randn(0f32, 1., (2, 3, 41, 8), &dev)?;
        let plain = sdpa_reference(&q, &k, &v, 0.3)?;
        // Whole, one head at a time in 2-row chunks, and several heads per step.
        for budget in [SCORE_BUDGET, 100, 41 * 37 * 4] {
            let chunked = sdpa_within(&q, &k, &v, 0.3, budget)?;
            let diff = (&plain - chunked)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(diff < 1e-6, "budget {budget}: {diff}");
        }
        Ok(())
    }
}
