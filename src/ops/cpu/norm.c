/* Normalization kernels: batch norm (statistics per channel over N and the spatial dims), layer
 * norm (per row) and group norm (per sample and group). Statistics are accumulated in double from
 * one pass over the data, shifted by the first element so that a large mean does not cancel the
 * variance away. Backward uses the closed forms (x_hat = (x - mean) rstd, g = dy w):
 *     dx = rstd (g - mean(g) - x_hat mean(g x_hat)),  dw = sum(dy x_hat),  db = sum(dy). */
#include "norm.h"

#include <math.h>
#include <stddef.h>

#define PAR_MIN 65536 /* elements below which threads cost more than they save */

/* Adds sum(x - k) and sum((x - k)^2) over n contiguous floats. */
static inline void shifted_sums(const float *x, int64_t n, float k, double *s1, double *s2) {
    double a = 0, q = 0;
#pragma omp simd reduction(+ : a, q)
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - k;
        a += d;
        q += d * d;
    }
    *s1 += a;
    *s2 += q;
}

/* Biased variance from the shifted sums over m elements (clamped: rounding can make it < 0). */
static inline void finish_stats(double s1, double s2, int64_t m, float k, double *mean,
                                double *var) {
    double d = s1 / (double)m;
    *mean = k + d;
    double v = s2 / (double)m - d * d;
    *var = v > 0 ? v : 0;
}

/* ---- batch norm ---- */

/* BatchNorm1d on [N, C] (S == 1): the per-channel loops above stride by C through memory; here
 * channels run innermost (contiguous, vectorized) in blocks of BN1D_BLOCK with their sums on the
 * stack, the same shifted double sums and closed forms. 3-4x faster on [64, 200] (tabular models,
 * bench/RESULTS.md). */
#define BN1D_BLOCK 128
static void bn1d_fwd(const float *x, float *y, int64_t N, int64_t C, const float *w, const float *b,
                     float *running_mean, float *running_var, int training, double momentum, double eps,
                     float *mean, float *rstd) {
#pragma omp parallel for if (N * C > PAR_MIN) schedule(static)
    for (int64_t c0 = 0; c0 < C; c0 += BN1D_BLOCK) {
        int64_t nc = C - c0 < BN1D_BLOCK ? C - c0 : BN1D_BLOCK;
        double s1[BN1D_BLOCK] = {0}, s2[BN1D_BLOCK] = {0};
        float a[BN1D_BLOCK], sh[BN1D_BLOCK];
        const float *k = x + c0; /* row 0: the shift */
        if (training)
            for (int64_t n = 0; n < N; n++) {
                const float *xp = x + n * C + c0;
#pragma omp simd
                for (int64_t j = 0; j < nc; j++) {
                    double d = (double)xp[j] - k[j];
                    s1[j] += d;
                    s2[j] += d * d;
                }
            }
        for (int64_t j = 0; j < nc; j++) {
            int64_t c = c0 + j;
            double mu, var;
            if (training) {
                finish_stats(s1[j], s2[j], N, N ? k[j] : 0.0f, &mu, &var);
                if (running_mean) running_mean[c] = (float)((1 - momentum) * running_mean[c] + momentum * mu);
                if (running_var) {
                    double unbiased = N > 1 ? var * (double)N / (double)(N - 1) : var;
                    running_var[c] = (float)((1 - momentum) * running_var[c] + momentum * unbiased);
                }
            } else {
                mu = running_mean[c];
                var = running_var[c];
            }
            float r = (float)(1.0 / sqrt(var + eps));
            mean[c] = (float)mu;
            rstd[c] = r;
            a[j] = w ? w[c] * r : r;
            sh[j] = (b ? b[c] : 0.0f) - (float)mu * a[j];
        }
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + n * C + c0;
            float *yp = y + n * C + c0;
#pragma omp simd
            for (int64_t j = 0; j < nc; j++) yp[j] = xp[j] * a[j] + sh[j];
        }
    }
}

