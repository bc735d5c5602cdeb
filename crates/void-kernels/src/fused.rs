//! Fused elementwise stages of a CogVideoX block (`kernels/fused.cu`), bf16 on CUDA: the
//! modulated LayerNorm, the gated residual and the per-head QK LayerNorm with rotary
//! embedding, each one pass over memory where candle's ops make several (and copies between
//! them). Each rounds to bf16 where PyTorch's op-by-op bf16 forward does.
//!
//! Rows are tokens of the joint sequence `[text (text_len), video]`; `modulation` is a block's
//! adaLN output `(batch, 6 * d)`, chunks `[shift, scale, gate, text shift, text scale, text
//! gate]`.

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::CudaStorage;
use candle_core::cuda_backend::cudarc::driver::{CudaView, LaunchConfig, PushKernelArg};
use candle_core::{
    CpuStorage, CustomOp1, DType, Error, Layout, Result, Shape, Storage, Tensor, WithDType,
};
use half::bf16;

use crate::module;

static IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fused.fatbin"));

/// Threads per block of the row kernels.
const THREADS: u32 = 256;

/// Whether the fused stages take `x`: bf16 on a CUDA device.
pub fn fused_supports(x: &Tensor) -> bool {
    x.device().is_cuda() && x.dtype() == DType::BF16
}

/// `LayerNorm(x)·(1 + scale) + shift` for `x (b, s, d)`, the LayerNorm's `weight`, `bias`
/// `(d)` and `eps`; scale and shift are chunks 1, 0 of `modulation` on video rows and 4, 3 on
/// the first `text_len` rows. bf16 on CUDA.
pub fn modulated_layer_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    modulation: &Tensor,
    text_len: usize,
    eps: f64,
) -> Result<Tensor> {
    let (b, s, d) = x.dims3()?;
    check_modulation(modulation, b, d)?;
    expect_shape(weight, &[d], DType::BF16, "LayerNorm weight")?;
    expect_shape(bias, &[d], DType::BF16, "LayerNorm bias")?;
    x.contiguous()?.apply_op1_no_bwd(&Fused {
        stage: Stage::ModulatedLayerNorm {
            eps: eps as f32,
            text_len,
        },
        tensors: vec![
            weight.contiguous()?,
            bias.contiguous()?,
            modulation.contiguous()?,
        ],
        shape: Shape::from((b, s, d)),
    })
}

/// `x + gate·y` for `x, y (b, s, d)`, the gate chunk 2 of `modulation` on video rows and 5 on
/// the first `text_len` rows. bf16 on CUDA.
pub fn gated_residual(
    x: &Tensor,
    y: &Tensor,
    modulation: &Tensor,
    text_len: usize,
) -> Result<Tensor> {
    let (b, s, d) = x.dims3()?;
    check_modulation(modulation, b, d)?;
    expect_shape(y, &[b, s, d], DType::BF16, "gated residual branch")?;
    x.contiguous()?.apply_op1_no_bwd(&Fused {
        stage: Stage::GatedResidual { text_len },
        tensors: vec![y.contiguous()?, modulation.contiguous()?],
        shape: Shape::from((b, s, d)),
    })
}

/// Per head of 64: LayerNorm (`weight`, `bias` `(64)`, `eps`), then on video rows (after the
/// first `text_len`) the interleaved rotary embedding with `cos`, `sin` `(s - text_len, 64)`
/// f32. `x (b, s, heads·64)` may have rows further apart than `heads·64` (a slice of a fused
/// projection: read in place); the result is `(b, s, heads, 64)` contiguous. bf16 on CUDA.
#[allow(clippy::too_many_arguments)]
pub fn head_norm_rope(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    cos: &Tensor,
    sin: &Tensor,
    text_len: usize,
    heads: usize,
    eps: f64,
) -> Result<Tensor> {
    let (b, s, width) = x.dims3()?;
    if width != heads * 64 || text_len > s {
        return Err(Error::Msg(format!(
            "head_norm_rope: x {:?} is not (b, s, {heads} x 64) with at least {text_len} rows",
            x.shape()
        )));
    }
    expect_shape(weight, &[64], DType::BF16, "QK LayerNorm weight")?;
    expect_shape(bias, &[64], DType::BF16, "QK LayerNorm bias")?;
    expect_shape(cos, &[s - text_len, 64], DType::F32, "rotary cos table")?;
    expect_shape(sin, &[s - text_len, 64], DType::F32, "rotary sin table")?;
    // Rows may be strided (a projection slice); the 64 values of a head must be contiguous
    // and the batch entries evenly spaced rows.
    let st = x.stride();
    let even = st[1].is_multiple_of(2) && x.layout().start_offset().is_multiple_of(2);
    let x = if st[2] == 1 && st[0] == s * st[1] && even {
        x.clone()
    } else {
        x.contiguous()?
    };
    let row_stride = x.stride()[1];
    x.apply_op1_no_bwd(&Fused {
        stage: Stage::HeadNormRope {
            eps: eps as f32,
            text_len,
            heads,
            row_stride,
        },
        tensors: vec![
            weight.contiguous()?,
            bias.contiguous()?,
            cos.contiguous()?,
            sin.contiguous()?,
        ],
        shape: Shape::from((b, s, heads, 64)),
    })
}

fn check_modulation(modulation: &Tensor, b: usize, d: usize) -> Result<()> {
    expect_shape(modulation, &[b, 6 * d], DType::BF16, "adaLN modulation")
}

fn expect_shape(t: &Tensor, dims: &[usize], dtype: DType, what: &str) -> Result<()> {
    if t.dims() == dims && t.dtype() == dtype {
        return Ok(());
    }
    Err(Error::Msg(format!(
        "{what}: expected {dtype:?} {dims:?}, got {:?} {:?}",
        t.dtype(),
        t.shape()
    )))
}

