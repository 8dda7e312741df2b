// Batch norm and layer norm, the formulas of src/ops/cpu/norm.c: statistics from sums shifted by
// the first element and accumulated in double (so a large mean does not cancel the variance),
// running statistics with the unbiased variance, the closed-form backward. Batch norm splits each
// channel's sums over several blocks (see bn_partial); layer norm reduces one row per block, its
// elementwise pass in the same block.
#include <cuda_runtime.h>
#include <math.h>

#include "kernels.h"
#include "launch.cuh"

namespace {

const int THREADS = 256;

// The block's sums of a and b (double) in every thread.
__device__ void block_sum2(double &a, double &b) {
    __shared__ double sa[THREADS], sb[THREADS];
    sa[threadIdx.x] = a, sb[threadIdx.x] = b;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
        if (threadIdx.x < h) sa[threadIdx.x] += sa[threadIdx.x + h], sb[threadIdx.x] += sb[threadIdx.x + h];
        __syncthreads();
    }
    a = sa[0], b = sb[0];
    __syncthreads();
}

// Batch norm reduces over N * S elements per channel. One block per channel left most of a GPU idle
// on the layers that matter (64 channels of 512 x 32 x 32 values: 64 blocks of 256 threads), so
// each channel's sums are split over P partitions (bn_parts: a function of the shape alone, so the
// split, and the result, is the same on every run and GPU), summed in double and combined in
// partition order by one thread per channel; the elementwise pass then runs over the whole tensor.
// ws: 2 C P doubles of partial sums, then 3 C floats of per-channel coefficients.

// The e-th element (of N * S) of channel c in an [N, C, S] tensor.
__device__ __forceinline__ int64_t bn_at(int64_t e, int64_t c, int64_t C, int64_t S) {
    return ((e / S) * C + c) * S + e % S;
}

// Partial sums over partition p of channel c (block c * P + p). Forward (dy NULL): x shifted by
// the channel's first element, and its square; backward: dy and dy (x - mu).
__global__ void bn_partial(const float *x, const float *dy, int64_t N, int64_t C, int64_t S, int64_t P,
                           const float *mean, double *part) {
    int64_t c = blockIdx.x / P, p = blockIdx.x % P, m = N * S;
    int64_t e0 = p * m / P, e1 = (p + 1) * m / P;
    double s1 = 0, s2 = 0;
    if (!dy) {
        float k = x[c * S];
        for (int64_t e = e0 + threadIdx.x; e < e1; e += blockDim.x) {
            double d = (double)x[bn_at(e, c, C, S)] - k;
            s1 += d;
            s2 += d * d;
        }
    } else {
        float mu = mean[c];
        for (int64_t e = e0 + threadIdx.x; e < e1; e += blockDim.x) {
            int64_t i = bn_at(e, c, C, S);
            s1 += dy[i];
            s2 += (double)dy[i] * (double)(x[i] - mu);
        }
    }
    block_sum2(s1, s2);
    if (threadIdx.x == 0) part[2 * blockIdx.x] = s1, part[2 * blockIdx.x + 1] = s2;
}

// One thread per channel: the statistics (training: from the partials; eval: the running ones),
// the running-statistics update, and the coefficients of y = x a + sh.
__global__ void bn_fwd_finish(const float *x, int64_t N, int64_t C, int64_t S, int64_t P, const float *w,
                              const float *b, float *running_mean, float *running_var, int training, double momentum,
                              double eps, float *mean, float *rstd, const double *part, float *coef) {
    int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x, m = N * S;
    if (c >= C) return;
    double mu, var;
    if (training) {
        double s1 = 0, s2 = 0;
        for (int64_t p = 0; p < P; p++) s1 += part[2 * (c * P + p)], s2 += part[2 * (c * P + p) + 1];
        double dm = s1 / (double)m;
        mu = (double)x[c * S] + dm, var = s2 / (double)m - dm * dm;
        var = var > 0 ? var : 0;
        if (running_mean) running_mean[c] = (float)((1 - momentum) * running_mean[c] + momentum * mu);
        if (running_var) {
            double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
            running_var[c] = (float)((1 - momentum) * running_var[c] + momentum * unbiased);
        }
    } else {
        mu = running_mean[c], var = running_var[c];
    }
    float r = (float)(1.0 / sqrt(var + eps));
    mean[c] = (float)mu, rstd[c] = r;
    float a = w ? w[c] * r : r;
    coef[c] = a;
    coef[C + c] = (b ? b[c] : 0.0f) - (float)mu * a;
}

