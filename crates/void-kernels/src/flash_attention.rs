//! Fused attention, `softmax(q kᵀ · scale) v`, for bf16 heads of 64 on CUDA
//! (`kernels/flash_attention.cu`): scores never leave the chip, so memory is linear in the
//! sequence length and the time is the two matrix products'.

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::CudaStorage;
use candle_core::cuda_backend::cudarc::driver::{CudaView, LaunchConfig, PushKernelArg};
use candle_core::{CpuStorage, CustomOp3, DType, Error, Layout, Result, Shape, Tensor};
use half::bf16;

use crate::module;

/// The head size the kernel is built for.
pub const FLASH_HEAD_DIM: usize = 64;

/// Query rows per thread block and threads per block (`BR`, `THREADS` in the kernel).
const ROWS_PER_BLOCK: u32 = 128;
const THREADS: u32 = 256;

static IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/flash_attention.fatbin"));

/// Whether [`flash_attention`] takes these inputs: bf16 on a CUDA device, head size
/// [`FLASH_HEAD_DIM`], shapes `(batch, heads, seq, head_dim)` agreeing.
pub fn flash_attention_supports(q: &Tensor, k: &Tensor, v: &Tensor) -> bool {
    let same_device = q.device().same_device(k.device()) && q.device().same_device(v.device());
    let shapes = match (q.dims4(), k.dims4(), v.dims4()) {
        (Ok((b, h, _, d)), Ok(kd), Ok(vd)) => {
            d == FLASH_HEAD_DIM && kd == vd && (kd.0, kd.1, kd.3) == (b, h, d)
        }
        _ => false,
    };
    q.device().is_cuda()
        && same_device
        && shapes
        && [q, k, v].iter().all(|t| t.dtype() == DType::BF16)
}

/// `softmax(q kᵀ · scale) v` for `q (b, h, s_q, 64)`, `k, v (b, h, s_k, 64)`, bf16 on CUDA
/// (see [`flash_attention_supports`]); f32 accumulation and softmax. The result has shape
/// `(b, h, s_q, 64)` and is laid out as `(b, s_q, h, 64)`: `transpose(1, 2)` of it is
/// contiguous, so merging the heads afterwards copies nothing. Inputs may be strided views
/// (e.g. heads split from a projection without a copy) as long as the head dimension is
/// contiguous and rows are 16-byte aligned; other layouts are copied first.
pub fn flash_attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    if !flash_attention_supports(q, k, v) {
        return Err(Error::Msg(format!(
            "flash attention needs bf16 CUDA tensors (b, h, s, {FLASH_HEAD_DIM}) of one batch and head count, got q {:?} {:?}, k {:?}, v {:?}",
            q.shape(),
            q.dtype(),
            k.shape(),
            v.shape()
        )));
    }
    let aligned = |t: &Tensor| -> Result<Tensor> {
        let (stride, offset) = (t.stride(), t.layout().start_offset());
        let ok = stride[3] == 1
            && offset % 8 == 0
            && stride[..3].iter().all(|s| s % 8 == 0)
            && stride[2] <= i32::MAX as usize;
        if ok { Ok(t.clone()) } else { t.contiguous() }
    };
    let out = aligned(q)?.apply_op3_no_bwd(
        &aligned(k)?,
        &aligned(v)?,
        &FlashAttention {
            scale: scale as f32,
        },
    )?;
    out.transpose(1, 2)
}

/// The bf16 elements of `storage` from `layout`'s first one on.
fn view<'a>(storage: &'a CudaStorage, layout: &Layout) -> Result<CudaView<'a, bf16>> {
    Ok(storage
        .as_cuda_slice::<bf16>()?
        .slice(layout.start_offset()..))
}

/// The candle op: q, k, v -> `(b, s_q, h, 64)`.
struct FlashAttention {
    scale: f32,
}

impl CustomOp3 for FlashAttention {
    fn name(&self) -> &'static str {
        "flash-attention"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        Err(Error::Msg(
            "flash attention runs on CUDA devices only".into(),
        ))
    }

    fn cuda_fwd(
        &self,
        qs: &CudaStorage,
        ql: &Layout,
        ks: &CudaStorage,
        kl: &Layout,
        vs: &CudaStorage,
        vl: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let (b, h, s_q, d) = ql.shape().dims4()?;
        let s_k = kl.shape().dims()[2];
        let dev = qs.device().clone();
        let (q, k, v) = (view(qs, ql)?, view(ks, kl)?, view(vs, vl)?);
        // SAFETY: every element is written by the kernel (each row < s_q of each head).
        let mut out = unsafe { dev.alloc::<bf16>(b * s_q * h * d)? };
        let func = module::function(&dev, "flash_attention", IMAGE, "flash_attention_hd64_bf16")?;
        let stream = dev.cuda_stream();
        let mut launch = stream.launch_builder(&func);
        let i32_of = |x: usize| x as i32;
        let i64_of = |x: usize| x as i64;
        let (qst, kst, vst) = (ql.stride(), kl.stride(), vl.stride());
        let ints = [i32_of(h), i32_of(s_q), i32_of(s_k)];
        let q_bh = [i64_of(qst[0]), i64_of(qst[1])];
        let k_bh = [i64_of(kst[0]), i64_of(kst[1])];
        let v_bh = [i64_of(vst[0]), i64_of(vst[1])];
        let o_bh = [i64_of(s_q * h * d), i64_of(d)];
        let rows = [
            i32_of(qst[2]),
            i32_of(kst[2]),
            i32_of(vst[2]),
            i32_of(h * d),
        ];
        let scale_log2 = self.scale * std::f32::consts::LOG2_E;
        launch.arg(&q).arg(&k).arg(&v).arg(&mut out);
        launch.arg(&ints[0]).arg(&ints[1]).arg(&ints[2]);
        launch.arg(&q_bh[0]).arg(&q_bh[1]).arg(&rows[0]);
        launch.arg(&k_bh[0]).arg(&k_bh[1]).arg(&rows[1]);
        launch.arg(&v_bh[0]).arg(&v_bh[1]).arg(&rows[2]);
        launch.arg(&o_bh[0]).arg(&o_bh[1]).arg(&rows[3]);
        launch.arg(&scale_log2);
        let config = LaunchConfig {
            grid_dim: ((s_q as u32).div_ceil(ROWS_PER_BLOCK), (b * h) as u32, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: the argument list matches the kernel's signature; q, k, v hold every row
        // the strides address (checked shapes, views of live storage), out has b*s_q*h*d.
        unsafe { launch.launch(config) }
            .map_err(|e| Error::Cuda(format!("flash attention launch: {e}").into()))?;
        Ok((
            CudaStorage::wrap_cuda_slice(out, dev),
            Shape::from((b, s_q, h, d)),
        ))
    }
}
