// Indexing on the device: index_select (any dtype) and its backward index_add, gather and
// scatter_add, as src/ops/cpu/index.c. The accumulating kernels give each thread every write to
// its destination elements and walk the sources in the CPU's order: no atomics, so results are
// bit-for-bit deterministic and equal to the CPU's.
#include <cuda_runtime.h>

#include "block_reduce.cuh"
#include "launch.cuh"
#include "kernels.h"

namespace {

using fci_cuda::THREADS;
using fci_cuda::grid_for;

template <typename T>
__global__ void index_select_k(T *y, const T *x, const int64_t *idx, int64_t outer, int64_t n_src, int64_t n_idx,
                               int64_t inner) {
    int64_t n = outer * n_idx * inner;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t k = e % inner, r = e / inner, i = r % n_idx, o = r / n_idx;
        y[e] = x[(o * n_src + idx[i]) * inner + k];
    }
}

// One thread per (o, k): the rows i in order, as fci_index_add_f32.
__global__ void index_add_k(float *gx, const float *gy, const int64_t *idx, int64_t outer, int64_t n_dst,
                            int64_t n_idx, int64_t inner) {
    int64_t n = outer * inner;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t o = e / inner, k = e % inner;
        float *d = gx + o * n_dst * inner + k;
        const float *s = gy + o * n_idx * inner + k;
        for (int64_t i = 0; i < n_idx; i++) d[idx[i] * inner] += s[i * inner];
    }
}

// y (contiguous, idx's shape)[e] = x[coords of e with coord dim replaced by idx[e]].
__global__ void gather_k(float *y, const float *x, const int64_t *idx, int64_t n, fci_cuda_gather_geom g) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = e, off = 0;
        for (int d = g.ndim - 1; d >= 0; d--) {
            int64_t c = r % g.shape[d];
            r /= g.shape[d];
            if (d != g.dim) off += c * g.a_stride[d];
        }
        y[e] = x[off + idx[e] * g.a_stride[g.dim]];
    }
}

// One thread per line (every coordinate but dim's); it walks dim in order. Two lines differ on a
// coordinate that the index does not replace, so they never write the same element of y.
__global__ void scatter_add_k(float *y, const float *src, const int64_t *idx, int64_t n_lines,
                              fci_cuda_gather_geom g) {
    int64_t len = g.shape[g.dim], istride = 1;
    for (int d = g.ndim - 1; d > g.dim; d--) istride *= g.shape[d];
    for (int64_t l = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; l < n_lines;
         l += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = l, oy = 0, os = 0, oi = 0, cs = 1;
        for (int d = g.ndim - 1; d >= 0; d--) {
            if (d != g.dim) {
                int64_t c = r % g.shape[d];
                r /= g.shape[d];
                oy += c * g.a_stride[d];
                os += c * g.b_stride[d];
                oi += c * cs;
            }
            cs *= g.shape[d];
        }
        for (int64_t c = 0; c < len; c++)
            y[oy + idx[oi + c * istride] * g.a_stride[g.dim]] += src[os + c * g.b_stride[g.dim]];
    }
}

}  // namespace

extern "C" void fci_cuda_index_select_launch(void *stream, void *y, const void *x, const int64_t *idx, int64_t outer,
                                             int64_t n_src, int64_t n_idx, int64_t inner, int64_t elem_size) {
    int64_t n = outer * n_idx * inner;
    if (n <= 0) return;
    cudaStream_t s = (cudaStream_t)stream;
    int b = grid_for(n);
    switch (elem_size) {
    case 8: FCI_LAUNCH(b, THREADS, 0, s, index_select_k<int64_t>)((int64_t *)y, (const int64_t *)x, idx, outer, n_src, n_idx, inner); break;
    case 4: FCI_LAUNCH(b, THREADS, 0, s, index_select_k<int32_t>)((int32_t *)y, (const int32_t *)x, idx, outer, n_src, n_idx, inner); break;
    case 2: FCI_LAUNCH(b, THREADS, 0, s, index_select_k<int16_t>)((int16_t *)y, (const int16_t *)x, idx, outer, n_src, n_idx, inner); break;
    default: FCI_LAUNCH(b, THREADS, 0, s, index_select_k<uint8_t>)((uint8_t *)y, (const uint8_t *)x, idx, outer, n_src, n_idx, inner); break;
    }
}

extern "C" void fci_cuda_index_add_launch(void *stream, float *gx, const float *gy, const int64_t *idx, int64_t outer,
                                          int64_t n_dst, int64_t n_idx, int64_t inner) {
    if (outer * inner > 0 && n_idx > 0)
        FCI_LAUNCH(grid_for(outer * inner), THREADS, 0, (cudaStream_t)stream, index_add_k)(gx, gy, idx, outer, n_dst, n_idx,
                                                                                   inner);
}

extern "C" void fci_cuda_gather_launch(void *stream, float *y, const float *x, const int64_t *idx,
                                       const fci_cuda_gather_geom *g) {
    int64_t n = 1;
    for (int d = 0; d < g->ndim; d++) n *= g->shape[d];
    if (n > 0) FCI_LAUNCH(grid_for(n), THREADS, 0, (cudaStream_t)stream, gather_k)(y, x, idx, n, *g);
}

extern "C" void fci_cuda_scatter_add_launch(void *stream, float *y, const float *src, const int64_t *idx,
                                            const fci_cuda_gather_geom *g) {
    int64_t lines = 1;
    for (int d = 0; d < g->ndim; d++)
        if (d != g->dim) lines *= g->shape[d];
    if (lines > 0 && g->shape[g->dim] > 0)
        FCI_LAUNCH(grid_for(lines), THREADS, 0, (cudaStream_t)stream, scatter_add_k)(y, src, idx, lines, *g);
}
