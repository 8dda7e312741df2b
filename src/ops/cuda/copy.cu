// Copies with dtype conversion over any strides, and fills. Conversions round as the CPU does
// (fci_store_from_double): to nearest even for bf16/f16, truncation toward zero for integers.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels.h"
#include "launch.cuh"

namespace {

enum { F32, BF16, F16, I32, I64, U8, BOOL };

__device__ double load(const void *p, int dt, int64_t i) {
    switch (dt) {
    case F32: return ((const float *)p)[i];
    case BF16: return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    case F16: return __half2float(((const __half *)p)[i]);
    case I32: return ((const int32_t *)p)[i];
    case I64: return (double)((const int64_t *)p)[i];
    case U8: return ((const uint8_t *)p)[i];
    default: return ((const uint8_t *)p)[i] ? 1.0 : 0.0;
    }
}

__device__ void store(void *p, int dt, int64_t i, double v) {
    switch (dt) {
    case F32: ((float *)p)[i] = (float)v; break;
    case BF16: ((__nv_bfloat16 *)p)[i] = __float2bfloat16_rn((float)v); break;
    case F16: ((__half *)p)[i] = __float2half_rn((float)v); break;
    case I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case I64: ((int64_t *)p)[i] = (int64_t)v; break;
    case U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    default: ((uint8_t *)p)[i] = v != 0.0; break;
    }
}

__device__ __forceinline__ void offsets(const fci_cuda_geom &g, int64_t i, int64_t &od, int64_t &os) {
    od = 0;
    os = 0;
    for (int d = g.ndim - 1; d >= 0; d--) {
        int64_t k = i % g.shape[d];
        i /= g.shape[d];
        od += k * g.stride[0][d];
        os += k * g.stride[1][d];
    }
}

// Same dtype: move the bits (i64 exact beyond 2^53, NaN payloads kept).
template <typename T>
__global__ void copy_same(T *dst, const T *src, int64_t n, fci_cuda_geom g) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t od, os;
        offsets(g, i, od, os);
        dst[od] = src[os];
    }
}

__global__ void copy_convert(void *dst, int ddt, const void *src, int sdt, int64_t n, fci_cuda_geom g) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t od, os;
        offsets(g, i, od, os);
        if (sdt == I64 && ddt == I32) ((int32_t *)dst)[od] = (int32_t)((const int64_t *)src)[os];
        else if (sdt == I32 && ddt == I64) ((int64_t *)dst)[od] = ((const int32_t *)src)[os];
        else store(dst, ddt, od, load(src, sdt, os));
    }
}

__global__ void fill(void *dst, int dt, double v, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        store(dst, dt, i, v);
}

int grid_for(int64_t n) {
    int64_t b = (n + 255) / 256;
    return (int)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

size_t dtype_size(int dt) { return dt == F32 || dt == I32 ? 4 : dt == I64 ? 8 : dt == BF16 || dt == F16 ? 2 : 1; }

}  // namespace

extern "C" void fci_cuda_copy_launch(void *stream, void *dst, int dst_dtype, const void *src,
                                     int src_dtype, int64_t n, const fci_cuda_geom *g) {
    cudaStream_t s = (cudaStream_t)stream;
    if (n <= 0) return;
    if (dst_dtype == src_dtype) {
        switch (dtype_size(dst_dtype)) {
        case 8: FCI_LAUNCH(grid_for(n), 256, 0, s, copy_same<int64_t>)((int64_t *)dst, (const int64_t *)src, n, *g); return;
        case 4: FCI_LAUNCH(grid_for(n), 256, 0, s, copy_same<int32_t>)((int32_t *)dst, (const int32_t *)src, n, *g); return;
        case 2: FCI_LAUNCH(grid_for(n), 256, 0, s, copy_same<int16_t>)((int16_t *)dst, (const int16_t *)src, n, *g); return;
        default: FCI_LAUNCH(grid_for(n), 256, 0, s, copy_same<int8_t>)((int8_t *)dst, (const int8_t *)src, n, *g); return;
        }
    }
    FCI_LAUNCH(grid_for(n), 256, 0, s, copy_convert)(dst, dst_dtype, src, src_dtype, n, *g);
}

extern "C" void fci_cuda_fill_launch(void *stream, void *dst, int dtype, double v, int64_t n) {
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, fill)(dst, dtype, v, n);
}