/// Which kernel, with its scalar arguments.
enum Stage {
    ModulatedLayerNorm {
        eps: f32,
        text_len: usize,
    },
    GatedResidual {
        text_len: usize,
    },
    HeadNormRope {
        eps: f32,
        text_len: usize,
        heads: usize,
        row_stride: usize,
    },
}

/// The candle op: the main input through [`CustomOp1`], the others held here.
struct Fused {
    stage: Stage,
    tensors: Vec<Tensor>,
    shape: Shape,
}

/// The elements of `t` (contiguous, on CUDA) from its first one on, as `T`.
fn with_view<T: WithDType + candle_core::cuda_backend::CudaDType, R>(
    t: &Tensor,
    f: impl FnOnce(CudaView<'_, T>) -> Result<R>,
) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cuda(s) => f(s.as_cuda_slice::<T>()?.slice(layout.start_offset()..)),
        _ => Err(Error::Msg(
            "fused kernels: every input must be on the CUDA device".into(),
        )),
    }
}

impl CustomOp1 for Fused {
    fn name(&self) -> &'static str {
        "fused-block-stage"
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        Err(Error::Msg(
            "the fused block stages run on CUDA devices only".into(),
        ))
    }

    fn cuda_fwd(&self, storage: &CudaStorage, layout: &Layout) -> Result<(CudaStorage, Shape)> {
        let dev = storage.device().clone();
        let x = storage
            .as_cuda_slice::<bf16>()?
            .slice(layout.start_offset()..);
        let dims = self.shape.dims().to_vec();
        let n = self.shape.elem_count();
        // SAFETY: each kernel writes every element of its output.
        let mut out = unsafe { dev.alloc::<bf16>(n)? };
        let stream = dev.cuda_stream();
        let t = &self.tensors;
        let launched = match self.stage {
            Stage::ModulatedLayerNorm { eps, text_len } => {
                let (b, s, d) = (dims[0], dims[1], dims[2]);
                let func = module::function(&dev, "fused", IMAGE, "modulated_layer_norm_bf16")?;
                with_view::<bf16, _>(&t[0], |w| {
                    with_view::<bf16, _>(&t[1], |bi| {
                        with_view::<bf16, _>(&t[2], |m| {
                            let ints = [s as i32, text_len as i32, d as i32];
                            let mut launch = stream.launch_builder(&func);
                            launch.arg(&x).arg(&mut out).arg(&w).arg(&bi).arg(&m);
                            launch.arg(&ints[0]).arg(&ints[1]).arg(&ints[2]).arg(&eps);
                            let config = one_block_per_row(b * s);
                            // SAFETY: arguments match the kernel's signature; one block per
                            // row of d elements, every buffer holds what the shapes say.
                            unsafe { launch.launch(config) }
                                .map(|_| ())
                                .map_err(launch_error)
                        })
                    })
                })
            }
            Stage::GatedResidual { text_len } => {
                let (b, s, d) = (dims[0], dims[1], dims[2]);
                let func = module::function(&dev, "fused", IMAGE, "gated_residual_bf16")?;
                with_view::<bf16, _>(&t[0], |y| {
                    with_view::<bf16, _>(&t[1], |m| {
                        let ints = [s as i32, text_len as i32, d as i32];
                        let mut launch = stream.launch_builder(&func);
                        launch.arg(&x).arg(&y).arg(&mut out).arg(&m);
                        launch.arg(&ints[0]).arg(&ints[1]).arg(&ints[2]);
                        let config = one_block_per_row(b * s);
                        // SAFETY: as above, one block per row.
                        unsafe { launch.launch(config) }
                            .map(|_| ())
                            .map_err(launch_error)
                    })
                })
            }
            Stage::HeadNormRope {
                eps,
                text_len,
                heads,
                row_stride,
            } => {
                let (b, s) = (dims[0], dims[1]);
                let func = module::function(&dev, "fused", IMAGE, "head_norm_rope_bf16")?;
                with_view::<bf16, _>(&t[0], |w| {
                    with_view::<bf16, _>(&t[1], |bi| {
                        with_view::<f32, _>(&t[2], |cos| {
                            with_view::<f32, _>(&t[3], |sin| {
                                let tokens = (b * s) as i64;
                                let ints = [s as i32, text_len as i32, heads as i32];
                                let stride = row_stride as i64;
                                let mut launch = stream.launch_builder(&func);
                                launch.arg(&x).arg(&mut out).arg(&w).arg(&bi);
                                launch.arg(&cos).arg(&sin).arg(&tokens);
                                launch.arg(&ints[0]).arg(&ints[1]).arg(&ints[2]);
                                launch.arg(&stride).arg(&eps);
                                let warps = b * s * heads;
                                let config = LaunchConfig {
                                    grid_dim: (
                                        (warps * 32).div_ceil(THREADS as usize) as u32,
                                        1,
                                        1,
                                    ),
                                    block_dim: (THREADS, 1, 1),
                                    shared_mem_bytes: 0,
                                };
                                // SAFETY: one warp per (token, head), guarded against the
                                // last partial block; x rows are row_stride apart.
                                unsafe { launch.launch(config) }
                                    .map(|_| ())
                                    .map_err(launch_error)
                            })
                        })
                    })
                })
            }
        };
        launched?;
        Ok((CudaStorage::wrap_cuda_slice(out, dev), self.shape.clone()))
    }
}

/// The row kernels' launch: one block of [`THREADS`] per row.
fn one_block_per_row(rows: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (rows as u32, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

fn launch_error(e: impl std::fmt::Display) -> Error {
    Error::Cuda(format!("fused block stage launch: {e}").into())
}
