// Fused cross entropy (log_softmax + nll + label smoothing + class weights), embedding and
// dropout kernels. Formulas as src/ops/cpu/loss.c, embedding.c and dropout.c.
#include <cub/device/device_radix_sort.cuh>
#include <cuda_runtime.h>
#include <math.h>

#include "block_reduce.cuh"
#include "launch.cuh"
#include "kernels.h"

namespace {

using fci_cuda::THREADS;
using fci_cuda::block_reduce;
using fci_cuda::grid_for;
using fci_cuda::rows_grid;

__device__ __forceinline__ bool ignored(const fci_cuda_class_loss &c, int64_t t) {
    return c.has_ignore && t == c.ignore;
}

// One block per sample s = o * inner + i; threads stride over the C classes.
__global__ void ce_fwd(fci_cuda_class_loss c, const float *z, float *loss, float *wt, float *lse) {
    int64_t n = c.outer * c.inner, C = c.C, inner = c.inner;
    for (int64_t s = blockIdx.x; s < n; s += gridDim.x) {
        int64_t o = s / inner, i = s % inner, t = c.t[s];
        const float *zs = z + o * C * inner + i;
        float m = -INFINITY;
        for (int64_t k = threadIdx.x; k < C; k += blockDim.x) m = fmaxf(m, zs[k * inner]);
        m = block_reduce<true>(m);
        float e = 0.0f, wz = 0.0f, wsum = 0.0f;
        for (int64_t k = threadIdx.x; k < C; k += blockDim.x) {
            float zk = zs[k * inner] - m, wk = c.w ? c.w[k] : 1.0f;
            e += expf(zk);
            wz += wk * zk;
            wsum += wk;
        }
        e = block_reduce<false>(e);
        if (c.eps != 0.0f) {
            wz = block_reduce<false>(wz);
            wsum = block_reduce<false>(wsum);
        }
        if (threadIdx.x) continue;
        float ls = logf(e);
        lse[2 * s] = m, lse[2 * s + 1] = ls;
        if (ignored(c, t)) {
            loss[s] = wt[s] = 0.0f;
            continue;
        }
        if (t < 0 || t >= C) { // the glue rejects these first; never read out of bounds
            loss[s] = __int_as_float(0x7fc00000);
            wt[s] = 1.0f;
            continue;
        }
        float w_t = c.w ? c.w[t] : 1.0f;
        float v = (1.0f - c.eps) * w_t * (ls - (zs[t * inner] - m));
        if (c.eps != 0.0f) v += c.eps / (float)C * (wsum * ls - wz);
        loss[s] = v;
        wt[s] = w_t;
    }
}

// One thread per logit: gz = g_s (((1 - eps) w_t + eps W / C) p_c - (1 - eps) w_t [c == t] - eps w_c / C)
// with W = sum of the class weights (wtotal_p[0]; NULL: C, unweighted).
__global__ void ce_bwd(fci_cuda_class_loss c, const float *z, const float *lse, const float *g,
                       int64_t g_stride, const float *scale_by, const float *wtotal_p, float *gz) {
    int64_t C = c.C, inner = c.inner, n = c.outer * C * inner;
    float scale = scale_by ? 1.0f / scale_by[0] : 1.0f, wtotal = wtotal_p ? wtotal_p[0] : (float)C;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t i = e % inner, k = (e / inner) % C, o = e / (inner * C), s = o * inner + i, t = c.t[s];
        if (ignored(c, t) || t < 0 || t >= C) {
            gz[e] = 0.0f;
            continue;
        }
        float gs = g[s * g_stride] * scale, w_t = c.w ? c.w[t] : 1.0f, w_k = c.w ? c.w[k] : 1.0f;
        float p = expf(z[e] - lse[2 * s] - lse[2 * s + 1]);
        float v = ((1.0f - c.eps) * w_t + c.eps * wtotal / (float)C) * p - c.eps * w_k / (float)C;
        if (k == t) v -= (1.0f - c.eps) * w_t;
        gz[e] = gs * v;
    }
}

