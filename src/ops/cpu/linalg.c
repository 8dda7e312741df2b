/* Linear-algebra kernels on OpenBLAS. */
#include "linalg.h"

#include <cblas.h>
#include <string.h>

void fci_gemm_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                  int64_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) { /* BLAS would still scale C by beta; make that explicit (beta is 0 or 1 here) */
        if (beta == 0.0f)
            for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, sizeof(float) * (size_t)n);
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, alpha, a,
                (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

void fci_gemm_batched_f32(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                          const float *a, int64_t lda, const int64_t *off_a, const float *b,
                          int64_t ldb, const int64_t *off_b, float *c, int64_t n_batch) {
    /* Below ~2 MFLOP a product gains nothing from BLAS threads: run whole products per thread
     * instead (OpenBLAS's OpenMP build runs single-threaded inside a parallel region). */
    int small = (double)m * (double)n * (double)k < 1e6 && n_batch >= 2;
#pragma omp parallel for if (small) schedule(static)
    for (int64_t i = 0; i < n_batch; i++)
        fci_gemm_f32(trans_a, trans_b, m, n, k, 1.0f, a + off_a[i], lda, b + off_b[i], ldb, 0.0f,
                     c + i * m * n, n);
}

void fci_rows_fill_f32(float *y, const float *b0, const float *b1, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols > 65536) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        float *yr = y + r * cols;
        if (b1)
            for (int64_t j = 0; j < cols; j++) yr[j] = b0[j] + b1[j];
        else
            memcpy(yr, b0, sizeof(float) * (size_t)cols);
    }
}

void fci_col_sum_f32(const float *g, float *out, int64_t rows, int64_t cols, int accumulate) {
    /* Parallel over column blocks: each thread owns its outputs, rows are read in order. */
    const int64_t blk = 256;
#pragma omp parallel for if (rows * cols > 65536) schedule(static)
    for (int64_t c0 = 0; c0 < cols; c0 += blk) {
        int64_t c1 = c0 + blk < cols ? c0 + blk : cols;
        float acc[256];
        for (int64_t j = c0; j < c1; j++) acc[j - c0] = accumulate ? out[j] : 0.0f;
        for (int64_t r = 0; r < rows; r++) {
            const float *gr = g + r * cols;
            for (int64_t j = c0; j < c1; j++) acc[j - c0] += gr[j];
        }
        for (int64_t j = c0; j < c1; j++) out[j] = acc[j - c0];
    }
}
