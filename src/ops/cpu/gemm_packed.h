/* A GEMM for short, wide products against a B packed once and reused: the LSTM recurrence
 * multiplies a [batch, H] state by the same W_hh at every one of T steps. OpenBLAS repacks W_hh on
 * each call (21 MB at H = 1152), which made those products run at ~55% of a big GEMM's speed. */
#ifndef FASTC_CPU_GEMM_PACKED_H
#define FASTC_CPU_GEMM_PACKED_H

#include <stdint.h>

/* B is packed in panels of this many columns; a panel holds its K rows one after the other. */
#define FCI_PACK_NR 24

/* Floats that fci_pack_b_f32 writes for op(B)[K, N] (N rounded up to whole panels). */
int64_t fci_pack_b_floats(int64_t k, int64_t n);

/* Packs columns [0, n) of op(B)[K, N]: B stored [K, N] row-major (trans_b 0) or [N, K] (trans_b 1),
 * leading dimension ldb. The last panel is padded with zeros. */
void fci_pack_b_f32(int trans_b, int64_t k, int64_t n, const float *b, int64_t ldb, float *packed);

/* C[M, n] = A[M, K] op(B) + beta C with op(B) from fci_pack_b_f32 (A row-major, leading dim lda).
 * Single-threaded: callers split the columns by whole panels. */
void fci_gemm_packed_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                         const float *packed, float beta, float *c, int64_t ldc);

#endif
