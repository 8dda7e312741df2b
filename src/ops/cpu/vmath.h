/* expf written so that GCC vectorizes loops calling it (libm's expf stays scalar without
 * -ffast-math): Cephes' degree-6 polynomial after range reduction by ln 2 (Cephes states ~2 ulp; not
 * measured here beyond the PyTorch fixtures at atol 1e-6, rtol 1e-5)
 * over the normal range; below -87.3 it returns 0 (no denormals), above 88.72 inf; NaN stays NaN.
 * Measured 4M elements, one thread: fc_exp 21.8 ms with libm, 2.5 ms with this (PyTorch 1.13: 4.1 ms);
 * sigmoid 15.8 -> 3.2 ms (PyTorch 4.1 ms).
 * logf, log1pf, tanhf, erff and softplus below are the same idea; tests/ops/test_vmath.c sweeps each
 * against libm (max relative errors 0.8e-7 to 2.1e-7, 1 to 2.4 ulp). Forward, 4M elements, one
 * thread, before -> after (PyTorch 1.13): log 16.1 -> 3.9 (6.1), tanh 81 -> 4.8 (12.4),
 * gelu 83 -> 6.4 (5.2), gelu_tanh 101 -> 6.0 (14.3), softplus 111 -> 6.7 (14.3) ms. */
#ifndef FASTC_CPU_VMATH_H
#define FASTC_CPU_VMATH_H

/* the selects below become blends only when comparisons may not trap */
#pragma GCC optimize("no-trapping-math")
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float fci_vexpf(float x) {
    float c = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    c = c == c ? c : 0.0f; /* NaN: compute on 0 (no UB in the int conversion), return NaN below */
    /* round to nearest by the 1.5 * 2^23 trick: rintf and fminf are libm calls without fast-math */
    float n = (c * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = c - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23; /* n in [-126, 128] here */
    float s;
    memcpy(&s, &bits, sizeof s);
    float y = p * s;
    y = x < -87.3f ? 0.0f : y;
    y = x > 88.72f ? INFINITY : y;
    return x != x ? x : y;
}

/* natural log, Cephes' logf: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) = t - t^2/2 + t^3 P(t)
 * for t = m - 1 (degree 8), e ln 2 added in two parts. Denormals are scaled by 2^23 first.
 * x < 0 or NaN gives NaN, 0 gives -inf, inf gives inf. */
static inline float fci_vlogf(float x) {
    int denorm = x < 1.17549435e-38f;
    float xs = denorm ? x * 8388608.0f : x;
    int32_t bits;
    memcpy(&bits, &xs, sizeof bits);
    int32_t e = ((bits >> 23) & 0xff) - 126;
    bits = (bits & 0x007fffff) | 0x3f000000; /* m in [0.5, 1) */
    float m;
    memcpy(&m, &bits, sizeof m);
    int small = m < 0.707106781186547524f;
    e = small ? e - 1 : e;
    float t = small ? m + m - 1.0f : m - 1.0f;
    float fe = (float)e - (denorm ? 23.0f : 0.0f);
    float z = t * t;
    float p = 7.0376836292e-2f;
    p = p * t - 1.1514610310e-1f;
    p = p * t + 1.1676998740e-1f;
    p = p * t - 1.2420140846e-1f;
    p = p * t + 1.4249322787e-1f;
    p = p * t - 1.6668057665e-1f;
    p = p * t + 2.0000714765e-1f;
    p = p * t - 2.4999993993e-1f;
    p = p * t + 3.3333331174e-1f;
    float y = t * z * p - 2.12194440e-4f * fe - 0.5f * z;
    y = t + y + 0.693359375f * fe;
    y = x == INFINITY ? x : y;
    y = x == 0.0f ? -INFINITY : y;
    return x < 0.0f || x != x ? NAN : y;
}

/* log(1 + x) with relative accuracy for small x: log(u) * x / (u - 1) for u = 1 + x rounded
 * (Goldberg's correction), x itself where u rounds to 1. */
static inline float fci_vlog1pf(float x) {
    float u = 1.0f + x, d = u - 1.0f;
    float y = fci_vlogf(u) * (x / (d == 0.0f ? 1.0f : d));
    y = d == 0.0f ? x : y;
    return x == INFINITY ? x : y;
}

/* tanh: Cephes' odd polynomial for |x| < 0.625 (relative accuracy near 0), else
 * 1 - 2 / (exp(2|x|) + 1) with the sign put back; saturates to +-1 (exp gives inf above 44). */
static inline float fci_vtanhf(float x) {
    float a = fabsf(x), z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    float big = 1.0f - 2.0f / (fci_vexpf(a + a) + 1.0f);
    big = x < 0.0f ? -big : big;
    return a < 0.625f ? small : big; /* NaN: big is NaN */
}

/* erf: x P(x^2) for |x| < 0.921875, else 1 - exp(Q(|x|)) with the sign put back (minimax
 * polynomials after N. Juffa's erff); 1 in float beyond |x| ~ 3.92. */
static inline float fci_verff(float x) {
    float a = fabsf(x), s = x * x;
    float p = -5.96761703e-4f;
    p = p * s + 4.99119423e-3f;
    p = p * s - 2.67681349e-2f;
    p = p * s + 1.12819925e-1f;
    p = p * s - 3.76125336e-1f;
    p = p * s + 1.28379166e-1f;
    float small = p * x + x;
    float r = -1.72853470e-5f * a + 3.83197126e-4f;
    float u = -3.88396438e-3f * a + 2.42546219e-2f;
    r = r * s + u;
    r = r * a - 1.06777877e-1f;
    r = r * a - 6.34846687e-1f;
    r = r * a - 1.28717512e-1f;
    r = r * a - a;
    float big = 1.0f - fci_vexpf(r);
    big = x < 0.0f ? -big : big;
    return a < 0.921875f ? small : big;
}

/* softplus log(1 + exp(z)) = max(z, 0) + log1p(e), e = exp(-|z|) in (0, 1], with
 * log1p(e) = 2 atanh(s), s = e / (2 + e) <= 1/3: the atanh series to s^13 (truncation < 2e-8
 * relative). No overflow for large z; 0 below z = -87.3 where exp flushes. */
static inline float fci_vsoftplusf(float z) {
    float e = fci_vexpf(-fabsf(z));
    float s = e / (2.0f + e), w = s * s;
    float p = 1.0f / 13.0f;
    p = p * w + 1.0f / 11.0f;
    p = p * w + 1.0f / 9.0f;
    p = p * w + 1.0f / 7.0f;
    p = p * w + 1.0f / 5.0f;
    p = p * w + 1.0f / 3.0f;
    p = p * w * s + s;
    return (z > 0.0f ? z : 0.0f) + 2.0f * p; /* NaN: p is NaN */
}

#endif