__global__ void bn_fwd_apply(const float *x, float *y, int64_t n, int64_t C, int64_t S, const float *coef) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t c = (i / S) % C;
        y[i] = x[i] * coef[c] + coef[C + c];
    }
}

// One thread per channel: dw, db, and the coefficients of dx = k (dy - c1 - (x - mu) c2).
__global__ void bn_bwd_finish(int64_t m, int64_t C, int64_t P, const float *w, const float *rstd, int training,
                              const double *part, float *dw, float *db, float *coef) {
    int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (c >= C) return;
    double sdy = 0, sdyx = 0;
    for (int64_t p = 0; p < P; p++) sdy += part[2 * (c * P + p)], sdyx += part[2 * (c * P + p) + 1];
    float r = rstd[c];
    if (dw) dw[c] = (float)(sdyx * r);
    if (db) db[c] = (float)sdy;
    coef[c] = (w ? w[c] : 1.0f) * r;
    coef[C + c] = training ? (float)(sdy / (double)m) : 0.0f;
    coef[2 * C + c] = training ? (float)(sdyx / (double)m * r * r) : 0.0f;
}

__global__ void bn_bwd_apply(const float *x, const float *dy, float *dx, int64_t n, int64_t C, int64_t S,
                             const float *mean, const float *coef) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t c = (i / S) % C;
        dx[i] = coef[c] * (dy[i] - coef[C + c] - (x[i] - mean[c]) * coef[2 * C + c]);
    }
}

int flat_grid(int64_t n) {
    int64_t b = (n + THREADS - 1) / THREADS;
    return (int)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

__global__ void ln_fwd(const float *x, float *y, int64_t R, int64_t D, const float *w, const float *b, double eps,
                       float *mean, float *rstd) {
    for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
        const float *xp = x + r * D;
        float *yp = y + r * D;
        float k = xp[0];
        double s1 = 0, s2 = 0;
        for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
            double d = (double)xp[j] - k;
            s1 += d;
            s2 += d * d;
        }
        block_sum2(s1, s2);
        double dm = s1 / (double)D, var = s2 / (double)D - dm * dm;
        float m = (float)(k + dm), rs = (float)(1.0 / sqrt((var > 0 ? var : 0) + eps));
        if (threadIdx.x == 0) mean[r] = m, rstd[r] = rs;
        for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
            float v = (xp[j] - m) * rs;
            if (w) v = v * w[j];
            if (b) v = v + b[j];
            yp[j] = v;
        }
    }
}

__global__ void ln_bwd_dx(const float *x, const float *dy, int64_t R, int64_t D, const float *w, const float *mean,
                          const float *rstd, float *dx) {
    for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
        const float *xp = x + r * D, *gp = dy + r * D;
        float *dp = dx + r * D;
        float m = mean[r], rs = rstd[r];
        double sg = 0, sgx = 0;
        for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
            float g = w ? gp[j] * w[j] : gp[j];
            sg += g;
            sgx += (double)g * (double)((xp[j] - m) * rs);
        }
        block_sum2(sg, sgx);
        float c1 = (float)(sg / (double)D), c2 = (float)(sgx / (double)D);
        for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
            float g = w ? gp[j] * w[j] : gp[j];
            dp[j] = rs * (g - c1 - (xp[j] - m) * rs * c2);
        }
    }
}

// dw, db: one thread per column, rows in order (double sums, as the CPU)
__global__ void ln_bwd_dwdb(const float *x, const float *dy, int64_t R, int64_t D, const float *mean,
                            const float *rstd, float *dw, float *db) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < D; j += (int64_t)gridDim.x * blockDim.x) {
        double aw = 0, ab = 0;
        for (int64_t r = 0; r < R; r++) {
            float g = dy[r * D + j];
            aw += (double)g * (double)((x[r * D + j] - mean[r]) * rstd[r]);
            ab += g;
        }
        if (dw) dw[j] = (float)aw;
        if (db) db[j] = (float)ab;
    }
}

int grid_for(int64_t n) {
    int64_t b = (n + THREADS - 1) / THREADS;
    return (int)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}
int rows_grid(int64_t rows) { return (int)(rows < 65535 ? (rows > 0 ? rows : 1) : 65535); }

// ---- group norm as src/ops/cpu/norm.c: one block per (n, g) row of m = C / G * S contiguous values ----

