/* The packed-B GEMM of src/ops/cpu/gemm_packed.c (the LSTM recurrence's products) against
 * OpenBLAS on shapes that hit every edge: rows not a multiple of the 4-row tile, columns not a
 * multiple of the 24-column panel, k across the 384-deep L1 blocks and the L2 blocks, B stored
 * transposed or not, beta 0 (C not read: it starts as NaN) and beta 1, k = 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fct.h"
#include "ops/cpu/gemm_packed.h"
#include "ops/cpu/linalg.h"

static float uniform(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f - 0.5f;
}

/* max |packed - openblas| relative to the largest |openblas| entry */
static double packed_vs_blas(int64_t m, int64_t n, int64_t k, int trans_b, float beta) {
    unsigned s = (unsigned)(m * 131 + n * 17 + k + trans_b);
    int64_t ldb = trans_b ? k : n;
    float *a = malloc(sizeof(float) * (size_t)(m * k + 1)), *b = malloc(sizeof(float) * (size_t)(k * n + 1));
    float *c = malloc(sizeof(float) * (size_t)(m * n)), *ref = malloc(sizeof(float) * (size_t)(m * n));
    float *packed = malloc(sizeof(float) * (size_t)(fci_pack_b_floats(k, n) + 1));
    double worst = INFINITY;
    if (a && b && c && ref && packed) {
        for (int64_t i = 0; i < m * k; i++) a[i] = uniform(&s);
        for (int64_t i = 0; i < k * n; i++) b[i] = uniform(&s);
        for (int64_t i = 0; i < m * n; i++) {
            ref[i] = uniform(&s);
            c[i] = beta == 0.0f ? NAN : ref[i];
        }
        fci_pack_b_f32(trans_b, k, n, b, ldb, packed);
        fci_gemm_packed_f32(m, n, k, a, k, packed, beta, c, n);
        fci_gemm_f32(0, trans_b, m, n, k, 1.0f, a, k, b, ldb, beta, ref, n);
        double err = 0, scale = 1e-30;
        for (int64_t i = 0; i < m * n; i++) {
            double d = fabs((double)c[i] - ref[i]);
            err = d > err || d != d ? d : err;
            scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
        }
        worst = err / scale;
    }
    free(a), free(b), free(c), free(ref), free(packed);
    return worst;
}

FCT_TEST(test_packed_gemm_matches_openblas_on_edge_shapes) {
    const int64_t shapes[][3] = {{1, 1, 1},   {2, 2, 8},    {3, 5, 7},     {4, 24, 384}, {7, 25, 385}, {6, 16, 256},
                                 {64, 40, 33}, {13, 100, 2000}, {64, 576, 1152}, {16, 132, 528}, {5, 33, 5000}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int tb = 0; tb < 2; tb++)
            for (int bz = 0; bz < 2; bz++) {
                double e = packed_vs_blas(shapes[i][0], shapes[i][1], shapes[i][2], tb, bz ? 0.0f : 1.0f);
                if (!(e < 1e-5))
                    printf("  m %lld n %lld k %lld trans_b %d beta %d: relative error %g\n",
                           (long long)shapes[i][0], (long long)shapes[i][1], (long long)shapes[i][2], tb, !bz, e);
                FCT_TRUE(e < 1e-5);
            }
}

FCT_TEST(test_packed_gemm_with_k_zero_scales_c_by_beta) {
    float c[6] = {1, 2, 3, 4, 5, 6}, a[1] = {0}, packed[1] = {0};
    fci_gemm_packed_f32(2, 3, 0, a, 0, packed, 0.5f, c, 3);
    for (int i = 0; i < 6; i++) FCT_NEAR(c[i], 0.5f * (float)(i + 1), 0);
    c[0] = NAN;
    fci_gemm_packed_f32(2, 3, 0, a, 0, packed, 0.0f, c, 3);
    for (int i = 0; i < 6; i++) FCT_NEAR(c[i], 0.0f, 0);
}

FCT_TEST(test_pack_pads_the_last_panel_with_zeros) {
    float b[3 * 2] = {1, 2, 3, 4, 5, 6}; /* op(B) [K 3, N 2], stored [K, N] */
    enum { NR = FCI_PACK_NR };
    float packed[3 * NR];
    FCT_EQ_INT(fci_pack_b_floats(3, 2), 3 * NR);
    fci_pack_b_f32(0, 3, 2, b, 2, packed);
    for (int k = 0; k < 3; k++) {
        FCT_NEAR(packed[k * NR], b[k * 2], 0);
        FCT_NEAR(packed[k * NR + 1], b[k * 2 + 1], 0);
        for (int j = 2; j < NR; j++) FCT_NEAR(packed[k * NR + j], 0.0f, 0);
    }
}
