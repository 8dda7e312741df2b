// Batch norm and layer norm, the formulas of src/ops/cpu/norm.c: statistics from sums shifted by
// the first element and accumulated in double (so a large mean does not cancel the variance),
// running statistics with the unbiased variance, the closed-form backward. One block per channel
// (batch norm) or per row (layer norm) reduces; the elementwise passes run in the same block.
#include <cuda_runtime.h>
#include <math.h>

#include "kernels.h"

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

__global__ void bn_fwd(const float *x, float *y, int64_t N, int64_t C, int64_t S, const float *w, const float *b,
                       float *running_mean, float *running_var, int training, double momentum, double eps,
                       float *mean, float *rstd) {
    int64_t c = blockIdx.x, m = N * S;
    __shared__ float a_sh, s_sh;
    if (training) {
        float k = x[c * S];
        double s1 = 0, s2 = 0;
        for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
            double d = (double)x[((e / S) * C + c) * S + e % S] - k;
            s1 += d;
            s2 += d * d;
        }
        block_sum2(s1, s2);
        if (threadIdx.x == 0) {
            double dm = s1 / (double)m, mu = k + dm, var = s2 / (double)m - dm * dm;
            var = var > 0 ? var : 0;
            if (running_mean) running_mean[c] = (float)((1 - momentum) * running_mean[c] + momentum * mu);
            if (running_var) {
                double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
                running_var[c] = (float)((1 - momentum) * running_var[c] + momentum * unbiased);
            }
            float r = (float)(1.0 / sqrt(var + eps));
            mean[c] = (float)mu, rstd[c] = r;
            a_sh = w ? w[c] * r : r;
            s_sh = (b ? b[c] : 0.0f) - (float)mu * a_sh;
        }
    } else if (threadIdx.x == 0) {
        double mu = running_mean[c], var = running_var[c];
        float r = (float)(1.0 / sqrt(var + eps));
        mean[c] = (float)mu, rstd[c] = r;
        a_sh = w ? w[c] * r : r;
        s_sh = (b ? b[c] : 0.0f) - (float)mu * a_sh;
    }
    __syncthreads();
    float a = a_sh, sh = s_sh;
    for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
        int64_t i = ((e / S) * C + c) * S + e % S;
        y[i] = x[i] * a + sh;
    }
}

__global__ void bn_bwd(const float *x, const float *dy, int64_t N, int64_t C, int64_t S, const float *w,
                       const float *mean, const float *rstd, int training, float *dx, float *dw, float *db) {
    int64_t c = blockIdx.x, m = N * S;
    float mu = mean[c], r = rstd[c];
    double sdy = 0, sdyx = 0;
    for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
        int64_t i = ((e / S) * C + c) * S + e % S;
        sdy += dy[i];
        sdyx += (double)dy[i] * (double)(x[i] - mu);
    }
    block_sum2(sdy, sdyx);
    if (threadIdx.x == 0) {
        if (dw) dw[c] = (float)(sdyx * r);
        if (db) db[c] = (float)sdy;
    }
    if (!dx) return;
    float k = (w ? w[c] : 1.0f) * r;
    float c1 = training ? (float)(sdy / (double)m) : 0.0f, c2 = training ? (float)(sdyx / (double)m * r * r) : 0.0f;
    for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
        int64_t i = ((e / S) * C + c) * S + e % S;
        dx[i] = k * (dy[i] - c1 - (x[i] - mu) * c2);
    }
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

extern "C" void fci_cuda_batch_norm_fwd_launch(void *stream, const float *x, float *y, int64_t N, int64_t C,
                                               int64_t S, const float *w, const float *b, float *running_mean,
                                               float *running_var, int training, double momentum, double eps,
                                               float *mean, float *rstd) {
    if (C > 0 && N * S > 0)
        bn_fwd<<<(unsigned)C, THREADS, 0, (cudaStream_t)stream>>>(x, y, N, C, S, w, b, running_mean, running_var,
                                                                  training, momentum, eps, mean, rstd);
}

extern "C" void fci_cuda_batch_norm_bwd_launch(void *stream, const float *x, const float *dy, int64_t N, int64_t C,
                                               int64_t S, const float *w, const float *mean, const float *rstd,
                                               int training, float *dx, float *dw, float *db) {
    if (C > 0 && N * S > 0)
        bn_bwd<<<(unsigned)C, THREADS, 0, (cudaStream_t)stream>>>(x, dy, N, C, S, w, mean, rstd, training, dx, dw, db);
}

extern "C" void fci_cuda_layer_norm_fwd_launch(void *stream, const float *x, float *y, int64_t R, int64_t D,
                                               const float *w, const float *b, double eps, float *mean, float *rstd) {
    if (R > 0 && D > 0) ln_fwd<<<rows_grid(R), THREADS, 0, (cudaStream_t)stream>>>(x, y, R, D, w, b, eps, mean, rstd);
}

extern "C" void fci_cuda_layer_norm_bwd_launch(void *stream, const float *x, const float *dy, int64_t R, int64_t D,
                                               const float *w, const float *mean, const float *rstd, float *dx,
                                               float *dw, float *db) {
    cudaStream_t s = (cudaStream_t)stream;
    if (R <= 0 || D <= 0) return;
    if (dx) ln_bwd_dx<<<rows_grid(R), THREADS, 0, s>>>(x, dy, R, D, w, mean, rstd, dx);
    if (dw || db) ln_bwd_dwdb<<<grid_for(D), THREADS, 0, s>>>(x, dy, R, D, mean, rstd, dw, db);
}

extern "C" void fci_cuda_group_norm_fwd_launch(void *stream, const float *x, float *y, int64_t N, int64_t C,
                                               int64_t S, int64_t G, const float *w, const float *b, double eps,
                                               float *mean, float *rstd) {
    if (N * G > 0 && C * S > 0)
        gn_fwd<<<rows_grid(N * G), THREADS, 0, (cudaStream_t)stream>>>(x, y, N, C, S, G, w, b, eps, mean, rstd);
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
    if (dx) gn_bwd_dx<<<rows_grid(N * G), THREADS, 0, s>>>(x, dy, N, C, S, G, w, mean, rstd, dx);
    if (dw || db) gn_bwd_dwdb<<<rows_grid(C), THREADS, 0, s>>>(x, dy, N, C, S, G, mean, rstd, dw, db);
}
