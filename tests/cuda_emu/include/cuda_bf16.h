/* The CUDA emulator's cuda_bf16.h: __nv_bfloat16 as the top 16 bits of an f32, rounded to nearest
 * even on the way down (NaN stays a quiet NaN), as the toolkit's conversions. */
#ifndef FCE_CUDA_BF16_H
#define FCE_CUDA_BF16_H

#include <stdint.h>
#include <string.h>

typedef struct __nv_bfloat16 {
    uint16_t __x;
} __nv_bfloat16;

static inline float __bfloat162float(__nv_bfloat16 b) {
    uint32_t u = (uint32_t)b.__x << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    __nv_bfloat16 b;
    if ((u & 0x7fffffffu) > 0x7f800000u) b.__x = (uint16_t)((u >> 16) | 0x40u);
    else b.__x = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    return b;
}
static inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }

#endif
