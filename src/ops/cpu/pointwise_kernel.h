/* Pointwise kernel generators shared by cpu/unary.c and cpu/activation.c (include only there):
 * FWD(name, expr of v) defines fci_<name>_f32: y[i] = expr with v = x[i];
 * BWD(name, expr of v = x, r = y, g = gy) defines fci_<name>_bwd_f32: gx[i] = expr.
 * The including file defines PARAMS (statements reading p, may be empty) before each use. */
#ifndef FASTC_CPU_POINTWISE_KERNEL_H
#define FASTC_CPU_POINTWISE_KERNEL_H

#include <stdint.h>

#define PARALLEL_N 65536

#define FWD(name, expr)                                                                   \
    void fci_##name##_f32(const float *restrict x, float *restrict y, int64_t n,          \
                          const double *p) {                                              \
        (void)p;                                                                          \
        PARAMS                                                                            \
        _Pragma("omp parallel for if (n > PARALLEL_N)")                                   \
        for (int64_t i = 0; i < n; i++) { float v = x[i]; y[i] = (expr); }                \
    }
#define BWD(name, expr)                                                                   \
    void fci_##name##_bwd_f32(const float *restrict x, const float *restrict y,           \
                              const float *restrict gy, float *restrict gx, int64_t n,    \
                              const double *p) {                                          \
        (void)p; (void)x; (void)y;                                                        \
        PARAMS                                                                            \
        _Pragma("omp parallel for if (n > PARALLEL_N)")                                   \
        for (int64_t i = 0; i < n; i++) {                                                 \
            float v = x[i], r = y[i], g = gy[i];                                          \
            (void)v; (void)r;                                                             \
            gx[i] = (expr);                                                               \
        }                                                                                 \
    }


#endif
