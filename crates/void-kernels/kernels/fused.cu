// Fused elementwise stages of a CogVideoX block, bf16 in and out, each one pass over memory.
// Every kernel rounds to bf16 exactly where PyTorch's op-by-op bf16 forward does (each bf16
// op computes in f32 and rounds its result), so the fused result equals the unfused one up to
// the order of the f32 reductions inside LayerNorm.
//
// Rows are tokens of a joint sequence `[text (text_len rows), video]` per batch entry; the
// two streams take different modulation vectors. `mod` is the `(batch, 6 * d)` output of a
// block's adaLN linear, chunks [shift, scale, gate, text shift, text scale, text gate].

#include <cuda_bf16.h>
#include <stdint.h>

namespace {

__device__ __forceinline__ float bf(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }

// Sum over the block (blockDim.x a multiple of 32, at most 1024); `scratch` holds 32 floats.
__device__ float block_sum(float v, float *scratch) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = 0.f;
    for (int w = 0; w < warps; ++w) total += scratch[w];
    return total;
}

__device__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

}  // namespace

// out[r] = bf(bf(bf(LayerNorm(x[r])) * bf(1 + scale)) + shift), one block per row of d
// elements (threads stride over it), f32 statistics.
// scale/shift come from chunk (1, 0) of `mod` for video rows and (4, 3) for text rows.
extern "C" __global__ void modulated_layer_norm_bf16(
    const __nv_bfloat16 *__restrict__ x, __nv_bfloat16 *__restrict__ out,
    const __nv_bfloat16 *__restrict__ weight, const __nv_bfloat16 *__restrict__ bias,
    const __nv_bfloat16 *__restrict__ mod, int seq, int text_len, int d, float eps) {
    __shared__ float scratch[32];
    const long row = blockIdx.x;
    const int b = row / seq, token = row % seq;
    const bool text = token < text_len;
    const __nv_bfloat16 *xr = x + row * d;
    const __nv_bfloat16 *shift = mod + (long)b * 6 * d + (text ? 3 : 0) * d;
    const __nv_bfloat16 *scale = shift + d;
    float sum = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) sum += __bfloat162float(xr[i]);
    const float mean = block_sum(sum, scratch) / d;
    float sq = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        const float c = __bfloat162float(xr[i]) - mean;
        sq += c * c;
    }
    const float rstd = rsqrtf(block_sum(sq, scratch) / d + eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        const float c = __bfloat162float(xr[i]) - mean;
        const float n = bf(c * rstd * __bfloat162float(weight[i]) + __bfloat162float(bias[i]));
        const float s = bf(1.f + __bfloat162float(scale[i]));
        out[row * d + i] = __float2bfloat16_rn(bf(n * s) + __bfloat162float(shift[i]));
    }
}

// out = bf(x + bf(gate * y)), gate chunk 2 (video rows) or 5 (text rows) of `mod`; one block
// per row of d elements.
extern "C" __global__ void gated_residual_bf16(
    const __nv_bfloat16 *__restrict__ x, const __nv_bfloat16 *__restrict__ y,
    __nv_bfloat16 *__restrict__ out, const __nv_bfloat16 *__restrict__ mod, int seq,
    int text_len, int d) {
    const long row = blockIdx.x;
    const int b = row / seq, token = row % seq;
    const __nv_bfloat16 *gate = mod + (long)b * 6 * d + (token < text_len ? 5 : 2) * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        const long at = row * d + i;
        out[at] = __float2bfloat16_rn(__bfloat162float(x[at]) +
                                      bf(__bfloat162float(gate[i]) * __bfloat162float(y[at])));
    }
}

// Per (token, head): LayerNorm over the head's 64 values (affine, f32 statistics, rounded to
// bf16), then on video tokens the interleaved rotary embedding in f32
// (out[2i] = y[2i]·cos − y[2i+1]·sin, out[2i+1] = y[2i+1]·cos + y[2i]·sin, rounded once).
// One warp per (token, head), lane j holding the pair (2j, 2j+1). `x` rows (tokens) are
// `row_stride` elements apart (a fused q|k|v projection reads in place); `out` is
// (batch, seq, heads, 64) contiguous. cos/sin are (seq - text_len, 64) f32.
extern "C" __global__ void head_norm_rope_bf16(
    const __nv_bfloat16 *__restrict__ x, __nv_bfloat16 *__restrict__ out,
    const __nv_bfloat16 *__restrict__ weight, const __nv_bfloat16 *__restrict__ bias,
    const float *__restrict__ cos, const float *__restrict__ sin, long tokens, int seq,
    int text_len, int heads, long row_stride, float eps) {
    const long warp = (blockIdx.x * (long)blockDim.x + threadIdx.x) / 32;
    const int lane = threadIdx.x % 32;
    if (warp >= tokens * heads) return;
    const long token = warp / heads;
    const int head = warp % heads, pos = token % seq;
    const __nv_bfloat162 pair =
        reinterpret_cast<const __nv_bfloat162 *>(x + token * row_stride + head * 64)[lane];
    const float a = __low2float(pair), b = __high2float(pair);
    const float mean = warp_sum(a + b) / 64.f;
    const float ca = a - mean, cb = b - mean;
    const float rstd = rsqrtf(warp_sum(ca * ca + cb * cb) / 64.f + eps);
    const __nv_bfloat162 w = reinterpret_cast<const __nv_bfloat162 *>(weight)[lane];
    const __nv_bfloat162 bi = reinterpret_cast<const __nv_bfloat162 *>(bias)[lane];
    float ya = bf(ca * rstd * __low2float(w) + __low2float(bi));
    float yb = bf(cb * rstd * __high2float(w) + __high2float(bi));
    if (pos >= text_len) {
        const long t = (long)(pos - text_len) * 64 + 2 * lane;
        const float ra = __fadd_rn(__fmul_rn(ya, cos[t]), __fmul_rn(-yb, sin[t]));
        const float rb = __fadd_rn(__fmul_rn(yb, cos[t + 1]), __fmul_rn(ya, sin[t + 1]));
        ya = ra;
        yb = rb;
    }
    reinterpret_cast<__nv_bfloat162 *>(out + (token * heads + head) * 64)[lane] =
        __floats2bfloat162_rn(ya, yb);
}
