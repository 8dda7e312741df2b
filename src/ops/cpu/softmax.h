/* Softmax kernels: x viewed as [outer, red, inner] contiguous, normalized along red. */
#ifndef FASTC_CPU_SOFTMAX_H
#define FASTC_CPU_SOFTMAX_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp(x) that GCC vectorizes (expf from libm is not vectorized without -ffast-math): Cephes'
 * range reduction x = n ln2 + r and a degree-6 polynomial; relative error < 2e-7 for x <= 88,
 * exactly 0 below -87.3 (so masked -inf logits give 0, as PyTorch). Used by softmax, logsumexp
 * and the losses on arguments <= 0. */
static inline float fci_exp_f32(float x) {
    float xc = x > 88.0f ? 88.0f : x;
    xc = xc < -87.33654f ? -87.33654f : xc;
    float n = floorf(xc * 1.44269504088896341f + 0.5f);
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, sizeof s);
    float y = p * s;
    y = x < -87.33654f ? 0.0f : y;
    return x != x ? x : y;
}

/* y = softmax(x) (log_softmax when is_log) along red. */
void fci_softmax_fwd_f32(const float *x, float *y, int64_t outer, int64_t red, int64_t inner,
                         int is_log);
/* gx from y and gy: softmax: y * (gy - sum(gy * y)); log_softmax: gy - exp(y) * sum(gy). */
void fci_softmax_bwd_f32(const float *y, const float *gy, float *gx, int64_t outer, int64_t red,
                         int64_t inner, int is_log);
/* y[i] = exp(x[i]) in place. */
void fci_exp_inplace_f32(float *x, int64_t n);

#endif
