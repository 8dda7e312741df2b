/* Loss kernels: cross entropy (fused log_softmax + nll), nll, mse / l1 / smooth l1, bce with
 * logits. Sums are accumulated in double: a mean over 10^6 losses drifts by ~1e-4 in float. */
#include "loss.h"

#include <math.h>

#include "softmax.h"

int64_t fci_first_bad_target(const int64_t *t, int64_t n, int64_t C, int has_ignore,
                             int64_t ignore) {
    for (int64_t s = 0; s < n; s++)
        if ((t[s] < 0 || t[s] >= C) && !(has_ignore && t[s] == ignore)) return s;
    return -1;
}

static int ignored(const fci_class_loss *c, int64_t t) { return c->has_ignore && t == c->ignore; }

/* max that vectorizes (fmaxf is a libm call without -ffinite-math-only). A NaN logit is skipped
 * here but still reaches the exp-sum, so the loss comes out NaN as in PyTorch. */
static inline float max2(float m, float v) { return v > m ? v : m; }

void fci_cross_entropy_fwd_f32(const fci_class_loss *c, const float *z, float *loss, float *wt,
                               float *lse) {
    int64_t C = c->C, inner = c->inner, n = c->outer * inner;
    float eps = c->eps;
#pragma omp parallel for if (n * C > 65536) schedule(static)
    for (int64_t s = 0; s < n; s++) {
        int64_t o = s / inner, i = s % inner, t = c->t[s];
        const float *zs = z + o * C * inner + i;
        float m = -INFINITY, e = 0, wz = 0, wsum = 0;
        if (inner == 1) { /* contiguous rows: vectorized max and exp-sum */
#pragma omp simd reduction(max : m)
            for (int64_t k = 0; k < C; k++) m = max2(m, zs[k]);
#pragma omp simd reduction(+ : e)
            for (int64_t k = 0; k < C; k++) e += fci_vexpf(zs[k] - m);
        } else {
            for (int64_t k = 0; k < C; k++) m = max2(m, zs[k * inner]);
            for (int64_t k = 0; k < C; k++) e += fci_vexpf(zs[k * inner] - m);
        }
        float ls = logf(e);
        lse[2 * s] = m, lse[2 * s + 1] = ls;
        if (ignored(c, t)) {
            loss[s] = wt[s] = 0;
            continue;
        }
        float w_t = c->w ? c->w[t] : 1.0f;
        float v = (1 - eps) * w_t * (ls - (zs[t * inner] - m));
        if (eps != 0) {
            for (int64_t k = 0; k < C; k++) {
                float wk = c->w ? c->w[k] : 1.0f;
                wz += wk * (zs[k * inner] - m);
                wsum += wk;
            }
            v += eps / (float)C * (wsum * ls - wz); /* sum_k w_k (lse - z_k) */
        }
        loss[s] = v;
        wt[s] = w_t;
    }
}

void fci_cross_entropy_bwd_f32(const fci_class_loss *c, const float *z, const float *lse,
                               const float *g, int64_t g_stride, float g_scale, float *gz) {
    int64_t C = c->C, inner = c->inner, n = c->outer * inner;
    float eps = c->eps, W = 0;
    for (int64_t k = 0; k < C; k++) W += c->w ? c->w[k] : 1.0f;
#pragma omp parallel for if (n * C > 65536) schedule(static)
    for (int64_t s = 0; s < n; s++) {
        int64_t o = s / inner, i = s % inner, t = c->t[s];
        const float *zs = z + o * C * inner + i;
        float *gs = gz + o * C * inner + i;
        if (ignored(c, t)) {
            for (int64_t k = 0; k < C; k++) gs[k * inner] = 0;
            continue;
        }
        float gv = g[s * g_stride] * g_scale, w_t = c->w ? c->w[t] : 1.0f;
        float m = lse[2 * s], ls = lse[2 * s + 1];
        float a = gv * ((1 - eps) * w_t + eps * W / (float)C), b = gv * eps / (float)C;
        if (inner == 1 && !c->w) {
            for (int64_t k = 0; k < C; k++) gs[k] = a * fci_vexpf((zs[k] - m) - ls) - b;
        } else {
            for (int64_t k = 0; k < C; k++)
                gs[k * inner] = a * fci_vexpf((zs[k * inner] - m) - ls) - b * (c->w ? c->w[k] : 1.0f);
        }
        gs[t * inner] -= gv * (1 - eps) * w_t;
    }
}

