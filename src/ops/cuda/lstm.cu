// The fused LSTM cell (gate order i, f, g, o) and the small helpers of the recurrence, as
// src/ops/cpu/lstm.c and linalg.c. One thread per (batch row, hidden unit): it reads the four
// gates of its unit and writes the four activations at the same places, so act may alias gates,
// and dc_prev may alias dc (each element read before written by its own thread).
#include <cuda_runtime.h>
#include <math.h>

#include "kernels.h"
#include "launch.cuh"

namespace {

int grid_for(int64_t n) {
    int64_t b = (n + 255) / 256;
    return (int)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

__device__ __forceinline__ float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

__global__ void cell_fwd(const float *gates, int64_t ldg, const float *c_prev, float *act, float *h, int64_t ldh,
                         float *c, int64_t B, int64_t H) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < B * H; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t b = e / H, j = e % H;
        const float *g = gates + b * ldg;
        float ig = sigm(g[j]), fg = sigm(g[H + j]), gg = tanhf(g[2 * H + j]), og = sigm(g[3 * H + j]);
        float cv = ig * gg + (c_prev ? fg * c_prev[b * H + j] : 0.0f);
        float *a = act + b * 4 * H;
        a[j] = ig, a[H + j] = fg, a[2 * H + j] = gg, a[3 * H + j] = og;
        c[b * H + j] = cv;
        h[b * ldh + j] = og * tanhf(cv);
    }
}

__global__ void cell_bwd(const float *act, const float *c_prev, const float *c, const float *dh, const float *dc,
                         float *dgates, float *dc_prev, int64_t B, int64_t H) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < B * H; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t b = e / H, j = e % H;
        const float *a = act + b * 4 * H;
        float ig = a[j], fg = a[H + j], gg = a[2 * H + j], og = a[3 * H + j];
        float tc = tanhf(c[e]), dhv = dh ? dh[e] : 0.0f;
        float dct = (dc ? dc[e] : 0.0f) + dhv * og * (1.0f - tc * tc);
        float cpv = c_prev ? c_prev[e] : 0.0f;
        float *dg = dgates + b * 4 * H;
        dg[j] = dct * gg * ig * (1.0f - ig);
        dg[H + j] = dct * cpv * fg * (1.0f - fg);
        dg[2 * H + j] = dct * ig * (1.0f - gg * gg);
        dg[3 * H + j] = dhv * tc * og * (1.0f - og);
        if (dc_prev) dc_prev[e] = dct * fg;
    }
}

__global__ void rows_fill(float *y, const float *b0, const float *b1, int64_t rows, int64_t cols) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < rows * cols; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t j = e % cols;
        y[e] = b1 ? b0[j] + b1[j] : b0[j];
    }
}

__global__ void add_inplace(float *dst, const float *src, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] += src[i];
}

}  // namespace

extern "C" void fci_cuda_lstm_cell_fwd_launch(void *stream, const float *gates, int64_t ldg, const float *c_prev,
                                              float *act, float *h, int64_t ldh, float *c, int64_t batch,
                                              int64_t hidden) {
    int64_t n = batch * hidden;
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, cell_fwd)(gates, ldg, c_prev, act, h, ldh, c, batch, hidden);
}

extern "C" void fci_cuda_lstm_cell_bwd_launch(void *stream, const float *act, const float *c_prev, const float *c,
                                              const float *dh, const float *dc, float *dgates, float *dc_prev,
                                              int64_t batch, int64_t hidden) {
    int64_t n = batch * hidden;
    if (n > 0)
        FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, cell_bwd)(act, c_prev, c, dh, dc, dgates, dc_prev, batch, hidden);
}

extern "C" void fci_cuda_rows_fill_launch(void *stream, float *y, const float *b0, const float *b1, int64_t rows,
                                          int64_t cols) {
    if (rows * cols > 0) FCI_LAUNCH(grid_for(rows * cols), 256, 0, (cudaStream_t)stream, rows_fill)(y, b0, b1, rows, cols);
}

extern "C" void fci_cuda_add_inplace_launch(void *stream, float *dst, const float *src, int64_t n) {
    if (n > 0) FCI_LAUNCH(grid_for(n), 256, 0, (cudaStream_t)stream, add_inplace)(dst, src, n);
}
