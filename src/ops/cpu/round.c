/* Round-trips through bf16 / f16 without storing the 16-bit values. bf16 is the top half of an f32,
 * so rounding is integer arithmetic on the bits (branch-free: the compiler vectorizes it); f16 uses
 * the F16C conversion instructions when the build has them (8 values per instruction, exact RNE
 * with subnormals), else the scalar conversions of core. */
#include "round.h"

#include <string.h>
#ifdef __F16C__
#include <immintrin.h>
#endif

#include "fastc/core.h"

/* Threads only from 1M elements: rounding streams at memory speed (~0.1 ms per 256k floats on one
 * core), so below that a parallel region costs more than it saves, and far more when the cores are
 * shared (each region waits for its slowest thread: amp_train's 2-thread steps, bench/RESULTS.md). */
#define PARALLEL_N (1 << 20)

void fci_round_bf16_f32(const float *x, float *y, int64_t n) {
#pragma omp parallel for simd if (n > PARALLEL_N)
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u; /* nearest, ties to even */
        uint32_t q = (u | 0x00400000u) & 0xffff0000u;                 /* NaN: quiet, keep sign */
        r = (u & 0x7fffffffu) > 0x7f800000u ? q : r;
        memcpy(&y[i], &r, 4);
    }
}

static void round_f16_scalar(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = fc_f16_to_f32(fc_f32_to_f16(x[i]));
}

void fci_round_f16_f32(const float *x, float *y, int64_t n) {
#ifdef __F16C__
    int64_t n8 = n / 8 * 8;
#pragma omp parallel for if (n > PARALLEL_N)
    for (int64_t i = 0; i < n8; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(h));
    }
    round_f16_scalar(x + n8, y + n8, n - n8);
#else
    round_f16_scalar(x, y, n);
#endif
}
