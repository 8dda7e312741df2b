/* Pointwise kernels of one input: y[i] = f(x[i]). */
#include <math.h>

#include "kernels.h"

#define PARALLEL_N 65536

void fci_neg_f32(const float *x, float *y, int64_t n, const double *p) {
    (void)p;
#pragma omp parallel for if (n > PARALLEL_N)
    for (int64_t i = 0; i < n; i++) y[i] = -x[i];
}
