/* 2-D pooling kernels over contiguous NCHW f32 planes (planes = N * C). */
#ifndef FASTC_CPU_POOL_H
#define FASTC_CPU_POOL_H

#include <stdint.h>

typedef struct fci_pool2d_geom {
    int64_t planes, h, w, oh, ow;
    int64_t kh, kw, sh, sw, ph, pw, dh, dw; /* unused by the adaptive kernels */
    int64_t count_include_pad;              /* avg pool */
} fci_pool2d_geom;

/* y [planes, oh, ow]; idx (may be NULL) gets the argmax as h * w_in + w within the plane, -1 when a
 * window holds no element. NaN wins, as in PyTorch. */
void fci_max_pool2d_f32(const float *x, float *y, int32_t *idx, const fci_pool2d_geom *g);
void fci_adaptive_max_pool2d_f32(const float *x, float *y, int32_t *idx, const fci_pool2d_geom *g);
/* gx = 0, then gx[idx] += gy (for both max pools) */
void fci_max_pool2d_bwd_f32(const float *gy, const int32_t *idx, float *gx, const fci_pool2d_geom *g);
void fci_avg_pool2d_f32(const float *x, float *y, const fci_pool2d_geom *g);
void fci_avg_pool2d_bwd_f32(const float *gy, float *gx, const fci_pool2d_geom *g);
void fci_adaptive_avg_pool2d_f32(const float *x, float *y, const fci_pool2d_geom *g);
void fci_adaptive_avg_pool2d_bwd_f32(const float *gy, float *gx, const fci_pool2d_geom *g);

#endif
