/* Rounding f32 values to the precision of a 16-bit float, kept in f32: the emulated "cast to bf16 /
 * f16 and back" that autocast runs on CPUs without 16-bit GEMM kernels. Round to nearest even, as
 * fc_f32_to_bf16 / fc_f32_to_f16 and torch's .to(); x and y contiguous, n elements, may alias. */
#ifndef FASTC_CPU_ROUND_H
#define FASTC_CPU_ROUND_H

#include <stdint.h>

/* NaN stays NaN (quieted), infinities stay, everything else keeps bf16's 8 significant bits. */
void fci_round_bf16_f32(const float *x, float *y, int64_t n);
/* f16's range too: |x| >= 65520 becomes inf, tiny values become f16 subnormals or zero. */
void fci_round_f16_f32(const float *x, float *y, int64_t n);

#endif
