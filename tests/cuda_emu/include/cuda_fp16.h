/* The CUDA emulator's cuda_fp16.h: __half as its IEEE binary16 bits, with the toolkit's exact
 * conversions (round to nearest even on the way down; NaN stays NaN). */
#ifndef FCE_CUDA_FP16_H
#define FCE_CUDA_FP16_H

#include <stdint.h>
#include <string.h>

typedef struct __half {
    uint16_t __x;
} __half;

static inline float __half2float(__half h) {
    uint32_t s = (uint32_t)(h.__x & 0x8000u) << 16, e = (h.__x >> 10) & 0x1fu, m = h.__x & 0x3ffu, u;
    if (e == 0x1f) u = s | 0x7f800000u | (m << 13); /* inf / nan */
    else if (e) u = s | ((e + 112) << 23) | (m << 13);
    else if (!m) u = s;
    else { /* subnormal: normalize */
        int k = -1;
        do { k++; m <<= 1; } while (!(m & 0x400u));
        u = s | ((uint32_t)(112 - k) << 23) | ((m & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline __half __float2half_rn(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t s = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    __half h;
    if (a > 0x7f800000u) { h.__x = (uint16_t)(s | 0x7e00u); return h; } /* nan */
    if (a >= 0x477ff000u) { h.__x = (uint16_t)(s | 0x7c00u); return h; } /* rounds to inf */
    if (a >= 0x38800000u) { /* normal */
        uint32_t r = a - 0x38000000u; /* rebias 127 -> 15 */
        uint32_t v = (r >> 13) + (((r >> 12) & 1u) & (((r & 0xfffu) != 0) | ((r >> 13) & 1u)));
        h.__x = (uint16_t)(s | v);
        return h;
    }
    if (a < 0x33000000u) { h.__x = (uint16_t)s; return h; } /* below half the smallest subnormal */
    /* subnormal: value = m * 2^-24 */
    uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u, shift = 126 - e; /* 14..24 */
    uint32_t v = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (v & 1u))) v++;
    h.__x = (uint16_t)(s | v);
    return h;
}
static inline __half __float2half(float f) { return __float2half_rn(f); }

#endif