// Sums in double across one block: the mean of a large batch's losses keeps its digits.
__global__ void class_reduce(const float *loss, const float *wt, int64_t n, int mean, float *out, float *wsum) {
    __shared__ double ls[THREADS], ws[THREADS];
    double a = 0, b = 0;
    for (int64_t k = threadIdx.x; k < n; k += blockDim.x) a += loss[k], b += wt[k];
    ls[threadIdx.x] = a, ws[threadIdx.x] = b;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
        if (threadIdx.x < h) ls[threadIdx.x] += ls[threadIdx.x + h], ws[threadIdx.x] += ws[threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        out[0] = (float)(mean ? ls[0] / ws[0] : ls[0]); // 0 / 0 = nan when all are ignored, as PyTorch
        if (wsum) wsum[0] = (float)ws[0];
    }
}

__global__ void embedding_fwd(const float *w, const int64_t *idx, float *y, int64_t n, int64_t D) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n * D; e += (int64_t)gridDim.x * blockDim.x)
        y[e] = w[idx[e / D] * D + e % D];
}

__global__ void iota(int64_t *p, int64_t n) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) p[e] = e;
}

// rows: the indices sorted (stably), pos: where each came from. Thread (j, d) for the first j of a
// run of equal rows sums that run's dy rows at column d in position order, from 0: the CPU's sum.
__global__ void embedding_bwd(const float *dy, const uint64_t *rows, const int64_t *pos, float *dw, int64_t n,
                              int64_t D, int64_t pad) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n * D; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t j = e / D, d = e % D;
        uint64_t row = rows[j];
        if ((j > 0 && rows[j - 1] == row) || (int64_t)row == pad) continue;
        float s = 0.0f;
        for (int64_t k = j; k < n && rows[k] == row; k++) s += dy[pos[k] * D + d];
        dw[row * D + d] = s;
    }
}

// The workspace: sorted rows, positions in and out (n each, 8 bytes), then CUB's temporary.
size_t align256(size_t b) { return (b + 255) / 256 * 256; }
int key_bits(int64_t V) {
    int b = 1;
    while (b < 63 && (int64_t)1 << b < V) b++;
    return b;
}

// Philox 4x32-10, the same rounds as fc_philox (src/core/rng.c).
__device__ __forceinline__ void philox(uint64_t seed, uint64_t counter, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c1 = lo1;
        c3 = lo0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

// One thread per group of four elements (one Philox call), as the CPU loop.
__global__ void dropout_fwd(const float *x, float *y, uint8_t *mask, int64_t n, uint64_t seed, uint64_t base,
                            uint32_t thr, float scale) {
    int64_t nq = (n + 3) / 4;
    for (int64_t q = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; q < nq; q += (int64_t)gridDim.x * blockDim.x) {
        uint32_t r[4];
        philox(seed, base + (uint64_t)q, r);
        int64_t i0 = q * 4;
        for (int k = 0; k < 4 && i0 + k < n; k++) {
            uint8_t keep = (r[k] >> 8) >= thr;
            mask[i0 + k] = keep;
            y[i0 + k] = keep ? x[i0 + k] * scale : 0.0f;
        }
    }
}

__global__ void dropout_bwd(const float *dy, const uint8_t *mask, float *dx, int64_t n, float scale) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}

// ---- nll_loss, the regression losses and bce_with_logits (src/ops/cpu/loss.c) ----

__global__ void nll_fwd(fci_cuda_class_loss c, const float *x, float *loss, float *wt) {
    int64_t n = c.outer * c.inner, C = c.C, inner = c.inner;
    for (int64_t s = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; s < n; s += (int64_t)gridDim.x * blockDim.x) {
        int64_t o = s / inner, i = s % inner, t = c.t[s];
        if (ignored(c, t)) {
            loss[s] = wt[s] = 0.0f;
            continue;
        }
        if (t < 0 || t >= C) { // the glue rejects these first; never read out of bounds
            loss[s] = __int_as_float(0x7fc00000);
            wt[s] = 1.0f;
            continue;
        }
        float w_t = c.w ? c.w[t] : 1.0f;
        loss[s] = -w_t * x[(o * C + t) * inner + i];
        wt[s] = w_t;
    }
}

