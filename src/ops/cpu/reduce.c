/* Reduction kernels over a middle axis: x viewed as [outer, red, inner], contiguous. */
#include "kernels.h"

/* Sums in double per output so long reductions keep float precision (PyTorch uses pairwise sums;
 * double accumulation is at least as accurate). */
void fci_sum_axis_f32(const float *x, float *out, int64_t outer, int64_t red, int64_t inner) {
    if (inner == 1) {
#pragma omp parallel for if (outer * red > 65536)
        for (int64_t o = 0; o < outer; o++) {
            const float *p = x + o * red;
            double s = 0;
            for (int64_t r = 0; r < red; r++) s += p[r];
            out[o] = (float)s;
        }
        return;
    }
#pragma omp parallel for if (outer * red * inner > 65536)
    for (int64_t o = 0; o < outer; o++) {
        float *q = out + o * inner;
        for (int64_t i = 0; i < inner; i++) q[i] = 0;
        for (int64_t r = 0; r < red; r++) {
            const float *p = x + (o * red + r) * inner;
            for (int64_t i = 0; i < inner; i++) q[i] += p[i];
        }
    }
}
