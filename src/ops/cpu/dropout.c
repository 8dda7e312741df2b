/* Dropout kernels. The mask of element i depends only on (seed, base + i / 4) and the lane i % 4,
 * so any thread split gives the same mask. */
#include "dropout.h"

#include <math.h>

#include "fastc/core.h"

void fci_dropout_fwd_f32(const float *x, float *y, uint8_t *mask, int64_t n, uint64_t seed,
                         uint64_t base, double p, float scale) {
    /* keep when u24 / 2^24 >= p, i.e. u24 >= ceil(p 2^24): an integer compare per element */
    double t = ceil(p * 16777216.0);
    uint32_t thr = t > 16777216.0 ? 16777217u : (uint32_t)t;
    int64_t nq = (n + 3) / 4;
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t q = 0; q < nq; q++) {
        uint32_t r[4];
        fc_philox(seed, base + (uint64_t)q, r);
        int64_t i0 = q * 4, len = n - i0 < 4 ? n - i0 : 4;
        for (int64_t k = 0; k < len; k++) {
            uint8_t keep = (r[k] >> 8) >= thr;
            mask[i0 + k] = keep;
            y[i0 + k] = keep ? x[i0 + k] * scale : 0.0f;
        }
    }
}

void fci_dropout_bwd_f32(const float *dy, const uint8_t *mask, float *dx, int64_t n, float scale) {
#pragma omp parallel for simd if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}