// One thread per input element: -w_t g_s at the target class, 0 elsewhere (no zeroing pass).
__global__ void nll_bwd(fci_cuda_class_loss c, const float *g, int64_t g_stride, const float *scale_by, float *gx) {
    int64_t C = c.C, inner = c.inner, n = c.outer * C * inner;
    float scale = scale_by ? 1.0f / scale_by[0] : 1.0f;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t i = e % inner, k = (e / inner) % C, o = e / (inner * C), s = o * inner + i, t = c.t[s];
        if (k != t || ignored(c, t)) {
            gx[e] = 0.0f;
            continue;
        }
        gx[e] = -(c.w ? c.w[t] : 1.0f) * g[s * g_stride] * scale; // the CPU's order
    }
}

__device__ __forceinline__ float pw_loss(int kind, float d, float beta) {
    float a = fabsf(d);
    switch (kind) {
    case 0: return d * d; // FCI_LOSS_MSE, L1, SMOOTH_L1 (src/ops/cpu/loss.h)
    case 1: return a;
    default: return a < beta ? 0.5f * d * d / beta : a - 0.5f * beta;
    }
}

__device__ __forceinline__ float pw_grad(int kind, float d, float beta) {
    float sg = (float)((d > 0) - (d < 0));
    switch (kind) {
    case 0: return 2 * d;
    case 1: return sg;
    default: return fabsf(d) < beta ? d / beta : sg;
    }
}

// softplus(-x) = log1p(exp(-|x|)) + max(-x, 0), stable for large |x|
__device__ __forceinline__ float softplus_neg(float x) { return log1pf(expf(-fabsf(x))) + fmaxf(-x, 0.0f); }

__device__ __forceinline__ float bce_loss(const float *x, const float *y, const float *w, const float *pw, int64_t i) {
    float lw = pw ? 1 + (pw[i] - 1) * y[i] : 1.0f;
    float v = (1 - y[i]) * x[i] + lw * softplus_neg(x[i]);
    return w ? v * w[i] : v;
}

// The block's sum in double, in every thread (THREADS threads).
__device__ double block_sum_d(double v) {
    __shared__ double part[THREADS];
    part[threadIdx.x] = v;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
        if (threadIdx.x < h) part[threadIdx.x] += part[threadIdx.x + h];
        __syncthreads();
    }
    double r = part[0];
    __syncthreads();
    return r;
}

// kind >= 0: a regression loss; kind -1: bce_with_logits. One block: the sum in double in a fixed
// order (deterministic), sum[0] = s / divisor.
__global__ void loss_sum(int kind, const float *x, const float *y, const float *w, const float *pw, int64_t n,
                         float beta, float *sum, double divisor) {
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        s += kind < 0 ? bce_loss(x, y, w, pw, i) : pw_loss(kind, x[i] - y[i], beta);
    s = block_sum_d(s);
    if (threadIdx.x == 0) sum[0] = (float)(s / divisor);
}

__global__ void pw_loss_each(int kind, const float *x, const float *y, int64_t n, float beta, float *out) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = pw_loss(kind, x[i] - y[i], beta);
}

__global__ void pw_loss_bwd(int kind, const float *x, const float *y, int64_t n, float beta, const float *g,
                            int64_t g_stride, float g_scale, float *gx) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        gx[i] = g[i * g_stride] * g_scale * pw_grad(kind, x[i] - y[i], beta);
}

__global__ void bce_each(const float *x, const float *y, const float *w, const float *pw, int64_t n, float *out) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = bce_loss(x, y, w, pw, i);
}

