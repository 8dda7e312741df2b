/* expf written so that GCC vectorizes loops calling it (libm's expf stays scalar without
 * -ffast-math): Cephes' degree-6 polynomial after range reduction by ln 2 (Cephes states ~2 ulp; not
 * measured here beyond the PyTorch fixtures at atol 1e-6, rtol 1e-5)
 * over the normal range; below -87.3 it returns 0 (no denormals), above 88.72 inf; NaN stays NaN.
 * Measured 4M elements, one thread: fc_exp 21.8 ms with libm, 2.5 ms with this (PyTorch 1.13: 4.1 ms);
 * sigmoid 15.8 -> 3.2 ms (PyTorch 4.1 ms). */
#ifndef FASTC_CPU_VMATH_H
#define FASTC_CPU_VMATH_H

/* the selects below become blends only when comparisons may not trap */
#pragma GCC optimize("no-trapping-math")
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float fci_vexpf(float x) {
    float c = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x); /* NaN passes; handled below */
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
    int32_t bits = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &bits, sizeof s);
    float y = p * s;
    y = x < -87.3f ? 0.0f : y;
    y = x > 88.72f ? INFINITY : y;
    return x != x ? x : y;
}

#endif
