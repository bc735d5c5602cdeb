// fp8 (e4m3) weight storage: quantise with a scale, and widen back with it.
//
// quantize:   q = e4m3_rn_satfinite(x * inv_scale)      (f32 or bf16 in)
// dequantize: y = to_dtype(float(q) * scale)            (bf16 or f32 out)
//
// With a power-of-two scale both multiplications are exact, so the dequantised weights equal
// candle's CPU path (`to_dtype(F8E4M3)` / `to_dtype(bf16)` then `affine(scale)`) bit for bit.
// Contiguous buffers, grid-stride loops; dequantize reads 16 bytes of fp8 per thread and step
// when the input is 16-byte aligned, one byte at a time otherwise.

#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>

namespace {

template <typename T> __device__ __forceinline__ float to_float(T x);
template <> __device__ __forceinline__ float to_float<float>(float x) { return x; }
template <> __device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

template <typename T>
__device__ void quantize(const T* __restrict__ x, uint8_t* __restrict__ q, size_t n, float inv_scale) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        q[i] = __nv_cvt_float_to_fp8(to_float(x[i]) * inv_scale, __NV_SATFINITE, __NV_E4M3);
    }
}

template <typename T>
__device__ void dequantize(const uint8_t* __restrict__ q, T* __restrict__ y, size_t n, float scale) {
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    const size_t n16 = (reinterpret_cast<uintptr_t>(q) % 16 == 0) ? n / 16 : 0;
    const uint4* q16 = reinterpret_cast<const uint4*>(q);
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n16; i += stride) {
        uint4 v = q16[i];
        const uint8_t* b = reinterpret_cast<const uint8_t*>(&v);
        T out[16];
#pragma unroll
        for (int j = 0; j < 16; ++j) {
            __half_raw h = __nv_cvt_fp8_to_halfraw(b[j], __NV_E4M3);
            out[j] = from_float<T>(__half2float(__half(h)) * scale);
        }
#pragma unroll
        for (int j = 0; j < 16; ++j) y[i * 16 + j] = out[j];
    }
    for (size_t i = n16 * 16 + blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += stride) {
        __half_raw h = __nv_cvt_fp8_to_halfraw(q[i], __NV_E4M3);
        y[i] = from_float<T>(__half2float(__half(h)) * scale);
    }
}

}  // namespace

extern "C" __global__ void quantize_e4m3_f32(const float* x, uint8_t* q, size_t n, float inv_scale) {
    quantize(x, q, n, inv_scale);
}
extern "C" __global__ void quantize_e4m3_bf16(const __nv_bfloat16* x, uint8_t* q, size_t n, float inv_scale) {
    quantize(x, q, n, inv_scale);
}
extern "C" __global__ void dequantize_e4m3_f32(const uint8_t* q, float* y, size_t n, float scale) {
    dequantize(q, y, n, scale);
}
extern "C" __global__ void dequantize_e4m3_bf16(const uint8_t* q, __nv_bfloat16* y, size_t n, float scale) {
    dequantize(q, y, n, scale);
}