void fci_nll_fwd_f32(const fci_class_loss *c, const float *x, float *loss, float *wt) {
    int64_t C = c->C, inner = c->inner, n = c->outer * inner;
    for (int64_t s = 0; s < n; s++) {
        int64_t o = s / inner, i = s % inner, t = c->t[s];
        if (ignored(c, t)) {
            loss[s] = wt[s] = 0;
            continue;
        }
        float w_t = c->w ? c->w[t] : 1.0f;
        loss[s] = -w_t * x[(o * C + t) * inner + i];
        wt[s] = w_t;
    }
}

void fci_nll_bwd_f32(const fci_class_loss *c, const float *g, int64_t g_stride, float g_scale,
                     float *gx) {
    int64_t C = c->C, inner = c->inner, n = c->outer * inner;
    for (int64_t k = 0; k < n * C; k++) gx[k] = 0;
    for (int64_t s = 0; s < n; s++) {
        int64_t o = s / inner, i = s % inner, t = c->t[s];
        if (ignored(c, t)) continue;
        gx[(o * C + t) * inner + i] = -(c->w ? c->w[t] : 1.0f) * g[s * g_stride] * g_scale;
    }
}

static inline float pw_loss(fci_pw_loss kind, float d, float beta) {
    float a = fabsf(d);
    switch (kind) {
    case FCI_LOSS_MSE: return d * d;
    case FCI_LOSS_L1: return a;
    default: return a < beta ? 0.5f * d * d / beta : a - 0.5f * beta;
    }
}

static inline float pw_grad(fci_pw_loss kind, float d, float beta) {
    float sg = (float)((d > 0) - (d < 0));
    switch (kind) {
    case FCI_LOSS_MSE: return 2 * d;
    case FCI_LOSS_L1: return sg;
    default: return fabsf(d) < beta ? d / beta : sg;
    }
}

double fci_pw_loss_fwd_f32(fci_pw_loss kind, const float *x, const float *y, int64_t n,
                           float beta, float *out) {
    double s = 0;
#pragma omp parallel for if (n > 65536) reduction(+ : s) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = pw_loss(kind, x[i] - y[i], beta);
        if (out) out[i] = v;
        s += v;
    }
    return s;
}

void fci_pw_loss_bwd_f32(fci_pw_loss kind, const float *x, const float *y, int64_t n, float beta,
                         const float *g, int64_t g_stride, float g_scale, float *gx) {
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++)
        gx[i] = g[i * g_stride] * g_scale * pw_grad(kind, x[i] - y[i], beta);
}

/* softplus(-x) = log1p(exp(-|x|)) + max(-x, 0), stable for large |x| */
static inline float softplus_neg(float x) { return log1pf(fci_vexpf(-fabsf(x))) + fmaxf(-x, 0); }

double fci_bce_logits_fwd_f32(const float *x, const float *y, const float *w, const float *pw,
                              int64_t n, float *out) {
    double s = 0;
#pragma omp parallel for if (n > 65536) reduction(+ : s) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float lw = pw ? 1 + (pw[i] - 1) * y[i] : 1.0f;
        float v = (1 - y[i]) * x[i] + lw * softplus_neg(x[i]);
        if (w) v *= w[i];
        if (out) out[i] = v;
        s += v;
    }
    return s;
}

void fci_bce_logits_bwd_f32(const float *x, const float *y, const float *w, const float *pw,
                            int64_t n, const float *g, int64_t g_stride, float g_scale, float *gx,
                            float *gy) {
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i * g_stride] * g_scale * (w ? w[i] : 1.0f);
        float p = pw ? pw[i] : 1.0f, lw = 1 + (p - 1) * y[i];
        /* sigmoid(-x) = exp(-softplus(x)); written from exp(-|x|) to stay finite */
        float e = fci_vexpf(-fabsf(x[i])), sig_neg = x[i] >= 0 ? e / (1 + e) : 1 / (1 + e);
        if (gx) gx[i] = gi * ((1 - y[i]) - lw * sig_neg);
        if (gy) gy[i] = gi * (-x[i] + (p - 1) * softplus_neg(x[i]));
    }
}