__global__ void bce_bwd(const float *x, const float *y, const float *w, const float *pw, int64_t n, const float *g,
                        int64_t g_stride, float g_scale, float *gx, float *gy) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float gi = g[i * g_stride] * g_scale * (w ? w[i] : 1.0f);
        float p = pw ? pw[i] : 1.0f, lw = 1 + (p - 1) * y[i];
        // sigmoid(-x) from exp(-|x|), finite for any x
        float e = expf(-fabsf(x[i])), sig_neg = x[i] >= 0 ? e / (1 + e) : 1 / (1 + e);
        if (gx) gx[i] = gi * ((1 - y[i]) - lw * sig_neg);
        if (gy) gy[i] = gi * (-x[i] + (p - 1) * softplus_neg(x[i]));
    }
}

}  // namespace

extern "C" void fci_cuda_cross_entropy_fwd_launch(void *stream, const fci_cuda_class_loss *c, const float *z,
                                                  float *loss, float *wt, float *lse) {
    int64_t n = c->outer * c->inner;
    if (n > 0) FCI_LAUNCH(rows_grid(n), THREADS, 0, (cudaStream_t)stream, ce_fwd)(*c, z, loss, wt, lse);
}

extern "C" void fci_cuda_cross_entropy_bwd_launch(void *stream, const fci_cuda_class_loss *c, const float *z,
                                                  const float *lse, const float *g, int64_t g_stride,
                                                  const float *scale_by, const float *wtotal, float *gz) {
    int64_t n = c->outer * c->C * c->inner;
    if (n <= 0) return;
    cudaStream_t s = (cudaStream_t)stream;
    FCI_LAUNCH(grid_for(n), THREADS, 0, s, ce_bwd)(*c, z, lse, g, g_stride, scale_by, wtotal, gz);
}

extern "C" void fci_cuda_class_reduce_launch(void *stream, const float *loss, const float *wt, int64_t n,
                                             int mean, float *out, float *wsum) {
    FCI_LAUNCH(1, THREADS, 0, (cudaStream_t)stream, class_reduce)(loss, wt, n, mean, out, wsum);
}

extern "C" void fci_cuda_embedding_fwd_launch(void *stream, const float *w, const int64_t *idx, float *y,
                                              int64_t n, int64_t D) {
    if (n * D > 0) FCI_LAUNCH(grid_for(n * D), THREADS, 0, (cudaStream_t)stream, embedding_fwd)(w, idx, y, n, D);
}

extern "C" int fci_cuda_embedding_bwd_ws(int64_t n, int64_t V, size_t *bytes) {
    size_t tmp = 0;
    *bytes = 0;
    if (n <= 0) return 0;
    cudaError_t e = cub::DeviceRadixSort::SortPairs(nullptr, tmp, (const uint64_t *)nullptr, (uint64_t *)nullptr,
                                                    (const int64_t *)nullptr, (int64_t *)nullptr, n, 0, key_bits(V));
    *bytes = 3 * align256((size_t)n * 8) + tmp;
    return (int)e;
}

extern "C" int fci_cuda_embedding_bwd_launch(void *stream, const float *dy, const int64_t *idx, float *dw, int64_t n,
                                             int64_t D, int64_t V, int64_t padding_idx, void *ws, size_t ws_bytes) {
    if (n * D <= 0) return 0;
    cudaStream_t s = (cudaStream_t)stream;
    char *p = (char *)ws;
    size_t slot = align256((size_t)n * 8);
    uint64_t *rows = (uint64_t *)p;
    int64_t *pos_in = (int64_t *)(p + slot), *pos = (int64_t *)(p + 2 * slot);
    size_t tmp = ws_bytes - 3 * slot;
    FCI_LAUNCH(grid_for(n), THREADS, 0, s, iota)(pos_in, n);
    // indices are in [0, V) (checked by the forward): sorting their low key_bits(V) bits orders them;
    // the radix sort is stable, so equal rows keep their positions in increasing order
    cudaError_t e = cub::DeviceRadixSort::SortPairs(p + 3 * slot, tmp, (const uint64_t *)idx, rows, pos_in, pos, n, 0,
                                                    key_bits(V), s);
    if (e != cudaSuccess) return (int)e;
    FCI_LAUNCH(grid_for(n * D), THREADS, 0, s, embedding_bwd)(dy, rows, pos, dw, n, D, padding_idx);
    return 0;
}

