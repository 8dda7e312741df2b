/* Softmax kernels: x viewed as [outer, red, inner] contiguous, normalized along red. */
#ifndef FASTC_CPU_SOFTMAX_H
#define FASTC_CPU_SOFTMAX_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "vmath.h" /* fci_vexpf: the vectorizable exp shared by all kernels */

/* y = softmax(x) (log_softmax when is_log) along red. */
void fci_softmax_fwd_f32(const float *x, float *y, int64_t outer, int64_t red, int64_t inner,
                         int is_log);
/* gx from y and gy: softmax: y * (gy - sum(gy * y)); log_softmax: gy - exp(y) * sum(gy). */
void fci_softmax_bwd_f32(const float *y, const float *gy, float *gx, int64_t outer, int64_t red,
                         int64_t inner, int is_log);
/* y[i] = exp(x[i]) in place. */
void fci_exp_inplace_f32(float *x, int64_t n);

#endif
