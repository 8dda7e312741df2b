/* Internals of the vision layer's resampling: the per-image kernels behind fc_affine_sample and
 * aug_transforms (src/vision/affine.c), and the 3x3 matrix helpers they share. */
#ifndef FASTC_AFFINE_IMPL_H
#define FASTC_AFFINE_IMPL_H

#include <stdint.h>

#include "fastc/vision.h"

/* Coordinates are PyTorch's align_corners=True normalized ones: -1 and 1 are the centres of the
 * first and last pixels. m is a 3x3 row-major projective matrix taking an output pixel's
 * normalized (x, y, 1) to the source's (gx, gy, gz); the source point is (gx / gz, gy / gz). An
 * affine theta [2][3] is m with the last row (0, 0, 1). pad is never FC_PAD_DEFAULT here. */

/* fastai's lighting in the same pass: y = sigmoid((logit(clamp(v, 1e-7, 1 - 1e-7)) + add) * mul). */
typedef struct fci_lighting {
    int on;
    float add; /* logit of the brightness draw */
    float mul; /* the contrast draw            */
} fci_lighting;

/* x: f32 [c, h, w] contiguous; y: f32 [c, oh, ow], output rows [oy0, oy1) only. Bilinear (or nearest: round half to even, as
 * torch), pad as grid_sample's padding_mode; light may be NULL. No allocation. */
void fci_sample_f32(const float *x, int64_t c, int64_t h, int64_t w, float *y, int64_t oh,
                    int64_t ow, const float m[9], fc_pad_mode pad, int nearest,
                    const fci_lighting *light, int64_t oy0, int64_t oy1);
/* x: i64 [h, w]; y: i64 [oh, ow], rows [oy0, oy1); nearest (a mask keeps its labels; zeros padding writes 0). */
void fci_sample_i64(const int64_t *x, int64_t h, int64_t w, int64_t *y, int64_t oh, int64_t ow,
                    const float m[9], fc_pad_mode pad, int64_t oy0, int64_t oy1);

/* One image's draw for fci_sample_batch: its matrix and lighting (light.on 0: none). */
typedef struct fci_sample_draw {
    float m[9];
    fci_lighting light;
} fci_sample_draw;

/* A batch through fci_sample_f32 (or fci_sample_i64 when is_mask), image i with draws[i], its
 * output rows split into tasks that run in parallel. x: f32 [n, c, h, w] (i64 [n, h, w] and c 1
 * for masks) contiguous, h * w < 2^31; y: the same type [n, c, oh, ow]. No allocation. */
void fci_sample_batch(const void *x, void *y, int is_mask, int64_t n, int64_t c, int64_t h, int64_t w,
                      int64_t oh, int64_t ow, const fci_sample_draw *draws, fc_pad_mode pad, int nearest);

/* fci_sample_batch on x's CUDA device (src/ops/cuda/augment.cu): x f32 [n, c, h, w] (masks i64
 * [n, h, w], c 1) in any layout, y of x's dtype and shape ys ([.., oh, ow]) made on the device in
 * the current scope. NULL with the error set on failure (and in a build without CUDA). */
fc_tensor *fci_sample_batch_cuda(const char *who, fc_tensor *x, int is_mask, fc_shape ys, int64_t n, int64_t c,
                                 int64_t h, int64_t w, const fci_sample_draw *draws, fc_pad_mode pad, int nearest);

/* c = a b (3x3, row-major; c may alias neither). */
void fci_mat3_mul(const double a[9], const double b[9], double c[9]);
/* inv = a^-1; returns 0 when a is singular (|det| < 1e-12). */
int fci_mat3_inv(const double a[9], double inv[9]);
/* The homography h (h[8] = 1) with h (src[k], 1) ~ (dst[k], 1) for the 4 point pairs (fastai's
 * find_coeffs(dst, src)); returns 0 when the points are degenerate. */
int fci_homography(const double src[4][2], const double dst[4][2], double h[9]);

#endif
