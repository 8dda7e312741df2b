/* FCI_ROW_KERNEL(name, expr): a binary row kernel out[i] = expr(x = a[i*sa], y = b[i*sb]) with its
 * own loops for strides (1, 1), (1, 0) and (0, 1), the contiguous and broadcast cases, so the
 * compiler vectorizes each. Matches the fci_binary_row signature. */
#ifndef FASTC_CPU_ROW_KERNEL_H
#define FASTC_CPU_ROW_KERNEL_H

#include <stdint.h>

#define FCI_ROW_KERNEL(name, expr)                                                              \
    void name(float *restrict out, const float *restrict a, int64_t sa, const float *restrict b, \
              int64_t sb, int64_t n, const double *p) {                                         \
        (void)p;                                                                                \
        if (sa == 1 && sb == 1) {                                                               \
            for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; out[i] = (expr); }      \
        } else if (sa == 1 && sb == 0) {                                                        \
            float y = b[0];                                                                     \
            for (int64_t i = 0; i < n; i++) { float x = a[i]; out[i] = (expr); }                \
        } else if (sa == 0 && sb == 1) {                                                        \
            float x = a[0];                                                                     \
            for (int64_t i = 0; i < n; i++) { float y = b[i]; out[i] = (expr); }                \
        } else {                                                                                \
            for (int64_t i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; out[i] = (expr); } \
        }                                                                                       \
    }

#endif
