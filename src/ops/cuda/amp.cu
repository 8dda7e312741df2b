// Mixed precision on the device: GradScaler's fused check-and-unscale (torch's
// _amp_foreach_non_finite_check_and_unscale_: every value is multiplied, the flag says whether any
// was inf or nan), a plain scale (data-parallel averaging of NCCL sums) and autocast's rounding of
// f32 values to bf16/f16 precision, kept in f32.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "amp_kernels.h"
#include "launch.cuh"

namespace {

int grid_for(int64_t n) {
    int64_t b = (n + 255) / 256;
    return (int)(b < 4096 ? (b > 0 ? b : 1) : 4096);
}

__global__ void unscale(float *g, int64_t n, float inv, int32_t *found) {
    int bad = 0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float v = g[i];
        bad |= !isfinite(v);
        g[i] = v * inv;
    }
    // one store per warp that saw a bad value; every writer stores 1, so the order does not matter
    if (__any_sync(0xffffffffu, bad) && (threadIdx.x & 31) == 0) atomicExch(found, 1);
}

__global__ void scale(float *x, int64_t n, float s) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] *= s;
}

__global__ void round_to(const float *x, float *y, int64_t n, int to_bf16) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = to_bf16 ? __bfloat162float(__float2bfloat16_rn(x[i])) : __half2float(__float2half_rn(x[i]));
}

}  // namespace

extern "C" void fci_cuda_unscale_launch(void *stream, float *g, int64_t n, float inv, int32_t *found) {
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, unscale)(g, n, inv, found);
}

extern "C" void fci_cuda_scale_launch(void *stream, float *x, int64_t n, float s) {
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, scale)(x, n, s);
}

extern "C" void fci_cuda_round_launch(void *stream, const float *x, float *y, int64_t n, int to_bf16) {
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, round_to)(x, y, n, to_bf16);
}
