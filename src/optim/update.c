/* Fused optimizer updates: one pass over a parameter's flat data (Lamb: two, it needs the norms
 * of p and of its update before scaling). Element arithmetic is f32 in the order torch.optim's
 * single-tensor path uses, scalar factors are computed in double and rounded once, so results
 * match torch to float rounding. Raw pointers only; no tensors, no allocation. */
#include <math.h>

#include "optim_impl.h"

#define PAR_MIN 65536

/* fastai's weight_decay callback / torch AdamW: p *= 1 - lr * wd, before the step. */
static void decay(float *p, int64_t n, const fci_hp *h) {
    if (!h->decouple_wd || h->wd == 0) return;
    const float f = (float)(1.0 - h->lr * h->wd);
#pragma omp parallel for if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) p[i] *= f;
}

/* torch.optim.SGD, dampening 0: d = g + wd p; buf = mom buf + d; d = nesterov ? d + mom buf : buf;
 * p -= lr d. */
void fci_sgd_update(float *p, const float *g, float *buf, int64_t n, const fci_hp *h) {
    decay(p, n, h);
    const float wd = h->decouple_wd ? 0.f : (float)h->wd, mom = (float)h->mom, nlr = (float)-h->lr;
    const int nest = h->nesterov;
#pragma omp parallel for if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float d = g[i];
        if (wd != 0.f) d = d + wd * p[i];
        if (buf) {
            float b = buf[i] * mom + d;
            buf[i] = b;
            d = nest ? d + mom * b : b;
        }
        p[i] = p[i] + nlr * d;
    }
}

/* torch.optim.Adam / AdamW. */
void fci_adam_update(float *p, const float *g, float *m, float *v, int64_t n, int64_t step, const fci_hp *h) {
    decay(p, n, h);
    const float wd = h->decouple_wd ? 0.f : (float)h->wd;
    const float b1 = (float)h->mom, c1 = (float)(1.0 - h->mom);
    const float b2 = (float)h->sqr_mom, c2 = (float)(1.0 - h->sqr_mom);
    const double bc1 = 1.0 - pow(h->mom, (double)step), bc2 = 1.0 - pow(h->sqr_mom, (double)step);
    const float nstep = (float)(-h->lr / bc1), bc2s = (float)sqrt(bc2), eps = (float)h->eps;
#pragma omp parallel for if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        if (wd != 0.f) gi = gi + wd * p[i];
        float mi = m[i] * b1 + c1 * gi;
        float vi = v[i] * b2 + c2 * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2s + eps;
        p[i] = p[i] + nstep * (mi / denom);
    }
}

/* torch.optim.RMSprop (alpha = sqr_mom). */
void fci_rmsprop_update(float *p, const float *g, float *sq, float *buf, float *gavg, int64_t n,
                        const fci_hp *h) {
    decay(p, n, h);
    const float wd = h->decouple_wd ? 0.f : (float)h->wd;
    const float a = (float)h->sqr_mom, ca = (float)(1.0 - h->sqr_mom), eps = (float)h->eps;
    const float mom = (float)h->mom, nlr = (float)-h->lr;
#pragma omp parallel for if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        if (wd != 0.f) gi = gi + wd * p[i];
        float s = sq[i] * a + ca * (gi * gi);
        sq[i] = s;
        float avg;
        if (gavg) {
            float ga = gavg[i] * a + ca * gi;
            gavg[i] = ga;
            avg = sqrtf(s + -1.f * (ga * ga)) + eps;
        } else {
            avg = sqrtf(s) + eps;
        }
        if (buf) {
            float b = buf[i] * mom + gi / avg;
            buf[i] = b;
            p[i] = p[i] + nlr * b;
        } else {
            p[i] = p[i] + nlr * (gi / avg);
        }
    }
}

/* fastai's average_grad (dampened) and average_sqr_grad, with l2_reg when wd is not decoupled. */
static inline void moments(float *p, const float *g, float *m, float *v, int64_t i, float wd, float b1,
                           float c1, float b2, float c2) {
    float gi = g[i];
    if (wd != 0.f) gi = gi + wd * p[i];
    m[i] = m[i] * b1 + c1 * gi;
    v[i] = v[i] * b2 + c2 * (gi * gi);
}

