/* CPU kernels for embedding lookups: raw pointers and sizes only. */
#ifndef FASTC_CPU_EMBEDDING_H
#define FASTC_CPU_EMBEDDING_H

#include <stdint.h>

/* embedding: y[i, :] = w[idx[i], :] for n indices (checked to lie in [0, V)); w [V, D]. */
void fci_embedding_fwd_f32(const float *w, const int64_t *idx, float *y, int64_t n, int64_t D);
/* dw (zeroed by the caller) [V, D] += dy[i, :] at row idx[i], skipping padding_idx (-1: none). */
void fci_embedding_bwd_f32(const float *dy, const int64_t *idx, float *dw, int64_t n, int64_t D,
                           int64_t padding_idx);

#endif
