/* A GEMM for short, wide products against a pre-packed B (see gemm_packed.h for why).
 * A 4 x 24 register tile: 12 vector accumulators, three vectors of B and one broadcast of A per
 * k, the shape that fills 16 ymm registers with AVX2 + FMA. It beat the 6 x 16 tile BLIS uses by
 * ~5% on the LSTM's shapes (bench/RESULTS.md): the batch (M) is usually a multiple of 4 and not of 6,
 * and 7 loads feed 12 FMAs instead of 8. Written with GCC vector extensions so
 * it builds (and vectorizes as well as it can) on any target; -march=native gives AVX2 FMAs. */
#include "gemm_packed.h"

#include <string.h>

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4))); /* unaligned loads and stores */

#define MR 4
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

/* Keeps a vector in a register: without this GCC folds B's loads into the FMAs, loading each B
 * vector once per row of the tile (12 loads a k step instead of 3, over Zen 3's load ports). Only
 * with AVX: without it (-DFASTC_NATIVE=OFF, baseline x86-64) a 32-byte vector is two xmm halves
 * and fits no single register operand. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__AVX__)
#define IN_REGISTER(v) __asm__("" : "+x"(v))
#else
#define IN_REGISTER(v) (void)0
#endif

/* C tile [mr, nr] = A's rows [0, MR) times the panel's kc x NR block at bp, plus beta C (beta 0: C
 * is not read, it may hold garbage). Rows past mr read row 0 again (valid memory, not stored). */
static void block(int64_t mr, int64_t kc, const float *a, int64_t lda, const float *bp, int nr,
                  float beta, float *c, int64_t ldc) {
    const float *a0 = a, *a1 = a + (mr > 1 ? lda : 0), *a2 = a + (mr > 2 ? 2 * lda : 0),
                *a3 = a + (mr > 3 ? 3 * lda : 0);
    v8 c00 = {0}, c01 = {0}, c02 = {0}, c10 = {0}, c11 = {0}, c12 = {0}, c20 = {0}, c21 = {0},
       c22 = {0}, c30 = {0}, c31 = {0}, c32 = {0};
    for (int64_t kk = 0; kk < kc; kk++) {
        v8 b0 = *(const v8u *)(bp + kk * NR), b1 = *(const v8u *)(bp + kk * NR + 8),
           b2 = *(const v8u *)(bp + kk * NR + 16);
        IN_REGISTER(b0);
        IN_REGISTER(b1);
        IN_REGISTER(b2);
        float x;
        x = a0[kk], c00 += x * b0, c01 += x * b1, c02 += x * b2;
        x = a1[kk], c10 += x * b0, c11 += x * b1, c12 += x * b2;
        x = a2[kk], c20 += x * b0, c21 += x * b1, c22 += x * b2;
        x = a3[kk], c30 += x * b0, c31 += x * b1, c32 += x * b2;
    }
    const v8 acc[MR][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32}};
    if (nr == NR) {
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < 3; v++) {
                v8u *cv = (v8u *)(c + r * ldc + 8 * v);
                *cv = beta == 0.0f ? acc[r][v] : acc[r][v] + beta * *cv;
            }
        return;
    }
    for (int r = 0; r < mr; r++) {
        float row[NR];
        memcpy(row, acc[r], sizeof row);
        for (int j = 0; j < nr; j++) c[r * ldc + j] = beta == 0.0f ? row[j] : row[j] + beta * c[r * ldc + j];
    }
}

/* Blocking (BLIS's order): A's rows of a k block (m x kc2) stay in L2 while every panel passes
 * over them; inside, a panel's 384 x 24 sub-block (36 KB: L1 and the L2 prefetcher between them;
 * 256 and 512 measured within noise) is used by every row tile, and the panel's C tile stays in
 * L1 across the sub-blocks. */
#define KC_L1 384

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