extern "C" void fci_cuda_dropout_fwd_launch(void *stream, const float *x, float *y, uint8_t *mask, int64_t n,
                                            uint64_t seed, uint64_t base, uint32_t thr, float scale) {
    if (n > 0)
        FCI_LAUNCH(grid_for((n + 3) / 4), THREADS, 0, (cudaStream_t)stream, dropout_fwd)(x, y, mask, n, seed, base, thr, scale);
}

extern "C" void fci_cuda_dropout_bwd_launch(void *stream, const float *dy, const uint8_t *mask, float *dx,
                                            int64_t n, float scale) {
    if (n > 0) FCI_LAUNCH(grid_for(n), THREADS, 0, (cudaStream_t)stream, dropout_bwd)(dy, mask, dx, n, scale);
}

extern "C" void fci_cuda_nll_fwd_launch(void *stream, const fci_cuda_class_loss *c, const float *x, float *loss,
                                        float *wt) {
    int64_t n = c->outer * c->inner;
    if (n > 0) FCI_LAUNCH(grid_for(n), THREADS, 0, (cudaStream_t)stream, nll_fwd)(*c, x, loss, wt);
}

extern "C" void fci_cuda_nll_bwd_launch(void *stream, const fci_cuda_class_loss *c, const float *g, int64_t g_stride,
                                        const float *scale_by, float *gx) {
    int64_t n = c->outer * c->C * c->inner;
    if (n > 0) FCI_LAUNCH(grid_for(n), THREADS, 0, (cudaStream_t)stream, nll_bwd)(*c, g, g_stride, scale_by, gx);
}

extern "C" void fci_cuda_pw_loss_fwd_launch(void *stream, int kind, const float *x, const float *y, int64_t n,
                                            float beta, float *out, float *sum, double divisor) {
    cudaStream_t s = (cudaStream_t)stream;
    if (out && n > 0) FCI_LAUNCH(grid_for(n), THREADS, 0, s, pw_loss_each)(kind, x, y, n, beta, out);
    if (sum) FCI_LAUNCH(1, THREADS, 0, s, loss_sum)(kind, x, y, NULL, NULL, n, beta, sum, divisor);
}

extern "C" void fci_cuda_pw_loss_bwd_launch(void *stream, int kind, const float *x, const float *y, int64_t n,
                                            float beta, const float *g, int64_t g_stride, float g_scale, float *gx) {
    if (n > 0)
        FCI_LAUNCH(grid_for(n), THREADS, 0, (cudaStream_t)stream, pw_loss_bwd)(kind, x, y, n, beta, g, g_stride, g_scale, gx);
}

extern "C" void fci_cuda_bce_logits_fwd_launch(void *stream, const float *x, const float *y, const float *w,
                                               const float *pw, int64_t n, float *out, float *sum, double divisor) {
    cudaStream_t s = (cudaStream_t)stream;
    if (out && n > 0) FCI_LAUNCH(grid_for(n), THREADS, 0, s, bce_each)(x, y, w, pw, n, out);
    if (sum) FCI_LAUNCH(1, THREADS, 0, s, loss_sum)(-1, x, y, w, pw, n, 0.0f, sum, divisor);
}

extern "C" void fci_cuda_bce_logits_bwd_launch(void *stream, const float *x, const float *y, const float *w,
                                               const float *pw, int64_t n, const float *g, int64_t g_stride,
                                               float g_scale, float *gx, float *gy) {
    if (n > 0 && (gx || gy))
        FCI_LAUNCH(grid_for(n), THREADS, 0, (cudaStream_t)stream, bce_bwd)(x, y, w, pw, n, g, g_stride, g_scale, gx, gy);
}
