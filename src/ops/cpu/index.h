/* Kernels for index_select, gather and scatter_add (f32 values, i64 indices already checked to be
 * in range by the caller). */
#ifndef FASTC_CPU_INDEX_H
#define FASTC_CPU_INDEX_H

#include <stdint.h>

/* x [outer, n_src, inner] and y [outer, n_idx, inner], contiguous: y[o, i, :] = x[o, idx[i], :] */
void fci_index_select_f32(float *y, const float *x, const int64_t *idx, int64_t outer,
                          int64_t n_src, int64_t n_idx, int64_t inner);
/* gx [outer, n_dst, inner], gy [outer, n_idx, inner], contiguous: gx[o, idx[i], :] += gy[o, i, :] */
void fci_index_add_f32(float *gx, const float *gy, const int64_t *idx, int64_t outer,
                       int64_t n_dst, int64_t n_idx, int64_t inner);
/* idx contiguous of 'shape' (ndim >= 1); y contiguous of 'shape'; x with strides x_stride:
 * y[c] = x[c with c[dim] replaced by idx[c]] (torch.gather). */
void fci_gather_f32(float *y, const float *x, const int64_t *x_stride, const int64_t *idx,
                    const int64_t *shape, int ndim, int dim);
/* y[c with c[dim] replaced by idx[c]] += src[c] for c over 'shape' (torch.scatter_add_); y and
 * src with their own strides, idx contiguous. */
void fci_scatter_add_f32(float *y, const int64_t *y_stride, const float *src,
                         const int64_t *src_stride, const int64_t *idx, const int64_t *shape,
                         int ndim, int dim);

#endif
