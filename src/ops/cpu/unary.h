/* Pointwise math kernels of one input: y[i] = f(x[i]) and gx[i] = gy[i] * f'(x[i]).
 * All arrays contiguous f32 of n elements; p: the function's parameters (may be NULL). */
#ifndef FASTC_CPU_UNARY_H
#define FASTC_CPU_UNARY_H

#include <stdint.h>

#define FCI_UNARY_KERNELS(name)                                                               \
    void fci_##name##_f32(const float *x, float *y, int64_t n, const double *p);              \
    void fci_##name##_bwd_f32(const float *x, const float *y, const float *gy, float *gx,     \
                              int64_t n, const double *p);

FCI_UNARY_KERNELS(exp)
FCI_UNARY_KERNELS(log)
FCI_UNARY_KERNELS(sqrt)
FCI_UNARY_KERNELS(rsqrt)
FCI_UNARY_KERNELS(abs)
FCI_UNARY_KERNELS(clamp)     /* p[0] = min, p[1] = max */
FCI_UNARY_KERNELS(pow_scalar) /* p[0] = exponent */

#endif
