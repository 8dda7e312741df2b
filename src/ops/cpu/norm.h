/* CPU kernels for normalization (batch, layer, group): raw pointers and sizes only. All f32
 * arrays are contiguous. weight/bias pointers may be NULL (no affine); gradient outputs may be
 * NULL (not needed). mean/rstd are the per-group statistics saved for backward. */
#ifndef FASTC_CPU_NORM_H
#define FASTC_CPU_NORM_H

#include <stdint.h>

/* batch norm, x [N, C, S]. training: batch mean and biased variance per channel; running_mean/var
 * (NULL: none) become (1 - momentum) r + momentum stat, with the unbiased variance (PyTorch).
 * Eval: the running statistics. Writes mean[C], rstd[C] = 1 / sqrt(var + eps). */
void fci_batch_norm_fwd_f32(const float *x, float *y, int64_t N, int64_t C, int64_t S,
                            const float *w, const float *b, float *running_mean, float *running_var,
                            int training, double momentum, double eps, float *mean, float *rstd);
/* training: the closed form through the batch statistics; eval: dx = dy w rstd. */
void fci_batch_norm_bwd_f32(const float *x, const float *dy, int64_t N, int64_t C, int64_t S,
                            const float *w, const float *mean, const float *rstd, int training,
                            float *dx, float *dw, float *db);

/* layer norm, x [R, D] normalized per row; w, b [D]; mean, rstd [R]. */
void fci_layer_norm_fwd_f32(const float *x, float *y, int64_t R, int64_t D, const float *w,
                            const float *b, double eps, float *mean, float *rstd);
void fci_layer_norm_bwd_f32(const float *x, const float *dy, int64_t R, int64_t D, const float *w,
                            const float *mean, const float *rstd, float *dx, float *dw, float *db);

/* group norm, x [N, C, S] with G groups of C/G channels; w, b [C]; mean, rstd [N, G]. */
void fci_group_norm_fwd_f32(const float *x, float *y, int64_t N, int64_t C, int64_t S, int64_t G,
                            const float *w, const float *b, double eps, float *mean, float *rstd);
void fci_group_norm_bwd_f32(const float *x, const float *dy, int64_t N, int64_t C, int64_t S,
                            int64_t G, const float *w, const float *mean, const float *rstd,
                            float *dx, float *dw, float *db);

#endif