static void bn1d_bwd(const float *x, const float *dy, int64_t N, int64_t C, const float *w, const float *mean,
                     const float *rstd, int training, float *dx, float *dw, float *db) {
    double m = (double)N;
#pragma omp parallel for if (N * C > PAR_MIN) schedule(static)
    for (int64_t c0 = 0; c0 < C; c0 += BN1D_BLOCK) {
        int64_t nc = C - c0 < BN1D_BLOCK ? C - c0 : BN1D_BLOCK;
        double sdy[BN1D_BLOCK] = {0}, sdyx[BN1D_BLOCK] = {0};
        float k[BN1D_BLOCK], c1[BN1D_BLOCK], c2[BN1D_BLOCK];
        const float *mu = mean + c0;
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + n * C + c0, *gp = dy + n * C + c0;
#pragma omp simd
            for (int64_t j = 0; j < nc; j++) {
                sdy[j] += gp[j];
                sdyx[j] += (double)gp[j] * (double)(xp[j] - mu[j]);
            }
        }
        for (int64_t j = 0; j < nc; j++) {
            int64_t c = c0 + j;
            float r = rstd[c];
            if (dw) dw[c] = (float)(sdyx[j] * r);
            if (db) db[c] = (float)sdy[j];
            k[j] = (w ? w[c] : 1.0f) * r;
            c1[j] = training ? (float)(sdy[j] / m) : 0.0f;
            c2[j] = training ? (float)(sdyx[j] / m * r * r) : 0.0f;
        }
        if (!dx) continue;
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + n * C + c0, *gp = dy + n * C + c0;
            float *dp = dx + n * C + c0;
#pragma omp simd
            for (int64_t j = 0; j < nc; j++) dp[j] = k[j] * (gp[j] - c1[j] - (xp[j] - mu[j]) * c2[j]);
        }
    }
}

void fci_batch_norm_fwd_f32(const float *x, float *y, int64_t N, int64_t C, int64_t S,
                            const float *w, const float *b, float *running_mean, float *running_var,
                            int training, double momentum, double eps, float *mean, float *rstd) {
    if (S == 1) {
        bn1d_fwd(x, y, N, C, w, b, running_mean, running_var, training, momentum, eps, mean, rstd);
        return;
    }
    int64_t m = N * S;
#pragma omp parallel for if (N * C * S > PAR_MIN) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        double mu, var;
        if (training) {
            double s1 = 0, s2 = 0;
            float k = m ? x[c * S] : 0.0f;
            for (int64_t n = 0; n < N; n++) shifted_sums(x + (n * C + c) * S, S, k, &s1, &s2);
            finish_stats(s1, s2, m, k, &mu, &var);
            if (running_mean)
                running_mean[c] = (float)((1 - momentum) * running_mean[c] + momentum * mu);
            if (running_var) {
                double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
                running_var[c] = (float)((1 - momentum) * running_var[c] + momentum * unbiased);
            }
        } else {
            mu = running_mean[c];
            var = running_var[c];
        }
        float r = (float)(1.0 / sqrt(var + eps));
        mean[c] = (float)mu;
        rstd[c] = r;
        /* y = x a + s with a = w rstd, s = b - mean a */
        float a = w ? w[c] * r : r, sh = (b ? b[c] : 0.0f) - (float)mu * a;
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + (n * C + c) * S;
            float *yp = y + (n * C + c) * S;
#pragma omp simd
            for (int64_t s = 0; s < S; s++) yp[s] = xp[s] * a + sh;
        }
    }
}

