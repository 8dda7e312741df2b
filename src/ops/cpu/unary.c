/* Pointwise kernels of one input: y[i] = f(x[i]), and the fused backward gx[i] = gy[i] * f'(x[i]).
 * The formulas follow PyTorch's derivatives.yaml so that gradients match at the edges too. */
#include <math.h>

#include "kernels.h"
#include "unary.h"
#include "pointwise_kernel.h"
#include "vmath.h"

void fci_neg_f32(const float *x, float *y, int64_t n, const double *p) {
    (void)p;
#pragma omp parallel for if (n > PARALLEL_N)
    for (int64_t i = 0; i < n; i++) y[i] = -x[i];
}

#define PARAMS
FWD(exp, fci_vexpf(v))
BWD(exp, g * r)
FWD(log, fci_vlogf(v))
BWD(log, g / v)
FWD(sqrt, sqrtf(v))
BWD(sqrt, g / (2.0f * r))
FWD(rsqrt, 1.0f / sqrtf(v))
BWD(rsqrt, -0.5f * g * r * r * r)
FWD(abs, fabsf(v))
/* sign(0) = 0, as PyTorch's sgn */
BWD(abs, v > 0.0f ? g : (v < 0.0f ? -g : 0.0f))
#undef PARAMS

/* min(max(x, lo), hi) as PyTorch (lo > hi gives hi; NaN stays NaN); the gradient passes where
 * lo <= x <= hi, bounds included. */
#define PARAMS const float lo = (float)p[0], hi = (float)p[1];
FWD(clamp, (v < lo ? lo : v) > hi ? hi : (v < lo ? lo : v))
BWD(clamp, (v >= lo && v <= hi) ? g : 0.0f)
#undef PARAMS

/* x^p with the common exponents done without powf (exact and vectorizable); the gradient is
 * p * x^(p-1), and 0 for p == 0 as PyTorch. */
void fci_pow_scalar_f32(const float *restrict x, float *restrict y, int64_t n, const double *p) {
    double e = p[0];
    float ef = (float)e;
#pragma omp parallel for if (n > PARALLEL_N)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = e == 2.0    ? v * v
               : e == 3.0  ? v * v * v
               : e == 1.0  ? v
               : e == 0.5  ? sqrtf(v)
               : e == -1.0 ? 1.0f / v
               : e == 0.0  ? 1.0f
                           : powf(v, ef);
    }
}

void fci_pow_scalar_bwd_f32(const float *restrict x, const float *restrict y,
                            const float *restrict gy, float *restrict gx, int64_t n,
                            const double *p) {
    (void)y;
    double e = p[0];
    float ef = (float)e, em1 = (float)(e - 1.0);
#pragma omp parallel for if (n > PARALLEL_N)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], g = gy[i];
        gx[i] = e == 0.0   ? 0.0f
                : e == 2.0 ? 2.0f * v * g
                : e == 1.0 ? g
                           : g * ef * powf(v, em1);
    }
}
