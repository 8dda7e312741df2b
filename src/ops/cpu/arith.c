/* Row kernels for broadcasting arithmetic: strides are 1 (contiguous) or 0 (broadcast) in the
 * common cases, which the compiler vectorizes when specialised below. */
#include "kernels.h"

#define ROW_KERNEL(name, expr)                                                                  \
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

ROW_KERNEL(fci_add_row_f32, x + y)
ROW_KERNEL(fci_sub_row_f32, x - y)
ROW_KERNEL(fci_mul_row_f32, x * y)
ROW_KERNEL(fci_div_row_f32, x / y)