__global__ void gn_fwd(const float *x, float *y, int64_t N, int64_t C, int64_t S, int64_t G, const float *w,
                       const float *b, double eps, float *mean, float *rstd) {
    int64_t cg = C / G, m = cg * S;
    for (int64_t ng = blockIdx.x; ng < N * G; ng += gridDim.x) {
        const float *xp = x + ng * m;
        float *yp = y + ng * m;
        float k = xp[0]; // m > 0: the launcher skips empty groups
        double s1 = 0, s2 = 0;
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
            double d = (double)xp[e] - k;
            s1 += d;
            s2 += d * d;
        }
        block_sum2(s1, s2);
        double dm = s1 / (double)m, mu = k + dm, var = s2 / (double)m - dm * dm;
        var = var > 0 ? var : 0;
        float rs = (float)(1.0 / sqrt(var + eps));
        if (threadIdx.x == 0) mean[ng] = (float)mu, rstd[ng] = rs;
        int64_t c0 = (ng % G) * cg;
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
            int64_t c = c0 + e / S;
            float a = w ? w[c] * rs : rs, sh = (b ? b[c] : 0.0f) - (float)mu * a;
            yp[e] = xp[e] * a + sh;
        }
    }
}

// dx: sums of w_c g and w_c g x_hat over the row (double), then the closed form, as the CPU.
__global__ void gn_bwd_dx(const float *x, const float *dy, int64_t N, int64_t C, int64_t S, int64_t G, const float *w,
                          const float *mean, const float *rstd, float *dx) {
    int64_t cg = C / G, m = cg * S;
    for (int64_t ng = blockIdx.x; ng < N * G; ng += gridDim.x) {
        const float *xp = x + ng * m, *gp = dy + ng * m;
        float *dp = dx + ng * m;
        float mu = mean[ng], rs = rstd[ng];
        int64_t c0 = (ng % G) * cg;
        double sg = 0, sgx = 0;
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
            double wc = w ? w[c0 + e / S] : 1.0f;
            sg += wc * gp[e];
            sgx += wc * ((double)gp[e] * (double)((xp[e] - mu) * rs));
        }
        block_sum2(sg, sgx);
        float c1 = (float)(sg / (double)m), c2 = (float)(sgx / (double)m);
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
            float wc = w ? w[c0 + e / S] : 1.0f;
            dp[e] = rs * (gp[e] * wc - c1 - (xp[e] - mu) * rs * c2);
        }
    }
}

// dw, db: one block per channel, sums over (n, s) in double.
__global__ void gn_bwd_dwdb(const float *x, const float *dy, int64_t N, int64_t C, int64_t S, int64_t G,
                            const float *mean, const float *rstd, float *dw, float *db) {
    int64_t cg = C / G, m = N * S;
    for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
        double aw = 0, ab = 0;
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
            int64_t n = e / S, i = (n * C + c) * S + e % S, ng = n * G + c / cg;
            float g = dy[i];
            aw += (double)g * (double)((x[i] - mean[ng]) * rstd[ng]);
            ab += g;
        }
        block_sum2(aw, ab);
        if (threadIdx.x == 0) {
            if (dw) dw[c] = (float)aw;
            if (db) db[c] = (float)ab;
        }
    }
}

}  // namespace

extern "C" int64_t fci_cuda_batch_norm_parts(int64_t N, int64_t C, int64_t S) {
    // at least ~16 elements a thread, and ~1024 blocks in all: several per SM on any GPU
    int64_t m = N * S, by_size = (m + 16 * THREADS - 1) / (16 * THREADS), by_blocks = (1024 + C - 1) / (C > 0 ? C : 1);
    int64_t p = by_size < by_blocks ? by_size : by_blocks;
    return p < 1 ? 1 : p;
}

extern "C" size_t fci_cuda_batch_norm_ws_bytes(int64_t N, int64_t C, int64_t S) {
    return (size_t)(2 * C * fci_cuda_batch_norm_parts(N, C, S)) * sizeof(double) + (size_t)(3 * C) * sizeof(float);
}

