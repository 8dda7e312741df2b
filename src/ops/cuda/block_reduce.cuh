// Launch shapes and the block-wide sum / max shared by the row kernels of reduce.cu and loss.cu.
// Internal to src/ops/cuda; include only from .cu files. Everything is inline (a file may leave
// a helper unused without a warning).
#ifndef FASTC_CUDA_BLOCK_REDUCE_CUH
#define FASTC_CUDA_BLOCK_REDUCE_CUH

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

namespace fci_cuda {

const int THREADS = 256;

// Blocks for n elements, one per THREADS, at most 65536 (kernels stride over the rest).
inline int grid_for(int64_t n) {
    int64_t b = (n + THREADS - 1) / THREADS;
    return (int)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}
// One block per row, at most 65535.
inline int rows_grid(int64_t rows) { return (int)(rows < 65535 ? (rows > 0 ? rows : 1) : 65535); }

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
// The block's sum (or max) in every thread; blockDim.x a multiple of 32, at most 1024.
template <bool MAX>
__device__ float block_reduce(float v) {
    __shared__ float part[32];
    __shared__ float total;
    v = MAX ? warp_max(v) : warp_sum(v);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float w = lane < (blockDim.x >> 5) ? part[lane] : (MAX ? -INFINITY : 0.0f);
        w = MAX ? warp_max(w) : warp_sum(w);
        if (lane == 0) total = w;
    }
    __syncthreads();
    float r = total;
    __syncthreads(); // part and total are reused by the next call
    return r;
}

} // namespace fci_cuda

#endif
