/* The CUDA emulator's cuda_bf16.h: __nv_bfloat16 as the top 16 bits of an f32, with the toolkit's
 * exact conversions (fce_convert.h). */
#ifndef FCE_CUDA_BF16_H
#define FCE_CUDA_BF16_H

#include "fce_convert.h"

typedef struct __nv_bfloat16 {
    uint16_t __x;
} __nv_bfloat16;

static inline float __bfloat162float(__nv_bfloat16 b) { return fce_bf16_to_f32(b.__x); }
static inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    __nv_bfloat16 b = {fce_f32_to_bf16(f)};
    return b;
}
static inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }

#endif
