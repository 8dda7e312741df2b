/* Kernels of two and three inputs: pow, maximum, minimum (f32 rows for fci_binary_loop), their
 * gradient factors, where, and comparisons. Rows: out[i] = f(a[i*sa], b[i*sb]), strides in
 * elements (0: broadcast). */
#ifndef FASTC_CPU_COMPARE_H
#define FASTC_CPU_COMPARE_H

#include <stdint.h>

#define FCI_ROW_F32(name)                                                                     \
    void name(float *out, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n, \
              const double *p);
FCI_ROW_F32(fci_pow_row_f32)
FCI_ROW_F32(fci_maximum_row_f32)
FCI_ROW_F32(fci_minimum_row_f32)
/* d(a^b)/da = b a^(b-1) (0 where b == 0); d(a^b)/db = a^b log(a) (0 where a == 0 and b >= 0) */
FCI_ROW_F32(fci_pow_da_row_f32)
FCI_ROW_F32(fci_pow_db_row_f32)
/* 1 where a > b, 0.5 where a == b, else 0: the share of maximum(a, b)'s gradient that goes to a */
FCI_ROW_F32(fci_max_share_row_f32)

/* out[i] = c[i*sc] ? a[i*sa] : b[i*sb]; c holds bool/u8 bytes */
void fci_where_row_f32(float *out, const uint8_t *c, int64_t sc, const float *a, int64_t sa,
                       const float *b, int64_t sb, int64_t n);

enum { FCI_CMP_EQ, FCI_CMP_NE, FCI_CMP_LT, FCI_CMP_LE, FCI_CMP_GT, FCI_CMP_GE };
/* out[i] = a[i*sa] (op) b[i*sb] as 0/1 bytes */
void fci_cmp_row_f32(uint8_t *out, const float *a, int64_t sa, const float *b, int64_t sb,
                     int64_t n, int op);
void fci_cmp_row_i32(uint8_t *out, const int32_t *a, int64_t sa, const int32_t *b, int64_t sb,
                     int64_t n, int op);
void fci_cmp_row_i64(uint8_t *out, const int64_t *a, int64_t sa, const int64_t *b, int64_t sb,
                     int64_t n, int op);
void fci_cmp_row_u8(uint8_t *out, const uint8_t *a, int64_t sa, const uint8_t *b, int64_t sb,
                    int64_t n, int op);

#endif
