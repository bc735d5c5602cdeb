//! fp8 (e4m3) weight storage on CUDA (`kernels/fp8.cu`): quantise with a scale and widen back
//! with it, each in one pass. (candle 0.11.1's own CUDA casts to and from F8E4M3 look up
//! kernels by a name that does not exist, `cast_f32_f8e4m3` for `cast_f32_f8_e4m3`, and fail.)

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::driver::{DeviceRepr, LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::{CudaDType, CudaStorage};
use candle_core::{CpuStorage, CustomOp1, DType, Error, Layout, Result, Shape, Tensor};
use float8::F8E4M3;
use half::bf16;

use crate::module;

static IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fp8.fatbin"));

/// `e4m3(x · inv_scale)`, rounded to nearest, saturating at ±448, for `x` f32 or bf16 on a
/// CUDA device (any layout; strided inputs are copied first).
pub fn quantize_e4m3(x: &Tensor, inv_scale: f32) -> Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&Convert {
        to: DType::F8E4M3,
        factor: inv_scale,
    })
}

/// `dtype(f32(q) · scale)` for `q` F8E4M3 on a CUDA device; `dtype` f32 or bf16. With a
/// power-of-two scale, equal to widening `q` and multiplying by `scale` afterwards.
pub fn dequantize_e4m3(q: &Tensor, scale: f32, dtype: DType) -> Result<Tensor> {
    q.contiguous()?.apply_op1_no_bwd(&Convert {
        to: dtype,
        factor: scale,
    })
}

/// Runs the pointwise kernel `name` of `fp8.cu` over the `n` elements of `storage` (type `I`,
/// from `layout`'s first element) into a new buffer of type `O`, with one f32 argument.
fn pointwise<I: CudaDType + DeviceRepr, O: CudaDType + DeviceRepr>(
    storage: &CudaStorage,
    layout: &Layout,
    name: &str,
    factor: f32,
) -> Result<CudaStorage> {
    let dev = storage.device().clone();
    let n = layout.shape().elem_count();
    let input = storage.as_cuda_slice::<I>()?.slice(layout.start_offset()..);
    let func = module::function(&dev, "fp8", IMAGE, name)?;
    // SAFETY: the kernel writes all n elements.
    let mut out = unsafe { dev.alloc::<O>(n)? };
    let stream = dev.cuda_stream();
    let mut launch = stream.launch_builder(&func);
    launch.arg(&input).arg(&mut out).arg(&n).arg(&factor);
    let config = LaunchConfig {
        grid_dim: (n.div_ceil(256 * 16).clamp(1, 65_535) as u32, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: the arguments match the kernel's (input and output of n elements, n, factor);
    // the loops stride over the grid, so any grid size covers n.
    unsafe { launch.launch(config) }
        .map_err(|e| Error::Cuda(format!("{name} launch: {e}").into()))?;
    Ok(CudaStorage::wrap_cuda_slice(out, dev))
}

/// [`quantize_e4m3`] (to F8E4M3, `factor` = 1 / scale) and [`dequantize_e4m3`] (from F8E4M3,
/// `factor` = scale) as one candle op: the storage's dtype and `to` pick the kernel.
struct Convert {
    to: DType,
    factor: f32,
}

impl CustomOp1 for Convert {
    fn name(&self) -> &'static str {
        "convert-e4m3"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        Err(Error::Msg(
            "fp8 (e4m3) conversion runs on CUDA devices only".into(),
        ))
    }

    fn cuda_fwd(&self, storage: &CudaStorage, layout: &Layout) -> Result<(CudaStorage, Shape)> {
        let (s, l, f) = (storage, layout, self.factor);
        let out = match (storage.dtype(), self.to) {
            (DType::F32, DType::F8E4M3) => pointwise::<f32, F8E4M3>(s, l, "quantize_e4m3_f32", f)?,
            (DType::BF16, DType::F8E4M3) => {
                pointwise::<bf16, F8E4M3>(s, l, "quantize_e4m3_bf16", f)?
            }
            (DType::F8E4M3, DType::F32) => {
                pointwise::<F8E4M3, f32>(s, l, "dequantize_e4m3_f32", f)?
            }
            (DType::F8E4M3, DType::BF16) => {
                pointwise::<F8E4M3, bf16>(s, l, "dequantize_e4m3_bf16", f)?
            }
            (from, to) => {
                return Err(Error::Msg(format!(
                    "fp8 (e4m3) conversion: f32 or bf16 to F8E4M3 or back, got {from:?} to {to:?}"
                )));
            }
        };
        Ok((out, layout.shape().clone()))
    }
}
