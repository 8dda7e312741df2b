/* Shared by the emulator's cuBLASLt and cuDNN (cublaslt.c, cudnn.c): exact conversions between f32
 * and the 16-bit types (IEEE binary16, bfloat16) and TF32, and the failure report. */
#ifndef FCE_LIBS_IMPL_H
#define FCE_LIBS_IMPL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* f32 rounded to TF32 (10 explicit mantissa bits, nearest even), as tensor cores read it. */
static inline float fce_round_tf32(float f) {
    uint32_t u = fce_bits(f);
    if ((u & 0x7f800000u) == 0x7f800000u) return f; /* inf and NaN unchanged */
    u += 0xfffu + ((u >> 13) & 1u);
    return fce_float(u & ~0x1fffu);
}

/* Element types the libraries take: 0 f32, 1 bf16, 2 f16. */
enum { FCE_F32, FCE_BF16, FCE_F16 };

/* v = p[i] as f32 */
static inline float fce_load(const void *p, int type, size_t i) {
    if (type == FCE_F32) return ((const float *)p)[i];
    uint16_t h = ((const uint16_t *)p)[i];
    return type == FCE_BF16 ? fce_bf16_to_f32(h) : fce_f16_to_f32(h);
}
static inline void fce_store(void *p, int type, size_t i, float v) {
    if (type == FCE_F32) ((float *)p)[i] = v;
    else ((uint16_t *)p)[i] = type == FCE_BF16 ? fce_f32_to_bf16(v) : fce_f32_to_f16(v);
}
static inline size_t fce_type_size(int type) { return type == FCE_F32 ? 4 : 2; }

/* Records why a call failed in buf (thread-local, per library) and prints it unless FCE_QUIET. */
static inline void fce_report(char *buf, size_t n, const char *lib, const char *fmt, va_list ap) {
    vsnprintf(buf, n, fmt, ap);
    if (!getenv("FCE_QUIET")) fprintf(stderr, "[cuda_emu %s] %s\n", lib, buf);
}

/* The largest power of two dividing p (up to 2^30). */
static inline uint64_t fce_alignment(const void *p) {
    uintptr_t a = (uintptr_t)p;
    uint64_t al = 1;
    while (al < (1u << 30) && !(a & (uintptr_t)al)) al <<= 1;
    return al;
}

#endif
