/* Embedding lookup and its scatter-add backward. */
#include "embedding.h"

#include <string.h>

void fci_embedding_fwd_f32(const float *w, const int64_t *idx, float *y, int64_t n, int64_t D) {
#pragma omp parallel for if (n * D > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) memcpy(y + i * D, w + idx[i] * D, sizeof(float) * (size_t)D);
}

void fci_embedding_bwd_f32(const float *dy, const int64_t *idx, float *dw, int64_t n, int64_t D,
                           int64_t padding_idx) {
    /* Repeated indices add into one row: threads own blocks of columns, never rows, so no two
     * threads write one element and the sums come out in the same order on any thread count. */
    const int64_t BLK = 64;
#pragma omp parallel for if (n * D > 65536 && D > BLK) schedule(static)
    for (int64_t j0 = 0; j0 < D; j0 += BLK) {
        int64_t j1 = j0 + BLK < D ? j0 + BLK : D;
        for (int64_t i = 0; i < n; i++) {
            if (idx[i] == padding_idx) continue;
            float *o = dw + idx[i] * D;
            const float *g = dy + i * D;
#pragma omp simd
            for (int64_t j = j0; j < j1; j++) o[j] += g[j];
        }
    }
}
