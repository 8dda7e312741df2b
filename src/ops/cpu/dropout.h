/* CPU kernels for dropout: raw pointers and sizes only. */
#ifndef FASTC_CPU_DROPOUT_H
#define FASTC_CPU_DROPOUT_H

#include <stdint.h>

/* dropout: element i is kept when the 24-bit uniform from lane i % 4 of philox(seed, base + i / 4)
 * is >= p; y = x * scale where kept, else 0; mask[i] = kept. */
void fci_dropout_fwd_f32(const float *x, float *y, uint8_t *mask, int64_t n, uint64_t seed,
                         uint64_t base, double p, float scale);
/* dx = dy * mask * scale */
void fci_dropout_bwd_f32(const float *dy, const uint8_t *mask, float *dx, int64_t n, float scale);

#endif