void fci_batch_norm_bwd_f32(const float *x, const float *dy, int64_t N, int64_t C, int64_t S,
                            const float *w, const float *mean, const float *rstd, int training,
                            float *dx, float *dw, float *db) {
    if (S == 1) {
        bn1d_bwd(x, dy, N, C, w, mean, rstd, training, dx, dw, db);
        return;
    }
    double m = (double)(N * S);
#pragma omp parallel for if (N * C * S > PAR_MIN) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        float mu = mean[c], r = rstd[c];
        double sdy = 0, sdyx = 0; /* sum(dy), sum(dy (x - mean)) */
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + (n * C + c) * S, *gp = dy + (n * C + c) * S;
            double a = 0, q = 0;
#pragma omp simd reduction(+ : a, q)
            for (int64_t s = 0; s < S; s++) {
                a += gp[s];
                q += (double)gp[s] * (double)(xp[s] - mu);
            }
            sdy += a;
            sdyx += q;
        }
        if (dw) dw[c] = (float)(sdyx * r);
        if (db) db[c] = (float)sdy;
        if (!dx) continue;
        float wc = w ? w[c] : 1.0f, k = wc * r;
        /* training: dx = w rstd (dy - sdy/m - (x - mean) rstd^2 sdyx/m) */
        float c1 = training ? (float)(sdy / m) : 0.0f;
        float c2 = training ? (float)(sdyx / m * r * r) : 0.0f;
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + (n * C + c) * S, *gp = dy + (n * C + c) * S;
            float *dp = dx + (n * C + c) * S;
#pragma omp simd
            for (int64_t s = 0; s < S; s++) dp[s] = k * (gp[s] - c1 - (xp[s] - mu) * c2);
        }
    }
}

/* ---- layer norm ---- */

void fci_layer_norm_fwd_f32(const float *x, float *y, int64_t R, int64_t D, const float *w,
                            const float *b, double eps, float *mean, float *rstd) {
#pragma omp parallel for if (R * D > PAR_MIN) schedule(static)
    for (int64_t r = 0; r < R; r++) {
        const float *xp = x + r * D;
        float *yp = y + r * D;
        double s1 = 0, s2 = 0, mu, var;
        float k = D ? xp[0] : 0.0f;
        shifted_sums(xp, D, k, &s1, &s2);
        finish_stats(s1, s2, D, k, &mu, &var);
        float m = (float)mu, rs = (float)(1.0 / sqrt(var + eps));
        mean[r] = m;
        rstd[r] = rs;
        if (w && b) {
#pragma omp simd
            for (int64_t j = 0; j < D; j++) yp[j] = (xp[j] - m) * rs * w[j] + b[j];
        } else if (w) {
#pragma omp simd
            for (int64_t j = 0; j < D; j++) yp[j] = (xp[j] - m) * rs * w[j];
        } else if (b) {
#pragma omp simd
            for (int64_t j = 0; j < D; j++) yp[j] = (xp[j] - m) * rs + b[j];
        } else {
#pragma omp simd
            for (int64_t j = 0; j < D; j++) yp[j] = (xp[j] - m) * rs;
        }
    }
}

void fci_layer_norm_bwd_f32(const float *x, const float *dy, int64_t R, int64_t D, const float *w,
                            const float *mean, const float *rstd, float *dx, float *dw, float *db) {
    if (dx) {
#pragma omp parallel for if (R * D > PAR_MIN) schedule(static)
        for (int64_t r = 0; r < R; r++) {
            const float *xp = x + r * D, *gp = dy + r * D;
            float *dp = dx + r * D;
            float m = mean[r], rs = rstd[r];
            double sg = 0, sgx = 0; /* sum(g), sum(g x_hat) */
#pragma omp simd reduction(+ : sg, sgx)
            for (int64_t j = 0; j < D; j++) {
                float g = w ? gp[j] * w[j] : gp[j];
                sg += g;
                sgx += (double)g * (double)((xp[j] - m) * rs);
            }
            float c1 = (float)(sg / (double)D), c2 = (float)(sgx / (double)D);
#pragma omp simd
            for (int64_t j = 0; j < D; j++) {
                float g = w ? gp[j] * w[j] : gp[j];
                dp[j] = rs * (g - c1 - (xp[j] - m) * rs * c2);
            }
        }
    }
    if (!dw && !db) return;
    /* column sums over rows: threads own blocks of columns, rows stream through in order */
    const int64_t BLK = 256;
#pragma omp parallel for if (R * D > PAR_MIN) schedule(static)
    for (int64_t j0 = 0; j0 < D; j0 += BLK) {
        int64_t j1 = j0 + BLK < D ? j0 + BLK : D;
        double aw[256] = {0}, ab[256] = {0};
        for (int64_t r = 0; r < R; r++) {
            const float *xp = x + r * D, *gp = dy + r * D;
            float m = mean[r], rs = rstd[r];
#pragma omp simd
            for (int64_t j = j0; j < j1; j++) {
                aw[j - j0] += (double)gp[j] * (double)((xp[j] - m) * rs);
                ab[j - j0] += gp[j];
            }
        }
        for (int64_t j = j0; j < j1; j++) {
            if (dw) dw[j] = (float)aw[j - j0];
            if (db) db[j] = (float)ab[j - j0];
        }
    }
}