/* fastai's lamb_step: u = (m / d1) / (sqrt(v / d2) + eps); q = min(rms(p) / rms(u), 10), 1 when
 * either is 0; p -= lr q u. */
void fci_lamb_update(float *p, const float *g, float *m, float *v, int64_t n, int64_t step, const fci_hp *h) {
    decay(p, n, h);
    const float wd = h->decouple_wd ? 0.f : (float)h->wd;
    const float b1 = (float)h->mom, c1 = (float)(1.0 - h->mom);
    const float b2 = (float)h->sqr_mom, c2 = (float)(1.0 - h->sqr_mom);
    const float d1 = (float)(1.0 - pow(h->mom, (double)step)), d2 = (float)(1.0 - pow(h->sqr_mom, (double)step));
    const float eps = (float)h->eps;
    double sp = 0, su = 0; /* double sums: these are norms over up to millions of elements */
#pragma omp parallel for if (n > PAR_MIN) reduction(+ : sp, su)
    for (int64_t i = 0; i < n; i++) {
        moments(p, g, m, v, i, wd, b1, c1, b2, c2);
        float u = (m[i] / d1) / (sqrtf(v[i] / d2) + eps);
        sp += (double)p[i] * p[i];
        su += (double)u * u;
    }
    double r1 = sqrt(sp / (double)n), r2 = sqrt(su / (double)n);
    double q = (r1 == 0 || r2 == 0) ? 1.0 : fmin(r1 / r2, 10.0);
    const float nlq = (float)(-h->lr * q);
#pragma omp parallel for if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float u = (m[i] / d1) / (sqrtf(v[i] / d2) + eps);
        p[i] = p[i] + nlq * u;
    }
}

/* fastai's radam_step (beta 0): the rectified step once r > 5, debiased momentum before. */
void fci_radam_update(float *p, const float *g, float *m, float *v, int64_t n, int64_t step, const fci_hp *h) {
    decay(p, n, h);
    const float wd = h->decouple_wd ? 0.f : (float)h->wd;
    const float b1 = (float)h->mom, c1 = (float)(1.0 - h->mom);
    const float b2 = (float)h->sqr_mom, c2 = (float)(1.0 - h->sqr_mom);
    const double d1 = 1.0 - pow(h->mom, (double)step), bpow = pow(h->sqr_mom, (double)step);
    const float d2 = (float)(1.0 - bpow), eps = (float)h->eps;
    const double r_inf = 2.0 / (1.0 - h->sqr_mom) - 1.0;
    const double r = r_inf - 2.0 * (double)step * bpow / (1.0 - bpow);
    if (r > 5) {
        const double rect = sqrt(((r - 4) * (r - 2) * r_inf) / ((r_inf - 4) * (r_inf - 2) * r));
        const float f = (float)(-h->lr * rect / d1);
#pragma omp parallel for if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) {
            moments(p, g, m, v, i, wd, b1, c1, b2, c2);
            p[i] = p[i] + f * (m[i] / (sqrtf(v[i] / d2) + eps));
        }
    } else {
        const float f = (float)(-h->lr / d1);
#pragma omp parallel for if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) {
            moments(p, g, m, v, i, wd, b1, c1, b2, c2);
            p[i] = p[i] + f * m[i];
        }
    }
}

unsigned fci_optim_bufs_needed(fci_optim_kind kind, const fci_hp *h) {
    switch (kind) {
    case FCI_OPT_SGD: return h->mom != 0 ? 1u : 0u;
    case FCI_OPT_ADAM:
    case FCI_OPT_LAMB:
    case FCI_OPT_RADAM: return 3u;
    case FCI_OPT_RMSPROP: return 1u | (h->mom > 0 ? 2u : 0u) | (h->centered ? 4u : 0u);
    case FCI_OPT_LOOKAHEAD: return 1u;
    }
    return 0u;
}
