/* The CUDA emulator's cuda_fp16.h: __half as its IEEE binary16 bits, with the toolkit's exact
 * conversions (fce_convert.h). */
#ifndef FCE_CUDA_FP16_H
#define FCE_CUDA_FP16_H

#include "fce_convert.h"

typedef struct __half {
    uint16_t __x;
} __half;

static inline float __half2float(__half h) { return fce_f16_to_f32(h.__x); }
static inline __half __float2half_rn(float f) {
    __half h = {fce_f32_to_f16(f)};
    return h;
}
static inline __half __float2half(float f) { return __float2half_rn(f); }

#endif
