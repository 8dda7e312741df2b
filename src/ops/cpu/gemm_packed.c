/* A GEMM for short, wide products against a pre-packed B (see gemm_packed.h for why).
 * A 6 x 16 register tile: 12 vector accumulators, two vectors of B and one broadcast of A per
 * k, the shape that fills 16 ymm registers with AVX2 + FMA. Written with GCC vector extensions so
 * it builds (and vectorizes as well as it can) on any target; -march=native gives AVX2 FMAs. */
#include "gemm_packed.h"

#include <string.h>

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4))); /* unaligned loads and stores */

#define MR 6
#define NR FCI_PACK_NR

int64_t fci_pack_b_floats(int64_t k, int64_t n) { return (n + NR - 1) / NR * NR * k; }

void fci_pack_b_f32(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb, float *packed) {
    for (int64_t p = 0; p * NR < n; p++) {
        float *dst = packed + p * NR * k;
        for (int64_t i = 0; i < NR; i++) {
            int64_t col = p * NR + i;
            if (col >= n)
                for (int64_t kk = 0; kk < k; kk++) dst[kk * NR + i] = 0.0f;
            else if (trans_b) /* B stored [N, K]: column col is row col, read in order */
                for (int64_t kk = 0; kk < k; kk++) dst[kk * NR + i] = b[col * ldb + kk];
            else
                for (int64_t kk = 0; kk < k; kk++) dst[kk * NR + i] = b[kk * ldb + col];
        }
    }
}

/* acc = the 6 rows of A at rows[], [0, kc) each, times the panel's kc x 16 block at bp. */
static inline void tile(int64_t kc, const float *const rows[MR], const float *bp, v8 acc[MR][2]) {
    const float *a0 = rows[0], *a1 = rows[1], *a2 = rows[2], *a3 = rows[3], *a4 = rows[4], *a5 = rows[5];
    v8 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0},
       c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
    for (int64_t kk = 0; kk < kc; kk++) {
        v8 b0 = *(const v8u *)(bp + kk * NR), b1 = *(const v8u *)(bp + kk * NR + 8);
        float x;
        x = a0[kk], c00 += x * b0, c01 += x * b1;
        x = a1[kk], c10 += x * b0, c11 += x * b1;
        x = a2[kk], c20 += x * b0, c21 += x * b1;
        x = a3[kk], c30 += x * b0, c31 += x * b1;
        x = a4[kk], c40 += x * b0, c41 += x * b1;
        x = a5[kk], c50 += x * b0, c51 += x * b1;
    }
    acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11, acc[2][0] = c20;
    acc[2][1] = c21, acc[3][0] = c30, acc[3][1] = c31, acc[4][0] = c40, acc[4][1] = c41;
    acc[5][0] = c50, acc[5][1] = c51;
}

/* C tile [mr, nr] = acc + beta C (beta 0: C is not read, it may hold garbage). */
static void store(const v8 acc[MR][2], int mr, int nr, float beta, float *c, int64_t ldc) {
    if (nr == NR) {
        for (int r = 0; r < mr; r++) {
            v8u *c0 = (v8u *)(c + r * ldc), *c1 = (v8u *)(c + r * ldc + 8);
            *c0 = beta == 0.0f ? acc[r][0] : acc[r][0] + beta * *c0;
            *c1 = beta == 0.0f ? acc[r][1] : acc[r][1] + beta * *c1;
        }
        return;
    }
    for (int r = 0; r < mr; r++) {
        float row[NR];
        memcpy(row, &acc[r][0], sizeof(v8));
        memcpy(row + 8, &acc[r][1], sizeof(v8));
        for (int j = 0; j < nr; j++) c[r * ldc + j] = beta == 0.0f ? row[j] : row[j] + beta * c[r * ldc + j];
    }
}

/* Rows past the end of A read row 0 again (valid memory; those results are not stored). */
static void block(int64_t mr, int64_t kc, const float *a, int64_t lda, const float *bp, int nr,
                  float beta, float *c, int64_t ldc) {
    const float *rows[MR];
    for (int r = 0; r < MR; r++) rows[r] = a + (r < mr ? r : 0) * lda;
    v8 acc[MR][2];
    tile(kc, rows, bp, acc);
    store(acc, (int)mr, nr, beta, c, ldc);
}

/* Blocking (BLIS's order): A's rows of a k block (m x kc2) stay in L2 while every panel passes
 * over them; inside, a panel's 256 x 16 sub-block (16 KB) stays in L1 while every row tile uses it,
 * and the panel's C tile stays in L1 across the sub-blocks. */
#define KC_L1 256

void fci_gemm_packed_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                         const float *packed, float beta, float *c, int64_t ldc) {
    if (k == 0) { /* no product: C = beta C */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    int64_t kc2 = 65536 / (m > 0 ? m : 1) / KC_L1 * KC_L1; /* m x kc2 floats: 256 KB */
    if (kc2 < KC_L1) kc2 = KC_L1;
    for (int64_t k0 = 0; k0 < k; k0 += kc2) {
        int64_t k_end = k - k0 < kc2 ? k : k0 + kc2;
        for (int64_t p = 0; p * NR < n; p++) {
            int nr = n - p * NR < NR ? (int)(n - p * NR) : NR;
            for (int64_t k1 = k0; k1 < k_end; k1 += KC_L1) {
                int64_t kc = k_end - k1 < KC_L1 ? k_end - k1 : KC_L1;
                float bt = k1 ? 1.0f : beta;
                const float *bp = packed + p * NR * k + k1 * NR;
                for (int64_t i = 0; i < m; i += MR)
                    block(m - i < MR ? m - i : MR, kc, a + i * lda + k1, lda, bp, nr, bt, c + i * ldc + p * NR,
                          ldc);
            }
        }
    }
}
