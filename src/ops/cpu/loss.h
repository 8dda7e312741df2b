/* Loss kernels. Class-index losses see logits/log-probs as [outer, C, inner] contiguous with
 * targets [outer * inner] (i64); sample s = o * inner + i. */
#ifndef FASTC_CPU_LOSS_H
#define FASTC_CPU_LOSS_H

#include <stdint.h>

/* The flat position of the first target outside [0, C) that is not the ignore index, or -1. */
int64_t fci_first_bad_target(const int64_t *t, int64_t n, int64_t C, int has_ignore,
                             int64_t ignore);

typedef struct fci_class_loss {
    const int64_t *t;
    const float *w; /* class weights [C] or NULL */
    int64_t outer, C, inner, ignore;
    int has_ignore;
    float eps; /* label smoothing (cross entropy only) */
} fci_class_loss;

/* Fused log_softmax + nll with label smoothing (torch.nn.functional.cross_entropy): per sample
 * loss[s] = (1 - eps) w_t (lse - z_t) + eps / C * sum_c w_c (lse - z_c), wt[s] = w_t (0 for an
 * ignored sample, whose loss is 0) and lse[2s], lse[2s+1] = max_c z_c, log sum exp(z - max) (kept
 * for backward: splitting them keeps the digits of z - lse for large logits). */
void fci_cross_entropy_fwd_f32(const fci_class_loss *c, const float *z, float *loss, float *wt,
                               float *lse);
/* gz = g_s * (((1 - eps) w_t + eps W / C) p_c - (1 - eps) w_t [c == t] - eps w_c / C), W = sum w,
 * g_s = g[s * g_stride] * g_scale. */
void fci_cross_entropy_bwd_f32(const fci_class_loss *c, const float *z, const float *lse,
                               const float *g, int64_t g_stride, float g_scale, float *gz);
/* nll: loss[s] = -w_t x[s, t]; backward: gx zeroed, gx[s, t] = -w_t g_s. */
void fci_nll_fwd_f32(const fci_class_loss *c, const float *x, float *loss, float *wt);
void fci_nll_bwd_f32(const fci_class_loss *c, const float *g, int64_t g_stride, float g_scale,
                     float *gx);

/* Pointwise regression losses of d = x - y. */
typedef enum fci_pw_loss { FCI_LOSS_MSE, FCI_LOSS_L1, FCI_LOSS_SMOOTH_L1 } fci_pw_loss;
/* Writes per-element losses to out when out != NULL; returns their sum (double accumulation). */
double fci_pw_loss_fwd_f32(fci_pw_loss kind, const float *x, const float *y, int64_t n,
                           float beta, float *out);
/* gx[i] = g[i * g_stride] * g_scale * dloss/dx. */
void fci_pw_loss_bwd_f32(fci_pw_loss kind, const float *x, const float *y, int64_t n, float beta,
                         const float *g, int64_t g_stride, float g_scale, float *gx);

/* Binary cross entropy with logits as PyTorch: l = w ((1 - y) x + (1 + (pw - 1) y) softplus(-x));
 * w and pw full-size or NULL. */
double fci_bce_logits_fwd_f32(const float *x, const float *y, const float *w, const float *pw,
                              int64_t n, float *out);
/* gx and gy (either may be NULL) of the same. */
void fci_bce_logits_bwd_f32(const float *x, const float *y, const float *w, const float *pw,
                            int64_t n, const float *g, int64_t g_stride, float g_scale, float *gx,
                            float *gy);

#endif
