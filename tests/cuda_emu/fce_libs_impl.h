/* Shared by the emulator's cuBLASLt and cuDNN (cublaslt.c, cudnn.c): TF32 rounding, loads and
 * stores in the three element types, and the failure report (16-bit conversions: fce_convert.h). */
#ifndef FCE_LIBS_IMPL_H
#define FCE_LIBS_IMPL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fce_convert.h"

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
