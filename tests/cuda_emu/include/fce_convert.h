/* The CUDA emulator's exact conversions between f32 and the 16-bit types (IEEE binary16, bfloat16),
 * round to nearest even as the toolkit's __float2half_rn / __float2bfloat16_rn: one copy, for
 * cuda_fp16.h, cuda_bf16.h and the emulated libraries (checked against numpy's float16 and
 * torch's bfloat16 on 2M random bit patterns). C and C++. */
#ifndef FCE_CONVERT_H
#define FCE_CONVERT_H

#include <stdint.h>
#include <string.h>

static inline uint32_t fce_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float fce_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline float fce_bf16_to_f32(uint16_t h) { return fce_float((uint32_t)h << 16); }

/* Round to nearest even; a NaN stays a (quiet) NaN with its sign. */
static inline uint16_t fce_f32_to_bf16(float f) {
    uint32_t u = fce_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float fce_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return fce_float(sign | 0x7f800000u | (man << 13)); /* inf, NaN */
    if (exp == 0) {                                                       /* zero, subnormal: man 2^-24 */
        float v = (float)man * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    return fce_float(sign | ((exp + 112u) << 23) | (man << 13));
}

/* Round to nearest even, overflow to inf, gradual underflow (as a CUDA __float2half_rn). */
static inline uint16_t fce_f32_to_f16(float f) {
    uint32_t u = fce_bits(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520: rounds to inf */
    if (a < 0x38800000u) {                                     /* below 2^-14: subnormal or zero */
        if (a < 0x33000000u) return (uint16_t)sign;            /* <= 2^-25: to zero (a tie goes to even 0) */
        uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - e; /* value = m 2^(e - 150); in units of 2^-24: m >> (126 - e) */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    a += 0xfffu + ((a >> 13) & 1u); /* round the 13 dropped bits to nearest even */
    return (uint16_t)(sign | ((a - 0x38000000u) >> 13));
}

#endif