/* ---- group norm ---- */

void fci_group_norm_fwd_f32(const float *x, float *y, int64_t N, int64_t C, int64_t S, int64_t G,
                            const float *w, const float *b, double eps, float *mean, float *rstd) {
    int64_t cg = C / G, m = cg * S;
#pragma omp parallel for if (N * C * S > PAR_MIN) schedule(static)
    for (int64_t ng = 0; ng < N * G; ng++) {
        const float *xp = x + ng * m;
        float *yp = y + ng * m;
        double s1 = 0, s2 = 0, mu, var;
        float k = m ? xp[0] : 0.0f;
        shifted_sums(xp, m, k, &s1, &s2);
        finish_stats(s1, s2, m, k, &mu, &var);
        float rs = (float)(1.0 / sqrt(var + eps));
        mean[ng] = (float)mu;
        rstd[ng] = rs;
        int64_t c0 = (ng % G) * cg;
        for (int64_t i = 0; i < cg; i++) {
            float a = w ? w[c0 + i] * rs : rs, sh = (b ? b[c0 + i] : 0.0f) - (float)mu * a;
#pragma omp simd
            for (int64_t s = 0; s < S; s++) yp[i * S + s] = xp[i * S + s] * a + sh;
        }
    }
}

void fci_group_norm_bwd_f32(const float *x, const float *dy, int64_t N, int64_t C, int64_t S,
                            int64_t G, const float *w, const float *mean, const float *rstd,
                            float *dx, float *dw, float *db) {
    int64_t cg = C / G, m = cg * S;
    if (dx) {
#pragma omp parallel for if (N * C * S > PAR_MIN) schedule(static)
        for (int64_t ng = 0; ng < N * G; ng++) {
            const float *xp = x + ng * m, *gp = dy + ng * m;
            float *dp = dx + ng * m;
            float mu = mean[ng], rs = rstd[ng];
            int64_t c0 = (ng % G) * cg;
            double sg = 0, sgx = 0;
            for (int64_t i = 0; i < cg; i++) {
                float wc = w ? w[c0 + i] : 1.0f;
                double a = 0, q = 0;
#pragma omp simd reduction(+ : a, q)
                for (int64_t s = 0; s < S; s++) {
                    a += gp[i * S + s];
                    q += (double)gp[i * S + s] * (double)((xp[i * S + s] - mu) * rs);
                }
                sg += wc * a;
                sgx += wc * q;
            }
            float c1 = (float)(sg / (double)m), c2 = (float)(sgx / (double)m);
            for (int64_t i = 0; i < cg; i++) {
                float wc = w ? w[c0 + i] : 1.0f;
#pragma omp simd
                for (int64_t s = 0; s < S; s++) {
                    int64_t e = i * S + s;
                    dp[e] = rs * (gp[e] * wc - c1 - (xp[e] - mu) * rs * c2);
                }
            }
        }
    }
    if (!dw && !db) return;
#pragma omp parallel for if (N * C * S > PAR_MIN) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        double aw = 0, ab = 0;
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + (n * C + c) * S, *gp = dy + (n * C + c) * S;
            int64_t ng = n * G + c / cg;
            float mu = mean[ng], rs = rstd[ng];
            double a = 0, q = 0;
#pragma omp simd reduction(+ : a, q)
            for (int64_t s = 0; s < S; s++) {
                a += gp[s];
                q += (double)gp[s] * (double)((xp[s] - mu) * rs);
            }
            aw += q;
            ab += a;
        }
        if (dw) dw[c] = (float)aw;
        if (db) db[c] = (float)ab;
    }
}
