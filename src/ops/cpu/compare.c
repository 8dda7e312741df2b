/* Row kernels for pow, maximum, minimum, where and comparisons. Rows with strides 1 and 0 (the
 * common contiguous and broadcast cases) get their own loops so the compiler vectorizes them. */
#include <math.h>

#include "compare.h"
#include "row_kernel.h"


FCI_ROW_KERNEL(fci_pow_row_f32, powf(x, y))
/* NaN in either input gives NaN, as torch.maximum / torch.minimum */
FCI_ROW_KERNEL(fci_maximum_row_f32, (x > y || x != x) ? x : y)
FCI_ROW_KERNEL(fci_minimum_row_f32, (x < y || x != x) ? x : y)
FCI_ROW_KERNEL(fci_pow_da_row_f32, y == 0.0f ? 0.0f : y * powf(x, y - 1.0f))
FCI_ROW_KERNEL(fci_pow_db_row_f32, (x == 0.0f && y >= 0.0f) ? 0.0f : powf(x, y) * logf(x))
FCI_ROW_KERNEL(fci_max_share_row_f32, x > y ? 1.0f : (x == y ? 0.5f : 0.0f))

void fci_where_row_f32(float *restrict out, const uint8_t *restrict c, int64_t sc,
                       const float *restrict a, int64_t sa, const float *restrict b, int64_t sb,
                       int64_t n) {
    if (sc == 1 && sa == 1 && sb == 1)
        for (int64_t i = 0; i < n; i++) out[i] = c[i] ? a[i] : b[i];
    else
        for (int64_t i = 0; i < n; i++) out[i] = c[i * sc] ? a[i * sa] : b[i * sb];
}

#define CMP_LOOP(o)                                                                  \
    if (sa == 1 && sb == 1)                                                          \
        for (int64_t i = 0; i < n; i++) out[i] = a[i] o b[i];                        \
    else                                                                             \
        for (int64_t i = 0; i < n; i++) out[i] = a[i * sa] o b[i * sb];              \
    break;
#define CMP_ROW(T, suffix)                                                                       \
    void fci_cmp_row_##suffix(uint8_t *restrict out, const T *restrict a, int64_t sa,            \
                              const T *restrict b, int64_t sb, int64_t n, int op) {              \
        switch (op) {                                                                            \
        case FCI_CMP_EQ: CMP_LOOP(==)                                                            \
        case FCI_CMP_NE: CMP_LOOP(!=)                                                            \
        case FCI_CMP_LT: CMP_LOOP(<)                                                             \
        case FCI_CMP_LE: CMP_LOOP(<=)                                                            \
        case FCI_CMP_GT: CMP_LOOP(>)                                                             \
        default: CMP_LOOP(>=)                                                                    \
        }                                                                                        \
    }
CMP_ROW(float, f32)
CMP_ROW(int32_t, i32)
CMP_ROW(int64_t, i64)
CMP_ROW(uint8_t, u8)
