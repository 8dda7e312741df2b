/* Reduction kernels beyond sum: x viewed as [outer, red, inner] contiguous, out [outer, inner]. */
#ifndef FASTC_CPU_REDUCE_H
#define FASTC_CPU_REDUCE_H

#include <stdint.h>

/* mean[o,i] and var[o,i] = sum (x - mean)^2 / denom (two passes); sqrt of it when take_sqrt. */
void fci_var_axis_f32(const float *x, float *mean, float *var, int64_t outer, int64_t red,
                      int64_t inner, double denom, int take_sqrt);
/* out = log(sum(exp(x - m))) + m with m the max (0 when the max is infinite, as PyTorch). */
void fci_logsumexp_axis_f32(const float *x, float *out, int64_t outer, int64_t red, int64_t inner);
/* Index of the first maximum (is_max) or minimum along red; NaN counts as the extreme, as in
 * PyTorch. val (may be NULL) gets the value. */
void fci_argext_axis_f32(const float *x, float *val, int64_t *idx, int64_t outer, int64_t red,
                         int64_t inner, int is_max);
/* gx (zeroed here) [outer, red, inner]: gx[o, idx[o,i], i] = gy[o,i]. */
void fci_scatter_axis_f32(const float *gy, const int64_t *idx, float *gx, int64_t outer,
                          int64_t red, int64_t inner);

#endif
