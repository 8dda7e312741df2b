/* CPU kernels: raw pointers and sizes; no tensors, autograd or allocation (workspace is passed in).
 * Each family adds its declarations here. */
#ifndef FASTC_CPU_KERNELS_H
#define FASTC_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* elementwise rows: out[i] = a[i*sa] op b[i*sb] */
void fci_add_row_f32(float *out, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n,
                     const double *p);
void fci_sub_row_f32(float *out, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n,
                     const double *p);
void fci_mul_row_f32(float *out, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n,
                     const double *p);
void fci_div_row_f32(float *out, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n,
                     const double *p);

/* reductions: x viewed as [outer, red, inner] contiguous; out [outer, inner] */
void fci_sum_axis_f32(const float *x, float *out, int64_t outer, int64_t red, int64_t inner);

/* unary: y[i] = f(x[i]); p: the function's parameters (may be NULL) */
void fci_neg_f32(const float *x, float *y, int64_t n, const double *p);

#endif