extern "C" void fci_cuda_batch_norm_fwd_launch(void *stream, const float *x, float *y, int64_t N, int64_t C,
                                               int64_t S, const float *w, const float *b, float *running_mean,
                                               float *running_var, int training, double momentum, double eps,
                                               float *mean, float *rstd, void *ws) {
    if (C <= 0 || N * S <= 0) return;
    cudaStream_t s = (cudaStream_t)stream;
    int64_t P = fci_cuda_batch_norm_parts(N, C, S);
    double *part = (double *)ws;
    float *coef = (float *)(part + 2 * C * P);
    if (training) FCI_LAUNCH((unsigned)(C * P), THREADS, 0, s, bn_partial)(x, NULL, N, C, S, P, NULL, part);
    FCI_LAUNCH((unsigned)((C + THREADS - 1) / THREADS), THREADS, 0, s, bn_fwd_finish)(
        x, N, C, S, P, w, b, running_mean, running_var, training, momentum, eps, mean, rstd, part, coef);
    FCI_LAUNCH(flat_grid(N * C * S), THREADS, 0, s, bn_fwd_apply)(x, y, N * C * S, C, S, coef);
}

extern "C" void fci_cuda_batch_norm_bwd_launch(void *stream, const float *x, const float *dy, int64_t N, int64_t C,
                                               int64_t S, const float *w, const float *mean, const float *rstd,
                                               int training, float *dx, float *dw, float *db, void *ws) {
    if (C <= 0 || N * S <= 0) return;
    cudaStream_t s = (cudaStream_t)stream;
    int64_t P = fci_cuda_batch_norm_parts(N, C, S);
    double *part = (double *)ws;
    float *coef = (float *)(part + 2 * C * P);
    FCI_LAUNCH((unsigned)(C * P), THREADS, 0, s, bn_partial)(x, dy, N, C, S, P, mean, part);
    FCI_LAUNCH((unsigned)((C + THREADS - 1) / THREADS), THREADS, 0, s, bn_bwd_finish)(N * S, C, P, w, rstd, training, part,
                                                                              dw, db, coef);
    if (dx) FCI_LAUNCH(flat_grid(N * C * S), THREADS, 0, s, bn_bwd_apply)(x, dy, dx, N * C * S, C, S, mean, coef);
}

extern "C" void fci_cuda_layer_norm_fwd_launch(void *stream, const float *x, float *y, int64_t R, int64_t D,
                                               const float *w, const float *b, double eps, float *mean, float *rstd) {
    if (R > 0 && D > 0) FCI_LAUNCH(rows_grid(R), THREADS, 0, (cudaStream_t)stream, ln_fwd)(x, y, R, D, w, b, eps, mean, rstd);
}

extern "C" void fci_cuda_layer_norm_bwd_launch(void *stream, const float *x, const float *dy, int64_t R, int64_t D,
                                               const float *w, const float *mean, const float *rstd, float *dx,
                                               float *dw, float *db) {
    cudaStream_t s = (cudaStream_t)stream;
    if (R <= 0 || D <= 0) return;
    if (dx) FCI_LAUNCH(rows_grid(R), THREADS, 0, s, ln_bwd_dx)(x, dy, R, D, w, mean, rstd, dx);
    if (dw || db) FCI_LAUNCH(grid_for(D), THREADS, 0, s, ln_bwd_dwdb)(x, dy, R, D, mean, rstd, dw, db);
}

extern "C" void fci_cuda_group_norm_fwd_launch(void *stream, const float *x, float *y, int64_t N, int64_t C,
                                               int64_t S, int64_t G, const float *w, const float *b, double eps,
                                               float *mean, float *rstd) {
    if (N * G > 0 && C * S > 0)
        FCI_LAUNCH(rows_grid(N * G), THREADS, 0, (cudaStream_t)stream, gn_fwd)(x, y, N, C, S, G, w, b, eps, mean, rstd);
}

extern "C" void fci_cuda_group_norm_bwd_launch(void *stream, const float *x, const float *dy, int64_t N, int64_t C,
                                               int64_t S, int64_t G, const float *w, const float *mean,
                                               const float *rstd, float *dx, float *dw, float *db) {
    cudaStream_t s = (cudaStream_t)stream;
    if (C <= 0) return;
    if (N * S <= 0) { // no elements: the channel sums are 0
        if (dw) cudaMemsetAsync(dw, 0, sizeof(float) * (size_t)C, s);
        if (db) cudaMemsetAsync(db, 0, sizeof(float) * (size_t)C, s);
        return;
    }
    if (dx) FCI_LAUNCH(rows_grid(N * G), THREADS, 0, s, gn_bwd_dx)(x, dy, N, C, S, G, w, mean, rstd, dx);
    if (dw || db) FCI_LAUNCH(rows_grid(C), THREADS, 0, s, gn_bwd_dwdb)(x, dy, N, C, S, G, mean, rstd, dw, db);
}
