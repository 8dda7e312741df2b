/* Kernels for joining, splitting, padding and flipping: strided f32 copies over raw pointers. */
#ifndef FASTC_CPU_JOIN_H
#define FASTC_CPU_JOIN_H

#include <stdint.h>

/* dst[i] = src[i] for every multi-index i of shape (ndim dims); strides in elements, any sign
 * (a negative stride walks backwards, as flip's views do). Parallel above 64K elements. */
void fci_copy_nd_f32(float *dst, const int64_t *dst_stride, const float *src,
                     const int64_t *src_stride, const int64_t *shape, int ndim);
/* dst[0..n) = v */
void fci_fill_f32(float *dst, int64_t n, float v);

#endif
