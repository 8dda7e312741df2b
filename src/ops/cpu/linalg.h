/* CPU kernels for linear algebra: raw pointers and sizes, no tensors or allocation.
 * Matrices are row-major; a transposed operand is a flag plus its leading dimension, as in BLAS. */
#ifndef FASTC_CPU_LINALG_H
#define FASTC_CPU_LINALG_H

#include <stdint.h>

/* C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C (OpenBLAS sgemm, row-major). */
void fci_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                  int64_t ldc);
/* n_batch GEMMs: matrix i uses a + off_a[i], b + off_b[i], c + i * m * n (C contiguous).
 * Many small products run in parallel over the batch; large ones use BLAS threads. */
void fci_gemm_batched_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                          const float *a, int64_t lda, const int64_t *off_a, const float *b,
                          int64_t ldb, const int64_t *off_b, float *c, int64_t n_batch);
/* y[r, :] = b0 (+ b1) for r < rows: the bias a GEMM then adds to with beta = 1. b1 may be NULL. */
void fci_rows_fill_f32(float *y, const float *b0, const float *b1, int64_t rows, int64_t cols);
/* out[c] (+)= sum_r g[r, c]; accumulate: add to out instead of overwriting it. */
void fci_col_sum_f32(const float *g, float *out, int64_t rows, int64_t cols, int accumulate);

#endif
